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
the aggregate is never silently smaller; a forward-collected venue that was not collected that
day (before its first collected day, or a gap) is named in `venues_not_collected` instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from transforms.marts.build import (
    MarketModel,
    _moves_frame,
    _ns_to_date,
    day_mark_range,
    stable_levels,
)
from transforms.marts.registry import (
    DAILY_METRICS_COLUMNS,
    HEATMAP_COLUMNS,
    LAYER_HEATMAP_COLUMNS,
    LAYER_MAP_COLUMNS,
    LIQ_MAP_COLUMNS,
    MartFrames,
)
from transforms.model.bars import NS_PER_DAY, BarArrays
from transforms.model.context import ContextCarry, day_context
from transforms.model.funding import FUNDING_COLUMNS, OI_COLUMNS
from transforms.model.grid import Grid
from transforms.model.levels import LEVEL_COLUMNS, STABLE_COLUMNS
from transforms.model.metrics import NEAR_BANDS, peak_clusters, ratio_columns
from transforms.model.moves import ZigzagCarry, advance_zigzag, cumulative
from transforms.model.params import ModelParams
from transforms.model.stable_levels import PrevLevels
from transforms.model.state import MarketState
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
    filled = [f for f in frames if not f.empty]
    rows = pd.concat(filled, ignore_index=True) if filled else None
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
    day_days: pd.DataFrame,
    day_spots: pd.Series,
    not_collected: Mapping[str, date | None],
    bars: BarArrays,
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
    context = day_days.reindex(days_ns)
    mark_range = day_mark_range(bars, days_ns)
    for scenario, rows in daily.groupby("scenario", sort=False):
        by_day = rows.groupby("day", sort=True)
        present = by_day["venue"].apply(lambda v: [x for x in venues if x in set(v)])
        present = present.reindex(day_dates)
        sums = by_day[list(ADDITIVE_COLUMNS)].sum(min_count=1).reindex(day_dates)
        ref_rows = rows.loc[rows["venue"] == ref.venue, ["day", "mark_price"]].set_index("day")
        # only the columns read below (a first() of every column costs more than the rest)
        first = by_day[["symbol", "mark_price", "params_hash"]].first().reindex(day_dates)
        spots = day_spots.reindex(day_dates)
        # columns collected as arrays, one DataFrame at the end (column inserts were slow)
        out: dict[str, object] = {"symbol": first["symbol"].to_numpy(), "day": day_dates}
        out["scenario"] = scenario
        out["close_price"] = spots.to_numpy()
        out["mark_price"] = (
            ref_rows["mark_price"].reindex(day_dates).fillna(first["mark_price"]).to_numpy()
        )
        for col in ADDITIVE_COLUMNS:
            out[col] = sums[col].to_numpy()
        sums_now = {col: np.asarray(out[col], dtype=float) for col in ADDITIVE_COLUMNS}
        for col, values in ratio_columns(sums_now).items():
            out[col] = values
        grid = _summed_grid(
            [(m.t_days, m.grids[scenario]) for m in models if scenario in m.grids], days_ns
        )
        levels = stable_levels(
            grid, spots.to_numpy(), context["oi_value"].to_numpy(), mark_range, prev.get(scenario)
        )
        for col in (*LEVEL_COLUMNS, *STABLE_COLUMNS):
            out[col] = levels[col].to_numpy()
        # the aggregate's 90 % points come from the summed grid (bin edges)
        out["squeeze_ceiling"] = out["p90_above_price"]
        out["flush_floor"] = out["p90_below_price"]
        for col, values in peak_clusters(grid, len(days_ns)).items():
            out[col] = values
        for col in (*FUNDING_COLUMNS, *OI_COLUMNS, "zone_low", "zone_high"):
            out[col] = context[col].to_numpy()
        out["zone_days"] = context["zone_days"].to_numpy().astype("int64")
        out["history_days"] = by_day["history_days"].min().reindex(day_dates).to_numpy()
        out["params_hash"] = first["params_hash"].to_numpy()
        out["venue"] = AGGREGATE_VENUE
        out["venues"] = [",".join(v) for v in present]
        absent = [[x for x in venues if x not in v] for v in present]
        late = [
            [x for x in a if x in not_collected and _before(d, not_collected[x])]
            for a, d in zip(absent, day_dates, strict=True)
        ]
        out["venues_missing"] = [
            ",".join(x for x in a if x not in n) for a, n in zip(absent, late, strict=True)
        ]
        out["venues_not_collected"] = [",".join(n) for n in late]
        notes = _history_notes(rows, venues).reindex(day_dates).fillna("")
        out["history_incomplete"] = notes.to_numpy(dtype=object)
        parts.append(pd.DataFrame(out, index=pd.RangeIndex(len(day_dates)))[DAILY_METRICS_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def _history_notes(rows: pd.DataFrame, venues: Sequence[str]) -> pd.Series:
    """Day -> the venues' history notes ('bybit: history incomplete: … missing'; '; '-joined
    in configured order)."""
    noted = rows["history_incomplete"].fillna("") != ""
    if not noted.any():
        return pd.Series(dtype=object)
    notes = rows.loc[noted, ["day", "venue", "history_incomplete"]]
    order = {v: i for i, v in enumerate(venues)}
    notes = notes.assign(_o=notes["venue"].map(order)).sort_values(["day", "_o"], kind="stable")
    text = notes["venue"] + ": " + notes["history_incomplete"]
    return text.groupby(notes["day"], sort=True).agg("; ".join)


def _moves(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    bars: BarArrays,
    state: MarketState,
    symbol: str,
    end_ns: int,
    phash: str,
) -> tuple[pd.DataFrame, ZigzagCarry, dict[str, tuple[float, float]]]:
    """The reference path's swings with every venue's modelled liquidations inside the same
    span (bars after start_ts up to end_ts) and the summed open-interest change; the zigzag
    carries each configured venue's cumulative liquidations at its points (a venue without
    bars in this run keeps its last total, so it adds nothing to a swing meanwhile)."""
    by_venue = {m.venue: m for m in models}
    cums = dict(state.venue_cum)
    columns = []
    for venue in venues:
        m = by_venue.get(venue)
        if m is None or m.base is None:
            last = cums.get(venue, (0.0, 0.0))
            columns += [np.full(bars.n, last[0]), np.full(bars.n, last[1])]
            continue
        cl = np.concatenate([[m.cum_prev[0]], cumulative(m.cum_prev[0], m.base.liq_long)])
        cs = np.concatenate([[m.cum_prev[1]], cumulative(m.cum_prev[1], m.base.liq_short)])
        at = np.searchsorted(m.bars.ts, bars.ts, side="right")
        columns += [cl[at], cs[at]]
        cums[venue] = (float(cl[-1]), float(cs[-1]))
    values = (
        np.column_stack([*columns, bars.oi_value]) if bars.n else np.zeros((0, 2 * len(venues) + 1))
    )
    zz = state.zigzag if state.zigzag.n_values == values.shape[1] else ZigzagCarry(values.shape[1])
    frame, carry = advance_zigzag(
        zz, bars.ts, bars.close, values, reference_params(models).zigzag_pct
    )
    sv, ev = frame.attrs["start_values"], frame.attrs["end_values"]
    rows = pd.DataFrame(
        {
            "start_ts": frame["start_ts"],
            "end_ts": frame["end_ts"],
            "from_price": frame["from_price"],
            "to_price": frame["to_price"],
            "confirmed": frame["confirmed"],
            "confirm_ts": frame["confirm_ts"],
        }
    )
    fp, tp = rows["from_price"].to_numpy(), rows["to_price"].to_numpy()
    long_liq, short_liq = np.zeros(len(rows)), np.zeros(len(rows))
    for k, venue in enumerate(venues):
        if venue in by_venue:
            long_liq += ev[:, 2 * k] - sv[:, 2 * k]
            short_liq += ev[:, 2 * k + 1] - sv[:, 2 * k + 1]
    rows["direction"] = np.where(tp > fp, "up", "down")
    rows["pct_change"] = tp / fp - 1.0
    rows["long_liquidated"] = long_liq
    rows["short_liquidated"] = short_liq
    rows["oi_change"] = ev[:, -1] - sv[:, -1]
    return _moves_frame(rows, symbol, end_ns, phash, AGGREGATE_VENUE), carry, cums


def reference_params(models: Sequence[MarketModel]) -> ModelParams:
    """The base parameters the markets were modelled with (the same for every venue)."""
    m = reference_market(models)
    return m.base.params if m.base is not None else ModelParams()


def _before(day: date, first: date | None) -> bool:
    """True when `day` was not collected for a venue whose first collected day is `first`
    (None: not collected in the window at all)."""
    return first is None or day < first


def aggregate_markets(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    params: ModelParams,
    not_collected: Mapping[str, date | None] | None = None,
    prev: Mapping[str, PrevLevels] | None = None,
) -> MartFrames:
    """The 'all' rows of one symbol for a window from its markets' outputs (module doc).
    `venues` is the configured list (its order and the names a missing venue is reported by);
    `params` the symbol's model parameters (the same for every venue); `not_collected` maps a
    forward-collected venue to its first collected day in the window (None: none), so the
    days before are named not collected rather than missing; `prev` scenario -> the
    aggregate's stored day before the window (the key levels' hysteresis starts from it).
    The models must have been built from each market's first bar (else use
    `aggregate_with_state`)."""
    return aggregate_with_state(models, venues, params, not_collected=not_collected, prev=prev)[0]


def aggregate_with_state(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    params: ModelParams,
    state: MarketState | None = None,
    end: date | None = None,
    not_collected: Mapping[str, date | None] | None = None,
    prev: Mapping[str, PrevLevels] | None = None,
) -> tuple[MartFrames, MarketState]:
    """`aggregate_markets` continuing the aggregate's own state (its day-level quantities
    and zigzag, at the end of the bar before the models' bars), and the state after them.
    `end` is the window's end (exclusive); default: the day after the models' last day."""
    if not models:
        raise ValueError("no market to aggregate")
    before = state if state is not None else MarketState.empty()
    bars = aggregate_bars(models)
    day_days, context = day_context(bars, params, before.context)
    days_ns = np.unique(np.concatenate([m.t_days for m in models]))
    end_ns = (
        int(pd.Timestamp(end).value)
        if end is not None
        else (int(days_ns[-1]) + NS_PER_DAY if len(days_ns) else 0)
    )
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
    base_hash = ref.base.params.params_hash() if ref.base is not None else ""
    moves, zigzag, cums = _moves(models, venues, bars, before, ref.symbol, end_ns, base_hash)
    frames = MartFrames(
        liq_heatmap=_sum_rows([f.liq_heatmap for f in frames], _HEAT_KEYS, HEATMAP_COLUMNS)[
            HEATMAP_COLUMNS
        ],
        liq_map=liq_map.reindex(columns=LIQ_MAP_COLUMNS),
        liq_layer_map=layer_map.reindex(columns=LAYER_MAP_COLUMNS),
        liq_layer_heatmap=_sum_rows(
            [f.liq_layer_heatmap for f in frames], _LAYER_HEAT_KEYS, LAYER_HEATMAP_COLUMNS
        )[LAYER_HEATMAP_COLUMNS],
        daily_metrics=_daily(
            models, venues, day_days, day_spots, not_collected or {}, bars, prev or {}
        ),
        moves=moves,
        model_params=ref.frames.model_params,
    )
    return frames, _state_after(before, bars, context, zigzag, cums)


def aggregate_state(
    models: Sequence[MarketModel],
    venues: Sequence[str],
    params: ModelParams,
    state: MarketState | None = None,
) -> MarketState:
    """The aggregate's state after the models' bars (as `aggregate_with_state` gives it),
    without its frames: the models may come from `transforms.marts.build.advance_market`."""
    if not models:
        raise ValueError("no market to aggregate")
    before = state if state is not None else MarketState.empty()
    bars = aggregate_bars(models)
    _, context = day_context(bars, params, before.context)
    ref = reference_market(models)
    _, zigzag, cums = _moves(models, venues, bars, before, ref.symbol, 0, "")
    return _state_after(before, bars, context, zigzag, cums)


def _state_after(
    before: MarketState,
    bars: BarArrays,
    context: ContextCarry,
    zigzag: ZigzagCarry,
    cums: dict[str, tuple[float, float]],
) -> MarketState:
    return MarketState(
        context=context,
        zigzag=zigzag,
        oi_value_last=float(bars.oi_value[-1]) if bars.n else before.oi_value_last,
        venue_cum=cums,
    )
