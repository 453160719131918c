"""One symbol's marts for a window: read the staged bars and the dated brackets, run the
model once per scenario, replace the window's mart rows (the step the marts asset calls).

Price bins scale with the symbol (a 250 USDT bin is meaningless for SOL): unless the caller
fixes them, `bin_size` and `heatmap_bin_size` come from `transforms.reference.bins.symbol_bins`
of the symbol's first staged close, and are recorded with the other parameters (each symbol's
rows carry the params_hash of the bins they were built with)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from transforms.marts.aggregate import aggregate_markets, reference_market
from transforms.marts.build import build_market
from transforms.marts.coverage import describe_missing, missing_raw_days
from transforms.marts.prev_levels import read_prev_levels
from transforms.marts.store import read_bars, write_marts
from transforms.model.params import ModelParams
from transforms.reference import load_brackets
from transforms.reference.bins import symbol_bins
from transforms.venues import AGGREGATE_VENUE


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

    def add(self, rows: dict[str, int]) -> None:
        for key, n in rows.items():
            self.rows[key] = self.rows.get(key, 0) + n


def symbol_params(params: ModelParams, bars: pd.DataFrame, auto_bins: bool = True) -> ModelParams:
    """`params` with the symbol's price bins (see module doc); unchanged if not auto_bins."""
    if not auto_bins:
        return params
    bin_size, heatmap_bin_size = symbol_bins(float(bars["close"].iloc[0]))
    return dataclasses.replace(params, bin_size=bin_size, heatmap_bin_size=heatmap_bin_size)


def _market_bars(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, start: date, end: date
) -> pd.DataFrame:
    """The market's staged history, or NoStagedBars / IncompleteRawWindow naming it."""
    missing = missing_raw_days(conn, symbol, start, end, venue)
    if missing:
        what = describe_missing(missing)
        raise IncompleteRawWindow(
            f"{venue} {symbol}: no raw rows for {what}; its marts are not updated"
        )
    bars = read_bars(conn, symbol, end, venue)
    if bars.empty:
        raise NoStagedBars(f"no staged bars for {venue} {symbol} before {end}: run stg_bars_5m")
    return bars


def update_marts(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    params: ModelParams,
    start: date,
    end: date,
    auto_bins: bool,
    venues: tuple[str, ...],
) -> SymbolMartsUpdate:
    """Rebuild every mart of `symbol` for days [start, end) from each venue's whole staged
    history, then its aggregate across venues ('all', transforms.marts.aggregate).

    With `auto_bins` (default) the price bins of `params` are replaced by the symbol's, taken
    from the first venue that has bars, and shared by every venue (the aggregate sums grids
    on the same bins). A venue without rows for the window is reported in `failed` and the
    others go on; when none has rows, the first venue's error is raised.
    """
    frames: dict[str, pd.DataFrame] = {}
    errors: dict[str, LookupError] = {}
    for venue in venues:
        try:
            frames[venue] = _market_bars(conn, venue, symbol, start, end)
        except (NoStagedBars, IncompleteRawWindow) as exc:
            errors[venue] = exc
    if not frames:
        raise next(iter(errors.values()))
    params = symbol_params(params, next(iter(frames.values())), auto_bins)
    update = SymbolMartsUpdate(params, failed={v: str(e) for v, e in errors.items()})
    models = []
    for venue, bars in frames.items():
        try:
            brackets = load_brackets(conn, symbol, venue=venue)
        except LookupError as exc:
            update.failed[venue] = str(exc)
            continue
        prev = read_prev_levels(conn, venue, symbol, start)
        model = build_market(bars, brackets, params, symbol, start, end, venue=venue, prev=prev)
        update.add(write_marts(conn, model.frames, symbol, start, end, venue))
        update.bars[venue] = len(bars)
        models.append(model)
    if not models:
        raise IncompleteRawWindow("; ".join(update.failed.values()))
    prev = read_prev_levels(conn, AGGREGATE_VENUE, symbol, start)
    aggregate = aggregate_markets(models, venues, params, prev)
    reference = reference_market(models).venue
    written = tuple(m.venue for m in models)
    update.add(
        write_marts(conn, aggregate, symbol, start, end, AGGREGATE_VENUE, reference, written)
    )
    return update
