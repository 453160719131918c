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
import pyarrow as pa
import pyarrow.compute as pc

from transforms.marts import group_sums
from transforms.marts.build import (
    MarketModel,
    _frame,
    _moves_frame,
    _ns_to_date,
    day_mark_range,
    stable_level_columns,
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
from transforms.model.layers import repeat_strings, strings
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


def _reference_spots(models: Sequence[MarketModel]) -> dict[date, float]:
    """Day -> the aggregate's spot: the reference venue's close, else the first venue's that
    has the day (the map's curves and the levels are measured from it)."""
    ref = reference_market(models).venue
    spots: dict[date, float] = {}
    others: dict[date, float] = {}
    for m in models:
        rows = m.frames.daily_metrics
        if rows.empty:
            continue
        base = (rows["scenario"] == "base").to_numpy()
        close = rows["close_price"].to_numpy(dtype=float)[base]
        for d, c in zip(rows["day"].to_numpy()[base], close, strict=True):
            if not np.isnan(c):
                (spots if m.venue == ref else others).setdefault(d, float(c))
    return {d: spots.get(d, others.get(d)) for d in sorted({*spots, *others})}  # type: ignore[misc]


def _columns(frames: Sequence[pd.DataFrame], names: Sequence[str]) -> dict[str, np.ndarray]:
    """The frames' columns as arrays, their rows one frame after the other."""
    return {c: np.concatenate([f[c].to_numpy() for f in frames]) for c in names}


def _coded(frames: Sequence[pd.DataFrame], name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A string column of the frames (rows one frame after the other) as (codes, values):
    `values` its distinct strings in ascending order (an object array), `codes` each row's
    place in them (-1: missing), as `pd.factorize(sort=True)` gives them, from Arrow's
    dictionary encoding (no string object per row). None unless every frame's column is a
    string column."""
    if not all(isinstance(f[name].dtype, pd.StringDtype) for f in frames):
        return None
    chunks = []
    for f in frames:
        a = pa.array(f[name].array)
        chunks.extend(a.chunks if isinstance(a, pa.ChunkedArray) else [a])
    encoded = pc.dictionary_encode(
        pa.chunked_array(chunks, type=pa.large_string()).combine_chunks()
    )
    found = encoded.dictionary.to_pylist()
    rank = np.empty(len(found), dtype=np.int64)
    rank[sorted(range(len(found)), key=found.__getitem__)] = np.arange(len(found))
    idx = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.where(idx >= 0, rank[np.maximum(idx, 0)], -1)
    return codes, np.array(sorted(found), dtype=object)


def _group_labels(
    keys: Sequence[np.ndarray | tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """(labels, firsts, coded) of rows grouped by the key columns (arrays, or `_coded`
    string columns), as pandas' groupby(sort=True) numbers them: groups in ascending key
    order (strings and dates by value), -1 for a row with a missing key; `firsts` each
    group's first row; `coded` the (codes, values) of each key that is neither float nor
    datetime, by position."""
    n = len(keys[0][0] if isinstance(keys[0], tuple) else keys[0])
    valid = np.ones(n, dtype=bool)
    sortable = []
    coded = {}
    for i, a in enumerate(keys):
        if isinstance(a, tuple):
            valid &= a[0] >= 0
            sortable.append(a[0])
            coded[i] = a
        elif a.dtype.kind == "f":
            valid &= ~np.isnan(a)
            sortable.append(a)
        elif a.dtype.kind == "M":
            valid &= ~np.isnat(a)
            sortable.append(a.view(np.int64))
        else:
            codes, values = pd.factorize(a, sort=True)
            valid &= codes >= 0
            sortable.append(codes)
            coded[i] = (codes, np.asarray(values, dtype=object))
    rows = np.flatnonzero(valid)
    order = rows[np.lexsort([k[rows] for k in reversed(sortable)])]  # stable
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for k in sortable:
        s = k[order]
        new[1:] |= s[1:] != s[:-1]
    labels = np.full(n, -1, dtype=np.int64)
    labels[order] = np.cumsum(new) - 1
    return labels, order[new], coded


def _sum_rows(
    frames: list[pd.DataFrame], keys: list[str], columns: list[str]
) -> dict[str, object] | None:
    """Notional summed per key over the venues' rows (params_hash is the symbol's), rows in
    key order, as columns (None: no rows); as `rows.groupby(keys, sort=True).agg(...)` sums
    them (transforms.marts.group_sums). String columns come as string arrays."""
    filled = [f for f in frames if not f.empty]
    if not filled:
        return None
    coded = {k: _coded(filled, k) for k in [*keys, "params_hash"]}
    plain = [k for k, c in coded.items() if c is None]
    cols = _columns(filled, [*plain, "long_notional", "short_notional"])
    cols.update({k: c for k, c in coded.items() if c is not None})  # type: ignore[misc]
    labels, firsts, _ = _group_labels([cols[k] for k in keys])  # type: ignore[misc]
    n = len(firsts)
    sums = group_sums.group_sum(np.c_[cols["long_notional"], cols["short_notional"]], labels, n)
    out: dict[str, object] = {}
    for k in keys:
        c = coded[k]
        out[k] = cols[k][firsts] if c is None else strings(c[1], c[0][firsts])
    out["long_notional"], out["short_notional"] = sums[:, 0], sums[:, 1]
    hashes = coded["params_hash"]
    got = None
    if hashes is not None:  # each group's first non-missing hash, by its code
        got = group_sums.first(np.where(hashes[0] >= 0, hashes[0], np.nan), labels, n)
    if got is None or np.isnan(got).any():  # as groupby's first gives it, missing and all
        values = _columns(filled, ["params_hash"])["params_hash"]
        out["params_hash"] = group_sums.first(values, labels, n)
    else:
        out["params_hash"] = strings(hashes[1], got.astype(np.int64))  # type: ignore[index]
    out["venue"] = AGGREGATE_VENUE
    return out


def _summed_frame(frames: list[pd.DataFrame], keys: list[str], columns: list[str]) -> pd.DataFrame:
    """`_sum_rows` as a mart frame."""
    rows = _sum_rows(frames, keys, columns)
    return (
        pd.DataFrame(columns=columns) if rows is None else _frame(rows, columns, len(rows[keys[0]]))
    )


def _with_cumulative(
    frames: list[pd.DataFrame],
    keys: list[str],
    columns: list[str],
    spots: Mapping[date, float],
    group: list[str],
) -> pd.DataFrame:
    """Summed map rows (`_sum_rows`) with their cumulative-from-spot curves, as mart.liq_map
    defines them: longs below spot summed from spot downwards, shorts above spot summed from
    spot upwards (per `group`, each a Kahan sum as pandas' groupby cumsum)."""
    rows = _sum_rows(frames, keys, columns)
    if rows is None:
        return pd.DataFrame(columns=columns)
    codes, days = pd.factorize(rows["day"])
    spot = np.array([spots.get(d, np.nan) for d in days], dtype=float)[codes]
    spot[codes < 0] = np.nan
    # rows in (group, price_low) order, stable
    labels, _, _ = _group_labels([rows[k] for k in group])  # type: ignore[misc]
    order = np.lexsort((rows["price_low"], labels))
    rows = {k: v if isinstance(v, str) else v[order] for k, v in rows.items()}  # type: ignore[index]
    spot, labels = spot[order], labels[order]
    below = rows["price_low"] < spot
    above = rows["price_high"] > spot
    longs = np.where(below, rows["long_notional"], 0.0)
    shorts = np.where(above, rows["short_notional"], 0.0)
    long_cum = group_sums.group_cumsum(longs[::-1], labels[::-1])[::-1]
    short_cum = group_sums.group_cumsum(shorts, labels)
    rows["spot_price"] = spot
    rows["long_cum_from_spot"] = np.where(below, long_cum, 0.0)
    rows["short_cum_from_spot"] = np.where(above, short_cum, 0.0)
    return _frame(rows, columns, len(spot))


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
    day_spots: Mapping[date, float],
    not_collected: Mapping[str, date | None],
    bars: BarArrays,
    prev: Mapping[str, PrevLevels],
) -> pd.DataFrame:
    """The aggregate's daily rows: per scenario and day, the venues' rows added up (a few
    rows each: arrays and `group_sums`, as a pandas groupby over them adds them), the
    levels from the summed grid; one frame for every scenario."""
    ref = reference_market(models)
    frames = [m.frames.daily_metrics for m in models if not m.frames.daily_metrics.empty]
    if not frames:
        return pd.DataFrame(columns=DAILY_METRICS_COLUMNS)
    names = ["scenario", "day", "venue", "symbol", "mark_price", "params_hash", "history_days"]
    rows = _columns(frames, [*names, "history_incomplete", *ADDITIVE_COLUMNS])
    days_ns = np.unique(np.concatenate([m.t_days for m in models]))
    day_dates = _ns_to_date(days_ns)
    n = len(day_dates)
    where = {d: i for i, d in enumerate(day_dates)}
    day_of = np.array([where.get(d, -1) for d in rows["day"]], dtype=np.int64)
    # day-level context on the aggregate bars: summed OI, OI-weighted funding, reference zone
    context = day_days.reindex(days_ns)
    context_cols = {c: context[c].to_numpy() for c in (*FUNDING_COLUMNS, *OI_COLUMNS)}
    for c in ("zone_low", "zone_high"):
        context_cols[c] = context[c].to_numpy()
    zone_days = context["zone_days"].to_numpy().astype("int64")
    mark_range = day_mark_range(bars, days_ns)
    spots = np.array([day_spots.get(d, np.nan) for d in day_dates], dtype=float)
    additive = np.column_stack([rows[c].astype(float) for c in ADDITIVE_COLUMNS])
    scenarios = list(dict.fromkeys(s for s in rows["scenario"] if not pd.isna(s)))
    parts = []
    for scenario in scenarios:
        mine = rows["scenario"] == scenario
        labels = np.where(mine, day_of, -1)
        seen: list[set] = [set() for _ in range(n)]
        for i in np.flatnonzero(labels >= 0):
            seen[labels[i]].add(rows["venue"][i])
        present = [[x for x in venues if x in s] for s in seen]  # in configured order
        sums = group_sums.group_sum(additive, labels, n, min_count=1)
        symbol = group_sums.first(rows["symbol"], labels, n)
        first_mark = group_sums.first(rows["mark_price"].astype(float), labels, n)
        ref_mark = np.full(n, np.nan)
        at_ref = np.flatnonzero((labels >= 0) & (rows["venue"] == ref.venue))
        ref_mark[labels[at_ref]] = rows["mark_price"][at_ref]
        out: dict[str, object] = {"symbol": symbol, "day": day_dates, "close_price": spots}
        out["mark_price"] = np.where(np.isnan(ref_mark), first_mark, ref_mark)
        for k, col in enumerate(ADDITIVE_COLUMNS):
            out[col] = sums[:, k]
        sums_now = {col: sums[:, k] for k, col in enumerate(ADDITIVE_COLUMNS)}
        out.update(ratio_columns(sums_now))
        grid = _summed_grid(
            [(m.t_days, m.grids[scenario]) for m in models if scenario in m.grids], days_ns
        )
        levels = stable_level_columns(
            grid, spots, context_cols["oi_value"], mark_range, prev.get(scenario)
        )
        for col in (*LEVEL_COLUMNS, *STABLE_COLUMNS):
            out[col] = levels[col]
        # the aggregate's 90 % points come from the summed grid (bin edges)
        out["squeeze_ceiling"] = out["p90_above_price"]
        out["flush_floor"] = out["p90_below_price"]
        out.update(peak_clusters(grid, n))
        out.update(context_cols)
        out["zone_days"] = zone_days
        out["history_days"] = _group_min(rows["history_days"], labels, n)
        out["params_hash"] = group_sums.first(rows["params_hash"], labels, n)
        out["venues"] = np.array([",".join(v) for v in present], dtype=object)
        absent = [[x for x in venues if x not in v] for v in present]
        late = [
            [x for x in a if x in not_collected and _before(d, not_collected[x])]
            for a, d in zip(absent, day_dates, strict=True)
        ]
        out["venues_missing"] = np.array(
            [",".join(x for x in a if x not in lt) for a, lt in zip(absent, late, strict=True)],
            dtype=object,
        )
        out["venues_not_collected"] = np.array([",".join(lt) for lt in late], dtype=object)
        out["history_incomplete"] = _history_notes(rows, labels, n, venues)
        parts.append(out)
    cols: dict[str, object] = {
        c: np.concatenate([p[c] for p in parts]) for c in parts[0] if c != "symbol"
    }
    cols["symbol"] = np.concatenate([p["symbol"] for p in parts])
    cols["scenario"] = repeat_strings(scenarios, n)
    cols["venue"] = AGGREGATE_VENUE
    return _frame(cols, DAILY_METRICS_COLUMNS, n * len(parts))


def _group_min(values: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Each group's least value (`groupby(labels).min()`; an integer column stays integer
    when every group has a value, else float with NaN)."""
    ok = labels >= 0
    if values.dtype.kind in "iu":
        have = np.bincount(labels[ok], minlength=n)[:n] > 0
        out = np.full(n, np.iinfo(values.dtype).max, dtype=values.dtype)
        np.minimum.at(out, labels[ok], values[ok])
        return out if have.all() else np.where(have, out, np.nan)
    vals = values.astype(float)
    ok &= ~np.isnan(vals)
    out = np.full(n, np.inf)
    np.minimum.at(out, labels[ok], vals[ok])
    have = np.bincount(labels[ok], minlength=n)[:n] > 0
    return np.where(have, out, np.nan)


def _history_notes(
    rows: Mapping[str, np.ndarray], labels: np.ndarray, n: int, venues: Sequence[str]
) -> np.ndarray:
    """Per day (label), the venues' history notes ('bybit: history incomplete: … missing';
    '; '-joined in configured order, a venue not configured last), '' without any."""
    order = {v: i for i, v in enumerate(venues)}
    notes: list[tuple[int, float, str]] = []
    for i in np.flatnonzero(labels >= 0):
        note = rows["history_incomplete"][i]
        if pd.isna(note) or note == "":
            continue
        venue = rows["venue"][i]
        notes.append((int(labels[i]), order.get(venue, np.inf), f"{venue}: {note}"))
    out: list[list[str]] = [[] for _ in range(n)]
    for day, _, text in sorted(notes, key=lambda t: (t[0], t[1])):  # stable
        out[day].append(text)
    return np.array(["; ".join(t) for t in out], dtype=object)


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
    sw, carry = advance_zigzag(zz, bars.ts, bars.close, values, reference_params(models).zigzag_pct)
    sv, ev = sw.start_values, sw.end_values
    fp, tp = sw.from_price, sw.to_price
    long_liq, short_liq = np.zeros(len(fp)), np.zeros(len(fp))
    for k, venue in enumerate(venues):
        if venue in by_venue:
            long_liq += ev[:, 2 * k] - sv[:, 2 * k]
            short_liq += ev[:, 2 * k + 1] - sv[:, 2 * k + 1]
    rows = {
        "start_ts": sw.start_ts,
        "end_ts": sw.end_ts,
        "from_price": fp,
        "to_price": tp,
        "confirmed": sw.confirmed,
        "confirm_ts": sw.confirm_ts,
        "direction": np.where(tp > fp, "up", "down"),
        "pct_change": tp / fp - 1.0,
        "long_liquidated": long_liq,
        "short_liquidated": short_liq,
        "oi_change": ev[:, -1] - sv[:, -1],
    }
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
        [f.liq_map for f in frames], _MAP_KEYS, LIQ_MAP_COLUMNS, day_spots, ["day"]
    )
    layer_map = _with_cumulative(
        [f.liq_layer_map for f in frames],
        _LAYER_MAP_KEYS,
        LAYER_MAP_COLUMNS,
        day_spots,
        ["day", "scenario", "layer"],
    )
    base_hash = ref.base.params.params_hash() if ref.base is not None else ""
    moves, zigzag, cums = _moves(models, venues, bars, before, ref.symbol, end_ns, base_hash)
    frames = MartFrames(
        liq_heatmap=_summed_frame([f.liq_heatmap for f in frames], _HEAT_KEYS, HEATMAP_COLUMNS),
        liq_map=liq_map,
        liq_layer_map=layer_map,
        liq_layer_heatmap=_summed_frame(
            [f.liq_layer_heatmap for f in frames], _LAYER_HEAT_KEYS, LAYER_HEATMAP_COLUMNS
        ),
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
