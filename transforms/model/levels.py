"""Two-sided key levels from a (snapshot × price bin) grid: what a trader acts on.

Per side, walking from spot outward (shorts above spot, longs below):

* **nearest major cluster**: the first bin within ±`window_pct` of spot that is *major* by an
  absolute rule tied to the market: it packs at least `major_density` % of the market's open
  interest into 1 % of price, i.e. its notional is at least
  `major_density × OI × bin width / spot` (`major_cluster_min`, stored with the row). Not a
  share of the side's own total, which made a $3.6M bin "major" on a $2.6B side. When no bin
  is major the side has no nearest cluster (NaN): the peak cluster is still named. The
  nearest cluster is then held steady from day to day by `transforms.model.stable_levels`.
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

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW_PCT = 0.25  # the liquidation map's window around spot
#: "major": at least 1 % of open interest per 1 % of price (on the demo year ~3x the average
#: density within the window; most days have a major bin on each side)
MAJOR_DENSITY = 1.0
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
#: added in v3 (stored last): the major rule's threshold per bin (USDT) and, per level and
#: side, why the nearest / peak cluster is where it is (transforms.model.stable_levels.MOVES)
STABLE_COLUMNS = [
    "major_cluster_min",
    *[f"{kind}_{side}_move" for kind in LEVEL_KINDS for side in SIDES],
]


@dataclass(frozen=True)
class LevelParams:
    """The documented knobs of the key levels."""

    window_pct: float = WINDOW_PCT
    major_density: float = MAJOR_DENSITY  # % of open interest per 1 % of price
    quantile: float = QUANTILE
    jump_pct: float = 0.10  # a nearest cluster moves farther than this only for a reason:
    price_move_pct: float = 0.05  # price moved at least this, or the cluster was consumed/closed
    hold_share: float = 0.5  # a held cluster stays major down to this share of the threshold

    def __post_init__(self) -> None:
        if not self.window_pct > 0:
            raise ValueError(f"window_pct must be > 0, got {self.window_pct}")
        if not self.major_density > 0:
            raise ValueError(f"major_density must be > 0, got {self.major_density}")
        if not (self.jump_pct > 0 and self.price_move_pct > 0):
            raise ValueError("jump_pct and price_move_pct must be > 0")
        if not 0 < self.hold_share <= 1:
            raise ValueError(f"hold_share must be in (0, 1], got {self.hold_share}")
        if not 0 < self.quantile <= 1:
            raise ValueError(f"quantile must be in (0, 1], got {self.quantile}")


def _first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the first True per row, whether any) for a 2-D boolean array."""
    return mask.argmax(axis=1), mask.any(axis=1)


def _side_levels(
    vals: np.ndarray,
    centre: np.ndarray,
    outer: np.ndarray,
    side_of: np.ndarray,
    member: np.ndarray,
    in_window: np.ndarray,  # centre on this side of spot and within the window
    spots: np.ndarray,
    major_min: np.ndarray,
    p: LevelParams,
) -> dict[str, np.ndarray]:
    """Levels of one side per row. Columns of `vals` etc. are ordered from spot outward;
    row r uses `centre[side_of[r]]` and `outer[side_of[r]]` (both sides go through one
    pass as rows of their own: every step is per row, so a row's levels do not depend on
    the others, and one pass halves the calls)."""
    m = len(spots)
    side = np.where(member, vals, 0.0)
    win = np.where(in_window, vals, 0.0)
    win_total = win.sum(axis=1)
    rows = np.arange(m)
    out = {}

    peak_k = win.argmax(axis=1)  # first of equal maxima = the one nearest spot
    has_peak = win_total > 0
    out["peak_cluster_price"] = np.where(has_peak, centre[side_of, peak_k], np.nan)
    out["peak_cluster_notional"] = np.where(has_peak, win[rows, peak_k], np.nan)

    major = (win >= major_min[:, None]) & (win > 0)  # NaN threshold (no OI): none major
    near_k, has_major = _first_true(major)
    out["nearest_cluster_price"] = np.where(has_major, centre[side_of, near_k], np.nan)
    out["nearest_cluster_notional"] = np.where(has_major, win[rows, near_k], np.nan)

    total = side.sum(axis=1)
    cum = side.cumsum(axis=1)
    # Relative tolerance: a cumulative sum that equals the target up to rounding reaches it.
    reached = cum >= p.quantile * total[:, None] * (1.0 - 1e-12)
    reached &= side > 0  # the bin that completes the share holds notional
    q_k, has_q = _first_true(reached)
    has_q &= total > 0
    out["p90_price"] = np.where(has_q, outer[side_of, q_k], np.nan)

    for key in ("nearest_cluster", "peak_cluster", "p90"):
        out[f"{key}_pct"] = out[f"{key}_price"] / spots - 1.0
    return out


@functools.cache
def _column_of(key: str, side: str) -> str:
    """The `key_levels` column of `_side_levels` key `key` on `side` ("peak_cluster_price",
    "above" -> "peak_cluster_above_price"); cached: the site asks thousands of times."""
    kind, _, field = key.rpartition("_")
    return f"{kind}_{side}_{field}"


def major_min(
    oi: np.ndarray, bin_size: float, spots: np.ndarray, params: LevelParams | None = None
) -> np.ndarray:
    """The major rule's threshold per bin (USDT): `major_density` % of open interest per 1 %
    of price, over the bin's width (NaN without open interest)."""
    p = params or LevelParams()
    oi, spots = np.asarray(oi, dtype=float), np.asarray(spots, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return p.major_density * oi * bin_size / spots


def key_levels(
    price_low: np.ndarray,
    bin_size: float,
    long: np.ndarray,
    short: np.ndarray,
    spots: np.ndarray,
    oi: np.ndarray,
    params: LevelParams | None = None,
) -> pd.DataFrame:
    """One row per snapshot with both sides' nearest major cluster, peak cluster and 90 %
    point, and the major threshold (`major_cluster_min`).

    `price_low` (n_bins,) ascending bin lower edges of width `bin_size`; `long`/`short`
    (n_snapshots, n_bins) alive notional by liquidation-price bin; `spots` and `oi` (the
    market's open interest, USDT) (n_snapshots,). A side with no notional gets NaN levels;
    a side without a major bin gets a NaN nearest cluster."""
    cols = key_level_columns(price_low, bin_size, long, short, spots, oi, params)
    return pd.DataFrame(cols, columns=[*LEVEL_COLUMNS, "major_cluster_min"])


def key_level_columns(
    price_low: np.ndarray,
    bin_size: float,
    long: np.ndarray,
    short: np.ndarray,
    spots: np.ndarray,
    oi: np.ndarray,
    params: LevelParams | None = None,
) -> dict[str, np.ndarray]:
    """`key_levels` as arrays by column, without a DataFrame (the site computes one
    snapshot per view and day, where building the frame costs more than the levels)."""
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
    oi = np.asarray(oi, dtype=float)
    if oi.shape != (m,):
        raise ValueError(f"oi must have one value per snapshot ({m}), got shape {oi.shape}")
    threshold = major_min(oi, bin_size, spots, p)
    if m == 0 or nb == 0:
        return {**{c: np.full(m, np.nan) for c in LEVEL_COLUMNS}, "major_cluster_min": threshold}
    if ((price_low[1:] - price_low[:-1]) <= 0).any():  # np.diff, without its wrapper
        raise ValueError("price_low must be strictly ascending")
    centre = price_low + bin_size / 2.0
    sp = spots[:, None]
    dist = centre[None, :] / sp - 1.0
    near = np.abs(dist) <= p.window_pct

    rev = slice(None, None, -1)  # longs: from spot downward = descending prices
    # rows 0..m-1 the shorts above spot, rows m..2m-1 the longs below it
    res = _side_levels(
        np.concatenate([short, long[:, rev]]),
        np.array([centre, centre[rev]]),
        np.array([price_low + bin_size, price_low[rev]]),
        np.repeat(np.arange(2), m),
        np.concatenate([(price_low[None, :] + bin_size) > sp, (price_low[None, :] < sp)[:, rev]]),
        np.concatenate([near & (dist > 0), (near & (dist <= 0))[:, rev]]),
        np.concatenate([spots, spots]),
        np.concatenate([threshold, threshold]),
        p,
    )
    cols = {}
    for i, side in enumerate(SIDES):
        for key, vals in res.items():
            cols[_column_of(key, side)] = vals[i * m : (i + 1) * m]
    cols["major_cluster_min"] = threshold
    return cols
