"""Rows of raw.files and raw.rejected_files (and other small row lists) in one statement.

DuckDB's `executemany` runs one INSERT per row: for a year of daily files that is thousands of
statements (several ms each) per dataset and symbol. `insert_rows` binds one list per column
and inserts them with a single `INSERT ... SELECT unnest(...)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

#: raw.files columns in table order (transforms/sql/schema.sql, venue added last)
FILE_COLUMNS = (
    "dataset",
    "symbol",
    "period",
    "relpath",
    "sha256",
    "bytes",
    "rows",
    "source",
    "loaded_at",
    "venue",
)
#: raw.rejected_files columns in table order
REJECTED_COLUMNS = (
    "dataset",
    "symbol",
    "period",
    "relpath",
    "rule",
    "line",
    "message",
    "rejected_at",
    "venue",
)


def insert_rows(
    conn: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[tuple]
) -> int:
    """Insert `rows` (tuples in `columns` order) into `table` with one statement. Table and
    column names come from this package's constants, never from input; values are bound."""
    if not rows:
        return 0
    names = list(columns)
    values = {f"c{i}": list(col) for i, col in enumerate(zip(*rows, strict=True))}
    select = ", ".join(f"unnest($c{i})" for i in range(len(names)))
    conn.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {select}", values)
    return len(rows)
