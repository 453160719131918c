"""One raw dataset over a window of days from Bybit, for every configured symbol.

The shared REST loop (transforms.raw.rest.ingest) with Bybit's parts: days come from
`BybitSource.fetch_day` through the feed (the API, or the offline demo's fake Bybit), are
loaded into the raw tables with venue = 'bybit' (transforms.raw.venues.bybit.load), and the
klines ingest snapshots each symbol's risk-limit tiers into ref.leverage_brackets. A format
or retCode error, a corrupt cached day or a day that cannot be priced is about the symbol;
any other BybitError (ban, rate limit, HTTP or connection errors) is about the venue and skips
the remaining symbols. No Dagster here; transforms.raw.ingest calls `ingest`.
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
from transforms.raw.venues.bybit.errors import (
    BybitApiError,
    BybitError,
    BybitFormatError,
    CacheCorrupt,
)
from transforms.raw.venues.bybit.feed import BybitFeed, open_bybit_feed
from transforms.raw.venues.bybit.load import (
    BYBIT_DATASET,
    BybitLoadError,
    LoadedDays,
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.venues.bybit.source import VENUE, BybitDay


def _open(settings: Settings) -> AbstractContextManager[BybitFeed]:
    return open_bybit_feed(settings)


def _replace(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    fetched: list[BybitDay],
    cache_dir: Path,
    feed: BybitFeed,
) -> LoadedDays:
    return replace_days(conn, name, symbol, fetched, cache_dir, feed.settings.oi_sides)


def _tiers(conn: duckdb.DuckDBPyConnection, feed: Any, symbol: str) -> int:
    return replace_tier_snapshot(conn, feed.source.fetch_risk_limits(symbol))


BYBIT = RestVenue(
    name=VENUE,
    label="Bybit",
    dataset_of=BYBIT_DATASET,
    error=BybitError,
    symbol_errors=(BybitFormatError, BybitApiError, CacheCorrupt, BybitLoadError),
    out_of_reach=None,  # Bybit serves history back to the listing
    open_feed=_open,
    replace_days=_replace,
    snapshot_tiers=_tiers,
    tiers_label="risk_limit",
)


def ingest(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> VenueResult:
    """Load raw dataset `name` from Bybit for days [start, end) of every configured symbol
    (see module doc). Failures are returned, never raised."""
    return ingest_days(BYBIT, connect, settings, name, start, end, log)
