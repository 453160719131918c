"""The downloads: the data behind a symbol's charts, one set of files per month.

Each month of a symbol has one folder, `<SYMBOL>/downloads/YYYY-MM/`, and each file in it
holds the aggregate (`venue` = `all`) and, with two or more venues, every venue alone, by a
`venue` column, each row once: the scenario rows (`scenarios.parquet`, `mart.daily_metrics`
but the columns that are arithmetic on the others, SCENARIOS_DERIVED, which
docs/api/scenarios.sql adds back), each day's figures as the pages print them (`daily.csv`)
and the swings confirmed in the month (`moves.csv`, `mart.moves`, each swing once; the
running swing is left out, the next day's run replaces it). A day page, a venue's page and
the archive link the month's files. A month's files are rebuilt only when a day of that
month is rendered (or the folder is missing) and each is rewritten only when its bytes
change, so a published month is not touched by builds of later months.

Nothing here repeats a file of the data API (docs/api.md): not the heatmap (the shared heat
month files hold every hour of it), not the maps (a `liq_map.parquet` of every band of every
day and venue was ~5 MB of the demo year's 50, and each venue's day documents hold the same
`mart.liq_map` bands, exact, for the page's what-if: `whatif`, the aggregate's their sums;
an older build's map files are RETIRED), not the daily figures in a symbol-wide file (a
whole-history `<SYMBOL>/daily.csv` and `venues.csv`, rewritten by every build, repeated the
month files' rows; the daily series `data/<SYMBOL>/<venue>/daily.js` is the one file of
every day). A day page rendered again drops the per-day files an older build put beside it;
pages not rendered again keep theirs (they link them), and an older build's per-venue month
folders and retired files until a build renders every day.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports import queries
from reports.heat_tiles import month_id, month_start, next_month
from reports.loaders import MartData
from reports.notation import row_imbalance
from reports.writer import SiteWriter

DOWNLOADS_DIR = "downloads"  # <SYMBOL>/downloads/YYYY-MM/
# a month folder's name (an older site's per-venue folders are not)
MONTH_ID = re.compile(r"\d{4}-\d{2}")

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
    "longs_at_risk_10pct",
    "shorts_at_risk_10pct",
    "longs_at_risk",
    "shorts_at_risk",
    "nearest_cluster_above_price",
    "nearest_cluster_below_price",
    "p90_above_price",
    "p90_below_price",
)
#: the imbalance as printed, one column per window: (column, window; None = whole map).
#: The text says the heavier side ("1.4:1 shorts"), the column name the window; the ratio
#: itself is the shorts and longs at risk beside it divided (scenarios.parquet's
#: `shorts_per_long*` through docs/api/scenarios.sql), not a column of its own.
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
# the long table, Parquet only (zstd): the month's scenario rows (~100 wide rows a month:
# Parquet is under half the CSV)
PARQUET_ONLY = frozenset({"scenarios"})
#: downloads an older build wrote and this one does not (module doc): a month's rewrite keeps
#: them for the pages that link them, no page rendered now links them, and a build that
#: renders every day deletes them (remove_retired_downloads)
RETIRED = frozenset({"liq_map"})


def csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue()


# zstd level of the Parquet downloads. The demo year's 72 files (3 symbols x 12 months):
# level 3 (pyarrow's default) 18.26 MB in 2.5 s, 9 16.99 MB in 4.8 s, 15 16.88 MB in 11.8 s,
# 19 16.86 MB in 71 s (one core, a shared machine). What is left is the notionals' mantissas:
# xz -9e of the byte-split non-zero doubles alone is within 6 % of it.
PARQUET_ZSTD_LEVEL = 9


def parquet_bytes(table: pa.Table) -> bytes:
    """Parquet, zstd (PARQUET_ZSTD_LEVEL), encodings chosen per column (measured on a demo
    month of every venue, liq_map 559 -> 408 kB, scenarios 110 -> 95 kB against pyarrow's
    defaults at level 3): a float column of mostly distinct values (notionals, cumulative
    sums) byte-stream split, so its exponent bytes compress; other floats plain; the rest
    (days, venues, hashes) dictionary encoded; no min/max statistics (one row group a month:
    nothing for a reader to skip)."""
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    split = [n for n in floats if pc.count_distinct(table.column(n)).as_py() > table.num_rows // 4]
    buf = io.BytesIO()
    pq.write_table(
        table,
        buf,
        compression="zstd",
        compression_level=PARQUET_ZSTD_LEVEL,
        use_dictionary=[n for n in table.column_names if n not in floats],
        use_byte_stream_split=split,
        write_statistics=False,
    )
    return buf.getvalue()


def formats_of(name: str) -> list[str]:
    """Parquet for the long tables; CSV for the short ones (a Parquet file carries ~10 kB of
    schema and footer, more than a month's daily figures as CSV)."""
    return ["parquet"] if name in PARQUET_ONLY else ["csv"]


def daily_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A base row's downloaded figures: DAILY_COLUMNS, then the imbalance in the site
    notation per window (IMBALANCE_COLUMNS), the same text the page prints."""
    out = {k: row.get(k) for k in DAILY_COLUMNS}
    for col, window in IMBALANCE_COLUMNS:
        out[col] = row_imbalance(row, window).text
    return out


def month_folder(symbol: str, month: date) -> str:
    """A month's download folder, relative to the site root."""
    return f"{symbol}/{DOWNLOADS_DIR}/{month_id(month)}"


def month_href(month: date) -> str:
    """The month's download folder relative to the symbol's folder (with a trailing /)."""
    return f"{DOWNLOADS_DIR}/{month_id(month)}/"


def month_days(data: MartData, month: date) -> list[date]:
    """The days of `month` with a base row, in order (the month file's days)."""
    end = next_month(month)
    return [d for d in data.days if month <= d < end]


#: the scenario rows' columns left out of scenarios.parquet: arithmetic on its other columns,
#: as the model computes them, which docs/api/scenarios.sql adds back (~28 % of the file)
SCENARIOS_DERIVED = (
    "shorts_per_long",
    "log_imbalance",
    "shorts_per_long_5pct",
    "shorts_per_long_10pct",
    *[
        f"{k}_{side}_pct"
        for k in ("nearest_cluster", "peak_cluster", "p90")
        for side in ("above", "below")
    ],
)


def month_tables(
    conn: duckdb.DuckDBPyConnection, parts: list[MartData], month: date
) -> dict[str, pa.Table]:
    """Download name -> table for `month`, every part (the aggregate first, then each venue
    alone) in one table with a `venue` column: the scenario rows (but SCENARIOS_DERIVED)
    straight from the marts, each day's
    figures as the pages print them, and the swings confirmed in the
    month ("moves", only when there are any; the symbol's first month also holds those
    confirmed before it). Empty when no part has a day in `month`."""
    if not any(month_days(p, month) for p in parts):
        return {}
    first = min(month_start(p.days[0]) for p in parts if p.days)
    params = {
        "symbol": parts[0].symbol,
        "venues": [p.venue for p in parts],
        "day_from": month if month > first else date.min,
        "day_to": next_month(month),
    }
    tables = {
        "scenarios": queries.arrow(conn, queries.SCENARIOS_MONTH, **params).drop_columns(
            list(SCENARIOS_DERIVED)
        ),
        "daily": pa.Table.from_pylist(
            [
                {"venue": p.venue, **daily_row(p.base(d))}
                for p in parts
                for d in month_days(p, month)
            ]
        ),
    }
    moves = queries.arrow(conn, queries.MOVES_MONTH, **params)
    if moves.num_rows:
        tables["moves"] = moves
    return tables


def write_month_downloads(
    writer: SiteWriter,
    conn: duckdb.DuckDBPyConnection,
    parts: list[MartData],
    month: date,
    source: str,
) -> dict[str, list[str]]:
    """Write the month's files (marked with the source, see `mark_source`), each only when
    its bytes changed, and drop a file the month no longer has; returns name -> formats,
    names sorted."""
    folder = month_folder(parts[0].symbol, month)
    tables = month_tables(conn, parts, month)
    written: dict[str, list[str]] = {}
    for name in sorted(tables):
        formats = formats_of(name)
        table = mark_source(tables[name], source)
        for ext in formats:
            body = parquet_bytes(table) if ext == "parquet" else csv_bytes(table)
            writer.write_if_changed(f"{folder}/{name}.{ext}", body)
        written[name] = formats
    kept = existing_downloads(writer.out_dir / folder, RETIRED)
    remove_other_downloads(writer.out_dir / folder, {**kept, **written})
    return written


def months_to_write(out_dir: Path, parts: list[MartData], render: list[date]) -> list[date]:
    """The months whose files this build writes: those of the days rendered, and any month
    of the parts' days whose folder does not exist yet."""
    symbol = parts[0].symbol
    months = {month_start(d) for d in render}
    for m in {month_start(d) for p in parts for d in p.days} - months:
        if not (out_dir / month_folder(symbol, m)).is_dir():
            months.add(m)
    return sorted(months)


def month_downloads(out_dir: Path, symbol: str, month: date) -> dict[str, list[str]]:
    """The files of a month already on disk (name -> formats), RETIRED ones left out."""
    return linked_downloads(Path(out_dir) / month_folder(symbol, month))


def names_as_of(
    names: dict[str, list[str]], parts: list[MartData], d: date
) -> dict[str, list[str]]:
    """The month's files a page of day `d` links: those the month had as of `d`, so a page
    built then and one built later from scratch link the same files. "moves" appears with
    the month's first swing confirmed by `d` (month_tables: the symbol's first month also
    holds the swings confirmed before it)."""
    if "moves" not in names:
        return names
    month = month_start(d)
    first = min(month_start(p.days[0]) for p in parts if p.days)
    lo = month if month > first else date.min
    known = any(m["confirmed"] and lo <= m["day"] <= d for p in parts for m in p.moves)
    return names if known else {k: v for k, v in names.items() if k != "moves"}


def archive_months(out_dir: Path, symbol: str) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """Month id -> (href from the symbol's folder, name -> formats) of every month with
    files (the archive's download links)."""
    root = Path(out_dir) / symbol / DOWNLOADS_DIR
    if not root.is_dir():
        return {}
    out = {}
    for p in sorted(root.iterdir()):
        names = linked_downloads(p) if MONTH_ID.fullmatch(p.name) and p.is_dir() else {}
        if names:
            out[p.name] = (f"{DOWNLOADS_DIR}/{p.name}/", names)
    return out


def remove_venue_folders(out_dir: Path, symbol: str) -> None:
    """Delete the per-venue month folders of an older build (`<SYMBOL>/downloads/<venue>/
    YYYY-MM/`); only once every page that linked them has been rendered again. Only their
    download files go, and a folder only when nothing else is left in it."""
    root = Path(out_dir) / symbol / DOWNLOADS_DIR
    for venue in sorted(root.glob("*/")) if root.is_dir() else []:
        if MONTH_ID.fullmatch(venue.name):
            continue
        for month in sorted(venue.glob("*/")):
            if MONTH_ID.fullmatch(month.name):
                remove_other_downloads(month, {})
                with contextlib.suppress(OSError):
                    month.rmdir()
        with contextlib.suppress(OSError):
            venue.rmdir()


def remove_retired_downloads(out_dir: Path, symbol: str) -> None:
    """Delete the RETIRED files an older build left in the month folders; only once every
    page that linked them has been rendered again."""
    root = Path(out_dir) / symbol / DOWNLOADS_DIR
    for month in sorted(root.glob("*/")) if root.is_dir() else []:
        if MONTH_ID.fullmatch(month.name):
            for name, formats in existing_downloads(month, RETIRED).items():
                for ext in formats:
                    (month / f"{name}.{ext}").unlink(missing_ok=True)


SYMBOL_CSVS = ("daily.csv", "venues.csv")  # an older build's whole-history files


def remove_symbol_csvs(out_dir: Path, symbol: str) -> None:
    """Delete an older build's symbol-wide `daily.csv` and `venues.csv` (every day's figures,
    rewritten by every build): the month downloads hold their rows."""
    for name in SYMBOL_CSVS:
        (Path(out_dir) / symbol / name).unlink(missing_ok=True)


def remove_other_downloads(day_dir: Path, keep: dict[str, list[str]]) -> None:
    """Delete downloads in `day_dir` not in `keep` (a venue page's folder holds its latest
    day only: yesterday's moves file must not outlive a day without swings)."""
    for name, formats in existing_downloads(day_dir).items():
        for ext in formats:
            if ext not in keep.get(name, []):
                (day_dir / f"{name}.{ext}").unlink(missing_ok=True)


def existing_downloads(day_dir: Path, only: frozenset[str] | None = None) -> dict[str, list[str]]:
    """The downloads already on disk for a day page (name -> formats present); with `only`,
    those of these names."""
    found: dict[str, list[str]] = {}
    for p in sorted(day_dir.glob("*.*")):
        wanted = only is None or p.stem in only
        if wanted and p.suffix.lstrip(".") in FORMATS and not p.name.startswith("."):
            found.setdefault(p.stem, []).append(p.suffix.lstrip("."))
    return {k: [f for f in FORMATS if f in v] for k, v in sorted(found.items())}


def linked_downloads(month_dir: Path) -> dict[str, list[str]]:
    """A month folder's downloads a page rendered now links: those on disk, but RETIRED."""
    return {k: v for k, v in existing_downloads(month_dir).items() if k not in RETIRED}
