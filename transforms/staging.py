"""Staging: 5-minute bars (the model's only input) built from the raw tables in SQL."""

from __future__ import annotations

from datetime import date

import duckdb

from transforms.db import sql_file, transaction


def build_bars_5m(
    conn: duckdb.DuckDBPyConnection, symbol: str, start: date, end_exclusive: date
) -> int:
    """Rebuild stg.bars_5m for `symbol` and days [start, end_exclusive); returns rows written.

    Delete and insert run in one transaction, so the window is replaced atomically.
    """
    params = {"symbol": symbol, "start": start, "end": end_exclusive}
    with transaction(conn):
        conn.execute(
            "DELETE FROM stg.bars_5m WHERE symbol = $symbol AND day >= $start AND day < $end",
            params,
        )
        row = conn.execute(sql_file("stg_bars_5m.sql"), params).fetchone()
    return int(row[0]) if row else 0
