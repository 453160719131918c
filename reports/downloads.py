"""A day's downloads: that day's own data behind its charts, next to its page.

Only the day's own rows are written beside a day page (the day's liquidation map, scenarios,
daily figures and swings), so the site grows by a small amount per symbol and day. The map is
the long one: written as Parquet only (zstd); the few-row tables (scenarios, daily figures,
swings) as CSV. The heatmap is not repeated per day: the shared heat month files of the data
API (docs/api.md) hold every hour of it. The whole daily
history of a symbol is one file (`<SYMBOL>/daily.csv`, rewritten by every build), linked
from the archives.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports import queries
from reports.cards.moves import day_moves
from reports.loaders import MartData
from reports.notation import row_imbalance
from reports.venue_set import VenueSet
from reports.writer import SiteWriter

DAILY_COLUMNS = (
    "day",
    "close_price",
    "oi_value",
    "oi_change_1d",
    "funding_rate_last",
    "funding_7d_mean",
    "funding_state",
    "longs_at_risk_5pct",
    "shorts_at_risk_5pct",
    "shorts_per_long_5pct",
    "longs_at_risk_10pct",
    "shorts_at_risk_10pct",
    "shorts_per_long_10pct",
    "longs_at_risk",
    "shorts_at_risk",
    "shorts_per_long",
    "nearest_cluster_above_price",
    "nearest_cluster_below_price",
    "p90_above_price",
    "p90_below_price",
)
#: the imbalance as printed, one column per window: (column, window; None = whole map).
#: The text says the heavier side ("1.4:1 shorts"), the column name the window.
IMBALANCE_COLUMNS = (
    ("imbalance_5pct", "5pct"),
    ("imbalance_10pct", "10pct"),
    ("imbalance_whole_map", None),
)
SYNTHETIC_COLUMN = "synthetic_data"  # first column of every download built from synthetic data


def mark_source(table: pa.Table, source: str) -> pa.Table:
    """With synthetic data, a first column `synthetic_data` = true in every row and the
    source in the Parquet schema metadata, so no download can pass for real data."""
    meta = {**(table.schema.metadata or {}), b"liqmap.source": source.encode()}
    if source == "synthetic":
        table = table.add_column(0, SYNTHETIC_COLUMN, pa.array([True] * table.num_rows))
    return table.replace_schema_metadata(meta)


FORMATS = ("csv", "parquet")
# the long table (a day's map by price): Parquet only (zstd);
# as CSV they would be most of the site
PARQUET_ONLY = frozenset({"liq_map"})


def table_bytes(table: pa.Table) -> tuple[bytes, bytes]:
    """(CSV, Parquet) bytes for one download."""
    return csv_bytes(table), parquet_bytes(table)


def csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def formats_of(name: str) -> list[str]:
    """Parquet for the long tables; CSV for the few-row ones (a 4-row Parquet file is ~12 kB
    of schema and footer, 5x its CSV)."""
    return ["parquet"] if name in PARQUET_ONLY else ["csv"]


def daily_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A base row's downloaded figures: DAILY_COLUMNS, then the imbalance in the site
    notation per window (IMBALANCE_COLUMNS), the same text the page prints."""
    out = {k: row.get(k) for k in DAILY_COLUMNS}
    for col, window in IMBALANCE_COLUMNS:
        out[col] = row_imbalance(row, window).text
    return out


def daily_history_table(data: MartData) -> pa.Table:
    """Every published day's headline figures of one symbol (`<SYMBOL>/daily.csv`)."""
    return pa.Table.from_pylist([daily_row(data.base(d)) for d in data.days])


def venues_table(venues: VenueSet, days: list[date]) -> pa.Table:
    """Each venue's headline figures on `days` (a `venue` column first), by day and venue:
    the day's `venues.csv`, and every day in `<SYMBOL>/venues.csv`."""
    rows = [
        {"venue": v, **daily_row(base)}
        for d in days
        for v in venues.venues
        if (base := venues.per_venue[v].metrics.get(d, {}).get("base")) is not None
    ]
    return pa.Table.from_pylist(rows)


def day_tables(
    conn: duckdb.DuckDBPyConnection, data: MartData, d: date, venues: VenueSet | None = None
) -> dict[str, pa.Table]:
    """Download name → table for day `d` ("moves" only when the day has swings; "venues",
    each venue's figures, on an aggregate page of more than one venue)."""
    symbol = data.symbol
    tables = {
        "liq_map": queries.arrow(conn, queries.LIQ_MAP_DAY, symbol=symbol, day=d, venue=data.venue),
        "scenarios": pa.Table.from_pylist(data.scenario_rows(d)),
        "daily": pa.Table.from_pylist([daily_row(data.base(d))]),
    }
    mv = day_moves(data, d)
    if mv:
        tables["moves"] = pa.Table.from_pylist(mv)
    if venues is not None and venues.split:
        tables["venues"] = venues_table(venues, [d])
    return tables


def write_day_downloads(
    writer: SiteWriter,
    conn: duckdb.DuckDBPyConnection,
    data: MartData,
    d: date,
    day_dir: str,
    source: str,
    venues: VenueSet | None = None,
) -> dict[str, list[str]]:
    """Write `<day_dir>/<name>.<format>` (marked with the source, see `mark_source`);
    returns name -> formats written, names sorted."""
    tables = day_tables(conn, data, d, venues)
    written: dict[str, list[str]] = {}
    for name in sorted(tables):
        formats = formats_of(name)
        table = mark_source(tables[name], source)
        for ext in formats:
            body = parquet_bytes(table) if ext == "parquet" else csv_bytes(table)
            writer.write(f"{day_dir}/{name}.{ext}", body)
        written[name] = formats
    return written


def remove_other_downloads(day_dir: Path, keep: dict[str, list[str]]) -> None:
    """Delete downloads in `day_dir` not in `keep` (a venue page's folder holds its latest
    day only: yesterday's moves file must not outlive a day without swings)."""
    for name, formats in existing_downloads(day_dir).items():
        for ext in formats:
            if ext not in keep.get(name, []):
                (day_dir / f"{name}.{ext}").unlink(missing_ok=True)


def existing_downloads(day_dir: Path) -> dict[str, list[str]]:
    """The downloads already on disk for a day page (name -> formats present)."""
    found: dict[str, list[str]] = {}
    for p in sorted(day_dir.glob("*.*")):
        if p.suffix.lstrip(".") in FORMATS and not p.name.startswith("."):
            found.setdefault(p.stem, []).append(p.suffix.lstrip("."))
    return {k: [f for f in FORMATS if f in v] for k, v in sorted(found.items())}
