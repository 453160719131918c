"""Data-quality checks on raw tables, as named parameterized SQL over a [start, end) window.

Each check returns failing rows (day, detail) so a failure names the day to look at.
Table and column names come only from the raw-table registry (transforms.raw.tables), never
from input; which checks run for a dataset is the registry's `checks` (plus
`checksums_verified` for every load).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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

# Every data check of one dataset and venue over each symbol's window, in one statement
# (one query per check per symbol cost ~1-2 ms each: 84 a daily run, issue 19). Per (symbol,
# day) of the windows: the rows, repeated timestamps, rows outside their day or not after the
# previous one, and the failing rows of the dataset's row checks ({flags}: `, (<failing>) AS
# <check>` per check, from ROW_CHECKS; {counts}: `, count(*) FILTER (WHERE <check>) AS
# <check>`). $symbols/$starts/$ends: the windows; $lo/$hi: their union's bounds (the rows
# read; a symbol's days outside its own window are counted, then left out by the join).
CHECKS_SQL = """
WITH windows AS (
    SELECT unnest($symbols) AS symbol, unnest($starts) AS lo, unnest($ends) AS hi
), days AS (
    SELECT symbol, CAST(unnest(range(CAST(lo AS TIMESTAMP), CAST(hi AS TIMESTAMP),
                                     INTERVAL 1 DAY)) AS DATE) AS day
    FROM windows
), ordered AS (
    SELECT t.symbol, t.day, t.{ts} AS ts,
           lag(t.{ts}) OVER (PARTITION BY t.symbol, t.day ORDER BY t.{ts}) AS prev{flags}
    FROM {table} t
    WHERE t.venue = $venue AND list_contains($symbols, t.symbol) AND t.day >= $lo
      AND t.day < $hi
), counts AS (
    SELECT symbol, day, count(*) AS n, count(*) - count(DISTINCT ts) AS duplicates,
           count(*) FILTER (WHERE CAST(ts AS DATE) <> day OR (prev IS NOT NULL AND ts <= prev))
           AS unordered{counts}
    FROM ordered GROUP BY symbol, day
)
SELECT * FROM days LEFT JOIN counts USING (symbol, day) ORDER BY symbol, day
"""
#: check -> the SQL predicate of a failing row (the row checks of CHECKS_SQL)
ROW_CHECKS = {
    "open_interest_non_negative": "sum_open_interest < 0 OR sum_open_interest_value < 0 "
    "OR sum_open_interest IS NULL OR sum_open_interest_value IS NULL",
    "prices_sane": "NOT (low > 0 AND low <= high AND open BETWEEN low AND high "
    "AND close BETWEEN low AND high AND high < 100 * low)",
}


LOADED_FILES_SQL = """
SELECT symbol, period, relpath, sha256, source FROM raw.files
WHERE venue = $venue AND dataset = $dataset AND list_contains($symbols, symbol)
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
    return check_markets(conn, name, venue, {symbol: (start, end)})[symbol]


def check_markets(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    venue: str,
    windows: Mapping[str, tuple[date, date]],
) -> dict[str, list[CheckOutcome]]:
    """`check_dataset` of each symbol over its own window [start, end), in one query: symbol
    -> the registry's checks in registry order, each failing day with its count:
    complete_days the day's rows (when not the dataset's rows_per_day), no_duplicate_timestamps
    its repeated rows, monotone_timestamps its rows outside the day or not after the previous
    row, the row checks their failing rows."""
    spec = raw_table(name)
    row_checks = [c for c in spec.checks if c in ROW_CHECKS]
    flags = "".join(f", ({ROW_CHECKS[c]}) AS {c}" for c in row_checks)
    counts = "".join(f", count(*) FILTER (WHERE {c}) AS {c}" for c in row_checks)
    failures: dict[str, dict[str, list[tuple[str, int]]]] = {
        s: {c: [] for c in spec.checks} for s in windows
    }
    wanted = {s: w for s, w in windows.items() if w[0] < w[1]}
    if wanted:
        sql = CHECKS_SQL.format(table=spec.table, ts=spec.time_column, flags=flags, counts=counts)
        rows = conn.execute(
            sql,
            {
                "venue": venue,
                "symbols": list(wanted),
                "starts": [w[0] for w in wanted.values()],
                "ends": [w[1] for w in wanted.values()],
                "lo": min(w[0] for w in wanted.values()),
                "hi": max(w[1] for w in wanted.values()),
            },
        ).fetchall()
        for symbol, day, n, duplicates, unordered, *row_bad in rows:
            found = failures[symbol]
            shown = str(day)
            if "complete_days" in found and (n or 0) != spec.rows_per_day:
                found["complete_days"].append((shown, int(n or 0)))
            if duplicates:
                found["no_duplicate_timestamps"].append((shown, int(duplicates)))
            if unordered:
                found["monotone_timestamps"].append((shown, int(unordered)))
            for check, count in zip(row_checks, row_bad, strict=True):
                if count:
                    found[check].append((shown, int(count)))
    return {s: [CheckOutcome(c, not f[c], f[c]) for c in spec.checks] for s, f in failures.items()}


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
    return check_markets_files(conn, name, {symbol: periods}, cache_dir, venue)[symbol]


def check_markets_files(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    periods: Mapping[str, list[str]],
    cache_dir: Path,
    venue: str,
) -> dict[str, CheckOutcome]:
    """`check_files_verified` of each symbol's loaded periods, with one query."""
    rows = conn.execute(
        LOADED_FILES_SQL,
        {
            "venue": venue,
            "dataset": name,
            "symbols": list(periods),
            "periods": sorted({p for ps in periods.values() for p in ps}),
        },
    ).fetchall()
    recorded = {(symbol, period): rest for symbol, period, *rest in rows}
    out: dict[str, CheckOutcome] = {}
    for symbol, loaded in periods.items():
        failures = []
        for period in loaded:
            if (symbol, period) not in recorded:
                failures.append((f"{period} not recorded", 1))
                continue
            relpath, digest, source = recorded[symbol, period]
            cached = cache_dir / source / relpath
            if not cached.is_file() or sha256_file(cached) != digest:
                failures.append((f"{period} cache differs from sha256 {digest[:12]}", 1))
        out[symbol] = CheckOutcome(FILES_CHECK, not failures, failures)
    return out


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
