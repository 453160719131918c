"""The per-symbol aggregate across venues (`venue = 'all'`): sums of the markets' grids.

Each market (venue, symbol) runs the model on its own bars and tiers; the aggregate is built
from their outputs for the same window and the same price bins (DESIGN v2 §3):

* heatmap, map and layer rows: notional summed per (time, price bin); the map's cumulative
  curves are recomputed from the summed bins around the reference spot;
* at-risk totals, bands and modelled liquidations: the sum of the venues' figures (each venue's
  positions liquidate on its own mark price, so each is measured against its own spot);
* ratios, key levels, peak clusters and 90 % points: computed from the summed totals and the
  summed grid, never averaged;
* price, zone and swings: the reference venue's path (the registry's reference venue when present,
  else the first configured venue that has rows); open interest summed; funding weighted by
  open interest (CoinGlass's "OI-weighted funding").

A venue that has no rows for a day is named in `venues_missing` of that day's aggregate row, so
the aggregate is never silently smaller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from transforms.marts.build import MarketModel, _ns_to_date, day_mark_range, stable_levels
from transforms.marts.registry import (
    DAILY_METRICS_COLUMNS,
    HEATMAP_COLUMNS,
    LAYER_HEATMAP_COLUMNS,
    LAYER_MAP_COLUMNS,
    LIQ_MAP_COLUMNS,
    MOVES_COLUMNS,
    MartFrames,
)
from transforms.model.bars import BarArrays
from transforms.model.funding import FUNDING_COLUMNS, OI_COLUMNS, day_ends, funding_daily, oi_daily
from transforms.model.grid import Grid
from transforms.model.levels import LEVEL_COLUMNS, STABLE_COLUMNS
from transforms.model.metrics import NEAR_BANDS, peak_clusters, ratio_columns
from transforms.model.params import ModelParams
from transforms.model.stable_levels import PrevLevels
from transforms.model.zone import zones_daily
from transforms.venues import AGGREGATE_VENUE, reference_venue

#: daily_metrics columns that add up across venues
ADDITIVE_COLUMNS = (
    "longs_at_risk",
    "shorts_at_risk",
    *[f"{side}_at_risk_{name}" for name in NEAR_BANDS for side in ("longs", "shorts")],
    "liquidated_long_24h",
    "liquidated_short_24h",
)
_HEAT_KEYS = ["symbol", "day", "ts", "price_low", "price_high"]
_LAYER_HEAT_KEYS = ["symbol", "day", "ts", "scenario", "layer", "price_low", "price_high"]
_MAP_KEYS = ["symbol", "day", "price_low", "price_high"]
_LAYER_MAP_KEYS = ["symbol", "day", "scenario", "layer", "price_low", "price_high"]


def reference_market(models: Sequence[MarketModel]) -> MarketModel:
    """The market whose price path stands for the aggregate."""
    ref = reference_venue([m.venue for m in models])
    return next(m for m in models if m.venue == ref)


def _reference_spots(models: Sequence[MarketModel]) -> pd.Series:
    """Day -> the aggregate's spot: the reference venue's close, else the first venue's that
    has the day (the map's curves and the levels are measured from it)."""
    ref = reference_market(models).venue
    rows = pd.concat([m.frames.daily_metrics for m in models])
    rows = rows[(rows["scenario"] == "base") & rows["close_price"].notna()]
    return (
        rows.assign(_other=rows["venue"] != ref)
        .sort_values(["day", "_other"], kind="stable")
        .groupby("day")["close_price"]
        .first()
    )


def _sum_rows(frames: list[pd.DataFrame], keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Notional summed per key over the venues' rows (params_hash is the symbol's)."""
    rows = pd.concat([f for f in frames if not f.empty], ignore_index=True) if frames else None
    if rows is None or rows.empty:
        return pd.DataFrame(columns=columns)
    out = rows.groupby(keys, as_index=False, sort=True).agg(
        long_notional=("long_notional", "sum"),
        short_notional=("short_notional", "sum"),
        params_hash=("params_hash", "first"),
    )
    out["venue"] = AGGREGATE_VENUE
    return out


def _with_cumulative(rows: pd.DataFrame, spots: pd.Series, group: list[str]) -> pd.DataFrame:
    """Cumulative-from-spot curves of summed map rows, as mart.liq_map defines them: longs
    below spot summed from spot downwards, shorts above spot summed from spot upwards."""
    if rows.empty:
        return rows
    rows = rows.copy()
    rows["spot_price"] = rows["day"].map(spots).astype(float)
    below = rows["price_low"] < rows["spot_price"]
    above = rows["price_high"] > rows["spot_price"]
    rows["_long"] = rows["long_notional"].where(below, 0.0)
    rows["_short"] = rows["short_notional"].where(above, 0.0)
    rows = rows.sort_values([*group, "price_low"], kind="stable")
    desc = rows.iloc[::-1]
    long_cum = desc.groupby(group, sort=False)["_long"].cumsum().iloc[::-1]
    short_cum = rows.groupby(group, sort=False)["_short"].cumsum()
    rows["long_cum_from_spot"] = long_cum.where(below, 0.0)
    rows["short_cum_from_spot"] = short_cum.where(above, 0.0)
    return rows.drop(columns=["_long", "_short"]).reset_index(drop=True)


def aggregate_bars(models: Sequence[MarketModel]) -> BarArrays:
    """The reference path with open interest summed over the venues and funding weighted by
    each venue's open interest, bar by bar (a venue without a bar at a time is left out)."""
    ref = reference_market(models).bars
    oi = np.zeros(ref.n)
    weighted = np.zeros(ref.n)
    weight = np.zeros(ref.n)
    seen = np.zeros(ref.n, dtype=bool)
    for m in models:
        b = m.bars
        pos = np.searchsorted(b.ts, ref.ts)
        ok = pos < b.n
        ok[ok] = b.ts[pos[ok]] == ref.ts[ok]
        v = np.full(ref.n, np.nan)
        v[ok] = b.oi_value[pos[ok]]
        f = np.full(ref.n, np.nan)
        f[ok] = b.funding[pos[ok]]
        has = np.isfinite(v)
        oi[has] += v[has]
        seen |= has
        both = has & np.isfinite(f)
        weighted[both] += f[both] * v[both]
        weight[both] += v[both]
    oi_value = np.where(seen, oi, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        funding = np.where(weight > 0, weighted / weight, np.nan)
    return dataclasses.replace(
        ref, oi_value=oi_value, oi_base=oi_value / ref.close, funding=funding
    )


def _summed_grid(grids: list[tuple[np.ndarray, Grid]], days: np.ndarray) -> Grid:
    """The venues' grids summed on the union of their bins, one row per day of `days`."""
    used = [(d, g) for d, g in grids if g.n_bins]
    bin_size = grids[0][1].bin_size
    if not used:
        z = np.zeros((len(days), 0))
        return Grid(days, bin_size, 0, z, z, z.astype(np.int64), z.astype(np.int64))
    lo = min(g.bin_lo for _, g in used)
    hi = max(g.bin_lo + g.n_bins for _, g in used)
    out = {k: np.zeros((len(days), hi - lo)) for k in ("long", "short")}
    cnt = {k: np.zeros((len(days), hi - lo), dtype=np.int64) for k in ("long", "short")}
    for t_days, g in used:
        if g.bin_size != bin_size:
            raise ValueError(f"venues use different price bins ({g.bin_size} vs {bin_size})")
        rows = np.searchsorted(days, t_days)
        cols = slice(g.bin_lo - lo, g.bin_lo - lo + g.n_bins)
        for k in ("long", "short"):
            out[k][rows, cols] += getattr(g, k)
            cnt[k][rows, cols] += getattr(g, f"{k}_count")
    return Grid(days, bin_size, lo, out["long"], out["short"], cnt["long"], cnt["short"])


def _daily(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    params: ModelParams,
    bars: BarArrays,
    day_spots: pd.Series,
    prev: Mapping[str, PrevLevels],
) -> pd.DataFrame:
    ref = reference_market(models)
    parts = []
    daily = pd.concat([m.frames.daily_metrics for m in models], ignore_index=True)
    if daily.empty:
        return pd.DataFrame(columns=DAILY_METRICS_COLUMNS)
    days_ns = np.unique(np.concatenate([m.t_days for m in models]))
    day_dates = _ns_to_date(days_ns)
    # day-level context on the aggregate bars: summed OI, OI-weighted funding, reference zone
    ends_days, ends_last = day_ends(bars)
    fund = funding_daily(bars, params).reindex(days_ns)
    oi = oi_daily(bars).reindex(days_ns)
    zone = zones_daily(pd.Series(bars.close[ends_last], index=ends_days), days_ns, params)
    mark_range = day_mark_range(bars, days_ns)
    for scenario, rows in daily.groupby("scenario", sort=False):
        by_day = rows.groupby("day", sort=True)
        present = by_day["venue"].apply(lambda v: [x for x in venues if x in set(v)])
        present = present.reindex(day_dates)
        sums = by_day[list(ADDITIVE_COLUMNS)].sum(min_count=1).reindex(day_dates)
        ref_rows = rows[rows["venue"] == ref.venue].set_index("day")
        first = by_day.first().reindex(day_dates)
        spots = day_spots.reindex(day_dates)
        out = pd.DataFrame({"symbol": first["symbol"].to_numpy(), "day": day_dates})
        out["scenario"] = scenario
        out["close_price"] = spots.to_numpy()
        out["mark_price"] = (
            ref_rows["mark_price"].reindex(day_dates).fillna(first["mark_price"]).to_numpy()
        )
        for col in ADDITIVE_COLUMNS:
            out[col] = sums[col].to_numpy()
        sums_now = {col: out[col].to_numpy(dtype=float) for col in ADDITIVE_COLUMNS}
        for col, values in ratio_columns(sums_now).items():
            out[col] = values
        grid = _summed_grid(
            [(m.t_days, m.grids[scenario]) for m in models if scenario in m.grids], days_ns
        )
        levels = stable_levels(
            grid, spots.to_numpy(), oi["oi_value"].to_numpy(), mark_range, prev.get(scenario)
        )
        for col in (*LEVEL_COLUMNS, *STABLE_COLUMNS):
            out[col] = levels[col].to_numpy()
        # the aggregate's 90 % points come from the summed grid (bin edges)
        out["squeeze_ceiling"] = out["p90_above_price"]
        out["flush_floor"] = out["p90_below_price"]
        for col, values in peak_clusters(grid, len(days_ns)).items():
            out[col] = values
        for col in FUNDING_COLUMNS:
            out[col] = fund[col].to_numpy()
        for col in OI_COLUMNS:
            out[col] = oi[col].to_numpy()
        out["zone_low"] = zone["zone_low"].to_numpy()
        out["zone_high"] = zone["zone_high"].to_numpy()
        out["zone_days"] = zone["zone_days"].to_numpy().astype("int64")
        out["history_days"] = by_day["history_days"].min().reindex(day_dates).to_numpy()
        out["params_hash"] = first["params_hash"].to_numpy()
        out["venue"] = AGGREGATE_VENUE
        out["venues"] = [",".join(v) for v in present]
        out["venues_missing"] = [",".join(x for x in venues if x not in v) for v in present]
        parts.append(out[DAILY_METRICS_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _moves(models: Sequence[MarketModel], bars: BarArrays) -> pd.DataFrame:
    """The reference venue's swings with every venue's modelled liquidations inside the same
    span (bars after start_ts up to end_ts) and the summed open-interest change."""
    ref = reference_market(models)
    mv = ref.frames.moves
    if mv.empty:
        return pd.DataFrame(columns=MOVES_COLUMNS)
    start = pd.to_datetime(mv["start_ts"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    end = pd.to_datetime(mv["end_ts"]).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    long_liq = np.zeros(len(mv))
    short_liq = np.zeros(len(mv))
    for m in models:
        if m.base is None:
            continue
        ts = m.bars.ts
        cl = np.concatenate([[0.0], np.cumsum(m.base.liq_long)])
        cs = np.concatenate([[0.0], np.cumsum(m.base.liq_short)])
        a = np.searchsorted(ts, start, side="right")
        z = np.searchsorted(ts, end, side="right")
        long_liq += cl[z] - cl[a]
        short_liq += cs[z] - cs[a]
    i0 = np.clip(np.searchsorted(bars.ts, start), 0, bars.n - 1)
    i1 = np.clip(np.searchsorted(bars.ts, end), 0, bars.n - 1)
    out = mv.copy()
    out["long_liquidated"] = long_liq
    out["short_liquidated"] = short_liq
    out["oi_change"] = bars.oi_value[i1] - bars.oi_value[i0]
    out["venue"] = AGGREGATE_VENUE
    return out[MOVES_COLUMNS]


def aggregate_markets(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    params: ModelParams,
    prev: Mapping[str, PrevLevels] | None = None,
) -> MartFrames:
    """The 'all' rows of one symbol for a window from its markets' outputs (module doc).
    `venues` is the configured list (its order and the names a missing venue is reported by);
    `params` the symbol's model parameters (the same for every venue); `prev` scenario -> the
    aggregate's stored day before the window (the key levels' hysteresis starts from it)."""
    if not models:
        raise ValueError("no market to aggregate")
    bars = aggregate_bars(models)
    ref = reference_market(models)
    frames = [m.frames for m in models]
    day_spots = _reference_spots(models)
    liq_map = _with_cumulative(
        _sum_rows([f.liq_map for f in frames], _MAP_KEYS, LIQ_MAP_COLUMNS), day_spots, ["day"]
    )
    layer_map = _with_cumulative(
        _sum_rows([f.liq_layer_map for f in frames], _LAYER_MAP_KEYS, LAYER_MAP_COLUMNS),
        day_spots,
        ["day", "scenario", "layer"],
    )
    return MartFrames(
        liq_heatmap=_sum_rows([f.liq_heatmap for f in frames], _HEAT_KEYS, HEATMAP_COLUMNS)[
            HEATMAP_COLUMNS
        ],
        liq_map=liq_map.reindex(columns=LIQ_MAP_COLUMNS),
        liq_layer_map=layer_map.reindex(columns=LAYER_MAP_COLUMNS),
        liq_layer_heatmap=_sum_rows(
            [f.liq_layer_heatmap for f in frames], _LAYER_HEAT_KEYS, LAYER_HEATMAP_COLUMNS
        )[LAYER_HEATMAP_COLUMNS],
        daily_metrics=_daily(models, venues, params, bars, day_spots, prev or {}),
        moves=_moves(models, bars),
        model_params=ref.frames.model_params,
    )
