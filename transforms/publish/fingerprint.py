"""Fingerprints of a DuckDB catalog's tables, per `day` partition: what a publication changed.

The snapshot (transforms.publish.snapshot) is brought up to date by replacing only the
partitions whose fingerprint differs from the copy it updates. A partition is one `day` of a
table with a DATE column named `day` (rows with a NULL day form their own partition), else
the whole table. Its fingerprint is the row count and the sum of every row's 64-bit hash:
DuckDB scans at memory speed, so fingerprinting the warehouse costs a fraction of copying it.
A table with a `content_hash` column (mart.model_state) is hashed without its BLOB columns:
the content hash already covers them, and hashing megabytes of state again would dominate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import duckdb

#: the partition key of a table without a DATE `day` column
WHOLE = "*"
#: the partition key of the rows whose `day` is NULL
NULL_DAY = ""

_COLUMNS_SQL = """
SELECT schema_name, table_name, column_name, data_type
FROM duckdb_columns()
WHERE database_name = $db AND NOT internal
ORDER BY schema_name, table_name, column_index
"""
# Anything besides tables that a full copy carries: a change to any of them (or to a table's
# columns) means the snapshot is copied whole, never patched.
_OBJECTS_SQL = """
SELECT 'view', schema_name, view_name, sql FROM duckdb_views()
WHERE database_name = $db AND NOT internal
UNION ALL
SELECT 'sequence', schema_name, sequence_name, last_value::VARCHAR FROM duckdb_sequences()
WHERE database_name = $db
UNION ALL
SELECT 'index', schema_name, index_name, sql FROM duckdb_indexes()
WHERE database_name = $db
UNION ALL
SELECT 'macro', schema_name, function_name, macro_definition FROM duckdb_functions()
WHERE database_name = $db AND NOT internal AND function_type IN ('macro', 'table_macro')
ORDER BY ALL
"""


@dataclass(frozen=True)
class Table:
    """One table of the catalog: its quoted name, columns and whether it splits by day."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type) in table order

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    def qualified(self, catalog: str) -> str:
        return ".".join(_quote(x) for x in (catalog, self.schema, self.name))

    @property
    def by_day(self) -> bool:
        return ("day", "DATE") in self.columns

    def hashed(self) -> str:
        """The row expression fingerprinted (BLOBs left out when a content hash covers them)."""
        names = [c for c, _ in self.columns]
        if "content_hash" in names:
            kept = [c for c, t in self.columns if t != "BLOB"]
            return "hash(" + ", ".join(_quote(c) for c in kept) + ")"
        return "hash(_row)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def catalog_tables(conn: duckdb.DuckDBPyConnection, catalog: str) -> list[Table]:
    """Every user table of `catalog`, in schema and name order."""
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, name, column, dtype in conn.execute(_COLUMNS_SQL, {"db": catalog}).fetchall():
        tables.setdefault((schema, name), []).append((column, dtype))
    views = {
        (s, n)
        for s, n in conn.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = $db",
            {"db": catalog},
        ).fetchall()
    }
    return [
        Table(s, n, tuple(cols)) for (s, n), cols in sorted(tables.items()) if (s, n) not in views
    ]


def schema_signature(conn: duckdb.DuckDBPyConnection, catalog: str) -> str:
    """sha256 over every table's columns and every view, sequence, index and macro."""
    tables = [[t.key, list(map(list, t.columns))] for t in catalog_tables(conn, catalog)]
    objects = [list(map(str, r)) for r in conn.execute(_OBJECTS_SQL, {"db": catalog}).fetchall()]
    text = json.dumps([tables, objects], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def withheld_key(day: date, venue: str = "*", symbol: str = "*") -> str:
    """The key naming rows withheld from publication: one market's day, or ('*') the whole
    day of every venue and symbol."""
    return f"{venue}|{symbol}|{day.isoformat()}"


def withheld_sql(table: Table) -> str:
    """SQL true for a row of `table` that is withheld, given `$held` (withheld_key list)."""
    cond = "list_contains($held, '*|*|' || CAST(day AS VARCHAR))"
    if {"venue", "symbol"} <= {c for c, _ in table.columns}:
        cond += " OR list_contains($held, venue || '|' || symbol || '|' || CAST(day AS VARCHAR))"
    return f"({cond})"


def _parts_sql(table: Table, catalog: str, withheld: bool) -> str:
    where = f" WHERE NOT {withheld_sql(table)}" if withheld else ""
    if table.by_day:
        return (
            f"SELECT day, count(*), sum({table.hashed()})::VARCHAR "
            f"FROM {table.qualified(catalog)} AS _row{where} GROUP BY day"
        )
    return (
        f"SELECT count(*), sum({table.hashed()})::VARCHAR FROM {table.qualified(catalog)} AS _row"
    )


def fingerprints(
    conn: duckdb.DuckDBPyConnection,
    catalog: str,
    tables: Iterable[Table],
    withheld: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, dict[str, list]]:
    """'schema.table' -> partition -> [rows, hash sum]. `withheld`: table key -> withheld_key
    list whose rows count as absent (a rejected day's raw rows are not published)."""
    withheld = withheld or {}
    out: dict[str, dict[str, list]] = {}
    for table in tables:
        held = sorted(set(withheld.get(table.key, ())))
        sql = _parts_sql(table, catalog, bool(held) and table.by_day)
        rows = conn.execute(sql, {"held": held} if held and table.by_day else {}).fetchall()
        if table.by_day:
            out[table.key] = {
                (NULL_DAY if d is None else d.isoformat()): [int(n), str(h)] for d, n, h in rows
            }
        else:
            n, h = rows[0]
            out[table.key] = {WHOLE: [int(n), str(h)]}
    return out


def changed_parts(
    have: Mapping[str, list], want: Mapping[str, list]
) -> tuple[list[str], list[str]]:
    """(partitions to delete from the copy, partitions to insert into it) to turn a table
    fingerprinted `have` into one fingerprinted `want`."""
    delete = sorted(k for k in have if want.get(k) != have[k])
    insert = sorted(k for k in want if have.get(k) != want[k] and want[k][0] > 0)
    return delete, insert
