"""Two-sided key levels from a (snapshot × price bin) grid: what a trader acts on.

Per side, walking from spot outward (shorts above spot, longs below):

* **nearest major cluster**: the first bin whose notional is at least `cluster_share` of that
  side's notional within ±`window_pct` of spot. When no bin reaches the share (the side is
  spread thin), the peak cluster stands in, so a side with notional always has a level.
* **peak cluster**: the heaviest bin of the side within the same window (the window the
  liquidation map shows, so the level is never off the map).
* **90 % point** (`quantile`): walking outward, the outer edge of the bin where the side's
  cumulative notional first reaches `quantile` of the side's whole total (all bins, not only
  the window). Above spot this is the squeeze ceiling, below it the flush floor.

Both sides are always computed; nothing is chosen by which side is heavier. Everything is a
function of binned grids, so the aggregate of several markets (the sum of their grids on
the same bins) gets its levels the same way as one market.

Side membership of the 90 % point follows `mart.liq_map` (and its cumulative curves): a bin
belongs to the long side when it starts below spot (price_low < spot), to the short side when
it ends above spot (price_low + size > spot), so the bin holding spot counts on both sides.
Clusters are placed by bin centre: a cluster above has its centre above spot, one below has
it at or below spot, so a printed cluster is never on the wrong side of spot. Cluster prices
are bin centres, 90 % points bin outer edges; distances are `price / spot − 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW_PCT = 0.25  # the liquidation map's window around spot
CLUSTER_SHARE = 0.03  # "major": >= 3 % of its side in the window (~3x an average bin)
QUANTILE = 0.90

SIDES = ("above", "below")  # above = shorts (squeeze fuel), below = longs (flush fuel)
LEVEL_KINDS = ("nearest_cluster", "peak_cluster")


def level_columns() -> list[str]:
    """Column names of `key_levels`, in order."""
    cols = []
    for kind in LEVEL_KINDS:
        for side in SIDES:
            cols += [f"{kind}_{side}_price", f"{kind}_{side}_pct", f"{kind}_{side}_notional"]
    for side in SIDES:
        cols += [f"p90_{side}_price", f"p90_{side}_pct"]
    return cols


LEVEL_COLUMNS = level_columns()


@dataclass(frozen=True)
class LevelParams:
    """The documented knobs of the key levels."""

    window_pct: float = WINDOW_PCT
    cluster_share: float = CLUSTER_SHARE
    quantile: float = QUANTILE

    def __post_init__(self) -> None:
        if not self.window_pct > 0:
            raise ValueError(f"window_pct must be > 0, got {self.window_pct}")
        if not 0 < self.cluster_share <= 1:
            raise ValueError(f"cluster_share must be in (0, 1], got {self.cluster_share}")
        if not 0 < self.quantile <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {self.quantile}")


def _first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first True per row, whether any) for a 2-D boolean array."""
    return np.argmax(mask, axis=1), mask.any(axis=1)


def _side_levels(
    vals: np.ndarray,
    centre: np.ndarray,
    outer: np.ndarray,
    member: np.ndarray,
    in_window: np.ndarray,  # centre on this side of spot and within the window
    spots: np.ndarray,
    p: LevelParams,
) -> dict[str, np.ndarray]:
    """Levels of one side. Columns of `vals` etc. are ordered from spot outward."""
    m = len(spots)
    side = np.where(member, vals, 0.0)
    win = np.where(in_window, vals, 0.0)
    win_total = win.sum(axis=1)
    rows = np.arange(m)
    out = {}

    peak_k = np.argmax(win, axis=1)  # first of equal maxima = the one nearest spot
    has_peak = win_total > 0
    out["peak_cluster_price"] = np.where(has_peak, centre[peak_k], np.nan)
    out["peak_cluster_notional"] = np.where(has_peak, win[rows, peak_k], np.nan)

    major = (win >= p.cluster_share * win_total[:, None]) & (win > 0)
    near_k, has_major = _first_true(major)
    near_k = np.where(has_major, near_k, peak_k)
    out["nearest_cluster_price"] = np.where(has_peak, centre[near_k], np.nan)
    out["nearest_cluster_notional"] = np.where(has_peak, win[rows, near_k], np.nan)

    total = side.sum(axis=1)
    cum = np.cumsum(side, axis=1)
    # Relative tolerance: a cumulative sum that equals the target up to rounding reaches it.
    reached = cum >= p.quantile * total[:, None] * (1.0 - 1e-12)
    reached &= side > 0  # the bin that completes the share holds notional
    q_k, has_q = _first_true(reached)
    has_q &= total > 0
    out["p90_price"] = np.where(has_q, outer[q_k], np.nan)

    for key in ("nearest_cluster", "peak_cluster", "p90"):
        out[f"{key}_pct"] = out[f"{key}_price"] / spots - 1.0
    return out


def key_levels(
    price_low: np.ndarray,
    bin_size: float,
    long: np.ndarray,
    short: np.ndarray,
    spots: np.ndarray,
    params: LevelParams | None = None,
) -> pd.DataFrame:
    """One row per snapshot with both sides' nearest cluster, peak cluster and 90 % point.

    `price_low` (n_bins,) ascending bin lower edges of width `bin_size`; `long`/`short`
    (n_snapshots, n_bins) alive notional by liquidation-price bin; `spots` (n_snapshots,).
    A side with no notional gets NaN levels (and only then)."""
    p = params or LevelParams()
    price_low = np.asarray(price_low, dtype=float)
    long = np.atleast_2d(np.asarray(long, dtype=float))
    short = np.atleast_2d(np.asarray(short, dtype=float))
    spots = np.asarray(spots, dtype=float)
    m, nb = len(spots), len(price_low)
    if long.shape != (m, nb) or short.shape != (m, nb):
        raise ValueError(
            f"grids must be (snapshots, bins) = ({m}, {nb}); got {long.shape} and {short.shape}"
        )
    if m == 0 or nb == 0:
        data = {c: np.full(m, np.nan) for c in LEVEL_COLUMNS}
        return pd.DataFrame(data, columns=LEVEL_COLUMNS)
    if np.any(np.diff(price_low) <= 0):
        raise ValueError("price_low must be strictly ascending")
    centre = price_low + bin_size / 2.0
    sp = spots[:, None]
    dist = centre[None, :] / sp - 1.0
    near = np.abs(dist) <= p.window_pct

    above = _side_levels(
        short,
        centre,
        price_low + bin_size,
        (price_low[None, :] + bin_size) > sp,
        near & (dist > 0),
        spots,
        p,
    )
    rev = slice(None, None, -1)  # longs: from spot downward = descending prices
    below = _side_levels(
        long[:, rev],
        centre[rev],
        price_low[rev],
        (price_low[None, :] < sp)[:, rev],
        (near & (dist <= 0))[:, rev],
        spots,
        p,
    )
    cols = {}
    for side, res in (("above", above), ("below", below)):
        for key, vals in res.items():
            kind, _, field = key.rpartition("_")
            cols[f"{kind}_{side}_{field}"] = vals
    return pd.DataFrame(cols, columns=LEVEL_COLUMNS)
