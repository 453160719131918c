"""Rules that more than one layer applies, defined once.

- Funding lookback: staging carries a funding settlement forward over at most this many days,
  so each run refreshes that much history, and the raw layer looks that far back for funding
  months that were pending while their days were loaded. Reaches SQL as `$lookback_days`.
- Swing day: a zigzag swing belongs to the UTC day it was *confirmed* (when it became known
  to be finished, not the day of its extreme); the still-running swing belongs to the last
  day of the window. Marts file swings by it; pages show what was known at the end of a day.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

FUNDING_LOOKBACK_DAYS = 40
FUNDING_LOOKBACK = timedelta(days=FUNDING_LOOKBACK_DAYS)

NS_PER_DAY = 86_400 * 1_000_000_000


def swing_day_ns(confirmed: np.ndarray, confirmed_ns: np.ndarray, last_day_ns: int) -> np.ndarray:
    """Start (ns since epoch, UTC midnight) of the day each swing belongs to: the day of its
    confirming bar when confirmed, else `last_day_ns` (the window's last day)."""
    conf = np.asarray(confirmed, dtype=bool)
    ns = np.asarray(confirmed_ns, dtype=np.int64)
    return np.where(conf, ns - ns % NS_PER_DAY, np.int64(last_day_ns))
