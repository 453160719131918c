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

import duckdb

from transforms.raw.rest.ingest import RestVenue
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
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.venues.bybit.source import VENUE


def _tiers(conn: duckdb.DuckDBPyConnection, feed: BybitFeed, symbol: str) -> int:
    return replace_tier_snapshot(conn, feed.source.fetch_risk_limits(symbol))


BYBIT = RestVenue(
    name=VENUE,
    label="Bybit",
    dataset_of=BYBIT_DATASET,
    error=BybitError,
    symbol_errors=(BybitFormatError, BybitApiError, CacheCorrupt, BybitLoadError),
    out_of_reach=None,  # Bybit serves history back to the listing
    open_feed=open_bybit_feed,
    replace_days=lambda conn, name, symbol, days, cache_dir, feed: replace_days(
        conn, name, symbol, days, cache_dir, feed.settings.oi_sides
    ),
    snapshot_tiers=_tiers,
    tiers_label="risk_limit",
)
#: the package's entry point (transforms.raw.ingest loops it with the other venues)
ingest = BYBIT.ingest
#: the days fetched into the verified cache ahead of the ingest (transforms.raw.fetch_ahead)
prefetch = BYBIT.prefetch
