"""The realized-vs-modelled marts one day page reads (`mart.realized_*`), with bound
parameters. A warehouse that predates these marts reads as "nothing collected"."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from reports import queries

Record = dict[str, Any]

REALIZED_DAY = """
SELECT * FROM mart.realized_daily WHERE symbol = $symbol AND day = $day ORDER BY venue
"""

REALIZED_HOURS = """
SELECT venue, ts, events, realized_long, realized_short
FROM mart.realized_hourly
WHERE symbol = $symbol AND day = $day
ORDER BY venue, ts
"""

CALIBRATION_AS_OF = """
SELECT * FROM mart.realized_calibration
WHERE symbol = $symbol AND as_of = $day
ORDER BY venue
"""

REALIZED_MOVES = """
SELECT * FROM mart.realized_moves
WHERE symbol = $symbol AND list_contains($starts, start_ts)
ORDER BY start_ts, venue
"""


@dataclass(frozen=True)
class RealizedDay:
    """One day's realized marts for one symbol (empty lists when nothing was built)."""

    daily: list[Record]
    hourly: list[Record]
    calibration: list[Record]
    moves: list[Record]


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[Record]:
    try:
        return queries.rows(conn, sql, **params)
    except duckdb.CatalogException:
        return []


def load_realized_day(
    conn: duckdb.DuckDBPyConnection, symbol: str, d: date, move_starts: list[datetime]
) -> RealizedDay:
    """The realized rows for day `d`, the calibration as of `d`, and the realized rows of
    the swings starting at `move_starts` (the swings the moves card shows)."""
    return RealizedDay(
        daily=_rows(conn, REALIZED_DAY, symbol=symbol, day=d),
        hourly=_rows(conn, REALIZED_HOURS, symbol=symbol, day=d),
        calibration=_rows(conn, CALIBRATION_AS_OF, symbol=symbol, day=d),
        moves=load_realized_moves(conn, symbol, move_starts),
    )


def load_realized_moves(
    conn: duckdb.DuckDBPyConnection, symbol: str, move_starts: list[datetime]
) -> list[Record]:
    """The realized rows of the swings starting at `move_starts` (every venue's)."""
    return _rows(conn, REALIZED_MOVES, symbol=symbol, starts=move_starts) if move_starts else []


REALIZED_SPAN_HOURS = """
SELECT venue, ts, events, realized_long, realized_short, price_long, price_short
FROM mart.realized_hourly
WHERE symbol = $symbol AND day >= $first AND day <= $last
ORDER BY ts, venue
"""

REALIZED_SPAN_DAYS = """
SELECT venue, day, collected, coverage_share, completeness
FROM mart.realized_daily
WHERE symbol = $symbol AND day >= $first AND day <= $last
ORDER BY day, venue
"""


@dataclass(frozen=True)
class RealizedSpan:
    """The realized hours and each venue's collection per day over [first, last], what the
    heatmap's realized markers read (empty lists when the marts were not built)."""

    first: date
    last: date
    hourly: list[Record]
    daily: list[Record]


def load_realized_span(
    conn: duckdb.DuckDBPyConnection, symbol: str, first: date, last: date
) -> RealizedSpan:
    params = {"symbol": symbol, "first": first, "last": last}
    return RealizedSpan(
        first=first,
        last=last,
        hourly=_rows(conn, REALIZED_SPAN_HOURS, **params),
        daily=_rows(conn, REALIZED_SPAN_DAYS, **params),
    )


# The same marts over a range of days, for a build of many days: one query per mart instead
# of six per day (reports.site, more than BULK_DAYS days). Each keeps the per-day query's
# order within a day, so a day's slice is the rows its own query returns.
REALIZED_DAYS_RANGE = """
SELECT * FROM mart.realized_daily WHERE symbol = $symbol AND day >= $first AND day <= $last
ORDER BY day, venue
"""

REALIZED_HOURS_RANGE = """
SELECT day AS _day, venue, ts, events, realized_long, realized_short, price_long, price_short
FROM mart.realized_hourly
WHERE symbol = $symbol AND day >= $first AND day <= $last
ORDER BY ts, venue
"""

CALIBRATION_RANGE = """
SELECT * FROM mart.realized_calibration
WHERE symbol = $symbol AND as_of >= $first AND as_of <= $last
ORDER BY as_of, venue
"""

REALIZED_MOVES_ALL = """
SELECT * FROM mart.realized_moves WHERE symbol = $symbol ORDER BY start_ts, venue
"""

_HOUR_COLS = ("venue", "ts", "events", "realized_long", "realized_short")
_SPAN_HOUR_COLS = (*_HOUR_COLS, "price_long", "price_short")
_SPAN_DAY_COLS = ("venue", "day", "collected", "coverage_share", "completeness")


def _between(rows: list[Record], days: list[date], first: date, last: date) -> list[Record]:
    """The rows whose day (`days`, ascending, one per row) is in [first, last]."""
    return rows[bisect_left(days, first) : bisect_right(days, last)]


@dataclass(frozen=True)
class RealizedRange:
    """Every realized row of one symbol over [first, last] (hours by time then venue, days
    and calibration by day then venue, every swing's rows), read once; `day` and `span`
    give what `load_realized_day` and `load_realized_span` read for days inside it."""

    first: date
    last: date
    daily: list[Record]
    hourly: list[Record]  # with their day as `_day`
    calibration: list[Record]
    moves: list[Record]
    _days: dict[str, list[date]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._days["daily"] = [r["day"] for r in self.daily]
        self._days["calibration"] = [r["as_of"] for r in self.calibration]
        hour_days = [r["_day"] for r in self.hourly]
        # by time, the hours' days ascend (a day's hours are its own): sliced like the others
        if all(a <= b for a, b in zip(hour_days[:-1], hour_days[1:], strict=True)):
            self._days["hourly"] = hour_days

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last

    def _hours(self, first: date, last: date) -> list[Record]:
        days = self._days.get("hourly")
        if days is not None:
            return _between(self.hourly, days, first, last)
        return [r for r in self.hourly if first <= r["_day"] <= last]

    def day(self, d: date, move_starts: list[datetime]) -> RealizedDay:
        """`load_realized_day(conn, symbol, d, move_starts)` from the rows held."""
        # by venue then hour, as REALIZED_HOURS orders them (this range holds time, venue)
        hours = sorted(self._hours(d, d), key=lambda r: (r["venue"], r["ts"]))
        starts = set(move_starts)
        return RealizedDay(
            daily=_between(self.daily, self._days["daily"], d, d),
            hourly=[{k: r[k] for k in _HOUR_COLS} for r in hours],
            calibration=_between(self.calibration, self._days["calibration"], d, d),
            moves=[r for r in self.moves if r["start_ts"] in starts] if move_starts else [],
        )

    def span(self, first: date, last: date) -> RealizedSpan:
        """`load_realized_span(conn, symbol, first, last)` from the rows held."""
        return RealizedSpan(
            first=first,
            last=last,
            hourly=[{k: r[k] for k in _SPAN_HOUR_COLS} for r in self._hours(first, last)],
            daily=[
                {k: r[k] for k in _SPAN_DAY_COLS}
                for r in _between(self.daily, self._days["daily"], first, last)
            ],
        )


def load_realized_range(
    conn: duckdb.DuckDBPyConnection, symbol: str, first: date, last: date
) -> RealizedRange:
    """The realized marts of `symbol` over [first, last] (RealizedRange)."""
    params = {"symbol": symbol, "first": first, "last": last}
    return RealizedRange(
        first=first,
        last=last,
        daily=_rows(conn, REALIZED_DAYS_RANGE, **params),
        hourly=_rows(conn, REALIZED_HOURS_RANGE, **params),
        calibration=_rows(conn, CALIBRATION_RANGE, **params),
        moves=_rows(conn, REALIZED_MOVES_ALL, symbol=symbol),
    )
