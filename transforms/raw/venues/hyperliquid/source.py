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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from transforms.config import validate_symbol
from transforms.raw.rest.datasets import merge_day
from transforms.raw.rest.day_cache import DayCache, Page
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
DEFAULT_SETTLE = timedelta(minutes=15)
CANDLE_REACH = timedelta(milliseconds=CANDLES_KEPT * MINUTE_MS)
SAMPLED = ("open_interest_5m", "mark_1m")
DATASETS = ("klines_1m", "funding", *SAMPLED)
TIERS_DATASET = "margin_tables"


@dataclass(frozen=True)
class HyperliquidDay:
    """The rows of one (dataset, symbol, period), ascending by time."""

    dataset: str
    symbol: str
    period: str  # YYYY-MM-DD (for margin_tables: the snapshot date)
    columns: tuple[str, ...]
    rows: list[Row]
    final: bool
    from_cache: bool
    path: Path | None
    sha256: str | None
    gaps: int = 0  # sampled datasets: minutes of the day without a sample


def day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _utcnow() -> datetime:
    return datetime.now(UTC)


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


class HyperliquidSource:
    """Daily datasets and margin-table snapshots of Hyperliquid perps."""

    name = VENUE

    def __init__(
        self,
        cache_dir: Path,
        data_dir: Path,
        client: HyperliquidClient,
        *,
        now: Callable[[], datetime] = _utcnow,
        settle: timedelta = DEFAULT_SETTLE,
    ):
        self.cache = DayCache(Path(cache_dir) / VENUE, VENUE, CacheCorrupt)
        self.samples = samples_root(data_dir)
        self.client = client
        self._now = now
        self.settle = settle

    def close(self) -> None:
        self.client.close()

    def is_final(self, day: date) -> bool:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return self._now() >= end + self.settle

    def first_day(self, symbol: str) -> date | None:
        """The symbol's first collected day (module doc); None: nothing collected yet."""
        days = sampled_days(self.samples)
        for name in SAMPLED:
            folder = self.cache.root / name / symbol
            days += [
                date.fromisoformat(p.name[-len("YYYY-MM-DD.json.sha256") :][:10])
                for p in folder.glob(f"{symbol}-{name}-*.json.sha256")
            ]
        return min(days) if days else None

    def fetch_day(self, dataset: str, symbol: str, day: date) -> HyperliquidDay:
        """The day's rows (module doc); OutOfReach before the first collected day."""
        if dataset not in DATASETS:
            raise ValueError(f"unknown Hyperliquid dataset {dataset!r}: one of {DATASETS}")
        validate_symbol(symbol)
        period, start = day.isoformat(), day_start_ms(day)
        label = f"hyperliquid {dataset} {symbol} {period}"
        cols = COLUMNS[dataset]
        cached = self.cache.load(dataset, symbol, period)
        if cached is not None:
            rows = rows_of_pages(
                dataset, symbol, cached.pages, start, f"{label} (cache {cached.path})"
            )
            return HyperliquidDay(
                dataset, symbol, period, cols, rows, True, True, cached.path, cached.sha256
            )
        first = self.first_day(symbol)
        if first is None or day < first:
            raise OutOfReach(
                f"{label}: Hyperliquid keeps no open-interest or mark history and no minute "
                f"samples were collected for this day (first sampled day: {first or 'none'})"
            )
        now_ms = int(self._now().timestamp() * 1000)
        if start > now_ms:
            raise ValueError(f"{label}: the day has not started yet")
        gaps = 0
        if dataset in SAMPLED:
            samples, coverage = day_samples(self.samples, symbol, day, start)
            pages = [Page({"source": "samples"}, json.dumps(samples).encode())]
            rows = sampled_rows(dataset, samples)
            gaps = DAY_MS // MINUTE_MS - len(samples)
            complete = coverage.complete and gaps == 0
        else:
            if (
                dataset == "klines_1m"
                and start < now_ms - now_ms % MINUTE_MS - CANDLE_REACH / timedelta(milliseconds=1)
            ):
                raise OutOfReach(
                    f"{label}: Hyperliquid serves only the latest 5,000 1-minute candles and "
                    "this day was not collected while it was served"
                )
            fetch = (
                self.client.candle_pages if dataset == "klines_1m" else self.client.funding_pages
            )
            pages = fetch(coin(symbol), start, start + DAY_MS)
            rows = rows_of_pages(dataset, symbol, pages, start, label)
            if dataset == "klines_1m":  # the running minute's candle is served too: still open
                rows = [r for r in rows if r[0] + MINUTE_MS <= now_ms]
            complete = len(rows) == DAY_MS // MINUTE_MS if dataset == "klines_1m" else bool(rows)
        if self.is_final(day) and complete:
            stored = self.cache.store(dataset, symbol, period, pages)
            return HyperliquidDay(
                dataset, symbol, period, cols, rows, True, False, stored.path, stored.sha256
            )
        return HyperliquidDay(dataset, symbol, period, cols, rows, False, False, None, None, gaps)

    def fetch_tiers(self, symbol: str) -> tuple[list[tuple[float, int]], HyperliquidDay]:
        """Today's margin tiers of the symbol's coin from `meta`, snapshotted once per UTC day
        (Hyperliquid publishes only current tables)."""
        validate_symbol(symbol)
        period = self._now().date().isoformat()
        label = f"hyperliquid {TIERS_DATASET} {symbol} {period}"
        cached = self.cache.load(TIERS_DATASET, symbol, period)
        if cached is None:
            page = self.client.meta()
            tiers = margin_tiers(decode(page.body, label), coin(symbol), label)
            cached = self.cache.store(TIERS_DATASET, symbol, period, [page])
            from_cache = False
        else:
            where = f"{label} (cache {cached.path})"
            tiers = margin_tiers(decode(cached.pages[0].body, where), coin(symbol), where)
            from_cache = True
        day = HyperliquidDay(
            TIERS_DATASET, symbol, period, ("lower_bound", "max_leverage"), [], True, from_cache,
            cached.path, cached.sha256,
        )  # fmt: skip
        return tiers, day
