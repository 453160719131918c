"""Publishes a read-only copy of the warehouse and Parquet exports of the marts.

DuckDB lets one process write or many read, never both; analysts therefore read this
snapshot, which is replaced atomically (write to a temp file, then `os.replace`) so a
reader sees either the previous complete copy or the new one, never a torn file.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

MART_TABLES = (
    "liq_heatmap",
    "liq_map",
    "daily_metrics",
    "moves",
    "price_hourly",
    "model_params",
)


def publish_snapshot(conn: duckdb.DuckDBPyConnection, snapshot_path: Path) -> int:
    """Copy every schema of the open warehouse into `snapshot_path`; returns its size."""
    snapshot_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    source_db = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute("ATTACH ? AS liqmap_snapshot", [str(tmp)])
    try:
        conn.execute(f'COPY FROM DATABASE "{source_db}" TO liqmap_snapshot')
    finally:
        conn.execute("DETACH liqmap_snapshot")
    os.replace(tmp, snapshot_path)
    return snapshot_path.stat().st_size


def export_marts(conn: duckdb.DuckDBPyConnection, exports_dir: Path) -> dict[str, int]:
    """Write each mart to `<exports_dir>/<table>.parquet` atomically; returns row counts."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in MART_TABLES:
        final = exports_dir / f"{table}.parquet"
        tmp = exports_dir / f".{table}.{os.getpid()}.parquet.tmp"
        conn.execute(
            f"COPY (SELECT * FROM mart.{table}) TO ? (FORMAT parquet, COMPRESSION zstd)",
            [str(tmp)],
        )
        os.replace(tmp, final)
        counts[table] = conn.execute(f"SELECT count(*) FROM mart.{table}").fetchone()[0]
    return counts
