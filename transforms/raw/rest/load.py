"""Fetched REST days into the raw tables every venue shares, and dated tiers into
ref.leverage_brackets: the loading every REST venue's `load.py` does the same way.

A venue gives its name, the SQL select list mapping its day's columns (the first one epoch
ms) onto the raw table's, and the fetched days (objects with dataset, symbol, period,
columns, rows, final, path, sha256). `replace_venue_days` screens the rows with the shared
plausibility rules (a day failing one is refused whole), then deletes the venue/symbol/days'
rows and inserts the new ones in one transaction, so a re-run gives the same rows; final days
get a raw.files row (relpath under `<cache_dir>/<venue>`, the cache's sha256), a day not
final has its raw.files row removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from transforms.changes import note_days
from transforms.db import transaction
from transforms.raw.records import FILE_COLUMNS, insert_rows
from transforms.raw.rules import screen_days
from transforms.raw.tables import raw_table

#: select lists a REST venue's day maps onto the shared raw tables with, where they are the
#: same for every venue: 1-minute mark candles, and open interest alone in raw.metrics_5m
#: (the archive's top-trader and taker ratios are Binance's only: NULL)
MARK_KLINE_COLUMNS = """open_time, open, high, low, close,
        open_time + INTERVAL 59999 MILLISECOND AS close_time"""
OPEN_INTEREST_COLUMNS = """timestamp AS create_time, oi_base AS sum_open_interest,
        oi_value AS sum_open_interest_value,
        CAST(NULL AS DOUBLE) AS count_toptrader_long_short_ratio,
        CAST(NULL AS DOUBLE) AS sum_toptrader_long_short_ratio,
        CAST(NULL AS DOUBLE) AS count_long_short_ratio,
        CAST(NULL AS DOUBLE) AS sum_taker_long_short_vol_ratio"""
_ROWS = "_liqmap_rest_rows"
_SCREEN = "_liqmap_rest_screen"
#: the rows in the raw table's columns with `day` and `ts`, as the shared plausibility rules
#: read them (transforms.raw.rules); the first column of each frame is epoch ms
SCREEN_SQL = """
CREATE OR REPLACE TEMP TABLE {screen} AS
SELECT CAST({time} AS DATE) AS day, {time} AS ts, {columns}
FROM (SELECT * REPLACE (epoch_ms({time}) AS {time}) FROM {rows})
"""
INSERT_SQL = """
INSERT INTO {table} BY NAME
SELECT $venue AS venue, $symbol AS symbol, day, * EXCLUDE (day, ts)
FROM {screen} WHERE list_contains($days, day) ORDER BY ts
"""
DELETE_DAYS_SQL = """
DELETE FROM {table} WHERE venue = $venue AND symbol = $symbol AND list_contains($days, day)
"""
DELETE_FILES_SQL = """
DELETE FROM raw.files WHERE venue = $venue AND dataset = $dataset AND symbol = $symbol
  AND list_contains($periods, period)
"""
DELETE_SNAPSHOT_SQL = """
DELETE FROM ref.leverage_brackets
WHERE venue = $venue AND symbol = $symbol AND effective_date = $effective_date
"""
BRACKET_COLUMNS = (
    "venue, symbol, effective_date, bracket, notional_floor, notional_cap, max_leverage, "
    "maint_margin_rate, cum, source"
)
INSERT_SNAPSHOT_SQL = f"INSERT INTO ref.leverage_brackets ({BRACKET_COLUMNS}) VALUES "


@dataclass(frozen=True)
class LoadedDays:
    rows: int
    days: list[date]
    verified: list[str]
    refused: dict[str, str]


def replace_venue_days(
    conn: duckdb.DuckDBPyConnection,
    venue: str,
    columns_sql: str,
    name: str,
    symbol: str,
    days: Sequence[Any],
    cache_dir: Path,
) -> LoadedDays:
    """Replace `venue`'s rows of `symbol` for each fetched day of raw dataset `name`, and their
    raw.files records, in one transaction (see module doc)."""
    spec = raw_table(name)
    if not days:
        return LoadedDays(0, [], [], {})
    columns = list(days[0].columns)
    frame = pd.DataFrame([r for d in days for r in d.rows], columns=columns)
    params: dict[str, object] = {"venue": venue, "symbol": symbol}
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    root = Path(cache_dir) / venue
    refused: dict[str, str] = {}
    conn.register(_ROWS, frame)
    try:
        if len(frame):
            conn.execute(
                SCREEN_SQL.format(screen=_SCREEN, time=columns[0], columns=columns_sql, rows=_ROWS)
            )
            # the shared rules: a day failing one is refused whole (nothing of it loaded)
            refused = {
                day.isoformat(): f"{venue} {name} {symbol} {day}: {why}"
                for day, why in screen_days(conn, name, venue, symbol, _SCREEN).items()
            }
        days = [d for d in days if d.period not in refused]
        day_list = [date.fromisoformat(d.period) for d in days]
        verified = [d for d in days if d.final and d.path is not None and d.sha256]
        with transaction(conn):
            note_days(conn, [spec.table], day_list)  # for the snapshot (transforms.changes)
            conn.execute(DELETE_DAYS_SQL.format(table=spec.table), {**params, "days": day_list})
            inserted = 0
            if len(frame) and day_list:
                sql = INSERT_SQL.format(table=spec.table, screen=_SCREEN)
                inserted = conn.execute(sql, {**params, "days": day_list}).fetchone()[0]  # type: ignore[index]
            conn.execute(
                DELETE_FILES_SQL, {**params, "dataset": name, "periods": [d.period for d in days]}
            )
            if verified:
                insert_rows(
                    conn,
                    "raw.files",
                    FILE_COLUMNS,
                    [
                        (name, symbol, d.period, d.path.relative_to(root).as_posix(), d.sha256,
                         d.path.stat().st_size, len(d.rows), venue, loaded_at, venue)
                        for d in verified
                        if d.path is not None
                    ],
                )  # fmt: skip
    finally:
        conn.unregister(_ROWS)
        conn.execute(f"DROP TABLE IF EXISTS temp.{_SCREEN}")
    return LoadedDays(int(inserted), day_list, [d.period for d in verified], refused)


def replace_bracket_snapshot(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, day: date, rows: list[tuple]
) -> int:
    """Store one dated tier snapshot (rows in BRACKET_COLUMNS order) for (venue, symbol, day),
    replacing that snapshot."""
    placeholders = "(" + ", ".join(["?"] * 10) + ")"
    params = {"venue": venue, "symbol": symbol, "effective_date": day}
    with transaction(conn):
        conn.execute(DELETE_SNAPSHOT_SQL, params)
        conn.executemany(INSERT_SNAPSHOT_SQL + placeholders, rows)
    return len(rows)
