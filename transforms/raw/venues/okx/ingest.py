"""One raw dataset over a window of days from OKX, for every configured symbol.

The shared REST loop (transforms.raw.rest.ingest) with OKX's parts: days come from
`OkxSource.fetch_day` through the feed (the API, or the offline demo's fake OKX), are loaded
with venue = 'okx' (transforms.raw.venues.okx.load), and the klines ingest snapshots each
symbol's position tiers. A day older than OKX keeps (OutOfReach) is not collected, not a
failure. A format or code error, or a corrupt cached day, is about the symbol; any other
OkxError (HTTP 429 past the deadline, 5xx, connection errors) is about the venue.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from transforms.config import Settings
from transforms.raw.rest.ingest import RestVenue, ingest_days
from transforms.raw.results import Connect, Log, VenueResult
from transforms.raw.venues.okx.errors import (
    CacheCorrupt,
    OkxApiError,
    OkxError,
    OkxFormatError,
    OutOfReach,
)
from transforms.raw.venues.okx.feed import OkxFeed, open_okx_feed
from transforms.raw.venues.okx.load import (
    OKX_DATASET,
    LoadedDays,
    OkxLoadError,
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.venues.okx.source import VENUE, OkxDay


def _open(settings: Settings) -> AbstractContextManager[OkxFeed]:
    return open_okx_feed(settings)


def _replace(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    fetched: list[OkxDay],
    cache_dir: Path,
    feed: Any,
) -> LoadedDays:
    return replace_days(conn, name, symbol, fetched, cache_dir)


def _tiers(conn: duckdb.DuckDBPyConnection, feed: Any, symbol: str) -> int:
    return replace_tier_snapshot(conn, feed.source.fetch_tiers(symbol))


OKX = RestVenue(
    name=VENUE,
    label="OKX",
    dataset_of=OKX_DATASET,
    error=OkxError,
    symbol_errors=(OkxFormatError, OkxApiError, CacheCorrupt, OkxLoadError, OutOfReach),
    out_of_reach=OutOfReach,
    open_feed=_open,
    replace_days=_replace,
    snapshot_tiers=_tiers,
    tiers_label="position_tiers",
)


def ingest(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> VenueResult:
    """Load raw dataset `name` from OKX for days [start, end) of every configured symbol
    (see module doc). Failures are returned, never raised."""
    return ingest_days(OKX, connect, settings, name, start, end, log)
