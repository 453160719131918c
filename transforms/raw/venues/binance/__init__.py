"""Binance USDⓈ-M: the public archive (data.binance.vision) over HTTPS, a local mirror in its
layout, or the seeded synthetic market; funding's running month from REST; the forceOrder
stream. Entry point: `ingest(...)` (transforms.raw.ingest loops it with the other venues)."""

from __future__ import annotations

from datetime import date

from transforms.raw.errors import NotYetPublished, SourceError
from transforms.raw.venues.binance.cache import (
    ChecksumMismatch,
    CorruptArchive,
    FetchedFile,
    Source,
)
from transforms.raw.venues.binance.datasets import (
    DATASETS,
    VENUE,
    archive_relpath,
    period_bounds,
    periods_for_window,
)
from transforms.raw.venues.binance.factory import make_source
from transforms.raw.venues.binance.ingest import ingest
from transforms.raw.venues.binance.probe import unpublished

__all__ = [
    "DATASETS",
    "VENUE",
    "ChecksumMismatch",
    "CorruptArchive",
    "FetchedFile",
    "NotYetPublished",
    "Source",
    "SourceError",
    "archive_relpath",
    "ingest",
    "make_source",
    "period_bounds",
    "periods_for_window",
    "planned_fetches",
    "unpublished",
]


def planned_fetches(name: str, start: date, end_exclusive: date) -> int:
    """Archive files a window fetches: one per day, one per month for monthly datasets."""
    return len(periods_for_window(name, start, end_exclusive))
