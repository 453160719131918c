"""Exact at-risk metrics per snapshot from the alive cohorts, vectorized across snapshots.

Cohorts of each side are sorted by liquidation price once. Snapshots are processed in blocks:
per block only the *candidates* (cohorts alive at some snapshot of the block, kept in LP
order) enter a (snapshot × candidate) matrix of alive sizes, and its row-wise cumulative
sum answers every range question with `searchsorted`: totals below/above spot, the ±band
totals (NEAR_BANDS) and the 90 % cumulative point. Peak clusters come from the binned grid.

Leaving out cohorts that are dead at every snapshot of the block only removes zeros from the
cumulative sums, and each size is computed with the same operations as a per-snapshot loop,
so every sum is bit-identical to a cumulative sum over all cohorts of the side. The quantile
searches map their answer back to a position in the full LP order, so even the clamped edge
cases pick the same cohort as a search over all cohorts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.model.cohorts import LONG, ModelRun
from transforms.model.grid import Grid

#: the near-spot windows (name -> fraction of spot): at-risk sums within each, and the
#: imbalance within the two nearest (what a move can actually reach, DESIGN §3 "Near-spot
#: first"); the stored columns are named by their window, so the windows are fixed here
#: rather than a model knob
NEAR_BANDS: dict[str, float] = {"5pct": 0.05, "10pct": 0.10, "25pct": 0.25}
#: windows whose imbalance is stored (`shorts_per_long_<window>`)
RATIO_BANDS = ("5pct", "10pct")
#: the window the headline, the sentiment table's Impact and the feed lead with: ±10 % is
#: a move that happens within weeks on every symbol, and ±5 % is shown beside it
HEADLINE_BAND = "10pct"

RISK_COLUMNS = [
    "longs_at_risk",
    "shorts_at_risk",
    "longs_at_risk_10pct",
    "shorts_at_risk_10pct",
    "longs_at_risk_25pct",
    "shorts_at_risk_25pct",
    "shorts_per_long",  # the whole map: context (the headline is the near-spot one)
    "log_imbalance",
    "squeeze_ceiling",
    "flush_floor",
    "peak_cluster_long",
    "peak_cluster_short",
    "peak_cluster_long_notional",
    "peak_cluster_short_notional",
]
#: near-spot columns added in v3 (stored last in mart.daily_metrics, so a warehouse built
#: before keeps its column order): the ±5 % sums and the imbalance within each RATIO_BANDS
#: window
NEAR_COLUMNS = [
    "longs_at_risk_5pct",
    "shorts_at_risk_5pct",
    *[f"shorts_per_long_{name}" for name in RATIO_BANDS],
]

# Cells of one block's (snapshot × candidate) matrix: ~3 MB per buffer, so a block stays in
# cache, while the per-block candidate selection over all cohorts is still amortized.
MAX_BLOCK_CELLS = 400_000


@dataclass
class _Side:
    """One side's cohorts against ascending snapshots.

    `lp` is the whole side in ascending-LP order (stable, so ties keep cohort order); the
    other arrays cover only the cohorts alive at one snapshot or more (`pos` = their place in
    `lp`), which is all the sums need. A cohort is alive at snapshot row r iff a <= r < z.
    """

    lp: np.ndarray
    pos: np.ndarray
    a: np.ndarray  # first snapshot row with start <= snap
    z: np.ndarray  # first snapshot row with end <= snap (gone)
    lp_alive: np.ndarray  # lp[pos]
    n0: np.ndarray
    log_f_start: np.ndarray  # log F at the opening bar
    log_f_snap: np.ndarray  # log F at each snapshot
    closing: bool  # False when F stays 1 (closing "never"): sizes are n0, no exp needed

    @classmethod
    def of(cls, run: ModelRun, sign: int, snaps: np.ndarray, orders: dict | None = None) -> _Side:
        lp, pos, a, z, vis = _placement(run, sign, snaps, orders)
        return cls(
            lp=lp,
            pos=pos,
            a=a,
            z=z,
            lp_alive=lp[pos],
            n0=run.n0[vis],
            log_f_start=run.log_f_open[vis],
            log_f_snap=run.log_f[snaps],
            closing=bool(np.any(run.log_f)),
        )


def _placement(
    run: ModelRun, sign: int, snaps: np.ndarray, orders: dict | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The side's LPs in ascending order and, for its cohorts alive at a snapshot or more,
    their places in that order (`pos`), first and gone snapshot rows (`a`, `z`) and cohort
    indices (`vis`). `orders` (a dict shared by one market's scenarios) carries them from
    one run to the next: the scenarios share their cohorts' sides, LPs, openings and ends
    (only sizes and closing differ), so a run whose arrays equal the stored ones takes the
    stored placement instead of computing it again."""
    key = ("placement", sign)
    inputs = (run.side, run.lp, run.start, run.end, snaps)
    if orders is not None and key in orders:
        stored, placed = orders[key]
        if all(np.array_equal(x, y) for x, y in zip(stored, inputs, strict=True)):
            return placed
    order = _lp_order(run, sign, orders)
    # Snapshot row of every bar index 0..n (end == n means still alive): a table lookup
    # is much cheaper than a search per cohort.
    row = np.searchsorted(snaps, np.arange(run.n_bars + 1), side="left").astype(np.int32)
    # carried cohorts (start -1, opened before bar 0) are alive from the first snapshot
    a, z = row[np.maximum(run.start[order], 0)], row[run.end[order]]
    pos = np.flatnonzero(a < z)
    placed = (run.lp[order], pos, a[pos], z[pos], order[pos])
    if orders is not None:
        orders[key] = (inputs, placed)
    return placed


def _lp_order(run: ModelRun, sign: int, orders: dict | None) -> np.ndarray:
    """The side's cohorts in ascending-LP order (stable). `orders` (sign -> (side, lp,
    order)) carries it between the runs of one market's scenarios: they share their cohorts'
    sides and LPs (only sizes and closing differ), so a run whose arrays are equal to the
    stored ones takes the stored order instead of sorting again."""
    if orders is not None and sign in orders:
        side, lp, order = orders[sign]
        if np.array_equal(side, run.side) and np.array_equal(lp, run.lp):
            return order
    idx = np.flatnonzero(run.side == sign)
    order = idx[np.argsort(run.lp[idx], kind="stable")]
    if orders is not None:
        orders[sign] = (run.side, run.lp, order)
    return order


@dataclass
class _Block:
    """Cumulative alive notional at snapshot rows `rows` over the block's candidates.

    `cum[r, i]` is the alive notional of the first `i` candidates at row r, which equals the
    cumulative sum over the first `pos[cand[i - 1]] + 1` cohorts of the side's full LP order.
    """

    rows: slice
    cand: np.ndarray  # candidates, as indices into the side's alive arrays (ascending LP)
    pos: np.ndarray  # the side's `pos`: alive index -> full LP position
    lp: np.ndarray  # candidates' LPs
    cum: np.ndarray  # (n_rows, n_cand + 1), cum[:, 0] = 0

    def at(self, col: np.ndarray) -> np.ndarray:
        """cum[r, col[r]] for every row r."""
        return self.cum[np.arange(len(col)), col]

    def full_pos(self, i: np.ndarray) -> np.ndarray:
        """Full LP position of candidate i (i clipped into range; callers only use the rows
        where it was in range)."""
        if len(self.cand) == 0:
            return np.zeros(len(i), dtype=np.int64)
        return self.pos[self.cand[np.clip(i, 0, len(self.cand) - 1)]]


def _blocks(side: _Side) -> Iterator[_Block]:
    """Consecutive blocks of snapshot rows whose candidate matrix fits MAX_BLOCK_CELLS
    (at least one row per block)."""
    m, j = len(side.log_f_snap), 0
    # cohorts with a < k, and with z <= j, for every k and j (a, z in 0..m): counts, as a
    # search over the sorted a and z would give them
    a_below = np.concatenate([[0], np.cumsum(np.bincount(side.a, minlength=m + 1))])
    z_upto = np.cumsum(np.bincount(side.z, minlength=m + 1))
    while j < m:
        # Candidates of rows j..k-1: a < k and z > j. A cohort with z <= j also has a < k,
        # so the count is a difference of two counts over a and z.
        k = np.arange(j + 1, m + 1)
        n_cand = a_below[k] - z_upto[j]
        cells = (k - j) * (n_cand + 1)
        k_end = j + max(1, int(np.searchsorted(cells, MAX_BLOCK_CELLS, "right")))
        yield _block(side, j, k_end)
        j = k_end


def _block(side: _Side, j: int, k: int) -> _Block:
    """Alive sizes n0 · exp(log F_snap − log F_start) of the candidates, cumulated along LP."""
    cand = np.flatnonzero((side.a < k) & (side.z > j))
    cum = np.empty((k - j, len(cand) + 1))
    cum[:, 0] = 0.0
    size = cum[:, 1:]  # filled in place: one (rows × candidates) buffer
    # The same operations as a per-snapshot n0 * exp(...) masked to 0: bit-identical sizes.
    if side.closing:
        np.subtract(side.log_f_snap[j:k, None], side.log_f_start[cand], out=size)
        np.exp(size, out=size)
        size *= side.n0[cand]
    else:
        size[:] = side.n0[cand]  # == n0 * exp(0)
    r = np.arange(j, k)[:, None]
    size *= (side.a[cand] <= r) & (side.z[cand] > r)
    np.cumsum(size, axis=1, out=size)
    return _Block(slice(j, k), cand, side.pos, side.lp_alive[cand], cum)


def _search_rows(cum: np.ndarray, v: np.ndarray, hi: np.ndarray, right: bool) -> np.ndarray:
    """`np.searchsorted(cum[r, :hi[r]], v[r], side)` for every row r, as one binary search
    vectorized over rows (each row of `cum` is non-decreasing; `v` is finite)."""
    rows = np.arange(len(v))
    lo, hi = np.zeros(len(v), dtype=np.int64), hi.astype(np.int64)
    last = cum.shape[1] - 1
    while np.any(lo < hi):
        active = lo < hi
        mid = (lo + hi) // 2
        val = cum[rows, np.minimum(mid, last)]
        go_up = active & ((val <= v) if right else (val < v))
        lo = np.where(go_up, mid + 1, lo)
        hi = np.where(active & ~go_up, mid, hi)
    return lo


def _long_metrics(
    side: _Side, spots: np.ndarray, q: float, bands: tuple[float, ...]
) -> dict[str, np.ndarray]:
    """Longs: LP < spot, band [spot(1-b), spot); floor = q-point walking down from spot."""
    m = len(spots)
    keys = ("total", "level", *(f"band{b}" for b in range(len(bands))))
    out = {k: np.full(m, np.nan) for k in keys}
    for bl in _blocks(side):
        spot, rows = spots[bl.rows], np.arange(m)[bl.rows]
        i_spot = np.searchsorted(bl.lp, spot, side="left")
        i_full = np.searchsorted(side.lp, spot, side="left")
        longs = bl.at(i_spot)
        out["total"][rows] = longs
        for b, pct in enumerate(bands):
            i_lo = np.searchsorted(bl.lp, spot * (1.0 - pct), side="left")
            out[f"band{b}"][rows] = longs - bl.at(np.minimum(i_lo, i_spot))
        # Last prefix <= (1-q)·longs. Below i_spot it ends at a candidate, which maps to its
        # full position; "all prefixes up to spot" maps to the full spot position.
        k = _search_rows(bl.cum, (1.0 - q) * longs, i_spot + 1, right=True) - 1
        k_full = np.where(k < i_spot, bl.full_pos(k), i_full)
        has = longs > 0
        pick = np.minimum(np.maximum(k_full[has], 0), i_full[has] - 1)
        out["level"][rows[has]] = side.lp[pick]
    return out


def _short_metrics(
    side: _Side, spots: np.ndarray, q: float, bands: tuple[float, ...]
) -> dict[str, np.ndarray]:
    """Shorts: LP > spot, band (spot, spot(1+b)]; ceiling = q-point walking up from spot."""
    m = len(spots)
    keys = ("total", "level", *(f"band{b}" for b in range(len(bands))))
    out = {k: np.full(m, np.nan) for k in keys}
    for bl in _blocks(side):
        spot, rows = spots[bl.rows], np.arange(m)[bl.rows]
        i_spot = np.searchsorted(bl.lp, spot, side="right")
        i_full = np.searchsorted(side.lp, spot, side="right")
        below = bl.at(i_spot)
        shorts = bl.cum[:, -1] - below
        out["total"][rows] = shorts
        for b, pct in enumerate(bands):
            i_hi = np.searchsorted(bl.lp, spot * (1.0 + pct), side="right")
            out[f"band{b}"][rows] = bl.at(np.maximum(i_hi, i_spot)) - below
        # First prefix >= target. Prefix i > 0 of the candidates equals the full prefix just
        # after candidate i-1; "none" maps to one past the full end.
        n_cand = len(bl.cand)
        first = _search_rows(bl.cum, below + q * shorts, np.full(len(spot), n_cand + 1), False)
        after = bl.full_pos(first - 1) + 1
        first_full = np.where(first == 0, 0, np.where(first > n_cand, len(side.lp) + 1, after))
        has = shorts > 0
        pick = np.minimum(np.maximum(first_full[has] - 1, i_full[has]), len(side.lp) - 1)
        out["level"][rows[has]] = side.lp[pick]
    return out


def _unsort(res: dict[str, np.ndarray], order: np.ndarray) -> dict[str, np.ndarray]:
    """Rows computed for snaps[order] back in the caller's snapshot order."""
    out = {}
    for key, vals in res.items():
        out[key] = np.empty_like(vals)
        out[key][order] = vals
    return out


def peak_clusters(grid: Grid | None, m: int) -> dict[str, np.ndarray]:
    """Centre and notional of the heaviest bin per snapshot and side (NaN when empty)."""
    out = {}
    sides = {"long": grid.long, "short": grid.short} if grid is not None else {}
    for key in ("long", "short"):
        price, notional = np.full(m, np.nan), np.full(m, np.nan)
        if grid is not None and grid.n_bins:
            vals = sides[key]
            k = np.argmax(vals, axis=1)
            top = vals[np.arange(m), k]
            has = vals.max(axis=1) > 0
            price[has] = (grid.bin_lo + k[has] + 0.5) * grid.bin_size
            notional[has] = top[has]
        out[f"peak_cluster_{key}"] = price
        out[f"peak_cluster_{key}_notional"] = notional
    return out


def shorts_per_long(shorts: np.ndarray, longs: np.ndarray) -> np.ndarray:
    """shorts ÷ longs where both sides hold notional, else NaN (the one ratio rule, for a
    market and for the aggregate's summed totals)."""
    shorts, longs = np.asarray(shorts, dtype=float), np.asarray(longs, dtype=float)
    both = (longs > 0) & (shorts > 0)
    ratio = np.full(len(shorts), np.nan)
    ratio[both] = shorts[both] / longs[both]
    return ratio


def ratio_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The imbalance columns from at-risk sums: whole map, its log, and each RATIO_BANDS
    window."""
    ratio = shorts_per_long(cols["shorts_at_risk"], cols["longs_at_risk"])
    out = {"shorts_per_long": ratio, "log_imbalance": np.log(ratio)}
    for name in RATIO_BANDS:
        out[f"shorts_per_long_{name}"] = shorts_per_long(
            cols[f"shorts_at_risk_{name}"], cols[f"longs_at_risk_{name}"]
        )
    return out


def risk_metrics(
    run: ModelRun,
    snaps: np.ndarray,
    spots: np.ndarray,
    grid: Grid | None = None,
    bands: dict[str, float] | None = None,
    orders: dict | None = None,
    *,
    arrays: bool = False,
) -> pd.DataFrame | dict[str, np.ndarray]:
    """One row per snapshot bar (RISK_COLUMNS + NEAR_COLUMNS; with `arrays`, the columns
    as a dict of arrays, no frame):
    at-risk totals, near-spot bands (NEAR_BANDS; `bands` only overrides their widths, for
    tests), imbalances (shorts per long: whole map and within each RATIO_BANDS window),
    squeeze ceiling / flush floor (both sides, never one picked by weight), peak clusters.
    `spots[i]` is the reference price (the day's last close).
    `orders`: a dict shared by the calls for one market's scenarios (see `_lp_order`)."""
    snaps = np.asarray(snaps, dtype=np.int64)
    spots = np.asarray(spots, dtype=float)
    if len(snaps) != len(spots):
        raise ValueError("snaps and spots must have the same length")
    m = len(snaps)
    columns = RISK_COLUMNS + NEAR_COLUMNS
    if m == 0:
        return (
            {c: np.zeros(0, dtype=object) for c in columns}
            if arrays
            else pd.DataFrame([], columns=columns)
        )
    bands = bands or NEAR_BANDS
    if list(bands) != list(NEAR_BANDS):
        raise ValueError(f"bands must name {list(NEAR_BANDS)}, got {list(bands)}")
    q, widths = run.params.ceiling_quantile, tuple(bands.values())
    # Blocks need ascending snapshots: compute in sorted order, then put rows back.
    order = np.argsort(snaps, kind="stable")
    longs = _Side.of(run, LONG, snaps[order], orders)
    shorts = _Side.of(run, -LONG, snaps[order], orders)
    lo = _unsort(_long_metrics(longs, spots[order], q, widths), order)
    sh = _unsort(_short_metrics(shorts, spots[order], q, widths), order)
    cols = {"longs_at_risk": lo["total"], "shorts_at_risk": sh["total"]}
    for b, name in enumerate(bands):
        cols[f"longs_at_risk_{name}"] = lo[f"band{b}"]
        cols[f"shorts_at_risk_{name}"] = sh[f"band{b}"]
    cols.update(ratio_columns(cols))
    cols["squeeze_ceiling"] = sh["level"]
    cols["flush_floor"] = lo["level"]
    cols.update(peak_clusters(grid, m))
    return {c: cols[c] for c in columns} if arrays else pd.DataFrame(cols, columns=columns)
