"""Load verified archive files into `raw.*`: one window, one transaction, idempotent.

All files of a dataset are extracted to a temp dir and read by one DuckDB `read_csv` per
header variant into a temp staging table (parse errors surface before anything is written).
Then, in one transaction, the window's rows for the symbol are deleted and the staged rows
inserted; `raw.files` gets one row per file (replacing earlier rows for the same period).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from transforms.db import transaction
from transforms.raw.datasets import FUNDING_COLUMNS
from transforms.raw.parsing import extract_csv, schema_for, select_params, select_sql
from transforms.raw.venues.base import CorruptArchive, FetchedFile

_STAGE = "_liqmap_stage"


def load_dataset(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    symbol: str,
    files: Sequence[FetchedFile],
    start: date,
    end_exclusive: date,
    source_name: str,
) -> int:
    """Replace `dataset` rows of `symbol` for days in [start, end_exclusive) with `files`.

    Returns the number of rows inserted. Metrics are deduplicated on create_time; monthly
    funding rows outside the window are dropped. Raises CorruptArchive on schema drift.
    """
    schema = schema_for(dataset)
    for f in files:
        if f.dataset != dataset or f.symbol != symbol:
            raise ValueError(f"{f.relpath} is not a {dataset} file for {symbol}")
    # Table and column names come from the dataset registry, never from input.
    columns = ", ".join(schema.insert_columns)
    with tempfile.TemporaryDirectory(prefix="liqmap-load-") as tmp:
        csvs = [extract_csv(f.path, dataset, Path(tmp)) for f in files]
        by_csv = {str(c.path): f for c, f in zip(csvs, files, strict=True)}
        conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
        if csvs:
            body = select_sql(dataset, [c.has_header for c in csvs])
            try:
                conn.execute(f"CREATE TEMP TABLE {_STAGE} AS {body}", select_params(csvs))
            except duckdb.Error as exc:
                names = ", ".join(f.relpath for f in files[:3])
                raise CorruptArchive(f"cannot parse {dataset} CSV ({names}...): {exc}") from exc
            per_file = dict(
                conn.execute(
                    f"SELECT filename, count(*) FROM {_STAGE} GROUP BY filename"
                ).fetchall()
            )
        else:
            conn.execute(f"CREATE TEMP TABLE {_STAGE} AS SELECT NULL::VARCHAR AS filename LIMIT 0")
            per_file = {}

    if schema.dedupe_order is not None:
        # Duplicated rows occur in the archive: keep one row per timestamp.
        source = (
            f"SELECT * FROM {_STAGE} "
            f"QUALIFY row_number() OVER (PARTITION BY {schema.time_column} "
            f"ORDER BY {schema.dedupe_order}) = 1"
        )
    else:
        source = f"SELECT * FROM {_STAGE}"
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        with transaction(conn):
            conn.execute(
                f"DELETE FROM {schema.table} "
                "WHERE symbol = $symbol AND day >= $start AND day < $end",
                {"symbol": symbol, "start": start, "end": end_exclusive},
            )
            inserted = 0
            if files:
                inserted = conn.execute(
                    f"INSERT INTO {schema.table} (symbol, day, {columns}) "
                    f"SELECT $symbol, CAST(_ts AS DATE), {columns} FROM ({source}) "
                    "WHERE _ts >= $start AND _ts < $end ORDER BY _ts",
                    {"symbol": symbol, "start": start, "end": end_exclusive},
                ).fetchone()[0]
            conn.execute(
                "DELETE FROM raw.files WHERE dataset = $dataset AND symbol = $symbol "
                "AND list_contains($periods, period)",
                {"dataset": dataset, "symbol": symbol, "periods": [f.period for f in files]},
            )
            if files:
                rows = [
                    (
                        f.dataset,
                        f.symbol,
                        f.period,
                        f.relpath,
                        f.sha256,
                        f.bytes,
                        per_file.get(path, 0),
                        source_name,
                        loaded_at,
                    )
                    for path, f in by_csv.items()
                ]
                conn.executemany(
                    "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
    return int(inserted)


def replace_funding_days(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    frame: pd.DataFrame,
    start: date,
    end_exclusive: date,
) -> int:
    """Replace raw.funding rows of `symbol` for days in [start, end_exclusive) with `frame`
    (raw.funding columns, e.g. from the REST API), in one transaction. No raw.files row is
    written: the month stays a catch-up candidate, so its archive file replaces these rows."""
    rows = [
        (symbol, ts.date(), ts.to_pydatetime(), int(interval), float(rate))
        for ts, interval, rate in frame[
            ["calc_time", "funding_interval_hours", "last_funding_rate"]
        ].itertuples(index=False)
        if start <= ts.date() < end_exclusive
    ]
    with transaction(conn):
        conn.execute(
            "DELETE FROM raw.funding WHERE symbol = $symbol AND day >= $start AND day < $end",
            {"symbol": symbol, "start": start, "end": end_exclusive},
        )
        if rows:
            conn.executemany(
                f"INSERT INTO raw.funding (symbol, day, {', '.join(FUNDING_COLUMNS)}) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)
