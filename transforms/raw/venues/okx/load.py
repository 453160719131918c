"""Load fetched OKX days into the SAME raw tables as Binance, with venue = 'okx'.

Per raw dataset of the registry (transforms.raw.tables), from the OKX dataset in `OKX_DATASET`:

- klines_1m -> raw.klines_1m: volume = volCcy (coin), quote_volume = volCcyQuote (USDT);
  trade_count and the taker columns are NULL; close_time = open_time + 59.999 s.
- mark_klines_1m -> raw.mark_klines_1m (close_time likewise).
- metrics -> raw.metrics_5m from open_interest_5m: sum_open_interest = oiCcy (coins, OKX's
  count of open contracts x ctVal: one side, like Binance's), sum_open_interest_value = oiUsd;
  the ratio columns NULL.
- funding -> raw.funding: calc_time floored to the hour, funding_interval_hours 8, the
  realized rate.

`replace_days` deletes the venue/symbol/days' rows and inserts the new ones in one
transaction, so a re-run gives the same rows; final days get a raw.files row (relpath under
`<cache_dir>/okx`, the cache's sha256), a day not final has its raw.files row removed.

Tiers: OKX's position tiers bound a position in contracts (`minSz`/`maxSz`), not USDT: a bound
is `contracts x ctVal` coins, valued at the mark price taken with the snapshot into the USDT
notional of ref.leverage_brackets (so the bounds do not depend on which days were loaded).
The maintenance rate applies to the whole position of a tier (no deduction: cum = 0).

Liquidation price (isolated, linear; OKX's "USDT perpetual tiered maintenance margin ratio"
rule, research/okx-hyperliquid.md §1.4): liquidated when (margin + UPL) / position value <
mmr + taker fee, i.e. long LP = E (1 - 1/L) / (1 - mmr - f), short E (1 + 1/L) / (1 + mmr + f).
That is the model's formula with cum = 0 and m = mmr; the taker fee f (0.05 %) is left out,
as for every venue, which moves LP by about 0.05 % of price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from transforms.db import transaction
from transforms.raw.rules import screen_days
from transforms.raw.tables import raw_table
from transforms.raw.venues.okx.errors import OkxError
from transforms.raw.venues.okx.source import VENUE, OkxDay

OKX_DATASET = {
    "klines_1m": "klines_1m",
    "mark_klines_1m": "mark_klines_1m",
    "metrics": "open_interest_5m",
    "funding": "funding",
}
FUNDING_INTERVAL_HOURS = 8
_ROWS = "_liqmap_okx_rows"

_COLUMNS = {
    "klines_1m": """open_time, open, high, low, close, volume,
        open_time + INTERVAL 59999 MILLISECOND AS close_time, quote_volume,
        CAST(NULL AS BIGINT) AS trade_count, CAST(NULL AS DOUBLE) AS taker_buy_volume,
        CAST(NULL AS DOUBLE) AS taker_buy_quote_volume""",
    "mark_klines_1m": """open_time, open, high, low, close,
        open_time + INTERVAL 59999 MILLISECOND AS close_time""",
    "metrics": """timestamp AS create_time, oi_base AS sum_open_interest,
        oi_value AS sum_open_interest_value,
        CAST(NULL AS DOUBLE) AS count_toptrader_long_short_ratio,
        CAST(NULL AS DOUBLE) AS sum_toptrader_long_short_ratio,
        CAST(NULL AS DOUBLE) AS count_long_short_ratio,
        CAST(NULL AS DOUBLE) AS sum_taker_long_short_vol_ratio""",
    "funding": f"""date_trunc('hour', funding_time) AS calc_time,
        {FUNDING_INTERVAL_HOURS} AS funding_interval_hours, funding_rate AS last_funding_rate""",
}
_SCREEN = "_liqmap_okx_screen"
#: the rows in the raw table's columns with `day` and `ts`, as the shared plausibility rules
#: read them (transforms.raw.rules); the first column of each OKX frame is epoch ms
SCREEN_SQL = """
CREATE OR REPLACE TEMP TABLE {screen} AS
SELECT CAST({time} AS DATE) AS day, {time} AS ts, {columns}
FROM (SELECT * REPLACE (epoch_ms({time}) AS {time}) FROM {rows})
"""
INSERT_SQL = """
INSERT INTO {table} BY NAME
SELECT $venue AS venue, $symbol AS symbol, day, * EXCLUDE (day, ts)
FROM {screen} WHERE list_contains($days, day) ORDER BY ts
"""
DELETE_DAYS_SQL = """
DELETE FROM {table} WHERE venue = $venue AND symbol = $symbol AND list_contains($days, day)
"""
DELETE_FILES_SQL = """
DELETE FROM raw.files WHERE venue = $venue AND dataset = $dataset AND symbol = $symbol
  AND list_contains($periods, period)
"""
INSERT_FILE_SQL = """
INSERT INTO raw.files (dataset, symbol, period, relpath, sha256, bytes, rows, source,
    loaded_at, venue)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
DELETE_SNAPSHOT_SQL = """
DELETE FROM ref.leverage_brackets
WHERE venue = $venue AND symbol = $symbol AND effective_date = $effective_date
"""
BRACKET_COLUMNS = (
    "venue, symbol, effective_date, bracket, notional_floor, notional_cap, max_leverage, "
    "maint_margin_rate, cum, source"
)
INSERT_SNAPSHOT_SQL = f"INSERT INTO ref.leverage_brackets ({BRACKET_COLUMNS}) VALUES "


class OkxLoadError(OkxError):
    """Fetched OKX rows cannot be loaded (e.g. tiers without an OKX price to value them)."""


@dataclass(frozen=True)
class LoadedDays:
    rows: int
    days: list[date]
    verified: list[str]
    refused: dict[str, str]


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    days: Sequence[OkxDay],
    cache_dir: Path,
) -> LoadedDays:
    """Replace the venue 'okx' rows of `symbol` for each fetched day of raw dataset `name`,
    and their raw.files records, in one transaction (see module doc)."""
    spec = raw_table(name)
    wanted = OKX_DATASET[name]
    for d in days:
        if d.dataset != wanted or d.symbol != symbol:
            raise ValueError(f"okx {d.dataset} {d.symbol} {d.period} is not {wanted} {symbol}")
    if not days:
        return LoadedDays(0, [], [], {})
    columns = list(days[0].columns)
    frame = pd.DataFrame([r for d in days for r in d.rows], columns=columns)
    time_col = columns[0]
    params: dict[str, object] = {"venue": VENUE, "symbol": symbol}
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    root = Path(cache_dir) / VENUE
    refused: dict[str, str] = {}
    conn.register(_ROWS, frame)
    try:
        if len(frame):
            conn.execute(
                SCREEN_SQL.format(screen=_SCREEN, time=time_col, columns=_COLUMNS[name], rows=_ROWS)
            )
            # the shared rules: a day failing one is refused whole (nothing of it loaded)
            refused = {
                day.isoformat(): f"{VENUE} {name} {symbol} {day}: {why}"
                for day, why in screen_days(conn, name, VENUE, symbol, _SCREEN).items()
            }
        days = [d for d in days if d.period not in refused]
        day_list = [date.fromisoformat(d.period) for d in days]
        verified = [d for d in days if d.final and d.path is not None and d.sha256]
        with transaction(conn):
            conn.execute(DELETE_DAYS_SQL.format(table=spec.table), {**params, "days": day_list})
            inserted = 0
            if len(frame) and day_list:
                sql = INSERT_SQL.format(table=spec.table, screen=_SCREEN)
                inserted = conn.execute(sql, {**params, "days": day_list}).fetchone()[0]  # type: ignore[index]
            conn.execute(
                DELETE_FILES_SQL, {**params, "dataset": name, "periods": [d.period for d in days]}
            )
            if verified:
                conn.executemany(
                    INSERT_FILE_SQL,
                    [
                        (name, symbol, d.period, d.path.relative_to(root).as_posix(), d.sha256,
                         d.path.stat().st_size, len(d.rows), VENUE, loaded_at, VENUE)
                        for d in verified
                        if d.path is not None
                    ],
                )  # fmt: skip
    finally:
        conn.unregister(_ROWS)
        conn.execute(f"DROP TABLE IF EXISTS temp.{_SCREEN}")
    return LoadedDays(int(inserted), day_list, [d.period for d in verified], refused)


def tiers_to_brackets(snapshot: OkxDay, price: float) -> list[tuple]:
    """One ref.leverage_brackets row per tier (see module doc)."""
    if snapshot.contract_value is None or not price > 0:
        raise OkxLoadError(f"okx tiers {snapshot.symbol}: need ctVal and a price to value them")
    label = f"okx position_tiers {snapshot.symbol} {snapshot.period}"
    out, floor, prev_mmr = [], 0.0, 0.0
    source = f"OKX /api/v5/public/position-tiers snapshot {snapshot.period}, bounds x ctVal "
    source += f"{snapshot.contract_value:g} x markPx {price:g}"
    if snapshot.sha256:
        source += f" (cache sha256 {snapshot.sha256[:12]})"
    for i, (_tier, _lo, max_contracts, mmr, _imr, max_lev) in enumerate(snapshot.rows):
        cap = max_contracts * snapshot.contract_value * price
        if mmr < prev_mmr or cap <= floor:
            raise OkxLoadError(f"{label}: tier {i + 1} is not above tier {i}")
        effective = date.fromisoformat(snapshot.period)
        out.append(
            (VENUE, snapshot.symbol, effective, i + 1, floor, cap, max_lev, mmr, 0.0, source)
        )
        floor, prev_mmr = cap, mmr
    return out


def replace_tier_snapshot(conn: duckdb.DuckDBPyConnection, snapshot: OkxDay) -> int:
    """Store a tier snapshot as dated tiers in ref.leverage_brackets (venue 'okx'), valued at
    the snapshot's mark price, replacing that (venue, symbol, date)."""
    day = date.fromisoformat(snapshot.period)
    params = {"venue": VENUE, "symbol": snapshot.symbol}
    rows = tiers_to_brackets(snapshot, snapshot.mark_price or 0.0)
    placeholders = "(" + ", ".join(["?"] * 10) + ")"
    with transaction(conn):
        conn.execute(DELETE_SNAPSHOT_SQL, {**params, "effective_date": day})
        conn.executemany(INSERT_SNAPSHOT_SQL + placeholders, rows)
    return len(rows)
