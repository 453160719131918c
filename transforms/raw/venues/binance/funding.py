"""Funding's special rules: monthly files land after their month, so the raw layer

- fills the running month's days from the REST API (binance source) until the file lands
  (`fill_pending_from_rest`), and
- reloads months that were pending while their days were loaded, once published
  (`catch_up_funding`), looking back FUNDING_LOOKBACK (transforms.rules).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import duckdb

from transforms.raw.errors import NotYetPublished, SourceError
from transforms.raw.results import Log
from transforms.raw.venues.binance.cache import Source
from transforms.raw.venues.binance.datasets import period_bounds, periods_for_window
from transforms.raw.venues.binance.funding_rest import fetch_funding_rest
from transforms.raw.venues.binance.loading import load_dataset, replace_funding_days
from transforms.rules import FUNDING_LOOKBACK

_FUNDING_RECORDED_SQL = """
SELECT DISTINCT period FROM raw.files
WHERE venue = 'binance' AND dataset = 'funding' AND symbol = $symbol
  AND list_contains($periods, period)
"""
# Days loaded (klines present) without any funding row: loaded while their month was pending,
# e.g. when a partition was retried after its month's file appeared but the earlier days not.
_FUNDING_GAP_SQL = """
SELECT DISTINCT day FROM raw.klines_1m AS k
WHERE venue = 'binance' AND symbol = $symbol AND day >= $lo AND day < $hi
  AND NOT EXISTS (
    SELECT 1 FROM raw.funding AS f
    WHERE f.venue = 'binance' AND f.symbol = $symbol AND f.day = k.day
)
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
    rows. Returns (month, lo, hi) with the day range [lo, hi) to load. (Two queries for all
    the months: the months recorded, then the days without funding across their ranges.)
    """
    months = []
    for month in periods_for_window("funding", start - FUNDING_LOOKBACK, end_exclusive):
        month_start, month_end = period_bounds("funding", month)
        lo, hi = max(month_start, first_day), min(month_end, start)
        if hi > lo:
            months.append((month, lo, hi))
    if not months:
        return []
    recorded = {
        period
        for (period,) in conn.execute(
            _FUNDING_RECORDED_SQL, {"symbol": symbol, "periods": [m for m, _, _ in months]}
        ).fetchall()
    }
    gaps = [
        day
        for (day,) in conn.execute(
            _FUNDING_GAP_SQL,
            {
                "symbol": symbol,
                "lo": min(lo for _, lo, _ in months),
                "hi": max(h for *_, h in months),
            },
        ).fetchall()
    ]
    return [
        (month, lo, hi)
        for month, lo, hi in months
        if month not in recorded or any(lo <= day < hi for day in gaps)
    ]


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


def fill_pending_from_rest(
    conn: duckdb.DuckDBPyConnection,
    fapi_url: str,
    symbol: str,
    pending_months: Collection[str],
    start: date,
    end: date,
    log: Log,
) -> int:
    """Funding of the window's days in pending months from the REST API (binance source).

    The rows get no raw.files record, so the month stays a catch-up candidate and its archive
    file replaces them once published. A REST failure leaves the days pending (NULL funding in
    staging) with a warning. Returns the number of days that received rows."""
    filled = 0
    for month in pending_months:
        month_start, month_end = period_bounds("funding", month)
        lo, hi = max(month_start, start), min(month_end, end)
        if hi <= lo:
            continue
        try:
            frame = fetch_funding_rest(fapi_url, symbol, lo, hi)
        except SourceError as exc:
            log.warning(f"funding {symbol} {lo}..{hi} from REST failed, left pending: {exc}")
            continue
        replace_funding_days(conn, symbol, frame, lo, hi)
        days = frame["calc_time"].dt.date.nunique() if len(frame) else 0
        log.info(f"funding {symbol} {lo}..{hi}: {len(frame)} settlements from REST")
        filled += int(days)
    return filled
