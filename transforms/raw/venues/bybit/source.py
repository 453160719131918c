"""The Bybit source: (dataset, symbol, UTC day) -> that day's complete rows, cached verified.

A day is fetched page by page, every page validated, and only then - if the day is over (plus
a settling margin) - written to the cache with our own sha256. A day still in progress is
returned with `final=False` and never cached. A cached day is never fetched again and is
verified against its sha256 before every load. On any error nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from transforms.raw.rest.source import RestDay, RestSource
from transforms.raw.venues.bybit.api import BybitClient
from transforms.raw.venues.bybit.datasets import (
    DayColumns,
    Page,
    Row,
    columns_of_day,
    dataset,
    from_rows,
    parse_page,
)
from transforms.raw.venues.bybit.errors import BybitFormatError, CacheCorrupt, NoHistory

VENUE = "bybit"


@dataclass(frozen=True)
class BybitDay(RestDay):
    """The rows of one (dataset, symbol, period), ascending by time: a daily dataset's as
    DayColumns (loaded in bulk), a risk-limit snapshot's as tuples."""

    rows: DayColumns | list[Row]

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


class BybitSource(RestSource):
    """Daily datasets and risk-limit snapshots of Bybit linear perpetuals
    (transforms.raw.rest.source)."""

    name = VENUE
    day_type = BybitDay
    corrupt = CacheCorrupt
    client: BybitClient

    def fetch_day(self, dataset_name: str, symbol: str, day: date) -> BybitDay:
        """The day's rows: from the verified cache, else fetched (and cached when final).

        Only a day that is over and complete is cached: every bar of its grid for klines and
        open interest (1440 / 288 rows), at least one settlement for funding. A shorter or
        empty past day (a symbol's launch day, an exchange outage, a transient empty answer)
        is returned with `final=False` and asked again next time, so it is never frozen.
        """
        ds = dataset(dataset_name)
        if ds.paging == "snapshot":
            raise ValueError(f"{ds.name} is a snapshot: use fetch_risk_limits")
        return self.paged_day(ds, symbol, day, columns_of_day)  # type: ignore[return-value]

    def fetch_risk_limits(self, symbol: str, as_of: date | None = None) -> BybitDay:
        """Risk-limit tiers as a dated snapshot: taken once per UTC day, then served from cache.

        Bybit keeps no history of its tiers, so a past date that was never snapshotted raises
        NoHistory.
        """
        ds = dataset("risk_limit")
        today = self._now().date()
        period = (as_of or today).isoformat()

        def fetch() -> list[Page]:
            if (as_of or today) != today:
                raise NoHistory(
                    f"bybit risk_limit {symbol} {period}: no snapshot was taken that day and "
                    "Bybit publishes only its current tiers"
                )
            return self.client.snapshot_pages(ds, symbol)

        def parse(pages: list[Page], label: str) -> list[Row]:
            return _snapshot_rows(pages, symbol, label)

        snap = self.snapshot(ds.name, symbol, period, fetch=fetch, parse=parse)
        return BybitDay(
            ds.name, symbol, period, ds.columns, snap.value, True, snap.from_cache,
            snap.cached.path, snap.cached.sha256,
        )  # fmt: skip


def _snapshot_rows(pages: list[Page], symbol: str, label: str) -> list[Row]:
    ds = dataset("risk_limit")
    rows: list[Row] = []
    for i, page in enumerate(pages):
        rows += parse_page(ds, page.body, f"{label} page {i + 1}").rows
    rows = [r for r in rows if r[1] == symbol]
    if not rows:
        raise BybitFormatError(f"{label}: no tiers for the symbol")
    return sorted(rows, key=lambda r: r[2])
