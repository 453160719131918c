"""Reads the model's inputs from the warehouse and writes its marts back, idempotently.

A run over [start, end) replaces exactly that window's mart rows in one transaction, so a
re-run of a day or a range leaves the same rows and a crash leaves the previous ones.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from transforms.db import sql_file, transaction
from transforms.failpoints import failpoint
from transforms.marts.registry import MARTS, MartFrames, Windowing
from transforms.rules import swing_day_ns
from transforms.venues import AGGREGATE_VENUE

READ_BARS_SQL = """
SELECT * FROM stg.bars_5m
WHERE venue = $venue AND symbol = $symbol AND ts < $until
ORDER BY ts
"""
READ_BARS_AFTER_SQL = """
SELECT * FROM stg.bars_5m
WHERE venue = $venue AND symbol = $symbol AND ts > $after AND ts < $until
ORDER BY ts
"""

# Marts whose window rows come from the model's frames; each is partitioned by `day`.
MODEL_MARTS = tuple(m for m in MARTS.values() if m.windowing is Windowing.MODEL_DAYS)

DELETE_DAY_WINDOW_SQL = (
    "DELETE FROM {table} WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end"
)
PRICE_HOURLY_TABLE = MARTS["price_hourly"].table
MODEL_PARAMS_TABLE = MARTS["model_params"].table
DELETE_PARAMS_SQL = (
    "DELETE FROM mart.model_params WHERE params_hash = $hash AND scenario = $scenario"
)


def read_bars(conn: duckdb.DuckDBPyConnection, symbol: str, end: date, venue: str) -> pd.DataFrame:
    """Every staged bar before `end`, from the first one.

    The model state on a day depends on where its input starts (closing is netted against
    liquidations of cohorts opened long before), so every run starts at the same anchor, the
    first bar: a daily run and a range run then give identical rows for the same day. Cohorts
    older than the lookback still expire inside the model; a year of 5-minute bars is 105k
    rows and ~0.2 s of model time, so the cost grows slowly with history.
    """
    until = datetime.combine(end, datetime.min.time())
    return conn.execute(READ_BARS_SQL, {"venue": venue, "symbol": symbol, "until": until}).df()


def read_bars_after(
    conn: duckdb.DuckDBPyConnection, symbol: str, after_ns: int, end: date, venue: str
) -> pd.DataFrame:
    """The staged bars after the bar opened at `after_ns` (a state's last bar) and before
    `end`: what a run continuing from that state models."""
    until = datetime.combine(end, datetime.min.time())
    after = pd.Timestamp(after_ns).to_pydatetime()
    params = {"venue": venue, "symbol": symbol, "after": after, "until": until}
    return conn.execute(READ_BARS_AFTER_SQL, params).df()


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


def write_price_hourly(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end: date,
    venue: str,
    reference: str | None = None,
    venues: tuple[str, ...] = (),
) -> int:
    """Replace the window's `mart.price_hourly` rows of `venue` with hourly bars from
    `stg.bars_5m`; for the aggregate ('all'), the `reference` venue's prices with the open
    interest of `venues` summed per hour (their rows must be written first).

    Two statements: call it inside a transaction (as `write_marts` does) to make it atomic.
    """
    params = {"venue": venue, "symbol": symbol, "start": start, "end": end}
    conn.execute(DELETE_DAY_WINDOW_SQL.format(table=PRICE_HOURLY_TABLE), params)
    if venue == AGGREGATE_VENUE:
        statement = sql_file("mart_price_hourly_all.sql")
        params = {**params, "reference": reference, "venues": list(venues)}
    else:
        statement = sql_file("mart_price_hourly.sql")
    row = conn.execute(statement, params).fetchone()
    return int(row[0]) if row else 0


# After a window's moves are inserted: keep only the newest running swing of the symbol.
# A running (unconfirmed) row is "the swing running at the end of `day`"; each write adds one
# for its last day, and an older one is either confirmed since (its confirmed row is filed
# under the day of confirmation) or the same swing seen earlier, so it is dropped here and a
# swing is never listed twice. Re-running an older day keeps the newer running row.
DELETE_STALE_RUNNING_MOVES_SQL = """
DELETE FROM mart.moves
WHERE venue = $venue AND symbol = $symbol AND NOT confirmed
  AND day < (
    SELECT max(day) FROM mart.moves WHERE venue = $venue AND symbol = $symbol AND NOT confirmed
  )
"""


def moves_by_day(moves: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Partition zigzag swings by the day they became known: confirmed swings whose
    confirming bar (`confirmed_ts`) falls in [start, end), plus the still-running swing, which
    belongs to the window's last day. A swing confirmed after its extreme's day is therefore
    written by the run of the confirmation day (daily runs and a range run agree), and no day
    shows a swing as finished before its confirming reversal. After inserting these rows run
    DELETE_STALE_RUNNING_MOVES_SQL (as `write_marts` does) to drop older running rows."""
    if moves.empty:
        return moves.assign(day=pd.Series(dtype="object"))
    moves = moves.copy()
    last = end - timedelta(days=1)
    confirmed_ns = (
        pd.to_datetime(moves["confirmed_ts"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    )
    day_ns = swing_day_ns(
        moves["confirmed"].astype(bool).to_numpy(), confirmed_ns, pd.Timestamp(last).value
    )
    moves["day"] = pd.Series(
        day_ns.astype("datetime64[ns]").astype("datetime64[D]").astype(object),
        index=moves.index,
        dtype="object",
    )
    keep = (moves["day"] >= start) & (moves["day"] < end)
    return moves.loc[keep].reset_index(drop=True)


def write_marts(
    conn: duckdb.DuckDBPyConnection,
    frames: MartFrames,
    symbol: str,
    start: date,
    end: date,
    venue: str,
    reference: str | None = None,
    venues: tuple[str, ...] = (),
) -> dict[str, int]:
    """Replace the window's rows of `venue` in every model mart with `frames`, and in
    `mart.price_hourly` with the window's staged bars (for 'all': see write_price_hourly),
    in one transaction."""
    with transaction(conn):
        return replace_marts(conn, frames, symbol, start, end, venue, reference, venues)


def replace_marts(
    conn: duckdb.DuckDBPyConnection,
    frames: MartFrames,
    symbol: str,
    start: date,
    end: date,
    venue: str,
    reference: str | None = None,
    venues: tuple[str, ...] = (),
) -> dict[str, int]:
    """`write_marts` without its transaction: the caller's transaction holds several
    markets' rows and their model state (transforms.marts.update)."""
    counts: dict[str, int] = {}
    params = {"venue": venue, "symbol": symbol, "start": start, "end": end}
    rows = frames.by_mart()
    rows["moves"] = moves_by_day(frames.moves, start, end)
    for mart in MODEL_MARTS:
        conn.execute(DELETE_DAY_WINDOW_SQL.format(table=mart.table), params)
        counts[mart.name] = _insert(conn, mart.table, rows[mart.name])
    conn.execute(DELETE_STALE_RUNNING_MOVES_SQL, {"venue": venue, "symbol": symbol})
    counts["price_hourly"] = write_price_hourly(conn, symbol, start, end, venue, reference, venues)
    failpoint("marts-write")
    for row in frames.model_params.itertuples(index=False):
        conn.execute(DELETE_PARAMS_SQL, {"hash": row.params_hash, "scenario": row.scenario})
    counts["model_params"] = _insert(conn, MODEL_PARAMS_TABLE, frames.model_params)
    return counts
