"""Reads the model's inputs from the warehouse and writes its marts back, idempotently.

A run over [start, end) replaces exactly that window's mart rows in one transaction, so a
re-run of a day or a range leaves the same rows and a crash leaves the previous ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.changes import note_days
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
DELETE_MARKETS_WINDOW_SQL = (
    "DELETE FROM {table} WHERE symbol = $symbol AND list_contains($venues, venue) "
    "AND day >= $start AND day < $end"
)
PRICE_HOURLY_TABLE = MARTS["price_hourly"].table
MODEL_PARAMS_TABLE = MARTS["model_params"].table
DELETE_PARAMS_SQL = (
    "DELETE FROM mart.model_params WHERE list_contains($keys, params_hash || '|' || scenario)"
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


def _scannable(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its `day` column of `datetime.date` objects as datetime64 (DuckDB scans
    a numpy column without touching a Python object per row; a day has thousands of rows,
    so each distinct day is converted once)."""
    if "day" not in frame.columns or frame["day"].dtype != object:
        return frame
    codes, days = pd.factorize(frame["day"])
    if not all(isinstance(d, date) for d in days):
        return frame
    values = np.asarray(days, dtype="datetime64[D]").astype("datetime64[s]")
    day = np.where(codes >= 0, values[np.maximum(codes, 0)], np.datetime64("NaT", "s"))
    return frame.assign(day=day)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A mart frame as the Arrow table `_insert` writes as is (its `day` as a timestamp, see
    `_scannable`): columnar buffers, so a frame sent between processes costs a copy to load
    (a pickled frame of `datetime.date` objects costs more to load than to write). Each
    column converted as `pa.Table.from_pandas` converts it (`pa.array(..., from_pandas=True)`:
    NaN as null, pandas' Arrow-backed strings without a copy), on this thread (pyarrow's pool
    hands columns off otherwise, which costs more than the copies on a machine whose cores
    the model keeps busy), without the pandas metadata nothing reads (most of the cost of a
    wide frame of a few rows, as a day's daily_metrics are)."""
    frame = _scannable(frame)
    columns = [pa.array(column, from_pandas=True) for _, column in frame.items()]
    return pa.Table.from_arrays(columns, names=[str(name) for name in frame.columns])


def _rows(frame: pd.DataFrame | pa.Table) -> int:
    return frame.num_rows if isinstance(frame, pa.Table) else len(frame)


def _insert(
    conn: duckdb.DuckDBPyConnection, table: str, frames: list[pd.DataFrame | pa.Table]
) -> int:
    """Append frames (DataFrames or `to_arrow` tables) whose columns match the table's, by
    name, in one statement. Each frame goes to DuckDB as an Arrow table (`to_arrow`: a
    frame's columns converted once, where DuckDB's scan of a DataFrame reads its columns
    through pandas' per-column accessors), and tables of one schema (a batch's markets) as
    one table of their chunks (no copy), registered once."""
    tables = [f if isinstance(f, pa.Table) else to_arrow(f) for f in frames if _rows(f)]
    if not tables:
        return 0
    if all(t.schema.equals(tables[0].schema) for t in tables[1:]):
        tables = [pa.concat_tables(tables)]
    names = [f"_mart_frame_{i}" for i in range(len(tables))]
    for name, frame in zip(names, tables, strict=True):
        conn.register(name, frame)
    try:
        cols = ", ".join(f'"{c}"' for c in tables[0].column_names)
        union = " UNION ALL ".join(f"SELECT {cols} FROM {name}" for name in names)
        conn.execute(f"INSERT INTO {table} ({cols}) {union}")
    finally:
        for name in names:
            conn.unregister(name)
    return sum(t.num_rows for t in tables)


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
DELETE FROM mart.moves AS m
WHERE list_contains($venues, m.venue) AND m.symbol = $symbol AND NOT m.confirmed
  AND m.day < (
    SELECT max(x.day) FROM mart.moves AS x
    WHERE x.venue = m.venue AND x.symbol = m.symbol AND NOT x.confirmed
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
    """`write_marts` without its transaction (see `replace_markets`)."""
    return replace_markets(conn, {venue: frames}, symbol, start, end, reference, venues)


def replace_markets(
    conn: duckdb.DuckDBPyConnection,
    frames: Mapping[str, MartFrames],
    symbol: str,
    start: date,
    end: date,
    reference: str | None = None,
    venues: tuple[str, ...] = (),
) -> dict[str, int]:
    """Replace the window's rows of several markets of `symbol` (venue -> frames; the
    aggregate 'all' last, after the venues it sums) in every model mart — one DELETE and one
    INSERT per mart for all of them —, and in `mart.price_hourly`. No transaction of its own:
    the caller's holds the markets' rows and their model state (transforms.marts.update)."""
    markets = list(frames)
    counts: dict[str, int] = {}
    params = {"venues": markets, "symbol": symbol, "start": start, "end": end}
    rows = {venue: f.by_mart() for venue, f in frames.items()}
    for venue, f in frames.items():
        rows[venue]["moves"] = moves_by_day(f.moves, start, end)
    window = [start + timedelta(days=i) for i in range((end - start).days)]
    note_days(conn, [mart.table for mart in MODEL_MARTS], window)  # for the snapshot
    for mart in MODEL_MARTS:
        conn.execute(DELETE_MARKETS_WINDOW_SQL.format(table=mart.table), params)
        counts[mart.name] = _insert(conn, mart.table, [rows[v][mart.name] for v in markets])
    conn.execute(DELETE_STALE_RUNNING_MOVES_SQL, {"venues": markets, "symbol": symbol})
    counts["price_hourly"] = sum(
        write_price_hourly(conn, symbol, start, end, venue, reference, venues) for venue in markets
    )
    failpoint("marts-write")
    used = pd.concat([f.model_params for f in frames.values()], ignore_index=True)
    used = used.drop_duplicates(["params_hash", "scenario"], keep="last")
    keys = (used["params_hash"] + "|" + used["scenario"]).tolist()
    conn.execute(DELETE_PARAMS_SQL, {"keys": keys})
    counts["model_params"] = _insert(conn, MODEL_PARAMS_TABLE, [used])
    return counts
