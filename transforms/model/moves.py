"""Zigzag swings on bar closes, with the modelled liquidations inside each swing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.model.cohorts import ModelRun

MOVE_COLUMNS = [
    "start_idx",
    "end_idx",
    "direction",
    "from_price",
    "to_price",
    "pct_change",
    "long_liquidated",
    "short_liquidated",
    "oi_change",
    "confirmed",
    "confirm_idx",
]


def zigzag(close: np.ndarray, pct: float) -> list[tuple[int, int, int | None]]:
    """Pivots of a close series: [(start, end, confirmed_at)].

    A swing is confirmed once price reverses by `pct` from its extreme; `confirmed_at` is the
    index of the bar whose close did that (always after `end`), so the swing is only known to
    be finished from that bar on. The last swing (from the last pivot to the running extreme)
    is unconfirmed: `confirmed_at` is None. Until the first `pct` move there is no swing.
    The result for bars [0, i] depends only on closes up to i (no look-ahead).
    """
    c = [float(x) for x in close]
    n = len(c)
    swings: list[tuple[int, int, int | None]] = []
    if n < 2:
        return swings
    up_k, dn_k = 1.0 + pct, 1.0 - pct
    hi_i = lo_i = 0
    direction = 0
    pivot = ext = 0
    for i in range(1, n):
        p = c[i]
        if direction == 0:
            if p > c[hi_i]:
                hi_i = i
            if p < c[lo_i]:
                lo_i = i
            if p >= c[lo_i] * up_k:
                direction, pivot, ext = 1, lo_i, i
            elif p <= c[hi_i] * dn_k:
                direction, pivot, ext = -1, hi_i, i
        elif direction == 1:
            if p > c[ext]:
                ext = i
            elif p <= c[ext] * dn_k:
                swings.append((pivot, ext, i))
                direction, pivot, ext = -1, ext, i
        else:
            if p < c[ext]:
                ext = i
            elif p >= c[ext] * up_k:
                swings.append((pivot, ext, i))
                direction, pivot, ext = 1, ext, i
    if direction != 0:
        swings.append((pivot, ext, None))
    return swings


def moves(run: ModelRun) -> pd.DataFrame:
    """Swings over the whole run with long/short liquidations in bars (start, end] and the
    change of open-interest value from start to end. `confirm_idx` is the bar that confirmed
    the swing (-1 for the running one)."""
    b = run.bars
    sw = zigzag(b.close, run.params.zigzag_pct)
    cl = np.concatenate([[0.0], np.cumsum(run.liq_long)])
    cs = np.concatenate([[0.0], np.cumsum(run.liq_short)])
    rows = []
    for s, e, conf_at in sw:
        fp, tp = float(b.close[s]), float(b.close[e])
        oi = b.oi_value
        rows.append(
            (
                s,
                e,
                "up" if tp > fp else "down",
                fp,
                tp,
                tp / fp - 1.0,
                float(cl[e + 1] - cl[s + 1]),
                float(cs[e + 1] - cs[s + 1]),
                float(oi[e] - oi[s]) if np.isfinite(oi[e]) and np.isfinite(oi[s]) else np.nan,
                conf_at is not None,
                -1 if conf_at is None else conf_at,
            )
        )
    return pd.DataFrame(rows, columns=MOVE_COLUMNS)
