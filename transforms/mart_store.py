"""Reads the model's inputs from the warehouse and writes its marts back, idempotently.

A run over [start, end) replaces exactly that window's mart rows in one transaction, so a
re-run of a day or a range leaves the same rows and a crash leaves the previous ones.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from transforms.db import sql_file, transaction
from transforms.failpoints import failpoint

READ_BARS_SQL = """
SELECT * FROM stg.bars_5m
WHERE symbol = $symbol AND ts >= $since AND ts < $until
ORDER BY ts
"""

# Mart frames (MartFrames attribute -> table); every table is partitioned by `day`.
WINDOWED_MARTS = {
    "liq_heatmap": "mart.liq_heatmap",
    "liq_map": "mart.liq_map",
    "daily_metrics": "mart.daily_metrics",
    "moves": "mart.moves",
}

DELETE_DAY_WINDOW_SQL = (
    "DELETE FROM {table} WHERE symbol = $symbol AND day >= $start AND day < $end"
)
PRICE_HOURLY_TABLE = "mart.price_hourly"
DELETE_PARAMS_SQL = (
    "DELETE FROM mart.model_params WHERE params_hash = $hash AND scenario = $scenario"
)


def read_bars(
    conn: duckdb.DuckDBPyConnection, symbol: str, start: date, end: date, lookback_days: int
) -> pd.DataFrame:
    """Bars for [start - lookback, end): the history a window's model state depends on."""
    since = datetime.combine(start - timedelta(days=lookback_days), datetime.min.time())
    until = datetime.combine(end, datetime.min.time())
    return conn.execute(READ_BARS_SQL, {"symbol": symbol, "since": since, "until": until}).df()


def _insert(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append a frame whose columns match the table's, by name."""
    if frame.empty:
        return 0
    conn.register("_mart_frame", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _mart_frame")
    finally:
        conn.unregister("_mart_frame")
    return len(frame)


def write_price_hourly(conn: duckdb.DuckDBPyConnection, symbol: str, start: date, end: date) -> int:
    """Replace the window's `mart.price_hourly` rows with hourly bars from `stg.bars_5m`.

    Two statements: call it inside a transaction (as `write_marts` does) to make it atomic.
    """
    params = {"symbol": symbol, "start": start, "end": end}
    conn.execute(DELETE_DAY_WINDOW_SQL.format(table=PRICE_HOURLY_TABLE), params)
    row = conn.execute(sql_file("mart_price_hourly.sql"), params).fetchone()
    return int(row[0]) if row else 0


def moves_by_day(moves: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Partition zigzag swings by the day they ended: confirmed swings ending in [start, end),
    plus the still-running swing, which belongs to the window's last day."""
    if moves.empty:
        return moves.assign(day=pd.Series(dtype="object"))
    moves = moves.copy()
    moves["day"] = pd.to_datetime(moves["end_ts"]).dt.date
    running = ~moves["confirmed"].astype(bool)
    moves.loc[running, "day"] = end - timedelta(days=1)
    keep = (moves["day"] >= start) & (moves["day"] < end)
    return moves.loc[keep].reset_index(drop=True)


def write_marts(
    conn: duckdb.DuckDBPyConnection, frames: object, symbol: str, start: date, end: date
) -> dict[str, int]:
    """Replace the window's rows of every mart with `frames` (a transforms.marts.MartFrames),
    and of `mart.price_hourly` with the window's staged bars, in one transaction."""
    counts: dict[str, int] = {}
    params = {"symbol": symbol, "start": start, "end": end}
    rows = {attr: getattr(frames, attr) for attr in WINDOWED_MARTS}
    rows["moves"] = moves_by_day(frames.moves, start, end)
    with transaction(conn):
        for attr, table in WINDOWED_MARTS.items():
            conn.execute(DELETE_DAY_WINDOW_SQL.format(table=table), params)
            counts[attr] = _insert(conn, table, rows[attr])
        counts["price_hourly"] = write_price_hourly(conn, symbol, start, end)
        failpoint("marts-write")
        for row in frames.model_params.itertuples(index=False):
            conn.execute(DELETE_PARAMS_SQL, {"hash": row.params_hash, "scenario": row.scenario})
        counts["model_params"] = _insert(conn, "mart.model_params", frames.model_params)
    return counts
