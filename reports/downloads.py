"""A day's downloads: the data behind its charts as CSV and Parquet, next to its page."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports import queries
from reports.cards.moves import day_moves
from reports.loaders import MartData
from reports.writer import SiteWriter

DAILY_COLUMNS = (
    "day",
    "close_price",
    "oi_value",
    "oi_change_1d",
    "funding_rate_last",
    "funding_7d_mean",
    "funding_state",
    "longs_at_risk",
    "shorts_at_risk",
    "shorts_per_long",
    "nearest_cluster_above_price",
    "nearest_cluster_below_price",
    "p90_above_price",
    "p90_below_price",
)
SYNTHETIC_COLUMN = "synthetic_data"  # first column of every download built from synthetic data


def mark_source(table: pa.Table, source: str) -> pa.Table:
    """With synthetic data, a first column `synthetic_data` = true in every row and the
    source in the Parquet schema metadata, so no download can pass for real data."""
    meta = {**(table.schema.metadata or {}), b"liqmap.source": source.encode()}
    if source == "synthetic":
        table = table.add_column(0, SYNTHETIC_COLUMN, pa.array([True] * table.num_rows))
    return table.replace_schema_metadata(meta)


def table_bytes(table: pa.Table) -> tuple[bytes, bytes]:
    """(CSV, Parquet) bytes for one download."""
    csv_buf = io.BytesIO()
    pacsv.write_csv(table, csv_buf)
    pq_buf = io.BytesIO()
    pq.write_table(table, pq_buf, compression="zstd")
    return csv_buf.getvalue(), pq_buf.getvalue()


def day_tables(conn: duckdb.DuckDBPyConnection, data: MartData, d: date) -> dict[str, pa.Table]:
    """Download name → table for day `d` ("moves" only when the day has swings)."""
    symbol = data.symbol
    tables = {
        "heatmap": queries.arrow(conn, queries.HEATMAP_DAY_EXPORT, symbol=symbol, day=d),
        "liq_map": queries.arrow(conn, queries.LIQ_MAP_DAY, symbol=symbol, day=d),
        "scenarios": pa.Table.from_pylist(data.scenario_rows(d)),
        "daily": pa.Table.from_pylist(
            [{k: r.get(k) for k in DAILY_COLUMNS} for r in data.daily_rows(d)]
        ),
    }
    mv = day_moves(data, d)
    if mv:
        tables["moves"] = pa.Table.from_pylist(mv)
    return tables


def write_day_downloads(
    writer: SiteWriter,
    conn: duckdb.DuckDBPyConnection,
    data: MartData,
    d: date,
    source: str,
) -> list[str]:
    """Write `YYYY-MM-DD/<name>.csv|.parquet`; returns the names written, sorted."""
    tables = day_tables(conn, data, d)
    for name, table in tables.items():
        csv_bytes, pq_bytes = table_bytes(mark_source(table, source))
        writer.write(f"{d.isoformat()}/{name}.csv", csv_bytes)
        writer.write(f"{d.isoformat()}/{name}.parquet", pq_bytes)
    return sorted(tables)


def existing_downloads(day_dir: Path) -> list[str]:
    """The downloads already on disk for a day page (each with both its files)."""
    return sorted(p.stem for p in day_dir.glob("*.csv") if (day_dir / f"{p.stem}.parquet").exists())
