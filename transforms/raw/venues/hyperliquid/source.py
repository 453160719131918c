"""The Hyperliquid source: (dataset, symbol, UTC day) -> that day's rows, cached verified.

- `klines_1m`: candleSnapshot 1m. Only the latest 5,000 candles are served (about 3.5 days),
  so candles are collected every day; a day starting before that reach and not in the cache
  is OutOfReach ("not collected").
- `funding`: fundingHistory (the whole hourly series is served).
- `open_interest_5m`, `mark_1m`: built from the minute samples `liqmap collect` takes
  (transforms.raw.venues.hyperliquid.samples); Hyperliquid serves no history of either.

A symbol's first collected day is the first day with samples (without open interest there is
no map), or an earlier day already in the cache; every dataset of a day before it raises
OutOfReach, so Hyperliquid starts on the same day in every raw table. A day is cached (our
own sha256, transforms.raw.rest.day_cache) only when it is over (plus a settling margin) and
complete: 1,440 candles, at least one funding row, every minute sampled. A day with a sample
gap is returned with the rows it has and `final=False` (named by the loop as provisional,
and by the completeness check), never filled. On any error nothing is cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from transforms.days import day_start_ms
from transforms.raw.rest.datasets import merge_day
from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.source import DEFAULT_SETTLE, Fetched, RestDay, RestSource, utcnow
from transforms.raw.venues.hyperliquid.api import HyperliquidClient
from transforms.raw.venues.hyperliquid.datasets import (
    CANDLES_KEPT,
    DAY_MS,
    FUNDING_COLUMNS,
    KLINE_COLUMNS,
    MINUTE_MS,
    Row,
    coin,
    decode,
    margin_tiers,
    parse_candle,
    parse_funding,
    parse_rows,
)
from transforms.raw.venues.hyperliquid.errors import (
    CacheCorrupt,
    HyperliquidFormatError,
    OutOfReach,
)
from transforms.raw.venues.hyperliquid.samples import (
    day_samples,
    mark_rows,
    oi_bars,
    sampled_days,
    samples_root,
)

VENUE = "hyperliquid"
CANDLE_REACH_MS = CANDLES_KEPT * MINUTE_MS
SAMPLED = ("open_interest_5m", "mark_1m")
DATASETS = ("klines_1m", "funding", *SAMPLED)
TIERS_DATASET = "margin_tables"


@dataclass(frozen=True)
class HyperliquidDay(RestDay):
    """The rows of one (dataset, symbol, period), ascending by time."""

    gaps: int = 0  # sampled datasets: minutes of the day without a sample


def rows_of_pages(
    dataset: str, symbol: str, pages: list[Page], start_ms: int, label: str
) -> list[Row]:
    """The day's rows from its pages, ascending (transforms.raw.rest.datasets.merge_day)."""
    wheres = [f"{label} page {i + 1}" for i in range(len(pages))]
    rows = ((w, page_rows(dataset, symbol, p, w)) for w, p in zip(wheres, pages, strict=True))
    return merge_day(rows, start_ms, HyperliquidFormatError)


def page_rows(dataset: str, symbol: str, page: Page, where: str) -> list[Row]:
    """One page's rows: an /info answer, or a day's minute samples for a sampled dataset."""
    if dataset == "klines_1m":
        return parse_rows(page.body, where, parse_candle, coin(symbol))
    if dataset == "funding":
        return parse_rows(page.body, where, parse_funding, coin(symbol))
    return sampled_rows(dataset, [tuple(r) for r in decode(page.body, where)])


COLUMNS = {
    "klines_1m": KLINE_COLUMNS,
    "funding": FUNDING_COLUMNS,
    "open_interest_5m": ("timestamp", "oi_base", "oi_value"),
    "mark_1m": ("open_time", "open", "high", "low", "close"),
}


def sampled_rows(dataset: str, samples: list[tuple]) -> list[Row]:
    """The bars a sampled dataset is built from its minute samples (samples module doc)."""
    return oi_bars(samples) if dataset == "open_interest_5m" else mark_rows(samples)


class HyperliquidSource(RestSource):
    """Daily datasets and margin-table snapshots of Hyperliquid perps
    (transforms.raw.rest.source)."""

    name = VENUE
    day_type = HyperliquidDay
    corrupt = CacheCorrupt
    client: HyperliquidClient

    def __init__(
        self,
        cache_dir: Path,
        data_dir: Path,
        client: HyperliquidClient,
        *,
        now: Callable[[], datetime] = utcnow,
        settle: timedelta = DEFAULT_SETTLE,
    ):
        super().__init__(cache_dir, client, now=now, settle=settle)
        self.samples = samples_root(data_dir)

    def first_day(self, symbol: str) -> date | None:
        """The symbol's first collected day (module doc); None: nothing collected yet."""
        days = sampled_days(self.samples)
        for name in SAMPLED:
            days += self.cached_days(name, symbol)
        return min(days) if days else None

    def fetch_day(self, dataset: str, symbol: str, day: date) -> HyperliquidDay:
        """The day's rows (module doc); OutOfReach before the first collected day."""
        if dataset not in DATASETS:
            raise ValueError(f"unknown Hyperliquid dataset {dataset!r}: one of {DATASETS}")

        def reach(label: str) -> None:
            first = self.first_day(symbol)
            if first is None or day < first:
                raise OutOfReach(
                    f"{label}: Hyperliquid keeps no open-interest or mark history and no minute "
                    f"samples were collected for this day (first sampled day: {first or 'none'})"
                )

        def fetch(start: int, label: str) -> Fetched:
            if dataset in SAMPLED:
                samples, coverage = day_samples(self.samples, symbol, day, start)
                gaps = DAY_MS // MINUTE_MS - len(samples)
                page = Page({"source": "samples"}, json.dumps(samples).encode())
                rows = sampled_rows(dataset, samples)
                return Fetched([page], rows, coverage.complete and gaps == 0, {"gaps": gaps})
            now_ms = int(self._now().timestamp() * 1000)
            if dataset == "klines_1m" and start < now_ms - now_ms % MINUTE_MS - CANDLE_REACH_MS:
                raise OutOfReach(
                    f"{label}: Hyperliquid serves only the latest 5,000 1-minute candles and "
                    "this day was not collected while it was served"
                )
            pages_of = (
                self.client.candle_pages if dataset == "klines_1m" else self.client.funding_pages
            )
            pages = pages_of(coin(symbol), start, start + DAY_MS)
            rows = rows_of_pages(dataset, symbol, pages, start, label)
            if dataset == "klines_1m":  # the running minute's candle is served too: still open
                rows = [r for r in rows if r[0] + MINUTE_MS <= now_ms]
            complete = len(rows) == DAY_MS // MINUTE_MS if dataset == "klines_1m" else bool(rows)
            return Fetched(pages, rows, complete)

        def rows_of(pages: list[Page], label: str) -> list[Row]:
            return rows_of_pages(dataset, symbol, pages, day_start_ms(day), label)

        return self.cached_or_fetched(  # type: ignore[return-value]
            dataset, symbol, day, COLUMNS[dataset], rows_of=rows_of, fetch=fetch, reach=reach
        )

    def fetch_tiers(self, symbol: str) -> tuple[list[tuple[float, int]], HyperliquidDay]:
        """Today's margin tiers of the symbol's coin from `meta`, snapshotted once per UTC day
        (Hyperliquid publishes only current tables)."""

        def parse(pages: list[Page], label: str) -> list[tuple[float, int]]:
            return margin_tiers(decode(pages[0].body, label), coin(symbol), label)

        period = self._now().date().isoformat()
        snap = self.snapshot(
            TIERS_DATASET, symbol, period, fetch=lambda: [self.client.meta()], parse=parse
        )
        day = HyperliquidDay(
            TIERS_DATASET, symbol, period, ("lower_bound", "max_leverage"), [], True,
            snap.from_cache, snap.cached.path, snap.cached.sha256,
        )  # fmt: skip
        return snap.value, day
