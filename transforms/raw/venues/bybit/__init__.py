"""Bybit v5 linear perpetuals (keyless REST): klines, mark klines, 5 min OI, funding, tiers.

Entry points: `ingest(...)` (transforms.raw.ingest loops it with the other venues),
`prefetch(...)` (its days into the verified cache, transforms.raw.fetch_ahead),
`BybitSource.fetch_day(dataset, symbol, day)`, `BybitSource.fetch_risk_limits`,
`make_bybit_source(cache_dir)`, `oi_per_side`, and `FakeBybitServer` for offline use.
"""

from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.venues.bybit.api import BybitClient
from transforms.raw.venues.bybit.datasets import DAILY_DATASETS, DATASETS
from transforms.raw.venues.bybit.errors import (
    Banned,
    BybitApiError,
    BybitError,
    BybitFormatError,
    CacheCorrupt,
    NoHistory,
    RateLimited,
)
from transforms.raw.venues.bybit.ingest import ingest, prefetch
from transforms.raw.venues.bybit.oi import DEFAULT_OI_SIDES, OI_SIDES, oi_per_side
from transforms.raw.venues.bybit.settings import (
    BybitSettings,
    load_bybit_settings,
    make_bybit_source,
)
from transforms.raw.venues.bybit.source import VENUE, BybitDay, BybitSource


def check_settings(settings: object) -> None:
    """LIQMAP_BYBIT_* checked before a run starts (transforms.raw.packages)."""
    load_bybit_settings()


__all__ = [
    "VENUE",
    "check_settings",
    "ingest",
    "prefetch",
    "DAILY_DATASETS",
    "DATASETS",
    "DEFAULT_OI_SIDES",
    "OI_SIDES",
    "Banned",
    "BybitApiError",
    "BybitClient",
    "BybitDay",
    "BybitError",
    "BybitFormatError",
    "BybitSettings",
    "BybitSource",
    "CacheCorrupt",
    "NoHistory",
    "RateLimited",
    "SlidingWindowLimiter",
    "load_bybit_settings",
    "make_bybit_source",
    "oi_per_side",
]
