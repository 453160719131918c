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

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from transforms.days import day_start_ms
from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.source import RestDay, RestSource
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
#: OKX serves the latest 1,440 entries of 5-minute open interest (research/okx-hyperliquid.md)
OI_REACH = timedelta(milliseconds=1440 * 5 * MINUTE_MS)
OI_DATASET = "open_interest_5m"
TIERS_DATASET = "position_tiers"


@dataclass(frozen=True)
class OkxDay(RestDay):
    """The rows of one (dataset, symbol, period), ascending by time; a tier snapshot also
    carries what values its bounds."""

    contract_value: float | None = None  # tiers: coins per contract (ctVal)
    mark_price: float | None = None  # tiers: the mark price when the snapshot was taken


class OkxSource(RestSource):
    """Daily datasets and tier snapshots of OKX USDT swaps (transforms.raw.rest.source)."""

    name = VENUE
    day_type = OkxDay
    corrupt = CacheCorrupt
    client: OkxClient

    def first_day(self, symbol: str) -> date:
        """The symbol's first collectable day (see module doc)."""
        reach = self._now() - OI_REACH
        first = reach.date() + timedelta(days=0 if reach.time() == datetime.min.time() else 1)
        return min([first, *self.cached_days(OI_DATASET, symbol)])

    def fetch_day(self, dataset_name: str, symbol: str, day: date) -> OkxDay:
        """The day's rows: from the verified cache, else fetched (and cached when final and
        complete: every bar of the grid for candles and open interest, at least one
        settlement for funding); OutOfReach before the symbol's first collectable day."""
        ds = dataset(dataset_name)
        if ds.paging == "snapshot":
            raise ValueError(f"{ds.name} is a snapshot: use fetch_tiers")

        def reach(label: str) -> None:
            if day < self.first_day(symbol):
                raise OutOfReach(
                    f"{label}: OKX keeps 5-minute open interest for about five days only and "
                    "this day was not collected while it was served"
                )

        return self.paged_day(ds, symbol, day, rows_of_day, reach)  # type: ignore[return-value]

    def fetch_tiers(self, symbol: str) -> OkxDay:
        """Today's isolated-margin position tiers with the swap's contract value, taken once
        per UTC day and then served from the cache (OKX publishes only current tiers)."""
        ds = dataset(TIERS_DATASET)

        def fetch() -> list[Page]:
            tiers = self.client.snapshot_page(ds, symbol)
            _, instrument = self.client.contract_value(symbol)
            return [tiers, instrument, self.client.mark_price_page(symbol)]

        period = self._now().date().isoformat()
        snap = self.snapshot(ds.name, symbol, period, fetch=fetch, parse=_tier_rows)
        rows, ct_val, mark = snap.value
        return OkxDay(
            ds.name,
            symbol,
            period,
            ds.columns,
            rows,
            True,
            snap.from_cache,
            snap.cached.path,
            snap.cached.sha256,
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
