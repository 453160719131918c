"""Publishes a read-only copy of the warehouse and Parquet exports of the marts.

DuckDB lets one process write or many read, never both; analysts therefore read this
snapshot, which is replaced atomically (transforms.atomic: a temp file, then `os.replace`) so
a reader sees either the previous complete copy or the new one, never a torn file.
"""

from __future__ import annotations

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


def publish_snapshot(conn: duckdb.DuckDBPyConnection, snapshot_path: Path) -> int:
    """Copy every schema of the open warehouse into `snapshot_path`; returns its size."""
    source_db = conn.execute("SELECT current_database()").fetchone()[0]
    # DuckDB creates the file itself, so the temp name is reserved, not created.
    with atomic_target(snapshot_path, create=False) as tmp:
        conn.execute("ATTACH ? AS liqmap_snapshot", [str(tmp)])
        try:
            conn.execute(f'COPY FROM DATABASE "{source_db}" TO liqmap_snapshot')
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
