"""The source shape every REST venue shares: (dataset, symbol, UTC day) -> that day's rows,
cached verified, and today's tier snapshot taken once per day.

A day is served from the verified day cache (transforms.raw.rest.day_cache) when it is there;
else - unless it is out of the venue's reach (the venue's `reach` rule raises its OutOfReach)
or has not started - its pages are fetched and validated, and only then, if the day was over
(plus a settling margin) before the fetch and the venue calls it complete, written to the
cache with our own sha256. A day still in progress, or incomplete, is returned with
`final=False` and never cached. On any error nothing is cached. A venue's source subclasses
`RestSource` and gives, as data and small functions, what differs: its name, day type,
CacheCorrupt error, how pages become rows, how a day is fetched and when it is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

from transforms.config import validate_symbol
from transforms.days import day_start_ms
from transforms.raw.rest.datasets import RestDataset
from transforms.raw.rest.day_cache import CachedDay, DayCache, Page

#: after midnight UTC, wait this long before a day counts as final (last OI point, late bars)
DEFAULT_SETTLE = timedelta(minutes=15)
T = TypeVar("T")


@dataclass(frozen=True)
class RestDay:
    """The rows of one (dataset, symbol, period), ascending by time."""

    dataset: str
    symbol: str
    period: str  # YYYY-MM-DD (for a tier snapshot: the snapshot date)
    columns: tuple[str, ...]
    rows: Any
    final: bool  # complete past day (or today's snapshot) held in the verified cache
    from_cache: bool
    path: Path | None  # the cache file when final
    sha256: str | None


@dataclass(frozen=True)
class Fetched:
    """A day's pages fetched and validated: its rows, whether it is complete, and any
    further fields of the venue's day type for a day not cached."""

    pages: list[Page]
    rows: Any
    complete: bool
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    """Today's tier snapshot: what the venue parsed from its pages, and their cache entry."""

    value: T
    cached: CachedDay
    from_cache: bool


def utcnow() -> datetime:
    return datetime.now(UTC)


class RestSource:
    """Daily datasets and tier snapshots of one REST venue (see module doc)."""

    #: the venue's name (the cache folder and the first word of every line)
    name: str
    #: the venue's day type (RestDay or a subclass with more fields)
    day_type: type[RestDay] = RestDay
    #: the venue's CacheCorrupt
    corrupt: type[Exception]

    def __init__(
        self,
        cache_dir: Path,
        client: Any,
        *,
        now: Callable[[], datetime] = utcnow,
        settle: timedelta = DEFAULT_SETTLE,
    ):
        self.cache = DayCache(Path(cache_dir) / self.name, self.name, self.corrupt)
        self.client = client
        self._now = now
        self.settle = settle

    def close(self) -> None:
        self.client.close()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_final(self, day: date) -> bool:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return self._now() >= end + self.settle

    def label(self, dataset: str, symbol: str, period: str) -> str:
        return f"{self.name} {dataset} {symbol} {period}"

    def cached_or_fetched(
        self,
        dataset: str,
        symbol: str,
        day: date,
        columns: tuple[str, ...],
        *,
        rows_of: Callable[[list[Page], str], Any],
        fetch: Callable[[int, str], Fetched],
        reach: Callable[[str], None] | None = None,
    ) -> RestDay:
        """The day's rows (module doc): `rows_of(pages, label)` reads cached pages,
        `fetch(day start ms, label)` fetches and validates the day, `reach(label)` raises
        the venue's OutOfReach for a day it no longer serves."""
        validate_symbol(symbol)
        period, start = day.isoformat(), day_start_ms(day)
        label = self.label(dataset, symbol, period)
        make = self.day_type
        cached = self.cache.load(dataset, symbol, period)
        if cached is not None:
            rows = rows_of(cached.pages, f"{label} (cache {cached.path})")
            return make(
                dataset, symbol, period, columns, rows, True, True, cached.path, cached.sha256
            )
        if reach is not None:
            reach(label)
        if start > self._now().timestamp() * 1000:
            raise ValueError(f"{label}: the day has not started yet")
        final = self.is_final(day)  # before the fetch: pages taken earlier are never final
        got = fetch(start, label)
        if final and got.complete:
            stored = self.cache.store(dataset, symbol, period, got.pages)
            return make(
                dataset, symbol, period, columns, got.rows, True, False, stored.path, stored.sha256
            )
        return make(
            dataset, symbol, period, columns, got.rows, False, False, None, None, **got.extra
        )

    def paged_day(
        self,
        ds: RestDataset,
        symbol: str,
        day: date,
        rows_of_day: Callable[[Any, list[Page], int, str], Any],
        reach: Callable[[str], None] | None = None,
    ) -> RestDay:
        """A paged dataset's day: the client's `day_pages(ds, symbol, day start ms)`, read by
        `rows_of_day(ds, pages, day start ms, label)`; complete with every row of its grid
        (1440 bars, 288 OI points) or, irregular (funding), with at least one row."""

        def fetch(start_ms: int, label: str) -> Fetched:
            pages = self.client.day_pages(ds, symbol, start_ms)
            rows = rows_of_day(ds, pages, start_ms, label)  # validated before any caching
            expected = ds.expected_rows
            return Fetched(pages, rows, len(rows) == expected if expected else bool(rows))

        def cached(pages: list[Page], label: str) -> Any:
            return rows_of_day(ds, pages, day_start_ms(day), label)

        return self.cached_or_fetched(
            ds.name, symbol, day, ds.columns, rows_of=cached, fetch=fetch, reach=reach
        )

    def snapshot(
        self,
        dataset: str,
        symbol: str,
        period: str,
        *,
        fetch: Callable[[], list[Page]],
        parse: Callable[[list[Page], str], T],
    ) -> Snapshot[T]:
        """A tier snapshot of `period`, taken once (venues publish only current tiers):
        from the cache, else `fetch()`ed, `parse(pages, label)`d and cached."""
        validate_symbol(symbol)
        label = self.label(dataset, symbol, period)
        cached = self.cache.load(dataset, symbol, period)
        if cached is not None:
            return Snapshot(parse(cached.pages, f"{label} (cache {cached.path})"), cached, True)
        pages = fetch()
        value = parse(pages, label)
        return Snapshot(value, self.cache.store(dataset, symbol, period, pages), False)

    def cached_days(self, dataset: str, symbol: str) -> list[date]:
        """The days of `dataset` the verified cache holds for `symbol` (by their sidecars)."""
        folder = self.cache.root / dataset / symbol
        return [
            date.fromisoformat(side.name[-len("YYYY-MM-DD.json.sha256") :][:10])
            for side in folder.glob(f"{symbol}-{dataset}-*.json.sha256")
        ]
