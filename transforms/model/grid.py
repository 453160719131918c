"""Alive notional on a (snapshot × price bin) grid, in O(cohorts + snapshots × bins).

A cohort contributes `n0 · F_s / F_start` to its LP bin at every snapshot bar s with
start <= s < end. The factor F_s is common to all cohorts at a snapshot, so per bin the grid
is a difference array over snapshots (add at the first snapshot the cohort is alive, subtract
at the first one it is gone) scaled by F_s. Snapshots are processed in segments with a local
reference for F so nothing overflows. A parallel integer count grid marks exactly which cells
hold at least one alive cohort, so cancellation residue never shows up as a non-zero cell.
"""

from __future__ import annotations

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
    nb = max(0, bin_hi - bin_lo)
    m = len(snaps)
    out = {k: np.zeros((m, nb)) for k in ("long", "short")}
    cnt = {k: np.zeros((m, nb), dtype=np.int64) for k in ("long", "short")}
    if m == 0 or nb == 0 or run.n_cohorts == 0:
        return Grid(snaps, bin_size, bin_lo, out["long"], out["short"], cnt["long"], cnt["short"])
    if np.any(np.diff(snaps) < 0):
        raise ValueError("snapshots must be sorted")
    bins = np.floor(run.lp / bin_size).astype(np.int64) - bin_lo
    in_range = (bins >= 0) & (bins < nb)
    log_f = run.log_f
    for i, j in _segments(log_f[snaps], max_segment):
        seg = snaps[i:j]
        s0, s1 = seg[0], seg[-1]
        ref = log_f[s1]
        sel = in_range & (run.start <= s1) & (run.end > s0)
        st, en = run.start[sel], run.end[sel]
        a = np.searchsorted(seg, st, side="left")  # first snapshot where alive
        z = np.searchsorted(seg, en, side="left")  # first snapshot where gone
        w = run.n0[sel] * np.exp(ref - run.log_f_open[sel])  # <= n0: no overflow
        bn = bins[sel]
        is_long = run.side[sel] == LONG
        size = (len(seg) + 1) * nb
        scale = np.exp(log_f[seg] - ref)[:, None]
        for key, mask in (("long", is_long), ("short", ~is_long)):
            fa = a[mask] * nb + bn[mask]
            fz = z[mask] * nb + bn[mask]
            wm = w[mask]
            diff = np.bincount(fa, weights=wm, minlength=size) - np.bincount(
                fz, weights=wm, minlength=size
            )
            cdiff = np.bincount(fa, minlength=size) - np.bincount(fz, minlength=size)
            vals = np.cumsum(diff.reshape(len(seg) + 1, nb)[:-1], axis=0) * scale
            counts = np.cumsum(cdiff.reshape(len(seg) + 1, nb)[:-1], axis=0)
            vals = np.where(counts > 0, np.maximum(vals, 0.0), 0.0)
            out[key][i:j] = vals
            cnt[key][i:j] = counts
    return Grid(snaps, bin_size, bin_lo, out["long"], out["short"], cnt["long"], cnt["short"])
