"""Load verified archive files into `raw.*`: one window, one transaction, idempotent.

All files of a dataset are extracted to a temp dir and read by one DuckDB `read_csv` per
header variant into a temp staging table (parse errors surface before anything is written).
Then, in one transaction, the window's rows for the symbol are deleted and the staged rows
inserted; `raw.files` gets one row per file (replacing earlier rows for the same period).
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from transforms.db import transaction
from transforms.parsing import extract_csv, schema_for, select_params, select_sql
from transforms.sources.base import (
    CorruptArchive,
    FetchedFile,
    NotYetPublished,
    Source,
    period_bounds,
    periods_for_window,
)

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


#: How far back staging carries a funding settlement (see stg_bars_5m.sql), hence how far back
#: a funding month that was pending while its days were loaded is looked for.
FUNDING_LOOKBACK = timedelta(days=40)

_FUNDING_RECORDED_SQL = """
SELECT count(*) FROM raw.files
WHERE dataset = 'funding' AND symbol = $symbol AND period = $period
"""
# Days loaded (klines present) without any funding row: loaded while their month was pending,
# e.g. when a partition was retried after its month's file appeared but the earlier days not.
_FUNDING_GAP_SQL = """
SELECT count(*) FROM (
    SELECT DISTINCT day FROM raw.klines_1m
    WHERE symbol = $symbol AND day >= $lo AND day < $hi
) AS k
WHERE NOT EXISTS (SELECT 1 FROM raw.funding AS f WHERE f.symbol = $symbol AND f.day = k.day)
"""


def funding_catchup_candidates(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    start: date,
    end_exclusive: date,
    first_day: date,
) -> list[tuple[str, date, date]]:
    """Funding months to (re)load for a run window [start, end_exclusive).

    Looks at the months overlapping [start - FUNDING_LOOKBACK, end_exclusive), each clamped to
    [first_day, start) (the window itself is loaded by the normal path). A month is a candidate
    when raw.files has no row for it (it was pending) or some of its loaded days have no funding
    rows. Returns (month, lo, hi) with the day range [lo, hi) to load.
    """
    out = []
    for month in periods_for_window("funding", start - FUNDING_LOOKBACK, end_exclusive):
        month_start, month_end = period_bounds("funding", month)
        lo, hi = max(month_start, first_day), min(month_end, start)
        if hi <= lo:
            continue
        recorded = conn.execute(_FUNDING_RECORDED_SQL, {"symbol": symbol, "period": month})
        if recorded.fetchone()[0] == 0:
            out.append((month, lo, hi))
            continue
        gaps = conn.execute(_FUNDING_GAP_SQL, {"symbol": symbol, "lo": lo, "hi": hi})
        if gaps.fetchone()[0] > 0:
            out.append((month, lo, hi))
    return out


def catch_up_funding(
    conn: duckdb.DuckDBPyConnection,
    source: Source,
    symbol: str,
    start: date,
    end_exclusive: date,
    first_day: date,
    source_name: str,
    skip: Collection[str] = (),
) -> list[tuple[str, int]]:
    """Load funding months that were pending when their days were loaded and are now published.

    Monthly funding files appear after their month ends, so the daily partitions of a running
    month load no funding. Each run therefore retries the recent pending months (see
    funding_catchup_candidates; `skip` lists months this run already found unpublished) and
    loads each one now published over its whole (clamped) day range, idempotently. Returns
    (month, rows) per month caught up; months still unpublished are left for a later run.
    """
    caught_up = []
    for month, lo, hi in funding_catchup_candidates(conn, symbol, start, end_exclusive, first_day):
        if month in skip:
            continue
        try:
            fetched = source.fetch("funding", symbol, month)
        except NotYetPublished:
            continue
        rows = load_dataset(conn, "funding", symbol, [fetched], lo, hi, source_name)
        caught_up.append((month, rows))
    return caught_up


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
                f"INSERT INTO raw.funding (symbol, day, {_INSERT_COLUMNS['funding']}) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)
