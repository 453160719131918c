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

import duckdb

from transforms.raw.rest.ingest import RestVenue
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
from transforms.raw.venues.hyperliquid.source import VENUE


def _tiers(conn: duckdb.DuckDBPyConnection, feed: HyperliquidFeed, symbol: str) -> int:
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
    open_feed=open_hyperliquid_feed,
    replace_days=lambda conn, name, symbol, days, cache_dir, _feed: replace_days(
        conn, name, symbol, days, cache_dir
    ),
    snapshot_tiers=_tiers,
    tiers_label="margin_tables",
)
#: the package's entry point (transforms.raw.ingest loops it with the other venues)
ingest = HYPERLIQUID.ingest
