"""Venue sources: Binance over HTTPS, a local mirror, or a seeded synthetic market."""

from __future__ import annotations

from transforms.raw.venues.binance.cache import (
    ChecksumMismatch,
    CorruptArchive,
    FetchedFile,
    NotYetPublished,
    Source,
    SourceError,
)
from transforms.raw.venues.binance.datasets import (
    DATASETS,
    archive_relpath,
    period_bounds,
    periods_for_window,
)
from transforms.raw.venues.binance.factory import make_source

__all__ = [
    "DATASETS",
    "ChecksumMismatch",
    "CorruptArchive",
    "FetchedFile",
    "NotYetPublished",
    "Source",
    "SourceError",
    "archive_relpath",
    "make_source",
    "period_bounds",
    "periods_for_window",
]
