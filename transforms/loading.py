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

from transforms.db import transaction
from transforms.parsing import extract_csv, schema_for, select_sql
from transforms.sources.base import CorruptArchive, FetchedFile

# Fixed mapping: table names never come from input.
_INSERT_COLUMNS = {
    "klines_1m": (
        "open_time, open, high, low, close, volume, close_time, quote_volume, trade_count, "
        "taker_buy_volume, taker_buy_quote_volume"
    ),
    "mark_klines_1m": "open_time, open, high, low, close, close_time",
    "metrics": (
        "create_time, sum_open_interest, sum_open_interest_value, "
        "count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio, "
        "count_long_short_ratio, sum_taker_long_short_vol_ratio"
    ),
    "funding": "calc_time, funding_interval_hours, last_funding_rate",
}
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
    columns = _INSERT_COLUMNS[dataset]
    with tempfile.TemporaryDirectory(prefix="liqmap-load-") as tmp:
        csvs = [extract_csv(f.path, dataset, Path(tmp)) for f in files]
        by_csv = {str(c.path): f for c, f in zip(csvs, files, strict=True)}
        conn.execute(f"DROP TABLE IF EXISTS temp.{_STAGE}")
        if csvs:
            headered = [str(c.path) for c in csvs if c.has_header]
            headerless = [str(c.path) for c in csvs if not c.has_header]
            params: dict[str, object] = {}
            if headered:
                params["files_h"] = headered
            if headerless:
                params["files_n"] = headerless
            body = select_sql(dataset, [c.has_header for c in csvs])
            try:
                conn.execute(f"CREATE TEMP TABLE {_STAGE} AS {body}", params)
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

    if dataset == "metrics":
        # Duplicated rows occur in the archive: keep one row per create_time.
        source = (
            f"SELECT * FROM {_STAGE} "
            "QUALIFY row_number() OVER (PARTITION BY create_time ORDER BY filename, "
            "sum_open_interest, sum_open_interest_value) = 1"
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
