"""Which configured symbols lack model rows for a window's days.

Symbols are independent: one whose archive day is missing must not stop the others, so every
layer carries on with the symbols it can build and the run's last step asks this question
once, publishes what landed, and then fails naming the symbols and days that did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import duckdb

from transforms.raw.tables import DAILY_DATASETS, raw_table
from transforms.venues import AGGREGATE_VENUE

# Table names come from the raw-table registry (constants), never from input.
RAW_DAYS_SQL = (
    "SELECT DISTINCT day FROM {table} "
    "WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end"
)
BASE_DAYS_SQL = """
SELECT DISTINCT day FROM mart.daily_metrics
WHERE venue = $venue AND symbol = $symbol AND scenario = 'base'
  AND day >= $start AND day < $end
"""


def missing_symbol_days(
    conn: duckdb.DuckDBPyConnection,
    symbols: Iterable[str],
    start: date,
    end: date,
    venue: str = AGGREGATE_VENUE,
) -> dict[str, list[date]]:
    """symbol -> the days of [start, end) without a base `mart.daily_metrics` row of `venue`
    (default: the per-symbol aggregate, which exists when at least one venue was modelled)."""
    wanted = [start + timedelta(days=i) for i in range((end - start).days)]
    out: dict[str, list[date]] = {}
    for symbol in symbols:
        params = {"venue": venue, "symbol": symbol, "start": start, "end": end}
        rows = conn.execute(BASE_DAYS_SQL, params)
        have = {r[0] for r in rows.fetchall()}
        missing = [d for d in wanted if d not in have]
        if missing:
            out[symbol] = missing
    return out


def missing_raw_days(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end: date,
    venue: str,
) -> dict[str, list[date]]:
    """daily dataset -> the days of [start, end) it has no rows for, for one symbol (a day
    the archive has not published for this symbol: the model skips the symbol's window)."""
    wanted = [start + timedelta(days=i) for i in range((end - start).days)]
    out: dict[str, list[date]] = {}
    for name in DAILY_DATASETS:
        sql = RAW_DAYS_SQL.format(table=raw_table(name).table)
        params = {"venue": venue, "symbol": symbol, "start": start, "end": end}
        rows = conn.execute(sql, params).fetchall()
        have = {r[0] for r in rows}
        missing = [d for d in wanted if d not in have]
        if missing:
            out[name] = missing
    return out


def describe_missing(missing: dict[str, list[date]]) -> str:
    """One line: 'ETHUSDT: 2025-11-28 (1 day); SOLUSDT: 2025-11-27..2025-11-29 (3 days)'."""
    parts = []
    for symbol, days in missing.items():
        span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
        parts.append(f"{symbol}: {span} ({len(days)} day{'s' if len(days) > 1 else ''})")
    return "; ".join(parts)
