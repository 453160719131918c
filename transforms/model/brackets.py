"""Leverage-bracket lookup and the isolated-margin liquidation price (pure numpy).

The dated tier tables themselves and their database I/O live in `transforms.reference`.

Brackets map a position's notional to its maintenance margin rate (MMR), maintenance amount
(`cum`) and maximum leverage. `cum` makes maintenance margin continuous across tiers:
`cum_n = cum_{n-1} + floor_n * (MMR_n - MMR_{n-1})`, and `MM = notional * MMR - cum`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BRACKET_COLUMNS = [
    "symbol",
    "effective_date",
    "bracket",
    "notional_floor",
    "notional_cap",
    "max_leverage",
    "maint_margin_rate",
    "cum",
    "source",
]


def bracket_for(brackets: pd.DataFrame, notional: float) -> pd.Series:
    """The bracket row for a position notional: floor < notional <= cap (cap inclusive).

    A notional above the last cap uses the last tier (the table may be truncated).
    """
    b = brackets.sort_values("bracket").reset_index(drop=True)
    caps = b["notional_cap"].to_numpy(dtype=float)
    i = int(np.searchsorted(caps, float(notional), side="left"))
    return b.iloc[min(i, len(b) - 1)]


def liquidation_price(entry, leverage, side, mmr, cum, qty) -> np.ndarray:
    """Isolated-margin liquidation price (Binance, one-way mode, fees and funding ignored).

    long:  LP = EP*(1 - 1/L)/(1 - m) - cum/(Q*(1 - m))
    short: LP = EP*(1 + 1/L)/(1 + m) + cum/(Q*(1 + m))
    `side` is +1/"long" or -1/"short" (scalar or array). Q is the quantity in base units.
    """
    ep = np.asarray(entry, dtype=float)
    lev = np.asarray(leverage, dtype=float)
    m = np.asarray(mmr, dtype=float)
    c = np.asarray(cum, dtype=float)
    q = np.asarray(qty, dtype=float)
    s = np.asarray(side)
    if s.dtype.kind in "UO":
        sign = np.where(s == "short", -1.0, 1.0)
        if not np.all(np.isin(s, ["long", "short"])):
            raise ValueError("side must be 'long' or 'short'")
    else:
        sign = np.where(s.astype(float) < 0, -1.0, 1.0)
    long_lp = ep * (1.0 - 1.0 / lev) / (1.0 - m) - c / (q * (1.0 - m))
    short_lp = ep * (1.0 + 1.0 / lev) / (1.0 + m) + c / (q * (1.0 + m))
    return np.where(sign > 0, long_lp, short_lp)


def lp_ratios(
    brackets: pd.DataFrame, levels, position_notional: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LP / entry for each leverage level (long, short) and the effective leverage used.

    With Q = N/EP the liquidation price is proportional to the entry price, so one ratio per
    level covers every cohort: long k = ((1 - 1/L) - cum/N)/(1 - m), short mirrored. Leverage
    above the bracket's maximum is capped at the maximum.
    """
    row = bracket_for(brackets, position_notional)
    m, cum, max_lev = float(row["maint_margin_rate"]), float(row["cum"]), float(row["max_leverage"])
    lev = np.minimum(np.asarray(levels, dtype=float), max_lev)
    n = float(position_notional)
    k_long = ((1.0 - 1.0 / lev) - cum / n) / (1.0 - m)
    k_short = ((1.0 + 1.0 / lev) + cum / n) / (1.0 + m)
    return k_long, k_short, lev
