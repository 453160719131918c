"""Validate archive files at load, per file, before any of their rows enter `raw.*`.

The staged rows of a batch (one DuckDB read of every CSV, see loading.py) are
numbered by file line, then each file is checked against the dataset's rules, all declared
in the registry (datasets.py): rows belong to the file's period (day, or month
for funding), timestamps are unique (up to `max_repeated_timestamps`), every row passes the
plausibility `rules`, and the file holds at least `min_rows_per_day` rows per day it covers.
A file failing any of them becomes one `Rejection` whose message is one line naming the
file, the rule, the first offending line and the value against what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from transforms.raw.rules import CONTEXT_RULES, DAY_RULES, OI_JUMP_DATASETS, screen_days
from transforms.raw.venues.binance.datasets import VENUE, dataset, period_bounds

STAGE = "_liqmap_stage"
FILES = "_liqmap_files"
SCREEN = "_liqmap_screen"
#: the accepted files' rows as transforms.raw.rules reads them (day, ts, raw columns)
_SCREEN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {SCREEN} AS
SELECT CAST(_ts AS DATE) AS day, _ts AS ts, * FROM {STAGE} WHERE list_contains($files, filename)
"""

#: the batch's files, one list per column (one statement: executemany costs one per file)
_FILES_SQL = f"""
CREATE OR REPLACE TEMP TABLE {FILES} AS SELECT
    unnest(CAST($filename AS VARCHAR[])) AS filename,
    unnest(CAST($relpath AS VARCHAR[])) AS relpath,
    unnest(CAST($shown AS VARCHAR[])) AS shown,
    unnest(CAST($period AS VARCHAR[])) AS period,
    unnest(CAST($first_day AS DATE[])) AS first_day,
    unnest(CAST($end_day AS DATE[])) AS end_day,
    unnest(CAST($header AS INTEGER[])) AS header
"""

#: a row's timestamp lies in its file's period (NULL timestamps fail)
_IN_PERIOD = "coalesce(CAST(_ts AS DATE) >= first_day AND CAST(_ts AS DATE) < end_day, false)"

# Line numbers follow the stage table's insertion order (DuckDB reads each CSV in order and
# preserves insertion order), offset by a header line when the file has one. They are only
# computed for a file that fails (the common, passing case is one aggregate pass).
_LINES = f"""
SELECT s.*, s.rowid - (SELECT min(rowid) FROM {STAGE} WHERE filename = $filename) + 1
       + f.header AS _line, f.first_day, f.end_day
FROM {STAGE} s JOIN {FILES} f USING (filename) WHERE s.filename = $filename
"""


@dataclass(frozen=True)
class Rejection:
    """One rejected file: nothing of it is loaded; `message` is the one line to show. With
    `partial`, only the day `period` of a monthly file is withheld (its bad rows' day); the
    file's other days load."""

    filename: str  # the staged CSV path (key into the batch)
    relpath: str
    period: str
    rule: str
    line: int | None
    message: str
    partial: bool = False


@dataclass(frozen=True)
class StagedFile:
    """A file of the batch as validation sees it."""

    filename: str  # extracted CSV path, as DuckDB's `filename` column holds it
    relpath: str  # archive relpath
    shown: str  # what messages name: the cached zip path
    period: str
    has_header: bool


def rejection(f: StagedFile, rule: str, line: int | None, detail: str) -> Rejection:
    where = f"{f.shown} line {line}" if line is not None else f.shown
    return Rejection(f.filename, f.relpath, f.period, rule, line, f"{where}: {rule}: {detail}")


def _reference(spec) -> tuple[str, str]:
    """The SELECT item and JOIN giving `ref_close` (NULL when the dataset has none)."""
    if spec.reference_join:
        return "ref_close", spec.reference_join
    return "CAST(NULL AS DOUBLE) AS ref_close", ""


#: per staged file: its rows and distinct timestamps (apart from the rules' pass: a DISTINCT
#: aggregate inside that grouped join doubled its planning, ~3 ms a batch)
_STAGE_COUNTS_SQL = f"SELECT filename, count(*), count(DISTINCT _ts) FROM {STAGE} GROUP BY filename"


def stage_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Filename -> (rows, distinct timestamps) of the staged batch (`_liqmap_stage`)."""
    return {
        name: (int(rows), int(distinct))
        for name, rows, distinct in conn.execute(_STAGE_COUNTS_SQL).fetchall()
    }


def validate_stage(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    files: Sequence[StagedFile],
    per_file: dict[str, tuple[int, int]] | None = None,
) -> dict[str, Rejection]:
    """Check every staged file of dataset `name`; the first failing rule per file, by filename.

    Expects the batch's rows in temp table `_liqmap_stage` (columns of the dataset's SELECT
    plus `filename` and `_ts`). One aggregate pass counts each rule's failures per file; only
    a failing file is read again to find its first offending line. `per_file`: the batch's
    `stage_counts` when the caller has them.
    """
    spec = dataset(name)
    if per_file is None:
        per_file = stage_counts(conn)
    by_name = {f.filename: f for f in files}
    bounds = [period_bounds(name, f.period) for f in files]
    conn.execute(
        _FILES_SQL,
        {
            "filename": [f.filename for f in files],
            "relpath": [f.relpath for f in files],
            "shown": [f.shown for f in files],
            "period": [f.period for f in files],
            "first_day": [b[0] for b in bounds],
            "end_day": [b[1] for b in bounds],
            "header": [int(f.has_header) for f in files],
        },
    )
    ref, join = _reference(spec)
    params: dict[str, object] = {}
    if join:
        first = min(b[0] for b in bounds) - timedelta(days=1)
        params = {"symbol": symbol, "ref_first": first, "ref_end": max(b[1] for b in bounds)}
    # Rule SQL comes from the registry, never from input.
    counts = ", ".join(
        f"count(_row) FILTER (WHERE NOT coalesce({rule.ok}, false))" for rule in spec.rules
    )
    sql = (
        f"SELECT filename, datediff('day', first_day, end_day), count(_row), "
        f"count(_row) FILTER (WHERE NOT {_IN_PERIOD})"
        f"{', ' + counts if counts else ''} "
        f"FROM {FILES} f LEFT JOIN (SELECT s.*, {ref}, 1 AS _row FROM {STAGE} s {join}) "
        "USING (filename) GROUP BY filename, first_day, end_day"
    )
    found: dict[str, Rejection] = {}
    for filename, days, n, outside, *rule_failures in conn.execute(sql, params).fetchall():
        f = by_name[filename]
        distinct = per_file.get(filename, (0, 0))[1]
        if outside:
            line, ts = _first(conn, filename, f"NOT {_IN_PERIOD}", "CAST(_ts AS VARCHAR)")
            found[filename] = rejection(
                f, "rows_in_period", line, f"timestamp {ts} outside {f.period}"
            )
            continue
        if n - distinct > spec.max_repeated_timestamps:
            line, ts = _first_repeat(conn, filename)
            found[filename] = rejection(
                f,
                "unique_timestamps",
                line,
                f"timestamp {ts} repeated ({n - distinct} repeated rows, at most "
                f"{spec.max_repeated_timestamps} allowed)",
            )
            continue
        failed = [rule for rule, bad in zip(spec.rules, rule_failures, strict=True) if bad]
        if failed and spec.monthly:
            # a monthly file's bad rows withhold their own days, not the whole month
            for day, rejected in _bad_days(conn, f, failed, ref, join, params).items():
                found[f"{filename}#{day}"] = rejected
            continue
        if failed:
            rule = failed[0]
            line, shown = _first(
                conn, filename, f"NOT coalesce({rule.ok}, false)", rule.shown, ref, join, params
            )
            found[filename] = rejection(f, rule.name, line, f"{shown}; expected {rule.expected}")
            continue
        least = spec.min_rows_per_day * days
        if distinct < least:
            found[filename] = rejection(
                f,
                "complete_period",
                None,
                f"{distinct} distinct timestamps; expected at least {least} "
                f"({spec.min_rows_per_day} per day)",
            )
    return found


def _bad_days(
    conn: duckdb.DuckDBPyConnection,
    f: StagedFile,
    failed: Sequence,
    ref: str,
    join: str,
    params: dict,
) -> dict[str, Rejection]:
    """Day -> a partial Rejection naming the file, the day's first offending line and rule."""
    out: dict[str, Rejection] = {}
    for rule in failed:
        rows = conn.execute(
            f"SELECT CAST(_ts AS DATE) AS day, min(_line) FROM (SELECT s.*, {ref} FROM "
            f"({_LINES}) s {join}) WHERE NOT coalesce({rule.ok}, false) GROUP BY day ORDER BY day",
            {**params, "filename": f.filename},
        ).fetchall()
        for day, line in rows:
            key = day.isoformat()
            if key in out:
                continue
            _, shown = _first(
                conn, f.filename, f"_line = {int(line)}", rule.shown, ref, join, params
            )
            detail = f"{shown}; expected {rule.expected} (day {key} withheld, the other days load)"
            r = rejection(f, rule.name, int(line), detail)
            out[key] = Rejection(
                f"{f.filename}#{key}", r.relpath, key, r.rule, r.line, r.message, partial=True
            )
    return out


def _first(
    conn: duckdb.DuckDBPyConnection,
    filename: str,
    bad: str,
    shown: str,
    ref: str = "CAST(NULL AS DOUBLE) AS ref_close",
    join: str = "",
    params: dict | None = None,
) -> tuple[int, str]:
    """First line of `filename` where `bad` holds, and `shown` there."""
    row = conn.execute(
        f"SELECT _line, {shown} FROM (SELECT s.*, {ref} FROM ({_LINES}) s {join}) "
        f"WHERE {bad} ORDER BY _line LIMIT 1",
        {**(params or {}), "filename": filename},
    ).fetchone()
    return int(row[0]), str(row[1])


def _first_repeat(conn: duckdb.DuckDBPyConnection, filename: str) -> tuple[int, str]:
    """First line of `filename` repeating an earlier line's timestamp."""
    row = conn.execute(
        f"SELECT _line, CAST(_ts AS VARCHAR) FROM ({_LINES}) "
        "QUALIFY row_number() OVER (PARTITION BY _ts ORDER BY _line) > 1 "
        "ORDER BY _line LIMIT 1",
        {"filename": filename},
    ).fetchone()
    return int(row[0]), str(row[1])


def screen_stage(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    files: Sequence[StagedFile],
    skip: Sequence[date] = (),
) -> dict[str, Rejection]:
    """The rules across venues and time (transforms.raw.rules: close near the reference
    venue's, bars continuous, open interest steady) on daily files that passed
    `validate_stage`; a failing day rejects its file, by filename. `skip`: loaded days the
    open-interest rule does not take as the previous day (transforms.raw.rules.screen_days)."""
    spec = dataset(name)
    wanted = name in CONTEXT_RULES or name in DAY_RULES or name in OI_JUMP_DATASETS
    if spec.monthly or not wanted or not files:
        return {}
    conn.execute(_SCREEN_SQL, {"files": [f.filename for f in files]})
    try:
        # the files passed rows_in_period: their rows lie in their days
        periods = sorted(date.fromisoformat(f.period) for f in files)
        failing = screen_days(
            conn,
            name,
            VENUE,
            symbol,
            SCREEN,
            row_rules=False,
            skip=skip,
            days=(periods[0], periods[-1]),
        )
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{SCREEN}")
    by_day = {f.period: f for f in files}
    found: dict[str, Rejection] = {}
    for day, why in failing.items():
        f = by_day.get(day.isoformat())
        if f is not None:
            rule, _, detail = why.partition(": ")
            found[f.filename] = rejection(f, rule, None, detail)
    return found
