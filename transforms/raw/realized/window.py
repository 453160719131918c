"""Load a window of days of collected liquidations: the rule the daily asset calls.

The collector (`liqmap collect`) writes hourly files as events arrive; this loads every day of
a partition window into `raw.liquidations` (one transaction per day, idempotent). A day with
no collection still gets its coverage rows (collected_seconds = 0: "not collected").
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from transforms.config import Settings
from transforms.raw.realized.load import VenueDay, load_realized_day
from transforms.raw.realized.settings import VENUES

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass(frozen=True)
class RealizedWindow:
    """What a window load put into the warehouse, per day and venue."""

    loaded: list[tuple[date, VenueDay]]

    @property
    def events(self) -> int:
        return sum(v.events for _, v in self.loaded)

    def complete_days(self, venue: str) -> int:
        return sum(1 for _, v in self.loaded if v.venue == venue and v.coverage.complete)

    def collected_days(self, venue: str) -> int:
        return sum(1 for _, v in self.loaded if v.venue == venue and v.coverage.collected_ms)

    @property
    def skipped(self) -> list[str]:
        """Malformed collected lines that were skipped: 'file:line: why', in load order."""
        return [line for _, v in self.loaded for line in v.skipped]


def load_realized_window(
    connect: Connect, settings: Settings, start: date, end: date
) -> RealizedWindow:
    """Load the collected liquidations of days [start, end) for the configured symbols."""
    loaded: list[tuple[date, VenueDay]] = []
    with connect() as conn:
        day = start
        while day < end:
            for venue_day in load_realized_day(
                conn, settings.data_dir, day, tuple(VENUES), settings.symbols
            ):
                loaded.append((day, venue_day))
            day += timedelta(days=1)
    return RealizedWindow(loaded)
