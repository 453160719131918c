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
from datetime import date
from pathlib import Path

import duckdb

from transforms.raw.rest.load import (
    MARK_KLINE_COLUMNS,
    OPEN_INTEREST_COLUMNS,
    LoadedDays,
    replace_bracket_snapshot,
    replace_venue_days,
)
from transforms.raw.venues.okx.errors import OkxError
from transforms.raw.venues.okx.source import VENUE, OkxDay

OKX_DATASET = {
    "klines_1m": "klines_1m",
    "mark_klines_1m": "mark_klines_1m",
    "metrics": "open_interest_5m",
    "funding": "funding",
}
FUNDING_INTERVAL_HOURS = 8

_COLUMNS = {
    "klines_1m": """open_time, open, high, low, close, volume,
        open_time + INTERVAL 59999 MILLISECOND AS close_time, quote_volume,
        CAST(NULL AS BIGINT) AS trade_count, CAST(NULL AS DOUBLE) AS taker_buy_volume,
        CAST(NULL AS DOUBLE) AS taker_buy_quote_volume""",
    "mark_klines_1m": MARK_KLINE_COLUMNS,
    "metrics": OPEN_INTEREST_COLUMNS,
    "funding": f"""date_trunc('hour', funding_time) AS calc_time,
        {FUNDING_INTERVAL_HOURS} AS funding_interval_hours, funding_rate AS last_funding_rate""",
}


class OkxLoadError(OkxError):
    """Fetched OKX rows cannot be loaded (e.g. tiers without an OKX price to value them)."""


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    days: Sequence[OkxDay],
    cache_dir: Path,
) -> LoadedDays:
    """Replace the venue 'okx' rows of `symbol` for each fetched day of raw dataset `name`,
    and their raw.files records, in one transaction (see module doc)."""
    wanted = OKX_DATASET[name]
    for d in days:
        if d.dataset != wanted or d.symbol != symbol:
            raise ValueError(f"okx {d.dataset} {d.symbol} {d.period} is not {wanted} {symbol}")
    return replace_venue_days(conn, VENUE, _COLUMNS[name], name, symbol, days, cache_dir)


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
    rows = tiers_to_brackets(snapshot, snapshot.mark_price or 0.0)
    return replace_bracket_snapshot(conn, VENUE, snapshot.symbol, day, rows)
