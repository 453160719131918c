"""Hysteresis for the nearest major cluster and the peak cluster: levels a trader can plan
around.

The fresh nearest major cluster and peak cluster (transforms.model.levels) can jump between
two bins of similar size from one day to the next while price barely moves. Per level and
side, day by day, the previous day's level P stands against today's fresh level F:

* no P (first day of the market)          → F, move "new" (or "none" without F);
* F within `jump_pct` (10 %) of P          → F, "near" (an ordinary small move);
* price moved ≥ `price_move_pct` (5 %)     → F, "price";
* price reached P's bin during the day     → F, "consumed" (the cluster was liquidated);
* P is now beyond the map's window (±25 %,
  price drifted away over several days)     → F, "window";
* P's bin fell below `hold_share` (half) of
  what makes the level (the major threshold
  for the nearest cluster, today's heaviest
  bin for the peak)                        → F (or none), "closed" (its positions closed);
* otherwise                                → P held, with today's notional in its bin, "held".

A cluster enters at the major threshold and leaves at half of it (hysteresis on its size as
well as its place), so a bin hovering around the threshold does not flip the level either.
So a level moves by more than 10 % in a day only when price moved ≥ 5 % (that day, or step by
step until the held level left the map's window) or the cluster was consumed or closed, and
the stored move says which. "Reached" uses the day's mark path (what
consumes positions in the model) against the bin's edge nearest spot.

The previous day's level is the one of the previous row of the same chain: inside a range run
the previous target day, for its first day the row stored in `mart.daily_metrics` before it
(`PrevLevels`). A range run therefore equals the same days run one by one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.model.levels import SIDES, LevelParams

#: the held levels
KINDS = ("nearest_cluster", "peak_cluster")

#: the stored reasons (`nearest_cluster_<side>_move`); the last three are the only ones under
#: which a level moves by more than `jump_pct`
MOVES = ("new", "none", "near", "held", "price", "consumed", "window", "closed")
JUMP_MOVES = ("price", "consumed", "window", "closed")


@dataclass(frozen=True)
class PrevLevels:
    """The day before the first target day: its close, both nearest cluster prices and both
    peak cluster prices (NaN where it had none)."""

    close: float
    above: float
    below: float
    peak_above: float = math.nan
    peak_below: float = math.nan

    def level(self, side: str, kind: str = "nearest_cluster") -> float:
        if kind == "peak_cluster":
            return self.peak_above if side == "above" else self.peak_below
        return self.above if side == "above" else self.below


def _bin_value(vals: np.ndarray, price_low: np.ndarray, bin_size: float, centre: float) -> float:
    """Notional in the bin whose centre is `centre` (0 when the bin is off the grid)."""
    if len(price_low) == 0:
        return 0.0
    k = int(round((centre - bin_size / 2.0 - price_low[0]) / bin_size))
    return float(vals[k]) if 0 <= k < len(price_low) else 0.0


def _decide(
    side: str,
    prev: float,
    prev_close: float,
    fresh: float,
    spot: float,
    low: float,
    high: float,
    at_prev: float,
    threshold: float,
    bin_size: float,
    p: LevelParams,
) -> str:
    """The move of one side on one day (see module doc)."""
    have_fresh = math.isfinite(fresh)
    if not math.isfinite(prev):
        return "new" if have_fresh else "none"
    if have_fresh and abs(fresh / prev - 1.0) <= p.jump_pct:
        return "near"
    if math.isfinite(prev_close) and abs(spot / prev_close - 1.0) >= p.price_move_pct:
        return "price"
    half = bin_size / 2.0
    if (side == "above" and high >= prev - half) or (side == "below" and low <= prev + half):
        return "consumed"
    if abs(prev / spot - 1.0) > p.window_pct:
        return "window"
    if not at_prev >= p.hold_share * threshold or not at_prev > 0:
        return "closed"
    return "held"


def stabilize(
    levels: pd.DataFrame | Mapping[str, np.ndarray],
    price_low: np.ndarray,
    bin_size: float,
    long: np.ndarray,
    short: np.ndarray,
    spots: np.ndarray,
    day_low: np.ndarray,
    day_high: np.ndarray,
    prev: PrevLevels | None = None,
    params: LevelParams | None = None,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """`levels` (key_levels' rows, one per target day in ascending order, with
    `major_cluster_min`) with each side's nearest and peak cluster held per the module rule
    and the move in `<kind>_<side>_move`. `day_low`/`day_high`: each day's mark path range;
    `prev`: the stored day before the first row (None: the chain starts here). Given the
    columns as arrays (`key_level_columns`), a new dict of arrays; given a frame, a frame."""
    p = params or LevelParams()
    out = {col: np.asarray(levels[col]) for col in levels}
    for kind in KINDS:
        for side in SIDES:
            _hold(out, kind, side, price_low, bin_size, long, short, spots, day_low, day_high,
                  prev, p)  # fmt: skip
    if isinstance(levels, pd.DataFrame):
        return pd.DataFrame(out, index=levels.index.copy())
    return out


def _hold(
    out: dict[str, np.ndarray],
    kind: str,
    side: str,
    price_low: np.ndarray,
    bin_size: float,
    long: np.ndarray,
    short: np.ndarray,
    spots: np.ndarray,
    day_low: np.ndarray,
    day_high: np.ndarray,
    prev: PrevLevels | None,
    p: LevelParams,
) -> None:
    """One level of one side held through the days of `out` (columns; in place)."""
    m = len(spots)
    price_low = np.asarray(price_low, dtype=float)
    grid = np.atleast_2d(short if side == "above" else long)
    if kind == "nearest_cluster":  # the major rule's size
        threshold = np.asarray(out["major_cluster_min"], dtype=float)
    else:  # today's heaviest bin of the side
        threshold = np.asarray(out[f"peak_cluster_{side}_notional"], dtype=float)
    price = np.array(out[f"{kind}_{side}_price"], dtype=float)  # a copy
    notional = np.array(out[f"{kind}_{side}_notional"], dtype=float)
    moves = np.empty(m, dtype=object)
    last = prev.level(side, kind) if prev is not None else math.nan
    last_close = prev.close if prev is not None else math.nan
    for i in range(m):
        vals = grid[i]
        at_prev = _bin_value(vals, price_low, bin_size, last) if math.isfinite(last) else 0.0
        move = _decide(
            side,
            last,
            last_close,
            price[i],
            float(spots[i]),
            float(day_low[i]),
            float(day_high[i]),
            at_prev,
            threshold[i],
            bin_size,
            p,
        )
        if move == "held":
            price[i], notional[i] = last, at_prev
        moves[i] = move
        last, last_close = price[i], float(spots[i])
    out[f"{kind}_{side}_price"] = price
    out[f"{kind}_{side}_notional"] = notional
    out[f"{kind}_{side}_pct"] = price / np.asarray(spots, dtype=float) - 1.0
    out[f"{kind}_{side}_move"] = moves
