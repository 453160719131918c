"""Build every model `mart.*` frame for a range of target days in one pass of the model.

`bars` covers the market's history up to end_exclusive (from its first bar, or from the end of
a carried state, transforms.model.state); each scenario runs the model once over them, and
every target day is read off those runs. Outputs for a day therefore do not depend on how
many target days were requested nor on where the carried state was taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache

import numpy as np
import pandas as pd

from transforms.marts.registry import (
    DAILY_METRICS_COLUMNS,
    HEATMAP_COLUMNS,
    LAYER_HEATMAP_COLUMNS,
    LAYER_MAP_COLUMNS,
    LIQ_MAP_COLUMNS,
    MODEL_PARAMS_COLUMNS,
    MOVES_COLUMNS,
    MartFrames,
)
from transforms.model.bars import NS_PER_DAY, NS_PER_HOUR, BarArrays
from transforms.model.cohorts import BracketTable, ModelRun
from transforms.model.funding import FUNDING_COLUMNS, OI_COLUMNS, day_ends
from transforms.model.grid import Grid, alive_grid, bin_range_for
from transforms.model.layers import (
    LAYER_SCENARIOS,
    LAYER_VIEWS,
    layer_heat_columns,
    layer_map_columns,
    repeat_strings,
    strings,
)
from transforms.model.levels import LEVEL_COLUMNS, STABLE_COLUMNS, WINDOW_PCT, key_level_columns
from transforms.model.metrics import risk_metrics
from transforms.model.params import ModelParams
from transforms.model.scenarios import SCENARIO_NAMES, scenario_params
from transforms.model.stable_levels import PrevLevels, stabilize
from transforms.model.state import MarketState, MarketStep, advance, state_at
from transforms.rules import heat_day_window, swing_day_ns

DEFAULT_SCENARIOS = SCENARIO_NAMES


def _day_ns(d: date) -> int:
    return int(pd.Timestamp(d).value)


def _ns_to_ts(x: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(x, dtype=np.int64).astype("datetime64[ns]"))


def _ns_to_date(x: np.ndarray) -> np.ndarray:
    """UTC calendar date of each ns timestamp, as an object array of `datetime.date`.

    Columns hold ~1M rows but only a few hundred distinct days, so Python date objects are
    built once per distinct day and shared (a per-element conversion dominated a backfill).
    """
    day = np.asarray(x, dtype=np.int64) // NS_PER_DAY
    codes, uniq = pd.factorize(day)
    dates = uniq.astype("datetime64[D]").astype(object)
    return dates[codes]


LAYER_HEAT_HOURS = 4  # the layer views' heatmap keeps one snapshot per 4 hours


def _hour_bars(b: BarArrays, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hours, bar) for each hour start that some bar overlaps: the last bar starting before
    the hour ends, whose state is the one at the end of that hour."""
    bar = np.searchsorted(b.ts, hours + NS_PER_HOUR, side="left") - 1
    ok = bar >= 0
    ok[ok] = b.ts[bar[ok]] + b.interval_ns > hours[ok]  # the bar overlaps the hour
    return hours[ok], bar[ok]


def _heatmap(
    run: ModelRun, symbol: str, start_ns: int, end_ns: int, phash: str, venue: str
) -> pd.DataFrame:
    b, p = run.bars, run.params
    hours, bar = _hour_bars(b, np.arange(start_ns, end_ns, NS_PER_HOUR, dtype=np.int64))
    if len(bar) == 0:
        return pd.DataFrame(columns=HEATMAP_COLUMNS)
    hb = p.heatmap_bin_size
    # one price window per UTC day (transforms.rules.heat_day_window)
    w_lo, w_hi = heat_day_window(hours, b.close[bar], p.heatmap_range_pct)
    lo = int(np.floor(np.nanmin(w_lo) / hb))
    hi = int(np.floor(np.nanmax(w_hi) / hb)) + 1
    g = alive_grid(run, bar, hb, lo, hi)
    price_low = g.price_low()
    in_rng = (price_low[None, :] + hb > w_lo[:, None]) & (price_low[None, :] < w_hi[:, None])
    keep = in_rng & ((g.long_count > 0) | (g.short_count > 0))
    r, c = np.nonzero(keep)
    cols = {
        "symbol": symbol,
        "day": _ns_to_date(hours[r] - hours[r] % NS_PER_DAY),
        "ts": hours[r].astype("datetime64[ns]"),
        "price_low": price_low[c],
        "price_high": price_low[c] + hb,
        "long_notional": g.long[r, c],
        "short_notional": g.short[r, c],
        "params_hash": phash,
        "venue": venue,
    }
    return _frame(cols, HEATMAP_COLUMNS, len(r))


def _layer_heatmap(
    runs: dict[str, ModelRun],
    symbol: str,
    start_ns: int,
    end_ns: int,
    hashes: dict[str, str],
    venue: str,
) -> pd.DataFrame:
    """Every 4 hours, the alive notional of each view but base/all (hourly in liq_heatmap):
    `ts` is the block's start, the state is the one at the end of its last hour."""
    base = runs["base"]
    b, p = base.bars, base.params
    step = LAYER_HEAT_HOURS * NS_PER_HOUR
    blocks = np.arange(start_ns, end_ns, step, dtype=np.int64)
    last_hour, bar = _hour_bars(b, blocks + step - NS_PER_HOUR)
    if len(bar) == 0:
        return pd.DataFrame(columns=LAYER_HEATMAP_COLUMNS)
    block = last_hour - (step - NS_PER_HOUR)
    views = [v for v in LAYER_VIEWS if v != ("base", "all")]
    # the same day windows as the hourly heatmap (its hours' closes of each block's day)
    hours, hour_bar = _hour_bars(b, np.arange(start_ns, end_ns, NS_PER_HOUR, dtype=np.int64))
    d_lo, d_hi = heat_day_window(hours, b.close[hour_bar], p.heatmap_range_pct)
    at = np.searchsorted(hours, last_hour)
    cols = layer_heat_columns(runs, bar, block, (d_lo[at], d_hi[at]), p.heatmap_bin_size, views)
    ts = cols.pop("ts_ns")
    cols["symbol"] = symbol
    cols["day"] = _ns_to_date(ts - ts % NS_PER_DAY)
    cols["ts"] = ts.astype("datetime64[ns]")
    cols["params_hash"] = strings([hashes[sc] for sc, _ in views], cols.pop("view"))
    cols["venue"] = venue
    return _frame(cols, LAYER_HEATMAP_COLUMNS)


def _layer_map(
    runs: dict[str, ModelRun],
    symbol: str,
    days: np.ndarray,
    snaps: np.ndarray,
    spots: np.ndarray,
    hashes: dict[str, str],
    grids: dict[str, Grid],
    venue: str,
) -> pd.DataFrame:
    """The liquidation map within ±WINDOW_PCT of spot for every (scenario, layer) view
    (`grids`: the scenarios' alive grids on `snaps`, whose 'all' views it takes)."""
    if len(snaps) == 0:
        return pd.DataFrame(columns=LAYER_MAP_COLUMNS)
    p = runs["base"].params
    cols = layer_map_columns(runs, snaps, spots, p.bin_size, WINDOW_PCT, LAYER_VIEWS, grids)
    pos = np.searchsorted(snaps, cols.pop("snap"))
    cols["symbol"] = symbol
    cols["day"] = _ns_to_date(np.asarray(days)[pos])
    cols["spot_price"] = np.asarray(spots)[pos]
    cols["params_hash"] = strings([hashes[sc] for sc, _ in LAYER_VIEWS], cols.pop("view"))
    cols["venue"] = venue
    return _frame(cols, LAYER_MAP_COLUMNS)


def _frame(cols: Mapping[str, object], columns: list[str], n: int | None = None) -> pd.DataFrame:
    """A mart frame of `n` rows (default: the first array's length) from column arrays or
    scalars (repeated), in `columns` order; a column not given is all missing (as `reindex`
    adds it)."""
    if n is None:
        n = next(len(v) for v in cols.values() if isinstance(v, np.ndarray))
    zeros = np.zeros(n, dtype=np.int64)
    data = {
        c: (strings([cols[c]], zeros) if isinstance(cols[c], str) else cols[c])
        if c in cols
        else np.full(n, np.nan)
        for c in columns
    }
    return pd.DataFrame(data, index=pd.RangeIndex(n), columns=columns)


def day_mark_range(b: BarArrays, days_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each day's (lowest mark low, highest mark high) over its bars (NaN for a day without
    bars): the path that consumes positions, for the key levels' hysteresis."""
    lo = np.searchsorted(b.ts, days_ns, side="left")
    hi = np.searchsorted(b.ts, np.asarray(days_ns) + NS_PER_DAY, side="left")
    low, high = np.full(len(lo), np.nan), np.full(len(lo), np.nan)
    for i, (a, z) in enumerate(zip(lo, hi, strict=True)):
        if z > a:
            low[i], high[i] = np.nanmin(b.mark_low[a:z]), np.nanmax(b.mark_high[a:z])
    return low, high


def stable_levels(
    grid: Grid,
    spots: np.ndarray,
    oi: np.ndarray,
    mark_range: tuple[np.ndarray, np.ndarray],
    prev: PrevLevels | None,
) -> pd.DataFrame:
    """The key levels of each target day from an alive grid, the nearest clusters held by
    the hysteresis rule (transforms.model.stable_levels): LEVEL_COLUMNS + STABLE_COLUMNS."""
    cols = stable_level_columns(grid, spots, oi, mark_range, prev)
    return pd.DataFrame(cols, index=pd.RangeIndex(len(spots)))


def stable_level_columns(
    grid: Grid,
    spots: np.ndarray,
    oi: np.ndarray,
    mark_range: tuple[np.ndarray, np.ndarray],
    prev: PrevLevels | None,
) -> dict[str, np.ndarray]:
    """`stable_levels` as arrays by column (and `major_cluster_min`)."""
    pl = grid.price_low()
    fresh = key_level_columns(pl, grid.bin_size, grid.long, grid.short, spots, oi)
    return stabilize(  # type: ignore[return-value]
        fresh, pl, grid.bin_size, grid.long, grid.short, spots, *mark_range, prev=prev
    )


def _liq_map(run, grid, days, spots, symbol, phash, venue) -> pd.DataFrame:
    if grid.n_bins == 0 or len(days) == 0:
        return pd.DataFrame(columns=LIQ_MAP_COLUMNS)
    bs = grid.bin_size
    pl = grid.price_low()[None, :]
    sp = np.asarray(spots)[:, None]
    below = pl < sp  # bins starting below spot: hit when price falls to price_low
    above = pl + bs > sp  # bins ending above spot: hit when price rises to price_high
    lmask = np.where(below, grid.long, 0.0)
    long_cum = np.where(below, np.cumsum(lmask[:, ::-1], axis=1)[:, ::-1], 0.0)
    smask = np.where(above, grid.short, 0.0)
    short_cum = np.where(above, np.cumsum(smask, axis=1), 0.0)
    keep = (grid.long_count > 0) | (grid.short_count > 0)
    r, c = np.nonzero(keep)
    cols = {
        "symbol": symbol,
        "day": _ns_to_date(np.asarray(days)[r]),
        "price_low": grid.price_low()[c],
        "price_high": grid.price_low()[c] + bs,
        "long_notional": grid.long[r, c],
        "short_notional": grid.short[r, c],
        "long_cum_from_spot": long_cum[r, c],
        "short_cum_from_spot": short_cum[r, c],
        "spot_price": np.asarray(spots)[r],
        "params_hash": phash,
        "venue": venue,
    }
    return _frame(cols, LIQ_MAP_COLUMNS, len(r))


def _empty(recorded_at, runs_params) -> MartFrames:
    return MartFrames(
        liq_heatmap=pd.DataFrame(columns=HEATMAP_COLUMNS),
        liq_map=pd.DataFrame(columns=LIQ_MAP_COLUMNS),
        liq_layer_map=pd.DataFrame(columns=LAYER_MAP_COLUMNS),
        liq_layer_heatmap=pd.DataFrame(columns=LAYER_HEATMAP_COLUMNS),
        daily_metrics=pd.DataFrame(columns=DAILY_METRICS_COLUMNS),
        moves=pd.DataFrame(columns=MOVES_COLUMNS),
        model_params=_params_frame(runs_params, recorded_at),
    )


@cache
def _no_frames() -> MartFrames:
    """Empty frames for a model built without them (advance_market): made once, not per
    market and day (seven empty DataFrames and a parameters frame cost ~10 ms)."""
    return _empty(datetime(1970, 1, 1), {})


def _params_frame(runs_params: dict[str, ModelParams], recorded_at) -> pd.DataFrame:
    return pd.DataFrame(
        [(p.params_hash(), sc, p.to_json(), recorded_at) for sc, p in runs_params.items()],
        columns=MODEL_PARAMS_COLUMNS,
    )


@dataclass
class MarketModel:
    """One market's model output for a window: its mart frames and what the aggregate across
    venues sums (transforms.marts.aggregate): the alive grids per scenario at each target day's
    last bar, the base run (per-bar liquidations) and the bars (price, OI, funding)."""

    venue: str
    frames: MartFrames
    bars: BarArrays
    t_days: np.ndarray  # target day starts (ns) with bars, ascending
    grids: dict[str, Grid] = field(default_factory=dict)  # scenario -> rows aligned to t_days
    base: ModelRun | None = None
    state: MarketState | None = None  # the market's state at the end of the bars
    cum_prev: tuple[float, float] = (0.0, 0.0)  # base liquidations before the bars (long, short)
    symbol: str = ""
    #: the same market up to the end of an earlier day (`build_market(keep_at=)`), as
    #: `advance_market` over its bars gives it
    mid: MarketModel | None = None


def build_marts(
    bars: pd.DataFrame | BarArrays,
    brackets: pd.DataFrame,
    params: ModelParams,
    symbol: str,
    start: date,
    end_exclusive: date,
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    recorded_at: datetime | None = None,
    *,
    venue: str,
    prev: Mapping[str, PrevLevels] | None = None,
) -> MartFrames:
    """Every mart for target days [start, end_exclusive) from one model run per scenario.

    heatmap, liq_map and moves come from the base scenario (always run); daily_metrics has
    one row per target day with bars x scenario; model_params one row per scenario used.
    """
    return build_market(
        bars,
        brackets,
        params,
        symbol,
        start,
        end_exclusive,
        scenarios,
        recorded_at,
        venue=venue,
        prev=prev,
    ).frames


def _label_venue(frames: MartFrames, venue: str) -> MartFrames:
    """Every model mart row carries the market's venue; a venue's own daily row is made of
    that venue alone. The frames with rows are made with those columns (`build_market`),
    the empty ones get them here."""
    for frame in frames.by_mart().values():
        if frame.empty:
            frame["venue"] = venue
    daily = frames.daily_metrics
    if daily.empty:
        daily["venues"] = venue
        daily["venues_missing"] = ""
        daily["venues_not_collected"] = ""
        daily["history_incomplete"] = ""
    return frames


def build_market(
    bars: pd.DataFrame | BarArrays,
    brackets: pd.DataFrame | BracketTable,
    params: ModelParams,
    symbol: str,
    start: date,
    end_exclusive: date,
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    recorded_at: datetime | None = None,
    *,
    venue: str,
    state: MarketState | None = None,
    prev: Mapping[str, PrevLevels] | None = None,
    keep_at: date | None = None,
) -> MarketModel:
    """`build_marts` for one market (venue, symbol), keeping what the aggregate needs.

    With `state` (transforms.model.state, at the end of the bar before `bars`) the model
    continues from it; without, `bars` must start at the market's first bar. `prev`:
    scenario -> the market's stored day before `start` (the key levels' hysteresis starts
    from it; without it the first day's levels are fresh). `keep_at`: a day whose end state
    is kept too (MarketModel.mid), taken from this run's model (`_model_upto`)."""
    prev = prev or {}
    recorded_at = recorded_at or datetime.now(timezone.utc).replace(tzinfo=None)  # noqa: UP017
    names = list(dict.fromkeys([*LAYER_SCENARIOS, *scenarios]))
    runs_params = {sc: scenario_params(params, sc) for sc in names}
    b = _bar_arrays(bars, state)
    if b.n == 0:
        empty = _label_venue(_empty(recorded_at, runs_params), venue)
        kept = state if state is not None else MarketState.empty()
        return MarketModel(venue, empty, b, np.zeros(0, dtype=np.int64), state=kept, symbol=symbol)
    start_ns, end_ns = _day_ns(start), _day_ns(end_exclusive)
    days, last = day_ends(b)
    tmask = (days >= start_ns) & (days < end_ns)
    t_days, t_last = days[tmask], last[tmask]

    before = state if state is not None else MarketState.empty()
    brackets = BracketTable.of(brackets)  # its snapshots looked up once for the scenarios
    after, step = advance(before, b, params, brackets, names)
    runs = step.runs
    base = runs["base"]
    base_hash = runs_params["base"].params_hash()

    heatmap = _heatmap(base, symbol, start_ns, end_ns, base_hash, venue)
    spots = b.close[t_last]
    grids = {}
    for sc in names:
        run = runs[sc]
        lo, hi = bin_range_for(run, t_last, run.params.bin_size)
        grids[sc] = alive_grid(run, t_last, run.params.bin_size, lo, hi)
    liq_map = _liq_map(base, grids["base"], t_days, spots, symbol, base_hash, venue)
    hashes = {sc: runs_params[sc].params_hash() for sc in names}
    layer_map = _layer_map(runs, symbol, t_days, t_last, spots, hashes, grids, venue)
    layer_heat = _layer_heatmap(runs, symbol, start_ns, end_ns, hashes, venue)
    # Day-level context shared by all scenarios (from bars and what carried over), with the
    # days of bars the model has seen by the end of each target day (warm-up notice).
    context = step.days.reindex(t_days)
    history_days = context["history_days"].to_numpy().astype("int64")
    oi_value = context["oi_value"].to_numpy()
    day_first = np.searchsorted(b.ts, t_days, side="left")
    mark_range = day_mark_range(b, t_days)
    orders: dict = {}  # the scenarios' cohorts by LP, sorted once (metrics._lp_order)
    daily_scenarios = [s for s in names if s in scenarios]
    n = len(t_days)
    # every column as an array, the scenarios' rows one after the other, one DataFrame at
    # the end (a frame per scenario, column inserts and a concat cost more than the rows)
    parts: list[dict[str, np.ndarray]] = []
    for sc in daily_scenarios:
        run = runs[sc]
        cols: dict[str, np.ndarray] = {
            "day": _ns_to_date(t_days),
            "close_price": spots,
            "mark_price": b.mark_close[t_last],
        }
        cols.update(risk_metrics(run, t_last, spots, grids[sc], orders=orders, arrays=True))  # type: ignore[arg-type]
        cols["liquidated_long_24h"] = _day_sums(run.liq_long, day_first, t_last)
        cols["liquidated_short_24h"] = _day_sums(run.liq_short, day_first, t_last)
        for col in (*FUNDING_COLUMNS, *OI_COLUMNS, "zone_low", "zone_high"):
            cols[col] = context[col].to_numpy()
        cols["zone_days"] = context["zone_days"].to_numpy().astype("int64")
        levels = stable_level_columns(grids[sc], spots, oi_value, mark_range, prev.get(sc))
        cols.update({col: levels[col] for col in (*LEVEL_COLUMNS, *STABLE_COLUMNS)})
        cols["history_days"] = history_days
        parts.append(cols)
    if parts:
        daily_cols: dict[str, object] = {
            col: np.concatenate([part[col] for part in parts]) for col in parts[0]
        }
        daily_cols["symbol"] = symbol
        daily_cols["scenario"] = repeat_strings(daily_scenarios, n)
        hashes_daily = [runs_params[sc].params_hash() for sc in daily_scenarios]
        daily_cols["params_hash"] = repeat_strings(hashes_daily, n)
        # a venue's own daily row is made of that venue alone
        daily_cols.update(venue=venue, venues=venue, venues_missing="", venues_not_collected="")
        daily_cols["history_incomplete"] = ""
        daily = _frame(daily_cols, DAILY_METRICS_COLUMNS, n * len(parts))
    else:
        daily = pd.DataFrame(columns=DAILY_METRICS_COLUMNS)

    moves_df = _moves_frame(step.moves, symbol, end_ns, base_hash, venue)
    used = {sc: p for sc, p in runs_params.items() if sc in scenarios or sc in LAYER_SCENARIOS}
    frames = MartFrames(
        liq_heatmap=heatmap,
        liq_map=liq_map,
        liq_layer_map=layer_map,
        liq_layer_heatmap=layer_heat,
        daily_metrics=daily,
        moves=moves_df,
        model_params=_params_frame(used, recorded_at),
    )
    kept = {sc: grids[sc] for sc in scenarios if sc in grids}
    mid = None
    if keep_at is not None:
        mid = _model_upto(bars, b, keep_at, step, brackets, params, symbol, names, venue, state)
    return MarketModel(
        venue, _label_venue(frames, venue), b, t_days, kept, base, after, before.cum_liq,
        symbol, mid,
    )  # fmt: skip


def _model_upto(
    bars: pd.DataFrame | BarArrays,
    b: BarArrays,
    day: date,
    step: MarketStep,
    brackets: pd.DataFrame | BracketTable,
    params: ModelParams,
    symbol: str,
    names: Sequence[str],
    venue: str,
    state: MarketState | None,
) -> MarketModel:
    """`advance_market` over the bars up to the end of `day`, from the run over all of them
    (`state_at`: the model is not run a second time). When those bars alone would not give
    the same arrays as the first of all (open interest derived from a whole frame's
    columns) or there are none, the model runs over them after all."""
    upto = pd.Timestamp(day + timedelta(days=1))
    if isinstance(bars, BarArrays):
        alone = bars.head(int(np.searchsorted(bars.ts, upto.value, side="left")))
    else:
        ts = bars["ts"]
        # the bars before `upto` (a slice when they come in time order, as they are read)
        head = bars.iloc[: int(ts.searchsorted(upto))] if ts.is_monotonic_increasing else None
        alone = _bar_arrays(head if head is not None else bars[ts < upto], state)
    k = alone.n
    if k == 0 or k > b.n or not alone.same_bits(b.head(k)):
        return advance_market(alone, brackets, params, symbol, names, venue=venue, state=state)
    before = state if state is not None else MarketState.empty()
    after, head = state_at(before, step, params, k)
    none = np.zeros(0, dtype=np.int64)
    base, cum = head.runs["base"], before.cum_liq
    return MarketModel(venue, _no_frames(), head.bars, none, {}, base, after, cum, symbol)


def _bar_arrays(bars: pd.DataFrame | BarArrays, state: MarketState | None) -> BarArrays:
    """The bars as arrays, their first open-interest change taken from the state's last bar."""
    if isinstance(bars, BarArrays):
        return bars
    carry = state.carries.get("base") if state is not None else None
    oi_before = (carry.oi_last, state.oi_value_last) if carry is not None else None
    return BarArrays.from_frame(bars, oi_before)


def advance_market(
    bars: pd.DataFrame | BarArrays,
    brackets: pd.DataFrame | BracketTable,
    params: ModelParams,
    symbol: str,
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    *,
    venue: str,
    state: MarketState | None = None,
) -> MarketModel:
    """`build_market`'s model and state without its mart frames (empty): the state at the
    end of `bars` and what the aggregate's state needs (bars, base run), at the model's
    cost only. A run writing several days in one pass takes the states at the end of its
    earlier days this way (`advance` over a prefix, then over the rest, equals one pass).
    Its frames are one shared set of empty frames (`_no_frames`: never written to)."""
    names = list(dict.fromkeys([*LAYER_SCENARIOS, *scenarios]))
    empty = _no_frames()
    brackets = BracketTable.of(brackets)
    b = _bar_arrays(bars, state)
    before = state if state is not None else MarketState.empty()
    none = np.zeros(0, dtype=np.int64)
    if b.n == 0:
        return MarketModel(venue, empty, b, none, state=before, symbol=symbol)
    after, step = advance(before, b, params, brackets, names)
    return MarketModel(venue, empty, b, none, {}, step.runs["base"], after, before.cum_liq, symbol)


def _day_sums(per_bar: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Sum of `per_bar` over bars first..last of each day (a sum over the day's own bars, so
    it does not depend on where the run started)."""
    return np.array([float(np.sum(per_bar[a : z + 1])) for a, z in zip(first, last, strict=True)])


def _moves_frame(
    rows: Mapping[str, np.ndarray] | pd.DataFrame, symbol: str, end_ns: int, phash: str, venue: str
) -> pd.DataFrame:
    """mart.moves-shaped rows from swing rows (transforms.model.moves.MOVE_COLUMNS; a frame
    or its columns as arrays)."""
    confirmed = np.asarray(rows["confirmed"], dtype=bool)
    conf_ts = np.where(confirmed, np.asarray(rows["confirm_ts"], dtype=np.int64), 0)
    # The swing-day rule (transforms.rules): the day of confirmation, else the last target day.
    move_day = swing_day_ns(confirmed, conf_ts, end_ns - NS_PER_DAY)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "day": _ns_to_date(move_day),
            "start_ts": _ns_to_ts(np.asarray(rows["start_ts"], dtype=np.int64)),
            "end_ts": _ns_to_ts(np.asarray(rows["end_ts"], dtype=np.int64)),
            "direction": np.asarray(rows["direction"]),
            "from_price": np.asarray(rows["from_price"]),
            "to_price": np.asarray(rows["to_price"]),
            "pct_change": np.asarray(rows["pct_change"]),
            "long_liquidated": np.asarray(rows["long_liquidated"]),
            "short_liquidated": np.asarray(rows["short_liquidated"]),
            "oi_change": np.asarray(rows["oi_change"]),
            "confirmed": confirmed,
            "params_hash": phash,
            "confirmed_ts": _ns_to_ts(conf_ts).where(pd.Series(confirmed)),
            "venue": venue,
        },
        columns=MOVES_COLUMNS,
    )
