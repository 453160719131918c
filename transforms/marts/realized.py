"""Realized beside modelled: the step the `realized_vs_modelled` asset calls.

Reads raw.liquidations and its coverage (loaded by `raw_liquidations`) and the base model's
marts, and writes `mart.realized_daily` and `mart.realized_hourly` for the window plus
`mart.realized_moves` and `mart.realized_calibration` rebuilt whole (a swing spans days, and
a calibration row covers every day before it; both are small). One transaction, so a re-run
gives the same rows and a crash leaves the previous ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

from transforms.db import sql_file, transaction
from transforms.marts.calibration import calibration_frame
from transforms.marts.registry import MARTS
from transforms.raw.realized.settings import VENUES
from transforms.venues import venue, venue_names

#: venues the liquidation model can run on (each has its own mart rows, venue column)
MODEL_VENUES: tuple[str, ...] = venue_names()

DELETE_WINDOW_SQL = (
    "DELETE FROM {table} WHERE list_contains($symbols, symbol) AND day >= $start AND day < $end"
)
DELETE_SYMBOLS_SQL = "DELETE FROM {table} WHERE list_contains($symbols, symbol)"
READ_DAILY_SQL = """
SELECT * FROM mart.realized_daily WHERE list_contains($symbols, symbol) ORDER BY ALL
"""


@dataclass(frozen=True)
class RealizedUpdate:
    rows: dict[str, int]
    #: per venue: days of the window fully collected, partly collected, not collected
    collected: dict[str, tuple[int, int, int]]


def _venue_params(model_venues: tuple[str, ...]) -> dict[str, object]:
    venues = list(VENUES)
    return {
        "venues": venues,
        "completeness": [venue(v).realized for v in venues],
        "model_venues": list(model_venues),
    }


def _count(conn: duckdb.DuckDBPyConnection, table: str, symbols: list[str]) -> int:
    sql = f"SELECT count(*) FROM {table} WHERE list_contains($symbols, symbol)"
    return int(conn.execute(sql, {"symbols": symbols}).fetchone()[0])  # type: ignore[index]


def _insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame) -> int:  # type: ignore[no-untyped-def]
    if frame.empty:
        return 0
    conn.register("_realized_frame", frame)
    try:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _realized_frame")
    finally:
        conn.unregister("_realized_frame")
    return len(frame)


def update_realized_marts(
    conn: duckdb.DuckDBPyConnection,
    symbols: tuple[str, ...],
    start: date,
    end: date,
    model_venues: tuple[str, ...] = MODEL_VENUES,
) -> RealizedUpdate:
    """Rebuild the realized marts of `symbols`: the window [start, end) of the daily and hourly
    ones, all rows of the moves and calibration ones. `model_venues`: the venues modelled in
    this warehouse (LIQMAP_VENUES); the others say 'no model for this venue'."""
    symbols_list = list(symbols)
    window = {"symbols": symbols_list, "start": start, "end": end}
    daily_t, hourly_t = MARTS["realized_daily"].table, MARTS["realized_hourly"].table
    moves_t, calib_t = MARTS["realized_moves"].table, MARTS["realized_calibration"].table
    with transaction(conn):
        conn.execute(DELETE_WINDOW_SQL.format(table=daily_t), window)
        conn.execute(sql_file("mart_realized_daily.sql"), {**window, **_venue_params(model_venues)})
        conn.execute(DELETE_WINDOW_SQL.format(table=hourly_t), window)
        conn.execute(sql_file("mart_realized_hourly.sql"), window)
        conn.execute(DELETE_SYMBOLS_SQL.format(table=moves_t), {"symbols": symbols_list})
        params = {"symbols": symbols_list, **_venue_params(model_venues)}
        conn.execute(sql_file("mart_realized_moves.sql"), params)
        daily = conn.execute(READ_DAILY_SQL, {"symbols": symbols_list}).df()
        conn.execute(DELETE_SYMBOLS_SQL.format(table=calib_t), {"symbols": symbols_list})
        calibration = calibration_frame(daily)
        _insert_frame(conn, calib_t, calibration)
        rows = {
            "realized_daily": _count(conn, daily_t, symbols_list),
            "realized_hourly": _count(conn, hourly_t, symbols_list),
            "realized_moves": _count(conn, moves_t, symbols_list),
            "realized_calibration": len(calibration),
        }
    in_window = daily[(daily["day"] >= np.datetime64(start)) & (daily["day"] < np.datetime64(end))]
    collected = {
        venue: tuple(
            int(in_window[in_window["venue"] == venue]["collected"].eq(label).sum())
            for label in ("complete", "partial", "not collected")
        )
        for venue in VENUES
    }
    return RealizedUpdate(rows=rows, collected=collected)  # type: ignore[arg-type]
