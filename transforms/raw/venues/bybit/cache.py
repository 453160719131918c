"""Bybit's verified day cache (transforms.raw.rest.day_cache) under `<cache_dir>/bybit`."""

from __future__ import annotations

from pathlib import Path

from transforms.raw.rest.day_cache import CachedDay
from transforms.raw.rest.day_cache import DayCache as _DayCache
from transforms.raw.venues.bybit.errors import CacheCorrupt

__all__ = ["CachedDay", "DayCache"]


class DayCache(_DayCache):
    """Complete Bybit days; a file failing verification raises CacheCorrupt naming it."""

    def __init__(self, root: Path):
        super().__init__(root, "bybit", CacheCorrupt)
