"""The OKX source: (dataset, symbol, UTC day) -> that day's complete rows, cached verified.

A day is fetched page by page, every page validated, and only then - if the day is over (plus
a settling margin) and complete - written to the cache with our own sha256
(transforms.raw.rest.day_cache). A day still in progress is returned with `final=False` and
never cached. On any error nothing is cached.

Reach: OKX keeps only the latest 1,440 entries of 5-minute open interest (about five days), so
open interest must be collected every day and a backfill reaches at most that far. A
symbol's first collectable day is the earliest day whose open interest is in the cache (taken
by an earlier daily run) or, without one, the first whole day inside that reach; every dataset
of a day before it raises OutOfReach ("not collected"), so OKX starts on the same day in every
raw table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from transforms.config import validate_symbol
from transforms.raw.rest.day_cache import DayCache, Page
from transforms.raw.venues.okx.api import OkxClient
from transforms.raw.venues.okx.datasets import (
    DAY_MS,
    MINUTE_MS,
    Row,
    dataset,
    parse_page,
    rows_of_day,
)
from transforms.raw.venues.okx.errors import CacheCorrupt, OkxFormatError, OutOfReach

VENUE = "okx"
#: after midnight UTC, wait this long before a day counts as final (last OI point, late bars)
DEFAULT_SETTLE = timedelta(minutes=15)
#: OKX serves the latest 1,440 entries of 5-minute open interest (research/okx-hyperliquid.md)
OI_REACH = timedelta(milliseconds=1440 * 5 * MINUTE_MS)
OI_DATASET = "open_interest_5m"
TIERS_DATASET = "position_tiers"


@dataclass(frozen=True)
class OkxDay:
    """The rows of one (dataset, symbol, period), ascending by time."""

    dataset: str
    symbol: str
    period: str  # YYYY-MM-DD (for position_tiers: the snapshot date)
    columns: tuple[str, ...]
    rows: list[Row]
    final: bool  # complete past day (or today's snapshot) held in the verified cache
    from_cache: bool
    path: Path | None  # the cache file when final
    sha256: str | None
    contract_value: float | None = None  # tiers: coins per contract (ctVal)
    mark_price: float | None = None  # tiers: the mark price when the snapshot was taken


def day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OkxSource:
    """Daily datasets and tier snapshots of OKX USDT swaps."""

    name = VENUE

    def __init__(
        self,
        cache_dir: Path,
        client: OkxClient,
        *,
        now: Callable[[], datetime] = _utcnow,
        settle: timedelta = DEFAULT_SETTLE,
    ):
        self.cache = DayCache(Path(cache_dir) / VENUE, VENUE, CacheCorrupt)
        self.client = client
        self._now = now
        self.settle = settle

    def close(self) -> None:
        self.client.close()

    def is_final(self, day: date) -> bool:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        return self._now() >= end + self.settle

    def first_day(self, symbol: str) -> date:
        """The symbol's first collectable day (see module doc)."""
        reach = self._now() - OI_REACH
        first = reach.date() + timedelta(days=0 if reach.time() == datetime.min.time() else 1)
        folder = self.cache.root / OI_DATASET / symbol
        for side in folder.glob(f"{symbol}-{OI_DATASET}-*.json.sha256"):
            day = date.fromisoformat(side.name[-len("YYYY-MM-DD.json.sha256") :][:10])
            first = min(first, day)
        return first

    def fetch_day(self, dataset_name: str, symbol: str, day: date) -> OkxDay:
        """The day's rows: from the verified cache, else fetched (and cached when final and
        complete: every bar of the grid for candles and open interest, at least one
        settlement for funding); OutOfReach before the symbol's first collectable day."""
        ds = dataset(dataset_name)
        validate_symbol(symbol)
        if ds.paging == "snapshot":
            raise ValueError(f"{ds.name} is a snapshot: use fetch_tiers")
        period = day.isoformat()
        start_ms = day_start_ms(day)
        label = f"okx {ds.name} {symbol} {period}"
        cached = self.cache.load(ds.name, symbol, period)
        if cached is not None:
            rows = rows_of_day(ds, cached.pages, start_ms, f"{label} (cache {cached.path})")
            return OkxDay(
                ds.name, symbol, period, ds.columns, rows, True, True, cached.path, cached.sha256
            )
        if day < self.first_day(symbol):
            raise OutOfReach(
                f"{label}: OKX keeps 5-minute open interest for about five days only and this "
                "day was not collected while it was served"
            )
        if start_ms > self._now().timestamp() * 1000:
            raise ValueError(f"{label}: the day has not started yet")
        pages = self.client.day_pages(ds, symbol, start_ms)
        rows = rows_of_day(ds, pages, start_ms, label)  # validates before anything is cached
        expected = ds.expected_rows
        complete = len(rows) == expected if expected is not None else bool(rows)
        if self.is_final(day) and complete:
            stored = self.cache.store(ds.name, symbol, period, pages)
            return OkxDay(
                ds.name, symbol, period, ds.columns, rows, True, False, stored.path, stored.sha256
            )
        return OkxDay(ds.name, symbol, period, ds.columns, rows, False, False, None, None)

    def fetch_tiers(self, symbol: str) -> OkxDay:
        """Today's isolated-margin position tiers with the swap's contract value, taken once
        per UTC day and then served from the cache (OKX publishes only current tiers)."""
        ds = dataset(TIERS_DATASET)
        validate_symbol(symbol)
        period = self._now().date().isoformat()
        label = f"okx {TIERS_DATASET} {symbol} {period}"
        cached = self.cache.load(ds.name, symbol, period)
        if cached is None:
            tiers = self.client.snapshot_page(ds, symbol)
            _, instrument = self.client.contract_value(symbol)
            pages = [tiers, instrument, self.client.mark_price_page(symbol)]
            rows, ct_val, mark = _tier_rows(pages, label)
            cached = self.cache.store(ds.name, symbol, period, pages)
            from_cache = False
        else:
            rows, ct_val, mark = _tier_rows(cached.pages, f"{label} (cache {cached.path})")
            from_cache = True
        return OkxDay(
            ds.name,
            symbol,
            period,
            ds.columns,
            rows,
            True,
            from_cache,
            cached.path,
            cached.sha256,
            contract_value=ct_val,
            mark_price=mark,
        )


def _tier_rows(pages: list[Page], label: str) -> tuple[list[Row], float, float]:
    """Tiers (ascending), ctVal and markPx from a snapshot's [tiers, instruments, mark price]
    pages."""
    import json

    if len(pages) != 3:
        raise OkxFormatError(f"{label}: expected tiers, instruments and mark-price pages")
    rows = sorted(parse_page(dataset(TIERS_DATASET), pages[0].body, label), key=lambda r: r[0])
    if not rows:
        raise OkxFormatError(f"{label}: no tiers for the instrument family")
    try:
        ct_val = float(json.loads(pages[1].body)["data"][0]["ctVal"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise OkxFormatError(f"{label}: no ctVal in the instruments page ({exc})") from exc
    try:
        mark = float(json.loads(pages[2].body)["data"][0]["markPx"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise OkxFormatError(f"{label}: no markPx in the mark-price page ({exc})") from exc
    if not (ct_val > 0 and mark > 0):
        raise OkxFormatError(f"{label}: ctVal {ct_val} and markPx {mark} must be > 0")
    return rows, ct_val, mark


__all__ = ["DAY_MS", "OkxDay", "OkxSource", "VENUE", "day_start_ms"]
