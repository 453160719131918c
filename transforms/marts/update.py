"""One symbol's marts for a window: read the staged bars and the dated brackets, run the
model once per scenario, replace the window's mart rows (the step the marts asset calls).

Price bins scale with the symbol (a 250 USDT bin is meaningless for SOL): unless the caller
fixes them, `bin_size` and `heatmap_bin_size` come from `transforms.reference.bins.symbol_bins`
of the symbol's first staged close, and are recorded with the other parameters (each symbol's
rows carry the params_hash of the bins they were built with)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from transforms.marts.build import build_marts
from transforms.marts.coverage import describe_missing, missing_raw_days
from transforms.marts.store import read_bars, write_marts
from transforms.model.params import ModelParams
from transforms.reference import load_brackets
from transforms.reference.bins import symbol_bins


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


def symbol_params(params: ModelParams, bars: pd.DataFrame, auto_bins: bool = True) -> ModelParams:
    """`params` with the symbol's price bins (see module doc); unchanged if not auto_bins."""
    if not auto_bins:
        return params
    bin_size, heatmap_bin_size = symbol_bins(float(bars["close"].iloc[0]))
    return dataclasses.replace(params, bin_size=bin_size, heatmap_bin_size=heatmap_bin_size)


def update_marts(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    params: ModelParams,
    start: date,
    end: date,
    auto_bins: bool = True,
) -> MartsUpdate:
    """Rebuild every mart of `symbol` for days [start, end) from its whole staged history.
    With `auto_bins` (default) the price bins of `params` are replaced by the symbol's."""
    missing = missing_raw_days(conn, symbol, start, end)
    if missing:
        what = describe_missing(missing)
        raise IncompleteRawWindow(f"{symbol}: no raw rows for {what}; its marts are not updated")
    bars = read_bars(conn, symbol, end)
    if bars.empty:
        raise NoStagedBars(f"no staged bars for {symbol} before {end}: run stg_bars_5m")
    brackets = load_brackets(conn, symbol)
    params = symbol_params(params, bars, auto_bins)
    frames = build_marts(bars, brackets, params, symbol, start, end)
    rows = write_marts(conn, frames, symbol, start, end)
    return MartsUpdate(bars=len(bars), rows=rows, params=params)
