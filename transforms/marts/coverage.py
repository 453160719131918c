"""Which configured symbols lack model rows for a window's days.

Symbols are independent: one whose archive day is missing must not stop the others, so every
layer carries on with the symbols it can build and the run's last step asks this question
once, publishes what landed, and then fails naming the symbols and days that did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import duckdb

from transforms.raw.quality import rejected_market_days
from transforms.raw.tables import DAILY_DATASETS, raw_table
from transforms.venues import AGGREGATE_VENUE, FORWARD, venue_names
from transforms.venues import venue as registry_venue

#: missing_raw_days' key for the days withheld because a file of theirs was rejected at load
REJECTED = "file rejected at load"

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
    the archive has not published for this symbol: the model skips the symbol's window),
    plus REJECTED -> the market's days with a file rejected at load (withheld for this venue
    only, whatever rows the day kept: transforms.raw.quality.rejected_market_days)."""
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
    rejected = rejected_market_days(conn, [symbol], start, end).get((venue, symbol))
    if rejected:
        out[REJECTED] = list(rejected)
    return out


FIRST_DAY_SQL = (
    "SELECT min(day) FROM {table} "
    "WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end"
)
NOT_COLLECTED_SQL = """
SELECT DISTINCT day FROM mart.daily_metrics
WHERE venue = $aggregate AND symbol = $symbol AND scenario = 'base'
  AND day >= $start AND day < $end
  AND list_contains(string_split(coalesce(venues_not_collected, ''), ','), $venue)
"""


def collected_from(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, start: date, end: date
) -> date | None:
    """The first day of [start, end) the market is modelled from: `start` for a venue with
    history (archive, REST: a missing day is a failure, named); for a forward-collected venue
    (transforms/venues.py FORWARD, e.g. OKX) the first day it has rows for in every daily raw
    table, None when there is none (the window's days are "not collected", not failed)."""
    if venue not in venue_names() or registry_venue(venue).history != FORWARD:
        return start
    firsts = []
    for name in DAILY_DATASETS:
        sql = FIRST_DAY_SQL.format(table=raw_table(name).table)
        params = {"venue": venue, "symbol": symbol, "start": start, "end": end}
        firsts.append(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]
    return None if any(f is None for f in firsts) else max(firsts)


def not_collected_days(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, start: date, end: date
) -> set[date]:
    """Days of [start, end) whose aggregate row names `venue` not collected."""
    params = {
        "aggregate": AGGREGATE_VENUE,
        "venue": venue,
        "symbol": symbol,
        "start": start,
        "end": end,
    }
    return {r[0] for r in conn.execute(NOT_COLLECTED_SQL, params).fetchall()}


def describe_missing(missing: dict[str, list[date]]) -> str:
    """One line: 'ETHUSDT: 2025-11-28 (1 day); SOLUSDT: 2025-11-27..2025-11-29 (3 days)'."""
    parts = []
    for symbol, days in missing.items():
        span = f"{days[0]}" if len(days) == 1 else f"{days[0]}..{days[-1]}"
        parts.append(f"{symbol}: {span} ({len(days)} day{'s' if len(days) > 1 else ''})")
    return "; ".join(parts)


def venue_gap_segments(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end: date,
    venues: Iterable[str],
) -> list[tuple[date, date]]:
    """[start, end) split so that every day some venue lacks raw rows for is a segment of its
    own: the model then fails that venue for that day only (the aggregate names it missing)
    and its other days, before and after, are modelled (the later ones continuing from its
    state and saying 'history incomplete: <day> missing'). One segment when nothing lacks."""
    gaps: set[date] = set()
    for venue in venues:
        # a forward-collected venue's days before its first collected day are "not
        # collected", not gaps: they neither split the window nor fail the venue
        first = collected_from(conn, venue, symbol, start, end)
        if first is None:
            continue
        for days in missing_raw_days(conn, symbol, first, end, venue).values():
            gaps.update(days)
    if not gaps:
        return [(start, end)]
    segments: list[tuple[date, date]] = []
    lo = start
    day = start
    while day < end:
        if day in gaps:
            if lo < day:
                segments.append((lo, day))
            segments.append((day, day + timedelta(days=1)))
            lo = day + timedelta(days=1)
        day += timedelta(days=1)
    if lo < end:
        segments.append((lo, end))
    return segments
