"""The Bybit source: (dataset, symbol, UTC day) -> that day's complete rows, cached verified.

A day is fetched page by page, every page validated, and only then - if the day is over (plus
a settling margin) - written to the cache with our own sha256. A day still in progress is
returned with `final=False` and never cached. A cached day is never fetched again and is
verified against its sha256 before every load. On any error nothing is cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.config import validate_symbol
from transforms.raw.venues.bybit.api import BybitClient
from transforms.raw.venues.bybit.cache import DayCache
from transforms.raw.venues.bybit.datasets import (
    DayColumns,
    Page,
    Row,
    columns_of_day,
    dataset,
    from_rows,
    parse_page,
)
from transforms.raw.venues.bybit.errors import BybitFormatError, NoHistory
from transforms.raw.venues.bybit.market import day_start_ms

VENUE = "bybit"
#: after midnight UTC, wait this long before a day counts as final (last OI point, late bars)
DEFAULT_SETTLE = timedelta(minutes=15)


@dataclass(frozen=True)
class BybitDay:
    """The rows of one (dataset, symbol, period), ascending by time: a daily dataset's as
    DayColumns (loaded in bulk), a risk-limit snapshot's as tuples."""

    dataset: str
    symbol: str
    period: str  # YYYY-MM-DD (for risk_limit: the snapshot date)
    columns: tuple[str, ...]
    rows: DayColumns | list[Row]
    final: bool  # complete past day (or today's snapshot) held in the verified cache
    from_cache: bool
    path: Path | None  # the cache file when final
    sha256: str | None

    def arrays(self) -> dict[str, np.ndarray]:
        """Column name -> numpy array (epoch ms as int64, numbers as float64, absent as NaN)."""
        if isinstance(self.rows, DayColumns):
            return self.rows.arrays()
        return DayColumns(self.columns, *from_rows(self.columns, self.rows)).arrays()

    def frame(self) -> pd.DataFrame:
        """Rows as a DataFrame with a `venue` column first."""
        df = pd.DataFrame(list(self.rows), columns=list(self.columns))
        df.insert(0, "venue", VENUE)
        if "symbol" not in df.columns:
            df.insert(1, "symbol", self.symbol)
        return df


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BybitSource:
    """Daily datasets and risk-limit snapshots of Bybit linear perpetuals."""

    name = VENUE

    def __init__(
        self,
        cache_dir: Path,
        client: BybitClient,
        *,
        now: Callable[[], datetime] = _utcnow,
        settle: timedelta = DEFAULT_SETTLE,
    ):
        self.cache = DayCache(Path(cache_dir) / VENUE)
        self.client = client
        self._now = now
        self.settle = settle

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BybitSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_final(self, day: date) -> bool:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return self._now() >= end + self.settle

    def fetch_day(self, dataset_name: str, symbol: str, day: date) -> BybitDay:
        """The day's rows: from the verified cache, else fetched (and cached when final).

        Only a day that is over and complete is cached: every bar of its grid for klines and
        open interest (1440 / 288 rows), at least one settlement for funding. A shorter or
        empty past day (a symbol's launch day, an exchange outage, a transient empty answer)
        is returned with `final=False` and asked again next time, so it is never frozen.
        """
        ds = dataset(dataset_name)
        validate_symbol(symbol)
        if ds.paging == "snapshot":
            raise ValueError(f"{ds.name} is a snapshot: use fetch_risk_limits")
        period = day.isoformat()
        start_ms = day_start_ms(day)
        label = f"bybit {ds.name} {symbol} {period}"
        cached = self.cache.load(ds.name, symbol, period)
        if cached is not None:
            rows = columns_of_day(ds, cached.pages, start_ms, f"{label} (cache {cached.path})")
            return BybitDay(
                ds.name, symbol, period, ds.columns, rows, True, True, cached.path, cached.sha256
            )
        final = self.is_final(day)
        if day_start_ms(day) > self._now().timestamp() * 1000:
            raise ValueError(f"{label}: the day has not started yet")
        pages = self.client.day_pages(ds, symbol, start_ms)
        rows = columns_of_day(ds, pages, start_ms, label)  # validates before anything is cached
        expected = ds.expected_rows
        complete = len(rows) == expected if expected is not None else bool(rows)
        if final and complete:
            stored = self.cache.store(ds.name, symbol, period, pages)
            return BybitDay(
                ds.name, symbol, period, ds.columns, rows, True, False, stored.path, stored.sha256
            )
        return BybitDay(ds.name, symbol, period, ds.columns, rows, False, False, None, None)

    def fetch_risk_limits(self, symbol: str, as_of: date | None = None) -> BybitDay:
        """Risk-limit tiers as a dated snapshot: taken once per UTC day, then served from cache.

        Bybit keeps no history of its tiers, so a past date that was never snapshotted raises
        NoHistory.
        """
        ds = dataset("risk_limit")
        validate_symbol(symbol)
        today = self._now().date()
        as_of = as_of or today
        period = as_of.isoformat()
        cached = self.cache.load(ds.name, symbol, period)
        from_cache = cached is not None
        if cached is None:
            if as_of != today:
                raise NoHistory(
                    f"bybit risk_limit {symbol} {period}: no snapshot was taken that day and "
                    "Bybit publishes only its current tiers"
                )
            pages = self.client.snapshot_pages(ds, symbol)
            rows = _snapshot_rows(pages, symbol, period)
            cached = self.cache.store(ds.name, symbol, period, pages)
        else:
            rows = _snapshot_rows(cached.pages, symbol, f"{period} (cache {cached.path})")
        return BybitDay(
            ds.name, symbol, period, ds.columns, rows, True, from_cache, cached.path, cached.sha256
        )


def _snapshot_rows(pages: list[Page], symbol: str, label: str) -> list[Row]:
    ds = dataset("risk_limit")
    rows: list[Row] = []
    for i, page in enumerate(pages):
        rows += parse_page(ds, page.body, f"bybit risk_limit {label} page {i + 1}").rows
    rows = [r for r in rows if r[1] == symbol]
    if not rows:
        raise BybitFormatError(f"bybit risk_limit {symbol} {label}: no tiers for the symbol")
    return sorted(rows, key=lambda r: r[2])
