"""What the published nowcast is: `mart.nowcast` (one row per market) and
`mart.provisional_days` (which mart days are provisional, as of when).

A refresh that succeeds for a market replaces its row (as_of moves on, stale_since cleared);
one that fails keeps the last good as_of and sets stale_since (first failure) and the error,
so the last good nowcast stays published and says since when it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from transforms.db import transaction
from transforms.raw.intraday.provisional import PROVISIONAL_SQL
from transforms.venues import AGGREGATE_VENUE

UPSERT_OK_SQL = """
INSERT INTO mart.nowcast VALUES ($venue, $symbol, $day, $as_of, $now, NULL, NULL, $mark,
    $index, $funding, $next_funding, $requests)
"""
FAILED_SQL = """
UPDATE mart.nowcast SET refreshed_at = $now, stale_since = coalesce(stale_since, $now),
    error = $error, requests = $requests
WHERE venue = $venue AND symbol = $symbol
"""
FAILED_FIRST_SQL = """
INSERT INTO mart.nowcast VALUES ($venue, $symbol, $day, NULL, $now, $now, $error, NULL, NULL,
    NULL, NULL, $requests)
"""
DELETE_SQL = "DELETE FROM mart.nowcast WHERE venue = $venue AND symbol = $symbol"
EXISTS_SQL = "SELECT count(*) FROM mart.nowcast WHERE venue = $venue AND symbol = $symbol"

#: mart days still provisional, from the raw markers; the aggregate's as_of is its oldest venue's
SYNC_PROVISIONAL_SQL = f"""
WITH p AS ({PROVISIONAL_SQL})
SELECT venue, symbol, day, as_of FROM p
UNION ALL
SELECT $aggregate, symbol, day, min(as_of) FROM p GROUP BY symbol, day
"""


def _naive(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC).replace(tzinfo=None)


@dataclass
class MarketState:
    """One market's refresh outcome, as recorded."""

    venue: str
    symbol: str
    day: date
    as_of: datetime | None = None
    error: str | None = None
    requests: int = 0
    premium: dict[str, Any] | None = None
    days: list[date] = field(default_factory=list)  # the days this refresh loaded

    @property
    def ok(self) -> bool:
        return self.error is None


def record(conn: duckdb.DuckDBPyConnection, states: list[MarketState], now: datetime) -> None:
    """Write every market's outcome to mart.nowcast in one transaction (see module doc)."""
    with transaction(conn):
        for s in states:
            key = {"venue": s.venue, "symbol": s.symbol}
            if s.ok:
                p = s.premium or {}
                conn.execute(DELETE_SQL, key)
                conn.execute(
                    UPSERT_OK_SQL,
                    {
                        **key,
                        "day": s.day,
                        "as_of": _naive(s.as_of),
                        "now": _naive(now),
                        "mark": p.get("mark_price"),
                        "index": p.get("index_price"),
                        "funding": p.get("funding_rate"),
                        "next_funding": _naive(p.get("next_funding")),
                        "requests": s.requests,
                    },
                )
                continue
            args = {**key, "now": _naive(now), "error": s.error, "requests": s.requests}
            if conn.execute(EXISTS_SQL, key).fetchone()[0]:
                conn.execute(FAILED_SQL, args)
            else:
                conn.execute(FAILED_FIRST_SQL, {**args, "day": s.day})


def sync_provisional_marts(conn: duckdb.DuckDBPyConnection) -> int:
    """Rewrite mart.provisional_days from the raw markers still in force (per venue and the
    aggregate); a day whose raw rows became final drops out. Returns the rows written."""
    rows = conn.execute(SYNC_PROVISIONAL_SQL, {"aggregate": AGGREGATE_VENUE}).fetchall()
    with transaction(conn):
        conn.execute("DELETE FROM mart.provisional_days")
        if rows:
            conn.executemany("INSERT INTO mart.provisional_days VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def nowcast_rows(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every market's nowcast row, as dicts (for status and the now view)."""
    cur = conn.execute("SELECT * FROM mart.nowcast ORDER BY symbol, venue")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
