"""Exact at-risk metrics per snapshot from the alive cohorts.

Cohorts of each side are sorted by liquidation price once; per snapshot one masked cumulative
sum answers every range question with `searchsorted`: totals below/above spot, the ±band
totals and the 90 % cumulative point. Peak clusters come from the binned grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.model.aggregate import Grid
from transforms.model.cohorts import LONG, ModelRun

RISK_COLUMNS = [
    "longs_at_risk",
    "shorts_at_risk",
    "longs_at_risk_10pct",
    "shorts_at_risk_10pct",
    "longs_at_risk_25pct",
    "shorts_at_risk_25pct",
    "imbalance_ratio",
    "log_imbalance",
    "squeeze_ceiling",
    "flush_floor",
    "max_pain_price",
    "max_pain_side",
    "peak_cluster_long",
    "peak_cluster_short",
    "peak_cluster_long_notional",
    "peak_cluster_short_notional",
]


def imbalance(shorts: float, longs: float) -> tuple[float, float]:
    """(shorts / longs, ln of it); NaN when either side is empty."""
    if not (longs > 0 and shorts > 0):
        return float("nan"), float("nan")
    r = shorts / longs
    return r, float(np.log(r))


def risk_metrics(
    run: ModelRun, snaps: np.ndarray, spots: np.ndarray, grid: Grid | None = None
) -> pd.DataFrame:
    """One row per snapshot bar: at-risk totals, bands, imbalance, ceiling/floor, max pain,
    peak clusters. `spots[i]` is the reference price (the day's last close)."""
    p = run.params
    q = p.ceiling_quantile
    b1, b2 = p.band_pcts
    log_f = run.log_f
    sides = {}
    for key, sgn in (("long", LONG), ("short", -LONG)):
        idx = np.flatnonzero(run.side == sgn)
        order = idx[np.argsort(run.lp[idx], kind="stable")]
        sides[key] = (
            run.lp[order],
            run.start[order],
            run.end[order],
            run.n0[order],
            log_f[run.start[order]] if len(order) else np.zeros(0),
        )
    rows = []
    for j, (s, spot) in enumerate(zip(np.asarray(snaps), np.asarray(spots), strict=True)):
        row: dict[str, object] = {}
        cs = {}
        for key, (lp, st, en, n0, lfs) in sides.items():
            alive = (st <= s) & (en > s)
            w = np.where(alive, n0 * np.exp(np.where(alive, log_f[s] - lfs, 0.0)), 0.0)
            cs[key] = (lp, np.concatenate([[0.0], np.cumsum(w)]))
        # Longs: LP < spot, band [spot(1-b), spot); floor = q-point walking down from spot.
        lp, c = cs["long"]
        i_spot = int(np.searchsorted(lp, spot, side="left"))
        longs = float(c[i_spot])
        row["longs_at_risk"] = longs
        for pct, name in ((b1, "longs_at_risk_10pct"), (b2, "longs_at_risk_25pct")):
            i_lo = int(np.searchsorted(lp, spot * (1.0 - pct), side="left"))
            row[name] = float(c[i_spot] - c[min(i_lo, i_spot)])
        if longs > 0:
            k = int(np.searchsorted(c[: i_spot + 1], (1.0 - q) * longs, side="right")) - 1
            row["flush_floor"] = float(lp[min(max(k, 0), i_spot - 1)])
        else:
            row["flush_floor"] = float("nan")
        # Shorts: LP > spot, band (spot, spot(1+b)]; ceiling = q-point walking up from spot.
        lp, c = cs["short"]
        i_spot = int(np.searchsorted(lp, spot, side="right"))
        shorts = float(c[-1] - c[i_spot])
        row["shorts_at_risk"] = shorts
        for pct, name in ((b1, "shorts_at_risk_10pct"), (b2, "shorts_at_risk_25pct")):
            i_hi = int(np.searchsorted(lp, spot * (1.0 + pct), side="right"))
            row[name] = float(c[max(i_hi, i_spot)] - c[i_spot])
        if shorts > 0:
            k = int(np.searchsorted(c, c[i_spot] + q * shorts, side="left")) - 1
            row["squeeze_ceiling"] = float(lp[min(max(k, i_spot), len(lp) - 1)])
        else:
            row["squeeze_ceiling"] = float("nan")
        row["imbalance_ratio"], row["log_imbalance"] = imbalance(shorts, longs)
        if shorts == 0 and longs == 0:
            row["max_pain_price"], row["max_pain_side"] = float("nan"), None
        elif shorts >= longs:
            row["max_pain_price"], row["max_pain_side"] = row["squeeze_ceiling"], "short"
        else:
            row["max_pain_price"], row["max_pain_side"] = row["flush_floor"], "long"
        for key in ("long", "short"):
            price, notional = float("nan"), float("nan")
            if grid is not None and grid.n_bins:
                vals = getattr(grid, key)[j]
                if vals.max() > 0:
                    k = int(np.argmax(vals))
                    price = (grid.bin_lo + k + 0.5) * grid.bin_size
                    notional = float(vals[k])
            row[f"peak_cluster_{key}"] = price
            row[f"peak_cluster_{key}_notional"] = notional
        rows.append(row)
    return pd.DataFrame(rows, columns=RISK_COLUMNS)
