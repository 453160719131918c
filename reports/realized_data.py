"""The realized-vs-modelled marts one day page reads (`mart.realized_*`), with bound
parameters. A warehouse that predates these marts reads as "nothing collected"."""

from __future__ import annotations

from dataclasses import dataclass
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
