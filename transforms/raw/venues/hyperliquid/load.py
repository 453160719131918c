"""Load fetched Hyperliquid days into the SAME raw tables as every venue (venue =
'hyperliquid'), through the shared REST loader (transforms.raw.rest.load).

Per raw dataset (transforms.raw.tables), from the Hyperliquid dataset in `HL_DATASET`:

- klines_1m -> raw.klines_1m: volume = v (coin), quote_volume = v x close (Hyperliquid gives
  no quote volume), trade_count = n; the taker columns NULL.
- mark_klines_1m -> raw.mark_klines_1m from the minute samples of markPx (open = high = low =
  close = the sample: a point, not a range; Hyperliquid has no mark candles).
- metrics -> raw.metrics_5m from the samples at each 5-minute mark: sum_open_interest =
  openInterest (coins, one side), sum_open_interest_value = openInterest x markPx.
- funding -> raw.funding: Hyperliquid pays every hour 1/8 of its 8-hour formula rate
  (research/okx-hyperliquid.md §2.4). funding_interval_hours = 1 (so a row is valid one hour)
  and last_funding_rate = the hourly rate x 8, the 8-hour rate every other venue stores and the
  model reads (it annualises at 8-hour intervals).

Tiers and liquidation price (HLD trading/margin-tiers, /liquidations; research §2.5): a tier's
maintenance margin rate is half the initial margin at its max leverage, MMR = 1 / (2 maxLev);
MM = notional x MMR - deduction, deduction(n) = deduction(n-1) + lowerBound(n) x (MMR(n) -
MMR(n-1)). The documented isolated liquidation price `price - side x margin_available /
position_size / (1 - l x side)`, l = MMR, margin_available = margin - MM, with margin = Q E / L
gives for a long LP = E (1 - 1/L) / (1 - MMR) - deduction / (Q (1 - MMR)) (short mirrored):
exactly the model's formula with m = MMR and cum = deduction. Fees and funding are ignored,
as for every venue.
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
from transforms.raw.venues.hyperliquid.errors import HyperliquidError
from transforms.raw.venues.hyperliquid.source import VENUE, HyperliquidDay

HL_DATASET = {
    "klines_1m": "klines_1m",
    "mark_klines_1m": "mark_1m",
    "metrics": "open_interest_5m",
    "funding": "funding",
}
#: Hyperliquid's funding rows are hourly; stored as the 8-hour rate (module doc)
HOURS_PER_8H_RATE = 8
#: the last tier has no upper bound; its cap in ref.leverage_brackets (USDC notional)
LAST_TIER_CAP = 1e12

_COLUMNS = {
    "klines_1m": """open_time, open, high, low, close, volume,
        open_time + INTERVAL 59999 MILLISECOND AS close_time, quote_volume,
        CAST(trades AS BIGINT) AS trade_count, CAST(NULL AS DOUBLE) AS taker_buy_volume,
        CAST(NULL AS DOUBLE) AS taker_buy_quote_volume""",
    "mark_klines_1m": MARK_KLINE_COLUMNS,
    "metrics": OPEN_INTEREST_COLUMNS,
    "funding": f"""funding_time AS calc_time, 1 AS funding_interval_hours,
        funding_rate * {HOURS_PER_8H_RATE} AS last_funding_rate""",
}


class HyperliquidLoadError(HyperliquidError):
    """A margin table cannot be turned into tiers (e.g. leverage rising with size)."""


def replace_days(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    symbol: str,
    days: Sequence[HyperliquidDay],
    cache_dir: Path,
) -> LoadedDays:
    """Replace the 'hyperliquid' rows of `symbol` for each fetched day of raw dataset `name`
    and their raw.files records in one transaction (transforms.raw.rest.load)."""
    wanted = HL_DATASET[name]
    for d in days:
        if d.dataset != wanted or d.symbol != symbol:
            raise ValueError(f"hyperliquid {d.dataset} {d.symbol} {d.period}: not {wanted}")
    return replace_venue_days(conn, VENUE, _COLUMNS[name], name, symbol, days, cache_dir)


def tiers_to_brackets(
    symbol: str, effective: date, tiers: list[tuple[float, int]], source: str
) -> list[tuple]:
    """ref.leverage_brackets rows: floor = lowerBound, cap = the next lowerBound, MMR =
    1 / (2 maxLeverage), cum = the deduction (module doc)."""
    out, deduction, prev_mmr = [], 0.0, 0.0
    for i, (floor, lev) in enumerate(tiers):
        mmr = 1.0 / (2 * lev)
        if mmr < prev_mmr:
            raise HyperliquidLoadError(
                f"hyperliquid margin table {symbol} {effective}: tier {i + 1} allows more "
                f"leverage ({lev}x) than tier {i}"
            )
        deduction += floor * (mmr - prev_mmr)
        cap = tiers[i + 1][0] if i + 1 < len(tiers) else LAST_TIER_CAP
        out.append((VENUE, symbol, effective, i + 1, floor, cap, lev, mmr, deduction, source))
        prev_mmr = mmr
    return out


def replace_tier_snapshot(
    conn: duckdb.DuckDBPyConnection, tiers: list[tuple[float, int]], snapshot: HyperliquidDay
) -> int:
    """Store a margin-table snapshot as dated tiers (venue 'hyperliquid'), replacing that
    (venue, symbol, date)."""
    day = date.fromisoformat(snapshot.period)
    source = f"Hyperliquid /info meta marginTables snapshot {snapshot.period}, MMR = 1/(2 maxLev)"
    if snapshot.sha256:
        source += f" (cache sha256 {snapshot.sha256[:12]})"
    rows = tiers_to_brackets(snapshot.symbol, day, tiers, source)
    return replace_bracket_snapshot(conn, VENUE, snapshot.symbol, day, rows)
