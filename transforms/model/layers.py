"""Leverage layers: the model's cohorts split by the leverage tranche they were opened with.

Hyblock and Kingfisher sell "all / high / low leverage" views of their heatmaps. Our cohorts
already carry their tranche (`ModelRun.level` indexes `params.leverage_levels`), and every
cohort's size is `n0 · F_t / F_start` with one closing factor `F` shared by all cohorts, so a
layer is exactly the model run restricted to the layer's cohorts: its grids and at-risk sums
are those of the full run with the other cohorts left out, and the layers of a partition add
up to the full run bin by bin.

A cohort's layer is decided by its *nominal* tranche leverage (5x, 10x, … as in the
leverage mix), not by the bracket-capped leverage used for its liquidation price. The
layers low (≤ 10x), mid (between) and high (≥ 50x) partition every leverage, so they add up
to "all" bin by bin: no leverage is left out of every layer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.model.cohorts import LIQUIDATED, LONG, ModelRun
from transforms.model.grid import Grid, alive_grids, window

HIGH_LEVERAGE_MIN = 50.0  # "high" layer: tranches of 50x and more
LOW_LEVERAGE_MAX = 10.0  # "low" layer: tranches of 10x and less


@dataclass(frozen=True)
class LeverageBand:
    """Nominal leverage from `lo` to `hi`, each bound included unless marked open."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, lev: np.ndarray) -> np.ndarray:
        above = lev > self.lo if self.lo_open else lev >= self.lo
        below = lev < self.hi if self.hi_open else lev <= self.hi
        return above & below


# layer name -> its nominal leverage band
LAYERS: dict[str, LeverageBand] = {
    "all": LeverageBand(1.0, math.inf),
    "high": LeverageBand(HIGH_LEVERAGE_MIN, math.inf),
    "mid": LeverageBand(LOW_LEVERAGE_MAX, HIGH_LEVERAGE_MIN, lo_open=True, hi_open=True),
    "low": LeverageBand(1.0, LOW_LEVERAGE_MAX),
}
#: the layers that partition every leverage: they add up to "all"
PARTITION = ("low", "mid", "high")
LAYER_LABELS = {
    "all": "All leverage",
    "high": "High (≥ 50x)",
    "mid": "Mid (10x–50x)",
    "low": "Low (≤ 10x)",
}


def layer_mask(run: ModelRun, layer: str) -> np.ndarray:
    """Boolean mask over the run's cohorts: True for the cohorts of `layer`."""
    try:
        band = LAYERS[layer]
    except KeyError:
        raise ValueError(f"unknown leverage layer {layer!r}; known: {sorted(LAYERS)}") from None
    lev = np.asarray(run.params.leverage_levels, dtype=float)[run.level]
    return band.contains(lev)


def subset_run(run: ModelRun, mask: np.ndarray) -> ModelRun:
    """The run restricted to the cohorts in `mask`: same bars and closing factor, the per-bar
    liquidation and opening series recomputed from those cohorts only."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != run.start.shape:
        raise ValueError(f"mask must have one entry per cohort ({run.n_cohorts}), got {mask.shape}")
    start, end, side, n0 = run.start[mask], run.end[mask], run.side[mask], run.n0[mask]
    status = run.status[mask]
    n = run.n_bars
    liq = status == LIQUIDATED
    log_f_open = run.log_f_open[mask]
    size = np.where(liq, n0 * np.exp(run.log_f_before(end) - log_f_open), 0.0)
    bar = np.minimum(end, max(n - 1, 0))
    is_long = side == LONG
    new = start >= 0  # carried cohorts were opened before the run's bars

    def per_bar(idx: np.ndarray, sel: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.bincount(idx[sel], weights=w[sel], minlength=n)[:n]

    return dataclasses.replace(
        run,
        start=start,
        end=end,
        side=side,
        level=run.level[mask],
        entry=run.entry[mask],
        lp=run.lp[mask],
        n0=n0,
        status=status,
        liq_long=per_bar(bar, is_long, size),
        liq_short=per_bar(bar, ~is_long, size),
        opened_long=per_bar(start, is_long & new, n0),
        opened_short=per_bar(start, ~is_long & new, n0),
        start_ts=run.start_ts[mask],
        log_f_open=log_f_open,
    )


def layer_run(run: ModelRun, layer: str) -> ModelRun:
    """The run of one leverage layer ("all" returns `run` itself)."""
    if layer == "all":
        layer_mask(run, layer)  # validates the name
        return run
    return subset_run(run, layer_mask(run, layer))


def layer_grids(
    run: ModelRun,
    snaps: np.ndarray,
    bin_size: float,
    bin_lo: int,
    bin_hi: int,
    layers: tuple[str, ...] = tuple(LAYERS),
) -> dict[str, Grid]:
    """Alive-notional grids of each layer on the same snapshots and bins: bit for bit
    `alive_grid(layer_run(run, name), ...)`, the cohorts' common work done once (layers
    that share no cohort are binned in one pass, `alive_grids`)."""
    groupings: list[tuple[np.ndarray, int] | None] = []
    where: dict[str, tuple[int, int]] = {}  # layer -> (grouping, group)
    for name in layers:
        if name == "all":
            layer_mask(run, name)  # validates the name
            where[name] = (len(groupings), 0)
            groupings.append(None)
            continue
        mask = layer_mask(run, name)
        # the first grouping it shares no cohort with, else a new one
        free = (i for i, c in enumerate(groupings) if c is not None and not np.any(c[0][mask] >= 0))
        k = next(free, len(groupings))
        if k == len(groupings):
            groupings.append((np.full(run.n_cohorts, -1, dtype=np.int64), 0))
        codes, g = groupings[k]  # type: ignore[misc]
        codes[mask] = g
        groupings[k] = (codes, g + 1)
        where[name] = (k, g)
    grids = alive_grids(run, snaps, bin_size, bin_lo, bin_hi, groupings)
    return {name: grids[k][g] for name, (k, g) in where.items()}


def _view_grids(
    runs: Mapping[str, ModelRun],
    views: Sequence[tuple[str, str]],
    snaps: np.ndarray,
    bin_size: float,
    bin_lo: int,
    bin_hi: int,
) -> list[Grid]:
    """The grid of each (scenario, layer) view, each scenario's layers in one pass."""
    by_scenario: dict[str, list[str]] = {}
    for scenario, layer in views:
        by_scenario.setdefault(scenario, []).append(layer)
    grids = {
        (sc, layer): g
        for sc, layers in by_scenario.items()
        for layer, g in layer_grids(
            runs[sc], snaps, bin_size, bin_lo, bin_hi, tuple(layers)
        ).items()
    }
    return [grids[v] for v in views]


# ---------------------------------------------------------------- mart-shaped long frames

#: the (scenario, layer) views the report can switch between; "base"/"all" is the default
LAYER_SCENARIOS = ("base", "never_close")
LAYER_VIEWS: tuple[tuple[str, str], ...] = tuple(
    (sc, layer) for sc in LAYER_SCENARIOS for layer in LAYERS
)


def strings(values: Sequence[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The column `values[codes]` as pandas' string array, the type a frame gives a column
    of Python strings, made from the few distinct values by Arrow's take (converting each
    row's string object cost more than the rest of a mart frame)."""
    taken = pc.take(pa.array(list(values), type=pa.large_string()), pa.array(codes))
    return pd.array(taken, dtype="str")


def repeat_strings(
    values: Sequence[str], counts: Sequence[int] | int
) -> pd.api.extensions.ExtensionArray:
    """Each string repeated its count of times, as a string column (`strings`)."""
    return strings(values, np.repeat(np.arange(len(values)), counts))


def _long_columns(
    parts: Sequence[tuple[tuple[str, str], Grid, np.ndarray, dict[str, np.ndarray]]],
    key: str,
    row_keys: np.ndarray,
) -> dict[str, np.ndarray]:
    """The kept cells of each view's grid as long-format columns: `key` (the row's entry of
    `row_keys`), scenario, layer, price_low, price_high, long_notional, short_notional and
    each extra (snapshot × bin) array's cells; views one after the other, cells row-major,
    and `view` (each row's index in `parts`). Columns as arrays, one frame made by the caller
    (a frame per view cost more than the rows)."""
    cells = []
    for (_, _), grid, keep, extra in parts:
        r, c = np.nonzero(keep)
        pl = grid.price_low()
        cell = {
            key: row_keys[r],
            "price_low": pl[c],
            "price_high": pl[c] + grid.bin_size,
            "long_notional": grid.long[r, c],
            "short_notional": grid.short[r, c],
        }
        cell.update({name: arr[r, c] for name, arr in extra.items()})
        cells.append(cell)
    counts = [len(cell[key]) for cell in cells]
    views = [view for view, _, _, _ in parts]
    view = np.repeat(np.arange(len(views)), counts)
    out = {
        key: np.concatenate([cell[key] for cell in cells]),
        "view": view,
        "scenario": strings([v[0] for v in views], view),
        "layer": strings([v[1] for v in views], view),
    }
    for name in cells[0]:
        if name != key:
            out[name] = np.concatenate([cell[name] for cell in cells])
    return out


def layer_map_columns(
    runs: Mapping[str, ModelRun],
    snaps: np.ndarray,
    spots: np.ndarray,
    bin_size: float,
    window_pct: float,
    views: Sequence[tuple[str, str]] = LAYER_VIEWS,
    grids: Mapping[str, Grid] | None = None,
) -> dict[str, np.ndarray]:
    """End-of-day alive notional per price bin for every (scenario, layer) view, only bins
    within ±`window_pct` of each snapshot's spot (the liquidation map's window) and holding
    notional, as columns (arrays): snap (the snapshot's bar index), scenario, layer,
    price_low, price_high, long_notional, short_notional, long_cum_from_spot,
    short_cum_from_spot (as in `mart.liq_map`: longs liquidated if price falls from spot to
    the bin's lower edge, shorts if it rises to the upper edge), and `view`
    (`_long_columns`). `grids`: scenario -> its alive grid on `snaps` at `bin_size` over any
    bins (`alive_grid`), whose cells its 'all' view takes instead of binning the cohorts
    again (a cell depends only on its own bin's cohorts)."""
    snaps = np.asarray(snaps, dtype=np.int64)
    spots = np.asarray(spots, dtype=float)
    lo = int(np.floor(np.nanmin(spots) * (1.0 - window_pct) / bin_size))
    hi = int(np.floor(np.nanmax(spots) * (1.0 + window_pct) / bin_size)) + 1
    given = {
        (sc, "all"): window(g, lo, hi)
        for sc, g in (grids or {}).items()
        if (sc, "all") in views and g.bin_size == bin_size and np.array_equal(g.snaps, snaps)
    }
    rest = [v for v in views if v not in given]
    made = dict(zip(rest, _view_grids(runs, rest, snaps, bin_size, lo, hi), strict=True))
    parts = []
    sp = spots[:, None]
    for view in views:
        g = given[view] if view in given else made[view]
        pl = g.price_low()[None, :]
        near = (pl + bin_size > sp * (1.0 - window_pct)) & (pl < sp * (1.0 + window_pct))
        keep = near & ((g.long_count > 0) | (g.short_count > 0))
        below, above = pl < sp, pl + bin_size > sp
        long_cum = np.cumsum(np.where(below, g.long, 0.0)[:, ::-1], axis=1)[:, ::-1]
        short_cum = np.cumsum(np.where(above, g.short, 0.0), axis=1)
        cums = {
            "long_cum_from_spot": np.where(below, long_cum, 0.0),
            "short_cum_from_spot": np.where(above, short_cum, 0.0),
        }
        parts.append((view, g, keep, cums))
    return _long_columns(parts, "snap", snaps)


def layer_heat_columns(
    runs: Mapping[str, ModelRun],
    snaps: np.ndarray,
    snap_ts: np.ndarray,
    window: tuple[np.ndarray, np.ndarray],
    bin_size: float,
    views: Sequence[tuple[str, str]],
) -> dict[str, np.ndarray]:
    """Alive notional per (snapshot, price bin) for each view, bins within each snapshot's
    price `window` (low, high: its day's stored window, transforms.rules.heat_day_window)
    and holding notional, as columns (arrays): ts_ns (from `snap_ts`), scenario, layer,
    price_low, price_high, long_notional, short_notional (and `view`, `_long_columns`)."""
    snaps = np.asarray(snaps, dtype=np.int64)
    w_lo, w_hi = (np.asarray(w, dtype=float) for w in window)
    lo = int(np.floor(np.nanmin(w_lo) / bin_size))
    hi = int(np.floor(np.nanmax(w_hi) / bin_size)) + 1
    parts = []
    for view, g in zip(views, _view_grids(runs, views, snaps, bin_size, lo, hi), strict=True):
        pl = g.price_low()[None, :]
        near = (pl + bin_size > w_lo[:, None]) & (pl < w_hi[:, None])
        keep = near & ((g.long_count > 0) | (g.short_count > 0))
        parts.append((view, g, keep, {}))
    return _long_columns(parts, "ts_ns", np.asarray(snap_ts, dtype=np.int64))
