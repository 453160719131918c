"""Per-group sums, cumulative sums and firsts on arrays, bit for bit what pandas' groupby gives.

The aggregate across venues (transforms.marts.aggregate) sums a handful of rows per group
(one per venue); a pandas groupby costs milliseconds per call in its own machinery, for
microseconds of arithmetic. These functions take integer group labels (0..n_groups-1, -1 for
a row in no group) and do the same floating-point operations in the same order as pandas'
cython kernels: `group_sum` and `group_cumsum` are Kahan-compensated sums in row order that
skip NaN (in a sum, a compensation that is not finite restarts at 0), `first` takes each
group's first non-missing value. tests/test_venue_aggregate.py compares them with pandas
on values where a plain sum differs. Bit for bit holds while a group's partial sums stay
finite: at float overflow (|sum| near 1.8e308, far beyond any notional) `group_sum` may give
inf where pandas' kernel still gives a finite value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _ranks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): the rows grouped (stable: row order within a group) and each row's
    position within its group, in that order; rows labelled -1 left out."""
    order = np.flatnonzero(labels >= 0)
    order = order[np.argsort(labels[order], kind="stable")]
    grouped = labels[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(order) else order
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    return order, rank


def group_sum(
    values: np.ndarray, labels: np.ndarray, n_groups: int, min_count: int = 0
) -> np.ndarray:
    """`DataFrame.groupby(labels).sum(min_count=min_count)` of float columns `values`
    (n_rows, k) or (n_rows,): NaN where a group has fewer than `min_count` values."""
    v = np.asarray(values, dtype=float)
    flat = v.ndim == 1
    v = v.reshape(len(v), -1)
    order, rank = _ranks(np.asarray(labels))
    total = np.zeros((n_groups, v.shape[1]))
    comp = np.zeros_like(total)
    nobs = np.zeros(total.shape, dtype=np.int64)
    for k in range(int(rank.max(initial=-1)) + 1):  # each group's k-th row at once
        rows = order[rank == k]
        g = np.asarray(labels)[rows]
        val = v[rows]
        ok = ~np.isnan(val)
        y = val - comp[g]
        t = total[g] + y
        c = t - total[g] - y
        c[~np.isfinite(c)] = 0.0
        total[g] = np.where(ok, t, total[g])
        comp[g] = np.where(ok, c, comp[g])
        nobs[g] += ok
    total[nobs < min_count] = np.nan
    return total[:, 0] if flat else total


def group_cumsum(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`Series.groupby(labels).cumsum()` of a float column: each row's Kahan sum of its
    group's values up to it (NaN rows stay NaN and add nothing)."""
    v = np.asarray(values, dtype=float)
    labels = np.asarray(labels)
    out = np.full(len(v), np.nan)
    order, rank = _ranks(labels)
    n_groups = int(labels.max(initial=-1)) + 1
    total, comp = np.zeros(n_groups), np.zeros(n_groups)
    for k in range(int(rank.max(initial=-1)) + 1):
        rows = order[rank == k]
        g = labels[rows]
        val = v[rows]
        ok = ~np.isnan(val)
        y = val - comp[g]
        t = total[g] + y
        c = t - total[g] - y  # (pandas' cumsum keeps a compensation that is not finite)
        total[g] = np.where(ok, t, total[g])
        comp[g] = np.where(ok, c, comp[g])
        out[rows] = np.where(ok, t, np.nan)
    return out


def first(values: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """`groupby(labels).first()`: each group's first non-missing value (None for a group
    without one, in an object array; NaN in a float one)."""
    values = np.asarray(values)
    labels = np.asarray(labels)
    present = (labels >= 0) & ~pd.isna(values)
    rows = np.flatnonzero(present)
    groups, at = np.unique(labels[rows], return_index=True)
    if values.dtype.kind == "f":
        out = np.full(n_groups, np.nan)
    else:
        out = np.full(n_groups, None, dtype=object)
    out[groups] = values[rows[at]]
    return out
