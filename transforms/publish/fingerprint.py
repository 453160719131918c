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
    return f"coalesce({cond}, false)"  # a row without a day is never withheld


def _parts_sql(table: Table, catalog: str, withheld: bool, where: str = "") -> str:
    """Per-partition [rows, hash sum]; `where`: a further condition on the rows."""
    conds = [c for c in (f"NOT {withheld_sql(table)}" if withheld else "", where) if c]
    clause = f" WHERE {' AND '.join(conds)}" if conds else ""
    if table.by_day:
        return (
            f"SELECT day, count(*), sum({table.hashed()})::VARCHAR "
            f"FROM {table.qualified(catalog)} AS _row{clause} GROUP BY day"
        )
    return (
        f"SELECT count(*), sum({table.hashed()})::VARCHAR FROM {table.qualified(catalog)} AS _row"
    )


def _counts_sql(table: Table, catalog: str, withheld: bool) -> str:
    """Per-day row counts: reads the `day` column only (and the withheld test's columns)."""
    where = f" WHERE NOT {withheld_sql(table)}" if withheld else ""
    return f"SELECT day, count(*) FROM {table.qualified(catalog)}{where} GROUP BY day"


def _day_key(day: date | None) -> str:
    return NULL_DAY if day is None else day.isoformat()


#: a logged table's fingerprints as last recorded, and the partitions that may have changed
Known = tuple[Mapping[str, list], Iterable[str]]


def fingerprints(
    conn: duckdb.DuckDBPyConnection,
    catalog: str,
    tables: Iterable[Table],
    withheld: Mapping[str, Iterable[str]] | None = None,
    known: Mapping[str, Known] | None = None,
) -> dict[str, dict[str, list]]:
    """'schema.table' -> partition -> [rows, hash sum]. `withheld`: table key -> withheld_key
    list whose rows count as absent (a rejected day's raw rows are not published).

    `known`: table key (day-partitioned) -> (its fingerprints as recorded earlier, the
    partitions noted changed since, transforms.changes): only those partitions, rows without
    a day, and partitions whose row count differs from the record are hashed again; the other
    partitions keep their recorded fingerprint (the table is read in full only for counts)."""
    withheld = withheld or {}
    known = known or {}
    out: dict[str, dict[str, list]] = {}
    for table in tables:
        held = sorted(set(withheld.get(table.key, ())))
        hide = bool(held) and table.by_day
        params: dict = {"held": held} if hide else {}
        if table.by_day and table.key in known:
            out[table.key] = _rehashed(conn, catalog, table, hide, params, known[table.key])
            continue
        rows = conn.execute(_parts_sql(table, catalog, hide), params).fetchall()
        if table.by_day:
            out[table.key] = {_day_key(d): [int(n), str(h)] for d, n, h in rows}
        else:
            n, h = rows[0]
            out[table.key] = {WHOLE: [int(n), str(h)]}
    return out


def _rehashed(
    conn: duckdb.DuckDBPyConnection,
    catalog: str,
    table: Table,
    hide: bool,
    params: dict,
    known: Known,
) -> dict[str, list]:
    """A logged table's fingerprints from its record, its counts and the noted partitions."""
    recorded, noted = known
    noted = set(noted)
    counts = {
        _day_key(d): int(n)
        for d, n in conn.execute(_counts_sql(table, catalog, hide), params).fetchall()
    }
    redo = [
        k
        for k, n in counts.items()
        if k in noted or k == NULL_DAY or k not in recorded or recorded[k][0] != n
    ]
    out = {k: list(recorded[k]) for k in counts if k not in redo}
    if redo:
        days = [date.fromisoformat(k) for k in redo if k != NULL_DAY]
        where = "list_contains($days, day)" + (" OR day IS NULL" if NULL_DAY in redo else "")
        sql = _parts_sql(table, catalog, hide, f"({where})")
        for d, n, h in conn.execute(sql, {**params, "days": days}).fetchall():
            out[_day_key(d)] = [int(n), str(h)]
    return dict(sorted(out.items()))


def changed_parts(
    have: Mapping[str, list], want: Mapping[str, list]
) -> tuple[list[str], list[str]]:
    """(partitions to delete from the copy, partitions to insert into it) to turn a table
    fingerprinted `have` into one fingerprinted `want`."""
    delete = sorted(k for k in have if want.get(k) != have[k])
    insert = sorted(k for k in want if have.get(k) != want[k] and want[k][0] > 0)
    return delete, insert
