"""One symbol's marts for a window: read the staged bars and the dated brackets, run the
model once per scenario, replace the window's mart rows (the step the marts asset calls).

Price bins scale with the symbol (a 250 USDT bin is meaningless for SOL): unless the caller
fixes them, `bin_size` and `heatmap_bin_size` come from `transforms.reference.bins.symbol_bins`
of the symbol's first staged close, and are recorded with the other parameters (each symbol's
rows carry the params_hash of the bins they were built with)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from transforms.db import release_memory, transaction
from transforms.failpoints import failpoint
from transforms.marts.aggregate import aggregate_state, aggregate_with_state, reference_market
from transforms.marts.build import DEFAULT_SCENARIOS, build_market
from transforms.marts.coverage import collected_from, describe_missing, missing_raw_days
from transforms.marts.prev_levels import prev_from_rows, read_prev_levels
from transforms.marts.registry import MartFrames
from transforms.marts.state import (
    Anchor,
    MarketInputs,
    Restart,
    bars_fingerprints,
    base_days,
    find_restart,
    first_close,
    first_day,
    history_note,
    replace_state,
    state_rows,
    tiers_fingerprints,
)
from transforms.marts.store import read_bars, read_bars_after, replace_markets
from transforms.model.layers import LAYER_SCENARIOS
from transforms.model.params import ModelParams
from transforms.model.scenarios import scenario_params
from transforms.model.state import MarketState
from transforms.reference import load_brackets
from transforms.reference.bins import symbol_bins
from transforms.venues import AGGREGATE_VENUE

#: the longest window modelled and written at once (a longer one is cut into such chunks)
CHUNK_DAYS = 31


class NoStagedBars(LookupError):
    """The staging layer has no bars for the symbol before the window's end."""


class IncompleteRawWindow(LookupError):
    """A daily archive file of the window is missing for the symbol: no marts for its window
    (a model run on bars without open interest would publish wrong numbers)."""


@dataclass(frozen=True)
class MartsUpdate:
    bars: int
    rows: dict[str, int]
    params: ModelParams  # as used for this symbol (bins scaled to its price)


@dataclass
class SymbolMartsUpdate:
    """One symbol's window over its venues: rows written per market, the aggregate's, and
    the venues that could not be modelled (with why)."""

    params: ModelParams
    bars: dict[str, int] = field(default_factory=dict)  # venue -> bars read
    rows: dict[str, int] = field(default_factory=dict)  # mart -> rows, venues and 'all'
    failed: dict[str, str] = field(default_factory=dict)  # venue -> reason
    why: str = ""  # why the run did not continue from the newest state (one line), if so
    state_day: date | None = None  # the state continued from (None: from the first bar)
    incomplete: dict[str, list[str]] = field(default_factory=dict)  # venue -> missing days
    rewritten_from: date | None = None  # an earlier start the window was widened to (why)
    #: forward-collected venue -> its first collected day in the window (None: none)
    not_collected: dict[str, date | None] = field(default_factory=dict)
    #: peak RSS (MB) of the worker process that modelled it (0: modelled in this process)
    worker_rss_mb: float = 0.0

    def add(self, rows: dict[str, int]) -> None:
        for key, n in rows.items():
            self.rows[key] = self.rows.get(key, 0) + n


def _with_bins(params: ModelParams, first_close: float) -> ModelParams:
    bin_size, heatmap_bin_size = symbol_bins(first_close)
    return dataclasses.replace(params, bin_size=bin_size, heatmap_bin_size=heatmap_bin_size)


def _check_window(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, start: date, end: date
) -> float:
    """The market's first close, or NoStagedBars / IncompleteRawWindow naming it."""
    missing = missing_raw_days(conn, symbol, start, end, venue)
    if missing:
        what = describe_missing(missing)
        raise IncompleteRawWindow(
            f"{venue} {symbol}: no raw rows for {what}; its marts are not updated"
        )
    close = first_close(conn, venue, symbol, end)
    if close is None:
        raise NoStagedBars(f"no staged bars for {venue} {symbol} before {end}: run stg_bars_5m")
    return close


def _missing_days(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, lo: date, hi: date
) -> list[str]:
    """ISO days of [lo, hi) that some daily raw dataset of the market lacks."""
    if lo >= hi:
        return []
    missing = missing_raw_days(conn, symbol, lo, hi, venue)
    return sorted({d.isoformat() for days in missing.values() for d in days})


def _chunks(first: date, end: date, bars: dict[str, pd.DataFrame]) -> list[tuple[date, date]]:
    """[first, end) cut into windows of at most CHUNK_DAYS days in which every market has
    bars (a window one market has none in joins the next, so no chunk models a market on
    nothing); the last window ends at `end`."""
    bounds = [first]
    while bounds[-1] + timedelta(days=CHUNK_DAYS) < end:
        bounds.append(bounds[-1] + timedelta(days=CHUNK_DAYS))
    bounds.append(end)
    ts = [b["ts"].to_numpy(dtype="datetime64[ns]") for b in bars.values()]
    out: list[tuple[date, date]] = []
    lo = first
    for hi in bounds[1:]:
        a, z = np.datetime64(lo, "ns"), np.datetime64(hi, "ns")
        if hi == end or all(bool(((t >= a) & (t < z)).any()) for t in ts):
            out.append((lo, hi))
            lo = hi
    return out


def _market_state_rows(
    venue: str,
    symbol: str,
    day: date,
    state: MarketState,
    hashes: dict[str, str],
    tiers: dict[str, dict[str, str]],
    gaps: dict[str, tuple[str, ...]],
    fingerprints: dict[str, list],
    anchor: Anchor | None = None,
) -> pd.DataFrame:
    """mart.model_state rows of a venue's state at the end of `day` (stored as a change from
    `anchor` where state_rows can), with the inputs it was
    computed from (tiers, missing days, the staged bars' fingerprints up to `day`) and the
    fingerprints of the later days the run wrote (`fingerprints` is up to the window's last
    day: a change in those makes the next run rewrite them, `find_restart`)."""
    missing = tuple(d for d in gaps[venue] if d <= day.isoformat())
    inputs = MarketInputs(fingerprints, tiers[venue], missing)
    return state_rows(venue, symbol, day, state, hashes, inputs, anchor)


def update_marts(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    params: ModelParams,
    start: date,
    end: date,
    auto_bins: bool,
    venues: tuple[str, ...],
    from_scratch: bool = False,
    _split: bool = True,
    keep_last_state: bool = True,
    _keep_last: bool = False,
) -> SymbolMartsUpdate:
    """Rebuild every mart of `symbol` for days [start, end) and its aggregate across venues
    ('all', transforms.marts.aggregate), continuing each market's model from its state at the
    end of the newest kept day before `start` that can still be trusted
    (transforms.marts.state), else from its first bar; `from_scratch` forces the latter.
    The marts of every market are written a chunk (CHUNK_DAYS) at a time, each in one
    transaction with the states it ends with; states are written for the window's last two
    days only (where the next run continues), not for each chunk, and for the last day only
    when no state is kept at the day before or its last bar is final (the next day staged;
    `_keep_last`: the earlier days of a split window, which the window continues from).

    With `auto_bins` (default) the price bins of `params` are replaced by the symbol's, taken
    from the first venue that has bars, and shared by every venue (the aggregate sums grids
    on the same bins). A venue without rows for the window is reported in `failed` and the
    others go on; when none has rows, the first venue's error is raised. A market whose
    history lacks a day (raw missing) is modelled across the gap and its later days carry
    'history incomplete: <day> missing' in `mart.daily_metrics.history_incomplete`. A
    forward-collected venue is modelled from its first collected day of the window
    (transforms.marts.coverage.collected_from); the days before are named not collected in
    the aggregate (`venues_not_collected`), never failed. Without `keep_last_state` (the
    nowcast: the last day is in progress) no state is stored for the last day, which would be
    the end of no day; the state at the end of the day before it still is.
    """
    job = prepare_marts(
        conn,
        symbol,
        params,
        start,
        end,
        auto_bins,
        venues,
        from_scratch,
        _split,
        keep_last_state,
        _keep_last,
    )
    if isinstance(job, SymbolMartsUpdate):
        return job
    for batch in model_batches(job.plan):
        write_batch(conn, job, batch)
    return job.update


def prepare_marts(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    params: ModelParams,
    start: date,
    end: date,
    auto_bins: bool,
    venues: tuple[str, ...],
    from_scratch: bool = False,
    _split: bool = True,
    keep_last_state: bool = True,
    _keep_last: bool = False,
) -> SymbolMartsUpdate | MartsJob:
    """`update_marts` up to the model: the window's inputs read and checked, the marts job
    to run (`model_batches` then `write_batch` for each batch, as `update_marts` does, or in a
    worker process: transforms.marts.parallel); a window that must be split is done at once
    (its update returned)."""
    given = params
    closes: dict[str, float] = {}
    errors: dict[str, LookupError] = {}
    not_collected: dict[str, date | None] = {}
    for venue in venues:
        lo = collected_from(conn, venue, symbol, start, end)
        if lo != start:
            not_collected[venue] = lo
        if lo is None:
            continue
        try:
            closes[venue] = _check_window(conn, venue, symbol, lo, end)
        except (NoStagedBars, IncompleteRawWindow) as exc:
            errors[venue] = exc
    if not closes:
        if errors:
            raise next(iter(errors.values()))
        raise NoStagedBars(f"{symbol}: no venue was collected in {start}..{end}")
    if auto_bins:
        params = _with_bins(params, next(iter(closes.values())))
    update = SymbolMartsUpdate(
        params, failed={v: str(e) for v, e in errors.items()}, not_collected=not_collected
    )
    brackets: dict[str, pd.DataFrame] = {}
    for venue in closes:
        try:
            brackets[venue] = load_brackets(conn, symbol, venue=venue)
        except LookupError as exc:
            update.failed[venue] = str(exc)
    if not brackets:
        raise IncompleteRawWindow("; ".join(update.failed.values()))
    names = list(dict.fromkeys([*LAYER_SCENARIOS, *DEFAULT_SCENARIOS]))
    hashes = {sc: scenario_params(params, sc).params_hash() for sc in names}
    tiers = {venue: tiers_fingerprints(b) for venue, b in brackets.items()}
    restart = Restart(None, why=f"{symbol}: recomputed from the first bar (--from-scratch)")
    # the staged bars' fingerprints of each market up to the day after the window, read
    # once: whether states are stale, the inputs recorded with the new ones, and whether the
    # next day is staged (its last bar final)
    prints = {v: bars_fingerprints(conn, v, symbol, end) for v in brackets}
    if not from_scratch:
        restart = find_restart(conn, symbol, tuple(brackets), hashes, tiers, start, prints)
    update.why = restart.why
    update.state_day = restart.day
    last_day = end - timedelta(days=1)
    if restart.rewrite_from is not None and restart.rewrite_from < start:
        # Days already written from bars or tiers that have changed since: rewrite them too,
        # so every day's rows are what a range build over today's warehouse gives.
        firsts = [first_day(conn, venue, symbol, end) for venue in brackets]
        update.rewritten_from = max(restart.rewrite_from, min(d for d in firsts if d is not None))
    first = update.rewritten_from or start  # the first day whose rows are written
    if first < start and errors and _split:
        # A venue fails from `start` while earlier days are rewritten: model those days first
        # with every venue that has them, so their aggregate still adds that venue up, as a
        # range build over today's warehouse does; then the window, continuing from them.
        args = (conn, symbol, given)
        # (the earlier days keep their last day's state: the window continues from it)
        earlier = update_marts(
            *args, first, start, auto_bins, venues, from_scratch, _keep_last=True
        )
        later = update_marts(
            *args, start, end, auto_bins, venues, from_scratch, False, keep_last_state
        )
        later.add(earlier.rows)
        later.failed = {**earlier.failed, **later.failed}
        for venue, n in earlier.bars.items():
            later.bars[venue] = later.bars.get(venue, 0) + n
        later.rewritten_from = later.rewritten_from or first
        return later
    # Read each market's bars from its state (or first bar) and note the days it lacks.
    chunks: dict[str, pd.DataFrame] = {}
    gaps: dict[str, tuple[str, ...]] = {}
    for venue in brackets:
        state = restart.states.get(venue)
        if state is None:
            chunks[venue] = read_bars(conn, symbol, end, venue)
            lo = first_day(conn, venue, symbol, end) or start
            carried: tuple[str, ...] = ()
        else:
            chunks[venue] = read_bars_after(conn, symbol, state.last_ts, end, venue)
            lo = restart.day + timedelta(days=1)
            carried = restart.inputs[venue].missing
        # days without bars whose effect is still within the lookback (history_note)
        oldest = (last_day - timedelta(days=params.lookback_days)).isoformat()
        found = (*carried, *_missing_days(conn, venue, symbol, lo, start))
        gaps[venue] = tuple(d for d in found if d >= oldest)
        update.bars[venue] = len(chunks[venue])
        if gaps[venue]:
            update.incomplete[venue] = list(gaps[venue])
    # Model the bars up to the last day's start, then the last day: the states at the end of
    # both days are kept. Staging the next day refreshes this day's last bar (its open
    # interest as of the next day's first snapshot), so the next run continues from the day
    # before and rewrites this one. A long window is modelled and written CHUNK_DAYS at a
    # time, each chunk continuing from the state the one before left (in memory): a year
    # costs a month's memory, and the rows are those of one pass (advance is exact).
    split = pd.Timestamp(last_day)
    if not all((bars["ts"] < split).any() for bars in chunks.values()):
        split = None
    segments = _chunks(first, last_day, chunks) if split is not None else []
    segments = [*segments, (max(first, last_day), end)] if segments else _chunks(first, end, chunks)
    # The last day is written with the chunk before it, in one pass: that chunk's end state
    # (the day before the last, where the next run continues) is taken from the pass's own
    # model at that day's last bar (build_market's keep_at: the state a run over its bars
    # alone would give, without running the model twice). A daily
    # run rewrites the day before its own (its last bar was refreshed), so this halves the
    # frames, aggregate and writes a day costs.
    mid: date | None = None  # a day inside the last segment whose end states are kept too
    if split is not None and len(segments) >= 2:
        (a, mid_end), (_, z) = segments[-2], segments[-1]
        segments = [*segments[:-2], (a, z)]
        mid = mid_end - timedelta(days=1)
    # The state at the end of the last day is kept only when none is kept at the end of the
    # day before (`mid`), or when the last day's last bar is final (the next day staged):
    # staging the next day refreshes that bar (its open interest as of the next day's first
    # snapshot), so a daily run's state there would be stale, never read. The next run
    # continues from `mid`, whose recorded inputs include the last day's bars, and rewrites
    # the last day when they changed (`find_restart`).
    next_staged = all(end.isoformat() in p for p in prints.values())
    upto = last_day.isoformat()
    plan = _Plan(
        symbol=symbol,
        venues=venues,
        params=params,
        end=end,
        last_day=last_day,
        keep_last=keep_last_state and (mid is None or _keep_last or next_staged),
        recorded={v: {k: x for k, x in p.items() if k <= upto} for v, p in prints.items()},
        brackets=brackets,
        chunks=chunks,
        gaps=gaps,
        segments=segments,
        mid=mid,
        states=dict(restart.states),
        # the key levels' hysteresis starts from the stored day before the first written
        # day, then from each segment's own last day
        prevs={v: read_prev_levels(conn, v, symbol, first) for v in (*brackets, AGGREGATE_VENUE)},
        not_collected=not_collected,
    )
    return MartsJob(plan, update, hashes, tiers, restart.anchors)


@dataclass
class _Plan:
    """What a window's model needs once its inputs are read (no connection): the markets'
    bars and brackets, the states and key levels it continues from, the segments to model."""

    symbol: str
    venues: tuple[str, ...]
    params: ModelParams
    end: date
    last_day: date
    keep_last: bool  # whether the last day's end state is kept (see prepare_marts)
    #: venue -> the staged bars' fingerprints recorded with its states (up to the last day)
    recorded: dict[str, dict[str, list]]
    brackets: dict[str, pd.DataFrame]
    chunks: dict[str, pd.DataFrame]  # venue -> its bars not modelled yet
    gaps: dict[str, tuple[str, ...]]
    segments: list[tuple[date, date]]
    mid: date | None  # a day inside the last segment whose end states are kept too
    states: dict[str, MarketState]  # venue (and 'all') -> the state the next segment starts from
    prevs: dict[str, dict]
    not_collected: dict[str, date | None]


@dataclass
class MartsJob:
    """A symbol's window ready to model (`model_batches`) and write (`write_batch`)."""

    plan: _Plan
    update: SymbolMartsUpdate
    hashes: dict[str, str]  # scenario -> params_hash
    tiers: dict[str, dict[str, str]]  # venue -> tier fingerprints
    #: venue -> the whole state its new states are stored as a change from (state_rows)
    anchors: dict[str, Anchor] = field(default_factory=dict)


@dataclass
class _Batch:
    """One segment's marts of every market (the venues, then 'all') and the states to keep
    at its days' ends: (venue, day, state), written in one transaction."""

    start: date
    end: date
    markets: dict[str, MartFrames]
    reference: str
    written: tuple[str, ...]
    states: list[tuple[str, date, MarketState]]


def model_batches(plan: _Plan) -> Iterator[_Batch]:
    """Model the plan's segments one after the other (each continuing from the states the
    one before left, in memory), yielding each segment's rows and kept states. Pure: no
    warehouse access, so it can run in another process (transforms.marts.parallel)."""
    symbol, params, end, last_day = plan.symbol, plan.params, plan.end, plan.last_day
    # Only the states of the window's last two days may be written (the next run continues
    # from the day before the last, or from the last; `find_restart`): a chunk's end state
    # in a range is superseded by the range's own before the run ends, and a retried range
    # restarts before its first day, so writing it (tens of MB per market at a year of
    # history) would buy nothing.
    kept_from = last_day - timedelta(days=1)
    states_now, prevs, chunks, gaps = plan.states, plan.prevs, plan.chunks, plan.gaps
    for seg_start, seg_end in plan.segments:
        seg_last = seg_end - timedelta(days=1)
        keep = (plan.keep_last or seg_last < last_day) and seg_last >= kept_from
        cut = pd.Timestamp(seg_end)
        models = []
        kept: list[tuple[str, date, MarketState]] = []
        mid_here = plan.mid if seg_end == end else None  # the last segment's
        mid_models = []
        for venue, b in plan.brackets.items():
            bars = chunks[venue]
            before = bars["ts"] < cut
            seg_bars, chunks[venue] = bars[before], bars[~before]
            model = build_market(
                seg_bars, b, params, symbol, seg_start, seg_end, venue=venue,
                state=states_now.get(venue), prev=prevs[venue], keep_at=mid_here,
            )  # fmt: skip
            del seg_bars
            if model.mid is not None:
                mid_models.append(model.mid)
                kept.append((venue, mid_here, model.mid.state))
                model.mid = None
            daily = model.frames.daily_metrics
            daily["history_incomplete"] = [
                history_note(gaps[venue], d, params.lookback_days) for d in daily["day"]
            ]
            models.append(model)
            states_now[venue] = model.state
            if keep:
                kept.append((venue, seg_last, model.state))
        if mid_here is not None:
            mid_all = aggregate_state(
                mid_models, plan.venues, params, states_now.get(AGGREGATE_VENUE)
            )
            kept.append((AGGREGATE_VENUE, mid_here, mid_all))
            del mid_models
        aggregate, states_now[AGGREGATE_VENUE] = aggregate_with_state(
            models,
            plan.venues,
            params,
            states_now.get(AGGREGATE_VENUE),
            seg_end,
            plan.not_collected,
            prevs[AGGREGATE_VENUE],
        )
        for venue, frames_now in zip(
            (*plan.brackets, AGGREGATE_VENUE),
            (*(m.frames for m in models), aggregate),
            strict=True,
        ):
            if seg_end >= end:
                break  # no next segment to start from this one's levels
            last_rows = frames_now.daily_metrics
            last_rows = last_rows[last_rows["day"] == seg_last]
            if len(last_rows):
                prevs[venue] = prev_from_rows(last_rows)
        if keep:
            kept.append((AGGREGATE_VENUE, seg_last, states_now[AGGREGATE_VENUE]))
        markets = {**{m.venue: m.frames for m in models}, AGGREGATE_VENUE: aggregate}
        reference = reference_market(models).venue
        written = tuple(m.venue for m in models)
        del models, aggregate
        yield _Batch(seg_start, seg_end, markets, reference, written, kept)


def write_batch(conn: duckdb.DuckDBPyConnection, job: MartsJob, batch: _Batch) -> None:
    """A segment's marts of every market and their states at its end: one transaction."""
    with transaction(conn):
        replace_batch(conn, job, batch)
    release_memory(conn)  # the next chunk's model does not stand on this one's garbage


def replace_batch(conn: duckdb.DuckDBPyConnection, job: MartsJob, batch: _Batch) -> None:
    """`write_batch` without its transaction: the caller's holds it (several segments may
    share one, transforms.marts.parallel: a commit costs a rewrite of each table's last
    row group)."""
    plan, update, hashes, tiers = job.plan, job.update, job.hashes, job.tiers
    symbol = plan.symbol
    based = base_days(conn, symbol) if job.anchors and batch.states else set()
    state_frames = [
        state_rows(venue, symbol, day, state, hashes, None)
        if venue == AGGREGATE_VENUE
        else _market_state_rows(
            venue,
            symbol,
            day,
            state,
            hashes,
            tiers,
            plan.gaps,
            plan.recorded[venue],
            None if (venue, day) in based else job.anchors.get(venue),
        )  # fmt: skip
        for venue, day, state in batch.states
    ]
    update.add(
        replace_markets(
            conn, batch.markets, symbol, batch.start, batch.end, batch.reference, batch.written
        )
    )
    if state_frames:
        rows = pd.concat(state_frames, ignore_index=True)
        update.add({"model_state": replace_state(conn, rows)})
    failpoint("state-write")
