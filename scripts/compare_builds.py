"""Compare two liqmap builds: warehouse tables and site files (proof a refactor changed nothing).

    python scripts/compare_builds.py BASELINE_DIR CANDIDATE_DIR

Each directory is a project root after `make demo` (data/warehouse.duckdb and site/; other
paths with --warehouse / --site). Compared:

- every table in the raw, stg, ref and mart schemas: same tables, same row counts, and
  `EXCEPT ALL` both ways empty (columns that record *when* a build ran, IGNORED_COLUMNS, are
  left out);
- every site file: same set of paths and byte-identical, except the build timestamp, which
  is read from each build's feed.xml (`<updated>`) and masked in both.

Prints one line per difference and exits 1 if there is any, 0 otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

import duckdb

SCHEMAS = ("raw", "stg", "ref", "mart")
#: columns holding the wall-clock time of the build, not data
IGNORED_COLUMNS = {
    ("raw", "files"): {"loaded_at"},
    ("raw", "liquidation_coverage"): {"loaded_at"},
    ("mart", "model_params"): {"recorded_at"},
}
_FEED_UPDATED = re.compile(rb"<updated>([^<]+)</updated>")
BUILD_MASK = b"<BUILD-TIME>"


def _tables(conn: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], list[str]]:
    rows = conn.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = ? AND list_contains(?, table_schema) "
        "ORDER BY table_schema, table_name, ordinal_position",
        [catalog, list(SCHEMAS)],
    ).fetchall()
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        out.setdefault((schema, table), []).append(column)
    return out


def compare_warehouses(base: Path, cand: Path) -> tuple[list[str], list[str]]:
    """(differences, one summary line per table compared)."""
    conn = duckdb.connect()
    conn.execute("ATTACH ? AS base (READ_ONLY)", [str(base)])
    conn.execute("ATTACH ? AS cand (READ_ONLY)", [str(cand)])
    diffs, summary = [], []
    a, b = _tables(conn, "base"), _tables(conn, "cand")
    for key in sorted(set(a) ^ set(b)):
        where = "baseline" if key in a else "candidate"
        diffs.append(f"table {key[0]}.{key[1]} only in the {where}")
    for key in sorted(set(a) & set(b)):
        name = f"{key[0]}.{key[1]}"
        if a[key] != b[key]:
            diffs.append(f"{name}: columns differ: {a[key]} vs {b[key]}")
            continue
        cols = ", ".join(f'"{c}"' for c in a[key] if c not in IGNORED_COLUMNS.get(key, set()))
        n_a = conn.execute(f'SELECT count(*) FROM base."{key[0]}"."{key[1]}"').fetchone()[0]
        n_b = conn.execute(f'SELECT count(*) FROM cand."{key[0]}"."{key[1]}"').fetchone()[0]
        only = []
        for left, right in (("base", "cand"), ("cand", "base")):
            only.append(
                conn.execute(
                    f'SELECT count(*) FROM (SELECT {cols} FROM {left}."{key[0]}"."{key[1]}" '
                    f'EXCEPT ALL SELECT {cols} FROM {right}."{key[0]}"."{key[1]}")'
                ).fetchone()[0]
            )
        if n_a != n_b or any(only):
            diffs.append(
                f"{name}: {n_a} vs {n_b} rows; {only[0]} only in baseline, "
                f"{only[1]} only in candidate"
            )
        summary.append(f"{name}: {n_a} rows, identical" if n_a == n_b and not any(only) else "")
    conn.close()
    return diffs, [s for s in summary if s]


def build_time_strings(site: Path) -> list[bytes]:
    """The forms the build timestamp takes in pages: ISO `...Z` and `YYYY-MM-DD HH:MM UTC`."""
    feed = site / "feed.xml"
    if not feed.is_file():
        return []
    match = _FEED_UPDATED.search(feed.read_bytes())
    if not match:
        return []
    iso = match.group(1)
    when = datetime.fromisoformat(iso.decode().replace("Z", "+00:00"))
    return [iso, when.strftime("%Y-%m-%d %H:%M UTC").encode()]


def _masked(data: bytes, stamps: list[bytes]) -> bytes:
    for stamp in stamps:
        data = data.replace(stamp, BUILD_MASK)
    return data


def compare_sites(base: Path, cand: Path) -> tuple[list[str], int]:
    """(differences, number of files compared). Hidden files (temp files) are ignored."""

    def files(root: Path) -> set[str]:
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
        }

    a, b = files(base), files(cand)
    diffs = [f"site file {rel} only in the baseline" for rel in sorted(a - b)]
    diffs += [f"site file {rel} only in the candidate" for rel in sorted(b - a)]
    stamps_a, stamps_b = build_time_strings(base), build_time_strings(cand)
    for rel in sorted(a & b):
        da, db = (base / rel).read_bytes(), (cand / rel).read_bytes()
        if da != db and _masked(da, stamps_a) != _masked(db, stamps_b):
            diffs.append(f"site file {rel} differs ({len(da)} vs {len(db)} bytes)")
    return diffs, len(a & b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--warehouse", default="data/warehouse.duckdb")
    parser.add_argument("--site", default="site")
    args = parser.parse_args(argv)
    diffs, summary = compare_warehouses(
        args.baseline / args.warehouse, args.candidate / args.warehouse
    )
    site_diffs, n_files = compare_sites(args.baseline / args.site, args.candidate / args.site)
    for line in summary:
        print(line)
    print(f"site: {n_files} files compared")
    for line in diffs + site_diffs:
        print(f"DIFFERENT {line}")
    if diffs or site_diffs:
        print(f"{len(diffs) + len(site_diffs)} difference(s)")
        return 1
    print("builds identical (build timestamps and load times aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
