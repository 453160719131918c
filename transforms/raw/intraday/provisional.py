"""Provisional raw rows: a day in progress loaded from REST, marked, and superseded by the archive.

A REST day goes into the same raw tables as the archive's (venue 'binance'), in one
transaction with one `raw.provisional_days` row per dataset carrying the time the data is as
of. It never gets a `raw.files` row (nothing is claimed verified, nothing is cached), so:

- a day whose archive file is loaded (`raw.files` has it) is never touched here: archive wins;
- when the archive file arrives later, its load replaces the day's rows and its `raw.files`
  row supersedes the marker (`PROVISIONAL_SQL` ignores superseded markers; `prune` drops them).

The same marker covers Bybit's day in progress, which its own loader writes without a
`raw.files` row until the day is final.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pandas as pd

from transforms.changes import note_days
from transforms.db import transaction
from transforms.raw.tables import DAILY_DATASETS
from transforms.raw.venues.binance.datasets import VENUE as ARCHIVE_VENUE
from transforms.raw.venues.binance.rest import RestDay

#: the daily datasets a REST day fills and marks (it also fills the day's funding, which the
#: day's daily run reloads from the monthly file: a marker per month would never be superseded)
REST_DATASETS = ("klines_1m", "mark_klines_1m", "metrics")

#: (venue, symbol, day, as_of) of every day still provisional: a marker without a raw.files
#: row for the same venue, dataset, symbol and day
PROVISIONAL_SQL = """
SELECT p.venue, p.symbol, p.day, min(p.as_of) AS as_of
FROM raw.provisional_days AS p
WHERE NOT EXISTS (
    SELECT 1 FROM raw.files AS f
    WHERE f.venue = p.venue AND f.dataset = p.dataset AND f.symbol = p.symbol
      AND f.period = strftime(p.day, '%Y-%m-%d')
)
GROUP BY ALL
ORDER BY p.venue, p.symbol, p.day
"""
ARCHIVED_SQL = """
SELECT count(DISTINCT dataset) FROM raw.files
WHERE venue = $venue AND symbol = $symbol AND period = $period AND list_contains($datasets, dataset)
"""
PRUNE_SQL = """
DELETE FROM raw.provisional_days AS p
WHERE EXISTS (
    SELECT 1 FROM raw.files AS f
    WHERE f.venue = p.venue AND f.dataset = p.dataset AND f.symbol = p.symbol
      AND f.period = strftime(p.day, '%Y-%m-%d')
)
"""
DELETE_MARKERS_SQL = """
DELETE FROM raw.provisional_days
WHERE venue = $venue AND symbol = $symbol AND day = $day AND list_contains($datasets, dataset)
"""
INSERT_MARKER_SQL = "INSERT INTO raw.provisional_days VALUES (?, ?, ?, ?, ?, ?, ?)"

_INSERT = {
    "klines_1m": """
INSERT INTO raw.klines_1m (venue, symbol, day, open_time, open, high, low, close, volume,
    close_time, quote_volume, trade_count, taker_buy_volume, taker_buy_quote_volume)
SELECT $venue, $symbol, CAST(epoch_ms(open_time) AS DATE), epoch_ms(open_time), open, high,
       low, close, volume, epoch_ms(close_time), quote_volume, count, taker_buy_volume,
       taker_buy_quote_volume
FROM _liqmap_rest ORDER BY open_time
""",
    "mark_klines_1m": """
INSERT INTO raw.mark_klines_1m (venue, symbol, day, open_time, open, high, low, close,
    close_time)
SELECT $venue, $symbol, CAST(epoch_ms(open_time) AS DATE), epoch_ms(open_time), open, high,
       low, close, epoch_ms(close_time)
FROM _liqmap_rest ORDER BY open_time
""",
    "metrics": """
INSERT INTO raw.metrics_5m (venue, symbol, day, create_time, sum_open_interest,
    sum_open_interest_value, count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio,
    count_long_short_ratio, sum_taker_long_short_vol_ratio)
SELECT $venue, $symbol, CAST(epoch_ms(create_time) AS DATE), epoch_ms(create_time),
       sum_open_interest, sum_open_interest_value, NULL, NULL, NULL,
       sum_taker_long_short_vol_ratio
FROM _liqmap_rest ORDER BY create_time
""",
}
_TABLE = {"klines_1m": "raw.klines_1m", "mark_klines_1m": "raw.mark_klines_1m"}
_TABLE["metrics"] = "raw.metrics_5m"


def archived(conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, day: date) -> bool:
    """True when every daily dataset of the day has a verified file loaded (raw.files)."""
    params = {
        "venue": venue,
        "symbol": symbol,
        "period": day.isoformat(),
        "datasets": list(DAILY_DATASETS),
    }
    return conn.execute(ARCHIVED_SQL, params).fetchone()[0] == len(DAILY_DATASETS)


def load_rest_day(
    conn: duckdb.DuckDBPyConnection, rest: RestDay, source: str, now: datetime
) -> int | None:
    """Replace the day's Binance rows with `rest` and mark them provisional, in one
    transaction; returns rows written, or None when the archive already holds the day (then
    nothing is touched: archive wins)."""
    venue, symbol, day = ARCHIVE_VENUE, rest.symbol, rest.day
    if archived(conn, venue, symbol, day):
        return None
    frames = {"klines_1m": rest.klines, "mark_klines_1m": rest.mark_klines}
    frames["metrics"] = rest.metrics
    params = {"venue": venue, "symbol": symbol}
    as_of = rest.as_of.astimezone(UTC).replace(tzinfo=None)
    loaded_at = now.astimezone(UTC).replace(tzinfo=None)
    rows = 0
    with transaction(conn):
        note_days(conn, _TABLE.values(), [day])  # for the snapshot (transforms.changes)
        for name, frame in frames.items():
            conn.execute(
                f"DELETE FROM {_TABLE[name]} WHERE venue = $venue AND symbol = $symbol "
                "AND day = $day",
                {**params, "day": day},
            )
            if len(frame):
                conn.register("_liqmap_rest", frame)
                try:
                    conn.execute(_INSERT[name], params)
                finally:
                    conn.unregister("_liqmap_rest")
                rows += len(frame)
        rows += _replace_funding(conn, symbol, day, rest.funding)
        mark(conn, venue, symbol, day, REST_DATASETS, as_of, loaded_at, source)
    return rows


def _replace_funding(
    conn: duckdb.DuckDBPyConnection, symbol: str, day: date, frame: pd.DataFrame
) -> int:
    """The day's settlements from REST. Only called for a day whose archive is not loaded,
    whose funding rows therefore never came from the archive even when the month's file is
    recorded: a monthly file loads only its run's window of days (transforms.raw.venues.
    binance.loading), so a day after that window has no rows. The day's daily run loads them
    from the file (archive wins)."""
    conn.execute(
        "DELETE FROM raw.funding WHERE venue = $venue AND symbol = $symbol AND day = $day",
        {"venue": ARCHIVE_VENUE, "symbol": symbol, "day": day},
    )
    rows = [
        (ARCHIVE_VENUE, symbol, ts.date(), ts.to_pydatetime(), int(interval), float(rate))
        for ts, interval, rate in frame[
            ["calc_time", "funding_interval_hours", "last_funding_rate"]
        ].itertuples(index=False)
    ]
    if rows:
        conn.executemany(
            "INSERT INTO raw.funding (venue, symbol, day, calc_time, funding_interval_hours, "
            "last_funding_rate) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def mark(
    conn: duckdb.DuckDBPyConnection,
    venue: str,
    symbol: str,
    day: date,
    datasets: tuple[str, ...],
    as_of: datetime,
    loaded_at: datetime,
    source: str,
) -> None:
    """Record the day's rows of `datasets` as provisional, as of `as_of` (naive UTC)."""
    conn.execute(
        DELETE_MARKERS_SQL,
        {"venue": venue, "symbol": symbol, "day": day, "datasets": list(datasets)},
    )
    conn.executemany(
        INSERT_MARKER_SQL,
        [(venue, symbol, day, name, as_of, loaded_at, source) for name in datasets],
    )


def provisional_days(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, date, datetime]]:
    """(venue, symbol, day, as_of) of every day whose rows are still provisional."""
    return [tuple(r) for r in conn.execute(PROVISIONAL_SQL).fetchall()]  # type: ignore[misc]


def prune(conn: duckdb.DuckDBPyConnection) -> int:
    """Drop markers an archive file has superseded; returns how many."""
    return len(conn.execute(PRUNE_SQL + " RETURNING 1").fetchall())
