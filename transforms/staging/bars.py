"""Staging: 5-minute bars (the model's only input) built from the raw tables in SQL."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache

import duckdb

from transforms.changes import note_days
from transforms.db import sql_file, transaction
from transforms.rules import FUNDING_LOOKBACK_DAYS

BARS_PER_DAY = 288
# Days of the window without a complete set of bars, each with mark price and open interest.
BARS_COMPLETE_SQL = """
SELECT day, count(*) AS n, count(mark_low) AS with_mark, count(oi_value) AS with_oi
FROM stg.bars_5m
WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
GROUP BY day HAVING count(*) <> $per_day OR count(mark_low) <> $per_day
    OR count(oi_value) <> $per_day
ORDER BY day
"""

_STATEMENT_MARKER = re.compile(r"^-- @statement (\w+)\s*$", re.MULTILINE)


@cache
def _statements(name: str) -> dict[str, str]:
    """The named statements of a .sql file, split on `-- @statement <name>` lines."""
    parts = _STATEMENT_MARKER.split(sql_file(name))
    return {key: body.strip() for key, body in zip(parts[1::2], parts[2::2], strict=True)}


def build_bars_5m(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end_exclusive: date,
    venue: str,
) -> int:
    """Rebuild stg.bars_5m for the market (`venue`, `symbol`) and days [start, end_exclusive);
    returns rows written.

    Also refreshes bars staged before the data they depend on had landed: the funding rate of
    the bars in [start - FUNDING_LOOKBACK_DAYS, start) (monthly funding files are published
    after their month) and OI / taker ratio of the last bar before `start` (taken at its
    close, i.e. from the window's first metrics snapshot). So a day-by-day build equals a
    range build.
    Everything runs in one transaction, so the window is replaced atomically.
    """
    sql = _statements("stg_bars_5m.sql")
    params = {"venue": venue, "symbol": symbol, "start": start, "end": end_exclusive}
    with transaction(conn):
        # the window, and the days before it whose bars refresh_before_window updates
        first = start - timedelta(days=FUNDING_LOOKBACK_DAYS)
        days = [first + timedelta(days=i) for i in range((end_exclusive - first).days)]
        note_days(conn, ["stg.bars_5m"], days)
        conn.execute(
            "DELETE FROM stg.bars_5m WHERE venue = $venue AND symbol = $symbol "
            "AND day >= $start AND day < $end",
            params,
        )
        row = conn.execute(
            sql["insert_bars"], {**params, "lookback_days": FUNDING_LOOKBACK_DAYS}
        ).fetchone()
        conn.execute(
            sql["refresh_before_window"],
            {
                "venue": venue,
                "symbol": symbol,
                "start": start,
                "lookback_days": FUNDING_LOOKBACK_DAYS,
            },
        )
    return int(row[0]) if row else 0


def incomplete_bar_days(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end_exclusive: date,
    venue: str,
) -> list[str]:
    """One line per day of [start, end_exclusive) without 288 bars each with mark and OI."""
    params = {
        "venue": venue,
        "symbol": symbol,
        "start": start,
        "end": end_exclusive,
        "per_day": BARS_PER_DAY,
    }
    return [
        f"{venue} {symbol} {day}: {n} bars, {with_mark} mark, {with_oi} OI"
        for day, n, with_mark, with_oi in conn.execute(BARS_COMPLETE_SQL, params).fetchall()
    ]
