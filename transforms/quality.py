"""Data-quality checks on raw tables, as named parameterized SQL over a [start, end) window.

Each check returns failing rows (day, detail) so a failure names the day to look at.
Table names come only from the fixed RAW_TABLES map, never from input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from transforms.sources.base import sha256_file

RAW_TABLES = {
    "klines_1m": ("raw.klines_1m", "open_time", 1440),
    "mark_klines_1m": ("raw.mark_klines_1m", "open_time", 1440),
    "metrics": ("raw.metrics_5m", "create_time", 288),
    "funding": ("raw.funding", "calc_time", None),
}

COMPLETENESS_SQL = """
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY) t(d)
), counts AS (
    SELECT day, count(*) AS n FROM {table}
    WHERE symbol = $symbol AND day >= $start AND day < $end GROUP BY day
)
SELECT days.day, coalesce(counts.n, 0) AS n FROM days LEFT JOIN counts USING (day)
WHERE coalesce(counts.n, 0) <> $expected ORDER BY days.day
"""

DUPLICATES_SQL = """
SELECT day, count(*) - count(DISTINCT {ts}) AS duplicates FROM {table}
WHERE symbol = $symbol AND day >= $start AND day < $end
GROUP BY day HAVING count(*) <> count(DISTINCT {ts}) ORDER BY day
"""

# A timestamp outside its partition day, or a gap/step that is not the dataset's cadence.
MONOTONE_SQL = """
WITH ordered AS (
    SELECT day, {ts} AS ts, lag({ts}) OVER (PARTITION BY day ORDER BY {ts}) AS prev
    FROM {table} WHERE symbol = $symbol AND day >= $start AND day < $end
)
SELECT day, count(*) AS bad FROM ordered
WHERE CAST(ts AS DATE) <> day OR (prev IS NOT NULL AND ts <= prev)
GROUP BY day ORDER BY day
"""

NEGATIVE_OI_SQL = """
SELECT day, count(*) AS bad FROM raw.metrics_5m
WHERE symbol = $symbol AND day >= $start AND day < $end
  AND (sum_open_interest < 0 OR sum_open_interest_value < 0
       OR sum_open_interest IS NULL OR sum_open_interest_value IS NULL)
GROUP BY day ORDER BY day
"""

IMPOSSIBLE_PRICES_SQL = """
SELECT day, count(*) AS bad FROM {table}
WHERE symbol = $symbol AND day >= $start AND day < $end
  AND NOT (low > 0 AND low <= high AND open BETWEEN low AND high
           AND close BETWEEN low AND high AND high < 100 * low)
GROUP BY day ORDER BY day
"""


LOADED_FILES_SQL = """
SELECT period, relpath, sha256, source FROM raw.files
WHERE dataset = $dataset AND symbol = $symbol AND list_contains($periods, period)
"""


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check over a window: passed, and the offending days with a count."""

    name: str
    passed: bool
    failures: list[tuple[str, int]]

    def describe(self) -> str:
        if self.passed:
            return f"{self.name}: ok"
        shown = ", ".join(f"{d} ({n})" for d, n in self.failures[:10])
        more = f" and {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        return f"{self.name}: {len(self.failures)} day(s) fail: {shown}{more}"


def _run(
    conn: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, object]
) -> CheckOutcome:
    rows = conn.execute(sql, params).fetchall()
    return CheckOutcome(name, not rows, [(str(r[0]), int(r[1])) for r in rows])


def check_dataset(
    conn: duckdb.DuckDBPyConnection, dataset: str, symbol: str, start: date, end: date
) -> list[CheckOutcome]:
    """All applicable checks for one raw dataset over [start, end)."""
    table, ts, expected = RAW_TABLES[dataset]
    params: dict[str, object] = {"symbol": symbol, "start": start, "end": end}
    outcomes = []
    if expected is not None:
        outcomes.append(
            _run(
                conn,
                "complete_days",
                COMPLETENESS_SQL.format(table=table),
                {**params, "expected": expected},
            )
        )
    outcomes.append(
        _run(conn, "no_duplicate_timestamps", DUPLICATES_SQL.format(table=table, ts=ts), params)
    )
    outcomes.append(
        _run(conn, "monotone_timestamps", MONOTONE_SQL.format(table=table, ts=ts), params)
    )
    if dataset == "metrics":
        outcomes.append(_run(conn, "open_interest_non_negative", NEGATIVE_OI_SQL, params))
    if dataset in ("klines_1m", "mark_klines_1m"):
        outcomes.append(
            _run(conn, "prices_sane", IMPOSSIBLE_PRICES_SQL.format(table=table), params)
        )
    return outcomes


def check_files_verified(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    symbol: str,
    periods: list[str],
    cache_dir: Path,
) -> CheckOutcome:
    """Every loaded period is recorded in raw.files with its sha256, and the cached file still
    hashes to it (catches a cache edited or corrupted after the load)."""
    rows = conn.execute(
        LOADED_FILES_SQL, {"dataset": dataset, "symbol": symbol, "periods": periods}
    ).fetchall()
    recorded = {period: (relpath, digest, source) for period, relpath, digest, source in rows}
    failures = []
    for period in periods:
        if period not in recorded:
            failures.append((f"{period} not recorded", 1))
            continue
        relpath, digest, source = recorded[period]
        cached = cache_dir / source / relpath
        if not cached.is_file() or sha256_file(cached) != digest:
            failures.append((f"{period} cache differs from sha256 {digest[:12]}", 1))
    return CheckOutcome("checksums_verified", not failures, failures)
