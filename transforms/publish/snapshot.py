"""Publishes a read-only copy of the warehouse and Parquet exports of the marts.

DuckDB lets one process write or many read, never both; analysts therefore read this
snapshot, which is replaced atomically (transforms.atomic: a temp file, then `os.replace`) so
a reader sees either the previous complete copy or the new one, never a torn file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb

from transforms.atomic import TMP_SUFFIX, atomic_target
from transforms.marts.registry import MARTS

#: every exported mart, in registry order (the model's state is internal)
MART_TABLES = tuple(name for name, mart in MARTS.items() if mart.exported)


def remove_stale_snapshot_temps(snapshot_path: Path, exports_dir: Path) -> list[Path]:
    """Delete temp files a killed or failed publication left (`.<name>.<pid>.tmp` and the
    DuckDB WAL beside it). Runs are one writer at a time, so no live publication owns them."""
    removed = []
    for folder, names in (
        (Path(snapshot_path).parent, [Path(snapshot_path).name]),
        (Path(exports_dir), [f"{name}.parquet" for name in MART_TABLES]),
    ):
        for name in names:
            for pattern in (f".{name}.*{TMP_SUFFIX}", f".{name}.*{TMP_SUFFIX}.wal"):
                for stale in folder.glob(pattern):
                    stale.unlink(missing_ok=True)
                    removed.append(stale)
    return removed


#: raw tables with a `day` column in the snapshot being written (names from the catalog)
_RAW_DAY_TABLES_SQL = """
SELECT table_name FROM information_schema.columns
WHERE table_catalog = 'liqmap_snapshot' AND table_schema = 'raw' AND column_name = 'day'
ORDER BY table_name
"""
_DELETE_WITHHELD_SQL = 'DELETE FROM liqmap_snapshot.raw."{table}" WHERE list_contains($days, day)'


def publish_snapshot(
    conn: duckdb.DuckDBPyConnection, snapshot_path: Path, withheld: Iterable[date] = ()
) -> int:
    """Copy every schema of the open warehouse into `snapshot_path`; returns its size.

    The raw rows of `withheld` days (a file of the day was rejected) are left out of the copy:
    every file of a rejected day stays out of what is published, not only the bad one."""
    source_db = conn.execute("SELECT current_database()").fetchone()[0]
    days = sorted(set(withheld))
    # DuckDB creates the file itself, so the temp name is reserved, not created.
    with atomic_target(snapshot_path, create=False) as tmp:
        conn.execute("ATTACH ? AS liqmap_snapshot", [str(tmp)])
        try:
            conn.execute(f'COPY FROM DATABASE "{source_db}" TO liqmap_snapshot')
            if days:
                for (table,) in conn.execute(_RAW_DAY_TABLES_SQL).fetchall():
                    conn.execute(_DELETE_WITHHELD_SQL.format(table=table), {"days": days})
        finally:
            conn.execute("DETACH liqmap_snapshot")
    return snapshot_path.stat().st_size


def export_marts(conn: duckdb.DuckDBPyConnection, exports_dir: Path) -> dict[str, int]:
    """Write each mart to `<exports_dir>/<table>.parquet` atomically; returns row counts."""
    counts = {}
    for mart in (MARTS[name] for name in MART_TABLES):
        with atomic_target(exports_dir / f"{mart.name}.parquet", create=False) as tmp:
            conn.execute(
                f"COPY (SELECT * FROM {mart.table}) TO ? (FORMAT parquet, COMPRESSION zstd)",
                [str(tmp)],
            )
        counts[mart.name] = conn.execute(f"SELECT count(*) FROM {mart.table}").fetchone()[0]
    return counts
