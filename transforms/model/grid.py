"""Alive notional on a (snapshot × price bin) grid, in O(cohorts + snapshots × bins).

A cohort contributes `n0 · F_s / F_start` to its LP bin at every snapshot bar s with
start <= s < end. The factor F_s is common to all cohorts at a snapshot, so per bin the grid
is a difference array over snapshots (add at the first snapshot the cohort is alive, subtract
at the first one it is gone) scaled by F_s. Snapshots are processed in segments with a local
reference for F so nothing overflows. A parallel integer count grid marks exactly which cells
hold at least one alive cohort, so cancellation residue never shows up as a non-zero cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transforms.model.cohorts import LONG, ModelRun

_MAX_LOG_RANGE = 600.0  # max spread of log F inside one segment (exp(600) is safe)


@dataclass
class Grid:
    """Alive notional per snapshot (rows) and price bin (columns)."""

    snaps: np.ndarray  # bar indices of the snapshots
    bin_size: float
    bin_lo: int  # bin index of column 0: price_low = (bin_lo + j) * bin_size
    long: np.ndarray
    short: np.ndarray
    long_count: np.ndarray
    short_count: np.ndarray

    @property
    def n_bins(self) -> int:
        return self.long.shape[1]

    def price_low(self) -> np.ndarray:
        return (self.bin_lo + np.arange(self.n_bins)) * self.bin_size


def bin_range_for(run: ModelRun, snaps: np.ndarray, bin_size: float) -> tuple[int, int]:
    """Bin index range [lo, hi) spanning the LPs of cohorts alive at any snapshot."""
    if len(snaps) == 0 or run.n_cohorts == 0:
        return 0, 0
    sel = (run.start <= snaps.max()) & (run.end > snaps.min())
    if not sel.any():
        return 0, 0
    b = np.floor(run.lp[sel] / bin_size)
    return int(b.min()), int(b.max()) + 1


def _segments(log_f_snaps: np.ndarray, max_len: int) -> list[tuple[int, int]]:
    segs, i, m = [], 0, len(log_f_snaps)
    while i < m:
        j = i + 1
        while j < m and j - i < max_len and log_f_snaps[i] - log_f_snaps[j] <= _MAX_LOG_RANGE:
            j += 1
        segs.append((i, j))
        i = j
    return segs


def alive_grid(
    run: ModelRun,
    snaps: np.ndarray,
    bin_size: float,
    bin_lo: int | None = None,
    bin_hi: int | None = None,
    max_segment: int = 744,
) -> Grid:
    """Alive long/short notional at each snapshot bar, binned by LP (cohorts outside the
    [bin_lo, bin_hi) range are left out)."""
    snaps = np.asarray(snaps, dtype=np.int64)
    if bin_lo is None or bin_hi is None:
        bin_lo, bin_hi = bin_range_for(run, snaps, bin_size)
    return alive_grids(run, snaps, bin_size, bin_lo, bin_hi, [None], max_segment)[0][0]


def alive_grids(
    run: ModelRun,
    snaps: np.ndarray,
    bin_size: float,
    bin_lo: int,
    bin_hi: int,
    groupings: Sequence[tuple[np.ndarray, int] | None],
    max_segment: int = 744,
) -> list[list[Grid]]:
    """`alive_grid` of several subsets of the run's cohorts on the same snapshots and bins,
    the per-cohort work (bins, snapshots alive, weights) done once. Each grouping is
    (codes, k): an int array over the cohorts naming each one's group (0..k-1; -1: in none
    of them) and k, or None (one group of every cohort); the result has one Grid per group
    of each grouping.
    A group's grid is bit for bit `alive_grid` of the run restricted to its cohorts
    (`transforms.model.layers.subset_run`): each cell adds the same cohorts' weights, in
    cohort order, with the same operations."""
    snaps = np.asarray(snaps, dtype=np.int64)
    nb = max(0, bin_hi - bin_lo)
    m = len(snaps)
    sizes = [1 if g is None else g[1] for g in groupings]
    out = [
        {
            k: np.zeros((n, m, nb), dtype=np.int64 if k.endswith("count") else float)
            for k in ("long", "short", "long_count", "short_count")
        }
        for n in sizes
    ]
    if m and nb and run.n_cohorts:
        if np.any(np.diff(snaps) < 0):
            raise ValueError("snapshots must be sorted")
        bins = np.floor(run.lp / bin_size).astype(np.int64) - bin_lo
        in_range = (bins >= 0) & (bins < nb)
        log_f = run.log_f
        for i, j in _segments(log_f[snaps], max_segment):
            seg = snaps[i:j]
            s0, s1 = seg[0], seg[-1]
            ref = log_f[s1]
            sel = np.flatnonzero(in_range & (run.start <= s1) & (run.end > s0))
            a = np.searchsorted(seg, run.start[sel], side="left")  # first snapshot alive
            z = np.searchsorted(seg, run.end[sel], side="left")  # first snapshot gone
            w = run.n0[sel] * np.exp(ref - run.log_f_open[sel])  # <= n0: no overflow
            bn = bins[sel]
            is_long = run.side[sel] == LONG
            scale = np.exp(log_f[seg] - ref)[:, None]
            rows = len(seg) + 1
            for groups, n, o in zip(groupings, sizes, out, strict=True):
                # row of (group, snapshot) in the group-major difference array
                ga = a if groups is None else groups[0][sel] * rows + a
                gz = z if groups is None else groups[0][sel] * rows + z
                size = n * rows * nb
                for key, side in (("long", is_long), ("short", ~is_long)):
                    mask = side if groups is None else side & (groups[0][sel] >= 0)
                    fa = ga[mask] * nb + bn[mask]
                    fz = gz[mask] * nb + bn[mask]
                    wm = w[mask]
                    diff = np.bincount(fa, weights=wm, minlength=size) - np.bincount(
                        fz, weights=wm, minlength=size
                    )
                    cdiff = np.bincount(fa, minlength=size) - np.bincount(fz, minlength=size)
                    vals = np.cumsum(diff.reshape(n, rows, nb)[:, :-1], axis=1) * scale
                    counts = np.cumsum(cdiff.reshape(n, rows, nb)[:, :-1], axis=1)
                    o[key][:, i:j] = np.where(counts > 0, np.maximum(vals, 0.0), 0.0)
                    o[f"{key}_count"][:, i:j] = counts
    return [
        [
            Grid(
                snaps,
                bin_size,
                bin_lo,
                *(o[k][x] for k in ("long", "short", "long_count", "short_count")),
            )
            for x in range(n)
        ]
        for n, o in zip(sizes, out, strict=True)
    ]


def window(grid: Grid, bin_lo: int, bin_hi: int) -> Grid:
    """The grid on bins [bin_lo, bin_hi): its cells there, empty cells (zero, count 0)
    outside its own bins. Bit for bit `alive_grid` over those bins on the same snapshots:
    a cell depends only on the cohorts of its own bin."""
    nb = max(0, bin_hi - bin_lo)
    m = len(grid.snaps)
    lo, hi = max(bin_lo, grid.bin_lo), min(bin_hi, grid.bin_lo + grid.n_bins)
    arrays = []
    for k in ("long", "short", "long_count", "short_count"):
        src = getattr(grid, k)
        out = np.zeros((m, nb), dtype=src.dtype)
        if hi > lo:
            out[:, lo - bin_lo : hi - bin_lo] = src[:, lo - grid.bin_lo : hi - grid.bin_lo]
        arrays.append(out)
    return Grid(grid.snaps, grid.bin_size, bin_lo, *arrays)
