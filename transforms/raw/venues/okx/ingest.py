"""One raw dataset over a window of days from OKX, for every configured symbol.

The shared REST loop (transforms.raw.rest.ingest) with OKX's parts: days come from
`OkxSource.fetch_day` through the feed (the API, or the offline demo's fake OKX), are loaded
with venue = 'okx' (transforms.raw.venues.okx.load), and the klines ingest snapshots each
symbol's position tiers. A day older than OKX keeps (OutOfReach) is not collected, not a
failure. A format or code error, or a corrupt cached day, is about the symbol; any other
OkxError (HTTP 429 past the deadline, 5xx, connection errors) is about the venue.
"""

from __future__ import annotations

import duckdb

from transforms.raw.rest.ingest import RestVenue
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
    OkxLoadError,
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.venues.okx.source import VENUE


def _tiers(conn: duckdb.DuckDBPyConnection, feed: OkxFeed, symbol: str) -> int:
    return replace_tier_snapshot(conn, feed.source.fetch_tiers(symbol))


OKX = RestVenue(
    name=VENUE,
    label="OKX",
    dataset_of=OKX_DATASET,
    error=OkxError,
    symbol_errors=(OkxFormatError, OkxApiError, CacheCorrupt, OkxLoadError, OutOfReach),
    out_of_reach=OutOfReach,
    open_feed=open_okx_feed,
    replace_days=lambda conn, name, symbol, days, cache_dir, _feed: replace_days(
        conn, name, symbol, days, cache_dir
    ),
    snapshot_tiers=_tiers,
    tiers_label="position_tiers",
)
#: the package's entry point (transforms.raw.ingest loops it with the other venues)
ingest = OKX.ingest
