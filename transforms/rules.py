"""Rules that more than one layer applies, defined once.

- Funding lookback: staging carries a funding settlement forward over at most this many days,
  so each run refreshes that much history, and the raw layer looks that far back for funding
  months that were pending while their days were loaded. Reaches SQL as `$lookback_days`.
- Swing day: a zigzag swing belongs to the UTC day it was *confirmed* (when it became known
  to be finished, not the day of its extreme); the still-running swing belongs to the last
  day of the window. Marts file swings by it; pages show what was known at the end of a day.
- Heatmap rows: every hour of a UTC day stores the same price window, from the day's lowest
  close × (1 − range) to its highest close × (1 + range) (`heat_day_window`), so no bin
  enters or leaves the heatmap within a day because price moved; the report keeps each view's
  price rows inside the window of every day it shows (`view_window`), so a view never shows
  stored liquidity vanishing at its edge.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

FUNDING_LOOKBACK_DAYS = 40
FUNDING_LOOKBACK = timedelta(days=FUNDING_LOOKBACK_DAYS)

NS_PER_DAY = 86_400 * 1_000_000_000


def heat_day_window(
    ts_ns: np.ndarray, close: np.ndarray, range_pct: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per row (hour or block, `ts_ns`), the stored price window of its UTC day: the day's
    lowest close × (1 − range_pct) and highest close × (1 + range_pct), over the rows given."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    close = np.asarray(close, dtype=float)
    day = ts - ts % NS_PER_DAY
    days, inv = np.unique(day, return_inverse=True)
    lo = np.full(len(days), np.inf)
    hi = np.full(len(days), -np.inf)
    np.fmin.at(lo, inv, close)
    np.fmax.at(hi, inv, close)
    return lo[inv] * (1.0 - range_pct), hi[inv] * (1.0 + range_pct)


def view_window(
    lo: float, hi: float, day_low: np.ndarray, day_high: np.ndarray, range_pct: float
) -> tuple[float, float]:
    """A heatmap view's price rows [lo, hi] kept inside the stored window of every day it
    shows (`day_low`/`day_high`: each day's lowest and highest close); the view is left as is
    when that common window is empty (price moved more than the window spans)."""
    if len(day_low) == 0:
        return lo, hi
    common_lo = float(np.max(np.asarray(day_low, dtype=float))) * (1.0 - range_pct)
    common_hi = float(np.min(np.asarray(day_high, dtype=float))) * (1.0 + range_pct)
    if common_hi <= common_lo:
        return lo, hi
    return max(lo, common_lo), min(hi, common_hi)


def swing_day_ns(confirmed: np.ndarray, confirmed_ns: np.ndarray, last_day_ns: int) -> np.ndarray:
    """Start (ns since epoch, UTC midnight) of the day each swing belongs to: the day of its
    confirming bar when confirmed, else `last_day_ns` (the window's last day)."""
    conf = np.asarray(confirmed, dtype=bool)
    ns = np.asarray(confirmed_ns, dtype=np.int64)
    return np.where(conf, ns - ns % NS_PER_DAY, np.int64(last_day_ns))
