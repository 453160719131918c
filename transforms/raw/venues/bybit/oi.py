"""Bybit open interest in our per-side convention (LIQMAP_BYBIT_OI_SIDES).

Our convention is Binance's `sum_open_interest`: the size of all open contracts counted once,
which equals the long side and equals the short side. Bybit's newest docs call `openInterest`
"the sum of both sides" (and added `singleOpenInterest`, 2026-06-11), an older doc said one
side. The setting makes the reading explicit: `both` halves Bybit's number, `one` keeps it.
See docs/venues.md for the default and its reasons.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pandas as pd

OI_SIDES = ("both", "one")
DEFAULT_OI_SIDES = "both"

T = TypeVar("T", float, np.ndarray)


def check_oi_sides(sides: str) -> str:
    if sides not in OI_SIDES:
        raise ValueError(f"LIQMAP_BYBIT_OI_SIDES={sides!r}: expected one of {', '.join(OI_SIDES)}")
    return sides


def oi_per_side(open_interest: T, sides: str) -> T:
    """Bybit `openInterest` (base units) -> open interest per side, our convention.

    `both`: Bybit counts every contract twice (long + short), so one side is half of it.
    `one`: Bybit already reports one side.
    """
    factor = 0.5 if check_oi_sides(sides) == "both" else 1.0
    return open_interest * factor


def implied_sides(open_interest: float, single_open_interest: float) -> str | None:
    """What a response that carries both fields says: `both` when openInterest is about twice
    singleOpenInterest, `one` when they are about equal, None when neither (or unusable)."""
    if not (single_open_interest > 0 and np.isfinite(open_interest)):
        return None
    ratio = open_interest / single_open_interest
    if abs(ratio - 2.0) < 0.05:
        return "both"
    if abs(ratio - 1.0) < 0.05:
        return "one"
    return None


def open_interest_frame(day: Any, sides: str) -> pd.DataFrame:
    """A fetched `open_interest_5m` BybitDay as rows in our convention: `create_time` (UTC,
    naive, like Binance's metrics), Bybit's raw `open_interest` and `single_open_interest`
    kept for audit, and `oi_base` = open interest per side (base units)."""
    if day.dataset != "open_interest_5m":
        raise ValueError(f"expected an open_interest_5m day, got {day.dataset}")
    frame = day.frame()
    frame["create_time"] = pd.to_datetime(frame.pop("timestamp"), unit="ms")
    frame["oi_base"] = oi_per_side(frame["open_interest"].to_numpy(dtype=np.float64), sides)
    return frame[
        ["venue", "symbol", "create_time", "open_interest", "single_open_interest", "oi_base"]
    ]
