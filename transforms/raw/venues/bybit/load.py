"""Load fetched Bybit days into the SAME raw tables as Binance, with venue = 'bybit'.

Per raw dataset of the registry (transforms.raw.venues.binance.datasets), from the Bybit
dataset named in
`BYBIT_DATASET`:

- klines_1m -> raw.klines_1m: quote_volume = Bybit's turnover; trade_count and the taker
  columns are NULL (Bybit's kline has none); close_time = open_time + 59.999 s as in Binance.
- mark_klines_1m -> raw.mark_klines_1m (close_time likewise).
- metrics -> raw.metrics_5m from open_interest_5m: sum_open_interest = open interest per side
  (`oi_per_side`, LIQMAP_BYBIT_OI_SIDES); sum_open_interest_value = that x the Bybit kline
  close of the minute before create_time (Binance's snapshot-time price), read from
  raw.klines_1m venue 'bybit' (falling back to the open of the create_time minute when the
  minute before is not loaded, e.g. the window's first 00:00); ratio columns NULL. A day whose
  Bybit klines are not loaded is refused (BybitLoadError), nothing of it written.
- funding -> raw.funding: calc_time floored to the hour, funding_interval_hours 8, the rate.

`replace_days` deletes the venue/symbol/days' rows and inserts the new ones in one
transaction, so a re-run gives the same rows. Final days (complete, past, in the verified day
cache) get a raw.files row (dataset = registry name, period = day, relpath under
`<cache_dir>/bybit`, the cache's sha256, source 'bybit'), which is what
`check_files_verified(..., venue='bybit')` re-hashes. A day that is not final (in progress, or
short) loads its rows but has its raw.files row removed: it is never claimed verified, and the
next run fetches and replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from transforms.changes import note_days
from transforms.db import transaction
from transforms.raw.records import FILE_COLUMNS, insert_rows
from transforms.raw.rules import screen_days
from transforms.raw.venues.binance.datasets import dataset as registry_dataset
from transforms.raw.venues.bybit.errors import BybitError
from transforms.raw.venues.bybit.oi import oi_per_side
from transforms.raw.venues.bybit.source import VENUE, BybitDay
from transforms.raw.venues.bybit.tiers import BRACKET_COLUMNS, tiers_to_brackets

#: registry dataset -> the Bybit dataset it is loaded from
BYBIT_DATASET = {
    "klines_1m": "klines_1m",
    "mark_klines_1m": "mark_klines_1m",
    "metrics": "open_interest_5m",
    "funding": "funding",
}
#: Bybit USDT perpetuals settle funding every 8 h (BTC/ETH/SOL); stored like Binance's column
FUNDING_INTERVAL_HOURS = 8

_ROWS = "_liqmap_bybit_rows"  # the registered frame of the days being loaded
_PRICED = "_liqmap_bybit_priced"  # metrics rows with their USDT value (temp table)

INSERT_SQL = {
    "klines_1m": f"""
INSERT INTO raw.klines_1m (venue, symbol, day, open_time, open, high, low, close, volume,
    close_time, quote_volume, trade_count, taker_buy_volume, taker_buy_quote_volume)
SELECT $venue, $symbol, CAST(epoch_ms(open_time) AS DATE), epoch_ms(open_time),
       open, high, low, close, volume,
       epoch_ms(open_time + 59999), turnover, NULL, NULL, NULL
FROM {_ROWS} WHERE list_contains($days, CAST(epoch_ms(open_time) AS DATE)) ORDER BY open_time
""",
    "mark_klines_1m": f"""
INSERT INTO raw.mark_klines_1m (venue, symbol, day, open_time, open, high, low, close,
    close_time)
SELECT $venue, $symbol, CAST(epoch_ms(open_time) AS DATE), epoch_ms(open_time),
       open, high, low, close, epoch_ms(open_time + 59999)
FROM {_ROWS} WHERE list_contains($days, CAST(epoch_ms(open_time) AS DATE)) ORDER BY open_time
""",
    "metrics": f"""
INSERT INTO raw.metrics_5m (venue, symbol, day, create_time, sum_open_interest,
    sum_open_interest_value, count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio,
    count_long_short_ratio, sum_taker_long_short_vol_ratio)
SELECT $venue, $symbol, day, create_time, oi_base, oi_value, NULL, NULL, NULL, NULL
FROM {_PRICED} WHERE list_contains($days, day) ORDER BY create_time
""",
    "funding": f"""
INSERT INTO raw.funding (venue, symbol, day, calc_time, funding_interval_hours,
    last_funding_rate)
SELECT $venue, $symbol, CAST(epoch_ms(funding_time) AS DATE),
       date_trunc('hour', epoch_ms(funding_time)), $interval, funding_rate
FROM {_ROWS} WHERE list_contains($days, CAST(epoch_ms(funding_time) AS DATE))
ORDER BY funding_time
""",
}

#: the fetched rows in the raw tables' column names, with `day` and `ts`, as the relation the
#: shared rules read (transforms.raw.rules): a subquery, not a temp table made and dropped
#: per batch
SCREEN_RELATION = {
    "klines_1m": f"""(
SELECT CAST(epoch_ms(open_time) AS DATE) AS day, epoch_ms(open_time) AS ts,
       open, high, low, close FROM {_ROWS})""",
    "mark_klines_1m": f"""(
SELECT CAST(epoch_ms(open_time) AS DATE) AS day, epoch_ms(open_time) AS ts,
       open, high, low, close FROM {_ROWS})""",
    "metrics": f"""(
SELECT day, create_time AS ts, oi_base AS sum_open_interest,
       oi_value AS sum_open_interest_value FROM {_PRICED})""",
    "funding": f"""(
SELECT CAST(epoch_ms(funding_time) AS DATE) AS day,
       date_trunc('hour', epoch_ms(funding_time)) AS ts,
       CAST(funding_rate AS DOUBLE) AS last_funding_rate FROM {_ROWS})""",
}

# Open interest x the Bybit close of the minute before the snapshot (else the snapshot
# minute's open). Klines are read for the days loaded and the day before only.
PRICE_METRICS_SQL = f"""
CREATE OR REPLACE TEMP TABLE {_PRICED} AS
WITH k AS (
    SELECT open_time, open, close FROM raw.klines_1m
    WHERE venue = $venue AND symbol = $symbol
      AND day >= CAST($first AS DATE) - INTERVAL 1 DAY AND day <= $last
), o AS (
    SELECT epoch_ms("timestamp") AS create_time, oi_base FROM {_ROWS}
)
SELECT CAST(o.create_time AS DATE) AS day, o.create_time, o.oi_base,
       o.oi_base * coalesce(prev.close, cur.open) AS oi_value
FROM o
LEFT JOIN k AS prev ON prev.open_time = o.create_time - INTERVAL 1 MINUTE
LEFT JOIN k AS cur ON cur.open_time = o.create_time
"""
UNPRICED_DAYS_SQL = f"""
SELECT day, count(*) FROM {_PRICED} WHERE oi_value IS NULL GROUP BY day ORDER BY day
"""

DELETE_DAYS_SQL = """
DELETE FROM {table} WHERE venue = $venue AND symbol = $symbol AND list_contains($days, day)
"""
DELETE_FILES_SQL = """
DELETE FROM raw.files WHERE venue = $venue AND dataset = $dataset AND symbol = $symbol
  AND list_contains($periods, period)
"""
DELETE_SNAPSHOT_SQL = """
DELETE FROM ref.leverage_brackets
WHERE venue = $venue AND symbol = $symbol AND effective_date = $effective_date
"""
_TIERS = "_liqmap_bybit_tiers"
INSERT_SNAPSHOT_SQL = f"""
INSERT INTO ref.leverage_brackets ({", ".join(BRACKET_COLUMNS)})
SELECT {", ".join(BRACKET_COLUMNS)} FROM {_TIERS} ORDER BY bracket
"""


class BybitLoadError(BybitError):
    """Fetched Bybit rows cannot be loaded (e.g. open interest without the day's klines)."""


@dataclass(frozen=True)
class LoadedDays:
    """What `replace_days` wrote: rows, the days it replaced, and those recorded verified."""

    rows: int
    days: list[date]
    verified: list[str]
    refused: dict[str, str]  # period -> why nothing of it was loaded


def rows_table(days: Sequence[BybitDay], oi_sides: str) -> pa.Table:
    """The days' rows in Bybit's columns, one Arrow column each (built from the days' numpy
    columns in bulk, never row by row); open interest becomes `timestamp` and `oi_base`
    (per side)."""
    columns = days[0].columns
    arrays = [d.arrays() for d in days]
    data = {c: np.concatenate([a[c] for a in arrays]) for c in columns}
    if days[0].dataset == "open_interest_5m":
        per_side = oi_per_side(data["open_interest"], oi_sides)
        data = {"timestamp": data["timestamp"], "oi_base": per_side}
    return pa.table(data)


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    days: Sequence[BybitDay],
    cache_dir: Path,
    oi_sides: str,
) -> LoadedDays:
    """Replace the venue 'bybit' rows of `symbol` for each fetched day of registry dataset
    `name`, and their raw.files records, in one transaction (see module doc)."""
    spec = registry_dataset(name)
    wanted = BYBIT_DATASET[name]
    for d in days:
        if d.dataset != wanted or d.symbol != symbol:
            raise ValueError(f"bybit {d.dataset} {d.symbol} {d.period} is not {wanted} {symbol}")
    if not days:
        return LoadedDays(0, [], [], {})
    frame = rows_table(days, oi_sides)
    params: dict[str, object] = {"venue": VENUE, "symbol": symbol}
    refused: dict[str, str] = {}
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    conn.register(_ROWS, frame)
    try:
        if name == "metrics" and frame.num_rows:
            refused = _price_metrics(conn, symbol, days)
        if frame.num_rows:
            refused |= _screen(conn, name, symbol, refused)
        kept = [d for d in days if d.period not in refused]
        day_list = [date.fromisoformat(d.period) for d in kept]
        periods = [d.period for d in kept]
        with transaction(conn):
            note_days(conn, [spec.table], day_list)  # for the snapshot (transforms.changes)
            conn.execute(DELETE_DAYS_SQL.format(table=spec.table), {**params, "days": day_list})
            inserted = 0
            sql_params = {**params, "days": day_list}
            if name == "funding":
                sql_params["interval"] = FUNDING_INTERVAL_HOURS
            if kept and frame.num_rows:  # (empty days: nothing to insert, their rows are gone)
                inserted = conn.execute(INSERT_SQL[name], sql_params).fetchone()[0]
            conn.execute(DELETE_FILES_SQL, {**params, "dataset": name, "periods": periods})
            verified = [d for d in kept if d.final and d.path is not None and d.sha256]
            if verified:
                root = Path(cache_dir) / VENUE
                insert_rows(
                    conn,
                    "raw.files",
                    FILE_COLUMNS,
                    [
                        (
                            name,
                            symbol,
                            d.period,
                            d.path.relative_to(root).as_posix(),
                            d.sha256,
                            d.path.stat().st_size,
                            len(d.rows),
                            VENUE,
                            loaded_at,
                            VENUE,
                        )
                        for d in verified
                        if d.path is not None
                    ],
                )
    finally:
        conn.unregister(_ROWS)
        if name == "metrics":  # (only the metrics are priced)
            conn.execute(f"DROP TABLE IF EXISTS temp.{_PRICED}")
    return LoadedDays(int(inserted), day_list, [d.period for d in verified], refused)


def _screen(
    conn: duckdb.DuckDBPyConnection, name: str, symbol: str, refused: dict[str, str]
) -> dict[str, str]:
    """The shared plausibility rules (transforms.raw.rules) on the fetched rows: a day failing
    one is refused whole, with one line naming venue, dataset, symbol, day and rule."""
    failing = screen_days(conn, name, VENUE, symbol, SCREEN_RELATION[name])
    return {
        day.isoformat(): f"{VENUE} {name} {symbol} {day}: {why}"
        for day, why in failing.items()
        if day.isoformat() not in refused
    }


def _price_metrics(
    conn: duckdb.DuckDBPyConnection, symbol: str, days: Sequence[BybitDay]
) -> dict[str, str]:
    """Value every open-interest row at the Bybit kline price; days without it are refused."""
    conn.execute(
        PRICE_METRICS_SQL,
        {
            "venue": VENUE,
            "symbol": symbol,
            "first": date.fromisoformat(min(d.period for d in days)),
            "last": date.fromisoformat(max(d.period for d in days)),
        },
    )
    refused = {}
    for day, missing in conn.execute(UNPRICED_DAYS_SQL).fetchall():
        refused[day.isoformat()] = (
            f"bybit metrics {symbol} {day}: {missing} open-interest rows have no Bybit kline "
            "price (raw.klines_1m venue 'bybit'); load raw_klines_1m for the day first"
        )
    return refused


def replace_tier_snapshot(conn: duckdb.DuckDBPyConnection, snapshot: BybitDay) -> int:
    """Store a risk-limit snapshot as dated tiers in ref.leverage_brackets (venue 'bybit'),
    replacing the rows of the same (venue, symbol, effective_date). Returns the tier count."""
    frame = tiers_to_brackets(snapshot)
    conn.register(_TIERS, frame)
    try:
        with transaction(conn):
            conn.execute(
                DELETE_SNAPSHOT_SQL,
                {
                    "venue": VENUE,
                    "symbol": snapshot.symbol,
                    "effective_date": date.fromisoformat(snapshot.period),
                },
            )
            conn.execute(INSERT_SNAPSHOT_SQL)
    finally:
        conn.unregister(_TIERS)
    return len(frame)
