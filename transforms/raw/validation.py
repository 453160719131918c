"""Validate archive files at load, per file, before any of their rows enter `raw.*`.

The staged rows of a batch (one DuckDB read of every CSV, see transforms.raw.loading) are
numbered by file line, then each file is checked against the dataset's rules, all declared
in the registry (transforms.raw.datasets): rows belong to the file's period (day, or month
for funding), timestamps are unique (up to `max_repeated_timestamps`), every row passes the
plausibility `rules`, and the file holds at least `min_rows_per_day` rows per day it covers.
A file failing any of them becomes one `Rejection` whose message is one line naming the
file, the rule, the first offending line and the value against what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from transforms.raw.datasets import dataset, period_bounds

STAGE = "_liqmap_stage"
FILES = "_liqmap_files"
NUMBERED = "_liqmap_numbered"

_FILES_DDL = f"""
CREATE OR REPLACE TEMP TABLE {FILES} (
    filename VARCHAR, relpath VARCHAR, shown VARCHAR, period VARCHAR,
    first_day DATE, end_day DATE, header INTEGER
)"""

# Line numbers follow the staged table's insertion order (DuckDB reads each CSV in order and
# preserves insertion order), offset by a header line when the file has one.
_NUMBER_SQL = f"""
CREATE OR REPLACE TEMP TABLE {NUMBERED} AS
SELECT s.*,
       s.rowid - min(s.rowid) OVER (PARTITION BY s.filename) + 1 + f.header AS _line,
       row_number() OVER (PARTITION BY s.filename, s._ts ORDER BY s.rowid) AS _rep
FROM {STAGE} s JOIN {FILES} f USING (filename)
"""

_PERIOD_SQL = f"""
SELECT s.filename, min(s._line), arg_min(CAST(s._ts AS VARCHAR), s._line)
FROM {NUMBERED} s JOIN {FILES} f USING (filename)
WHERE NOT coalesce(CAST(s._ts AS DATE) >= f.first_day AND CAST(s._ts AS DATE) < f.end_day, false)
GROUP BY s.filename
"""

_REPEATED_SQL = f"""
SELECT filename, min(_line), arg_min(CAST(_ts AS VARCHAR), _line), count(*)
FROM {NUMBERED} WHERE _rep > 1 GROUP BY filename HAVING count(*) > $allowed
"""

_COUNT_SQL = f"""
SELECT f.filename, count(DISTINCT s._ts), datediff('day', f.first_day, f.end_day)
FROM {FILES} f LEFT JOIN {NUMBERED} s USING (filename)
GROUP BY f.filename, f.first_day, f.end_day
"""


@dataclass(frozen=True)
class Rejection:
    """One rejected file: nothing of it is loaded; `message` is the one line to show."""

    filename: str  # the staged CSV path (key into the batch)
    relpath: str
    period: str
    rule: str
    line: int | None
    message: str


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


def validate_stage(
    conn: duckdb.DuckDBPyConnection, name: str, symbol: str, files: Sequence[StagedFile]
) -> dict[str, Rejection]:
    """Check every staged file of dataset `name`; the first failing rule per file, by filename.

    Expects the batch's rows in temp table `_liqmap_stage` (columns of the dataset's SELECT
    plus `filename` and `_ts`); leaves them numbered in `_liqmap_numbered` for the insert.
    """
    spec = dataset(name)
    by_name = {f.filename: f for f in files}
    conn.execute(_FILES_DDL)
    conn.executemany(
        f"INSERT INTO {FILES} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f.filename,
                f.relpath,
                f.shown,
                f.period,
                *period_bounds(name, f.period),
                int(f.has_header),
            )
            for f in files
        ],
    )
    conn.execute(_NUMBER_SQL)
    found: dict[str, Rejection] = {}

    def add(filename: str, rule: str, line: int | None, detail: str) -> None:
        if filename not in found:
            found[filename] = rejection(by_name[filename], rule, line, detail)

    for filename, line, ts in conn.execute(_PERIOD_SQL).fetchall():
        f = by_name[filename]
        add(filename, "rows_in_period", line, f"timestamp {ts} outside {f.period}")
    allowed = {"allowed": spec.max_repeated_timestamps}
    for filename, line, ts, n in conn.execute(_REPEATED_SQL, allowed).fetchall():
        add(
            filename,
            "unique_timestamps",
            line,
            f"timestamp {ts} repeated ({n} repeated rows, at most "
            f"{spec.max_repeated_timestamps} allowed)",
        )
    join = spec.reference_join or ""
    ref = "ref_close" if spec.reference_join else "CAST(NULL AS DOUBLE) AS ref_close"
    for rule in spec.rules:
        # Rule SQL comes from the registry, never from input.
        sql = (
            f"SELECT filename, min(_line), arg_min({rule.shown}, _line) FROM "
            f"(SELECT s.*, {ref} FROM {NUMBERED} s {join}) "
            f"WHERE NOT coalesce({rule.ok}, false) GROUP BY filename"
        )
        params = {"symbol": symbol} if "$symbol" in join else {}
        for filename, line, shown in conn.execute(sql, params).fetchall():
            add(filename, rule.name, line, f"{shown}; expected {rule.expected}")
    for filename, n, days in conn.execute(_COUNT_SQL).fetchall():
        least = spec.min_rows_per_day * days
        if n < least:
            add(
                filename,
                "complete_period",
                None,
                f"{n} distinct timestamps; expected at least {least} "
                f"({spec.min_rows_per_day} per day)",
            )
    return found
