"""Data-quality checks on raw tables, as named parameterized SQL over a [start, end) window.

Each check returns failing rows (day, detail) so a failure names the day to look at.
Table and column names come only from the raw-table registry (transforms.raw.tables), never
from input; which checks run for a dataset is the registry's `checks` (plus
`checksums_verified` for every load).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from transforms.atomic import sha256_file
from transforms.raw.tables import period_days, raw_table

FILES_CHECK = "checksums_verified"
#: A day below the completeness threshold is rejected at load (venues/binance/validation);
#: a day above it but short of the full count happens in the real archive: warn, don't block.
WARN_ONLY_CHECKS = frozenset({"complete_days"})
#: Files rejected at load, per raw asset: reported, not blocking there (the window's good
#: days go on); the run's final gate (warehouse_snapshot's `days_accepted`) fails on them.
FILES_VALID_CHECK = "files_valid"

COMPLETENESS_SQL = """
WITH days AS (
    SELECT CAST(d AS DATE) AS day
    FROM range(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY) t(d)
), counts AS (
    SELECT day, count(*) AS n FROM {table}
    WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end GROUP BY day
)
SELECT days.day, coalesce(counts.n, 0) AS n FROM days LEFT JOIN counts USING (day)
WHERE coalesce(counts.n, 0) <> $expected ORDER BY days.day
"""

DUPLICATES_SQL = """
SELECT day, count(*) - count(DISTINCT {ts}) AS duplicates FROM {table}
WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
GROUP BY day HAVING count(*) <> count(DISTINCT {ts}) ORDER BY day
"""

# A timestamp outside its partition day, or a gap/step that is not the dataset's cadence.
MONOTONE_SQL = """
WITH ordered AS (
    SELECT day, {ts} AS ts, lag({ts}) OVER (PARTITION BY day ORDER BY {ts}) AS prev
    FROM {table} WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
)
SELECT day, count(*) AS bad FROM ordered
WHERE CAST(ts AS DATE) <> day OR (prev IS NOT NULL AND ts <= prev)
GROUP BY day ORDER BY day
"""

NEGATIVE_OI_SQL = """
SELECT day, count(*) AS bad FROM raw.metrics_5m
WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
  AND (sum_open_interest < 0 OR sum_open_interest_value < 0
       OR sum_open_interest IS NULL OR sum_open_interest_value IS NULL)
GROUP BY day ORDER BY day
"""

IMPOSSIBLE_PRICES_SQL = """
SELECT day, count(*) AS bad FROM {table}
WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
  AND NOT (low > 0 AND low <= high AND open BETWEEN low AND high
           AND close BETWEEN low AND high AND high < 100 * low)
GROUP BY day ORDER BY day
"""


LOADED_FILES_SQL = """
SELECT period, relpath, sha256, source FROM raw.files
WHERE venue = $venue AND dataset = $dataset AND symbol = $symbol
  AND list_contains($periods, period)
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
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    start: date,
    end: date,
    venue: str,
) -> list[CheckOutcome]:
    """The registry's checks for one raw dataset of one venue over [start, end), in registry
    order (another venue's rows in the same table are checked by the same rules)."""
    spec = raw_table(name)
    table, ts = spec.table, spec.time_column
    params: dict[str, object] = {"venue": venue, "symbol": symbol, "start": start, "end": end}
    queries: dict[str, tuple[str, dict[str, object]]] = {
        "complete_days": (
            COMPLETENESS_SQL.format(table=table),
            {**params, "expected": spec.rows_per_day},
        ),
        "no_duplicate_timestamps": (DUPLICATES_SQL.format(table=table, ts=ts), params),
        "monotone_timestamps": (MONOTONE_SQL.format(table=table, ts=ts), params),
        "open_interest_non_negative": (NEGATIVE_OI_SQL, params),
        "prices_sane": (IMPOSSIBLE_PRICES_SQL.format(table=table), params),
    }
    return [_run(conn, check, *queries[check]) for check in spec.checks]


def check_names(name: str) -> tuple[str, ...]:
    """Every check an ingest of dataset `name` reports (data checks, then checksums)."""
    return (*raw_table(name).checks, FILES_CHECK, FILES_VALID_CHECK)


def check_files_verified(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    periods: list[str],
    cache_dir: Path,
    venue: str,
) -> CheckOutcome:
    """Every loaded period is recorded in raw.files with its sha256, and the cached file still
    hashes to it (catches a cache edited or corrupted after the load)."""
    rows = conn.execute(
        LOADED_FILES_SQL,
        {"venue": venue, "dataset": name, "symbol": symbol, "periods": periods},
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
    return CheckOutcome(FILES_CHECK, not failures, failures)


REJECTED_SQL = """
SELECT venue, symbol, dataset, period, message FROM raw.rejected_files
WHERE list_contains($symbols, symbol) ORDER BY venue, symbol, dataset, period
"""

#: (venue, symbol) -> day -> the rejection messages of that market's day
MarketRejections = dict[tuple[str, str], dict[date, list[str]]]


def rejected_market_days(
    conn: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> MarketRejections:
    """The days of [start, end) covered by a file rejected at load, per (venue, symbol), each
    with the rejection messages. Such a day is withheld for that market only: it is not
    staged, it counts as missing to the model (transforms.marts.coverage.missing_raw_days:
    the other venues' marts go on and the aggregate names it missing) and its raw rows stay
    out of the snapshot; a day page is withheld only when every market lacks the day."""
    out: MarketRejections = {}
    for venue, symbol, _name, period, message in conn.execute(
        REJECTED_SQL, {"symbols": list(symbols)}
    ).fetchall():
        first, last = period_days(period)
        day = max(first, start)
        while day < min(last, end):
            out.setdefault((venue, symbol), {}).setdefault(day, []).append(message)
            day += timedelta(days=1)
    return {k: dict(sorted(days.items())) for k, days in sorted(out.items())}


def withheld_everywhere(
    rejected: MarketRejections, venues: Iterable[str], symbols: Iterable[str]
) -> set[date]:
    """The days rejected for every venue of every symbol: no market has them, so they get no
    page and no snapshot at all (any other day is published, naming the missing venue)."""
    markets = [(v, s) for v in venues for s in symbols]
    if not markets:
        return set()
    common = set(rejected.get(markets[0], {}))
    for market in markets[1:]:
        common &= set(rejected.get(market, {}))
    return common


def good_segments(start: date, end: date, bad: Iterable[date]) -> list[tuple[date, date]]:
    """[start, end) split into maximal runs of days not in `bad`, as [lo, hi) pairs."""
    skip = set(bad)
    segments: list[tuple[date, date]] = []
    day = start
    while day < end:
        if day in skip:
            day += timedelta(days=1)
            continue
        lo = day
        while day < end and day not in skip:
            day += timedelta(days=1)
        segments.append((lo, day))
    return segments
