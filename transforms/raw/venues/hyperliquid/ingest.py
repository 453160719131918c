"""One raw dataset over a window of days from Hyperliquid, for every configured symbol.

The shared REST loop (transforms.raw.rest.ingest) with Hyperliquid's parts: days come from
`HyperliquidSource.fetch_day` through the feed (the API and the collected minute samples, or
the offline demo's fake), are loaded with venue = 'hyperliquid', and the klines ingest
snapshots each coin's margin table. A day before the first collected day (OutOfReach) is not
collected, not a failure; a day with a sample gap loads what it has and is named provisional
(not final) and by the completeness check. A format error, an HTTP 4xx, a corrupt cached day
or an unloadable margin table is about the symbol; any other HyperliquidError (429 past the
deadline, 5xx, connection errors) is about the venue.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from transforms.config import Settings
from transforms.raw.rest.ingest import RestVenue, ingest_days
from transforms.raw.rest.load import LoadedDays
from transforms.raw.results import Connect, Log, VenueResult
from transforms.raw.venues.hyperliquid.errors import (
    CacheCorrupt,
    HyperliquidApiError,
    HyperliquidError,
    HyperliquidFormatError,
    OutOfReach,
)
from transforms.raw.venues.hyperliquid.feed import HyperliquidFeed, open_hyperliquid_feed
from transforms.raw.venues.hyperliquid.load import (
    HL_DATASET,
    HyperliquidLoadError,
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.venues.hyperliquid.source import VENUE, HyperliquidDay


def _open(settings: Settings) -> AbstractContextManager[HyperliquidFeed]:
    return open_hyperliquid_feed(settings)


def _replace(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    fetched: list[HyperliquidDay],
    cache_dir: Path,
    feed: Any,
) -> LoadedDays:
    return replace_days(conn, name, symbol, fetched, cache_dir)


def _tiers(conn: duckdb.DuckDBPyConnection, feed: Any, symbol: str) -> int:
    tiers, snapshot = feed.source.fetch_tiers(symbol)
    return replace_tier_snapshot(conn, tiers, snapshot)


HYPERLIQUID = RestVenue(
    name=VENUE,
    label="Hyperliquid",
    dataset_of=HL_DATASET,
    error=HyperliquidError,
    symbol_errors=(
        HyperliquidFormatError,
        HyperliquidApiError,
        CacheCorrupt,
        HyperliquidLoadError,
        OutOfReach,
    ),
    out_of_reach=OutOfReach,
    open_feed=_open,
    replace_days=_replace,
    snapshot_tiers=_tiers,
    tiers_label="margin_tables",
)


def ingest(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> VenueResult:
    """Load raw dataset `name` from Hyperliquid for days [start, end) of every configured
    symbol (module doc). Failures are returned, never raised."""
    return ingest_days(HYPERLIQUID, connect, settings, name, start, end, log)
