"""One symbol's marts for a window: read the staged bars and the dated brackets, run the
model once per scenario, replace the window's mart rows (the step the marts asset calls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from transforms.marts.build import build_marts
from transforms.marts.store import read_bars, write_marts
from transforms.model.params import ModelParams
from transforms.reference import load_brackets


class NoStagedBars(LookupError):
    """The staging layer has no bars for the symbol before the window's end."""


@dataclass(frozen=True)
class MartsUpdate:
    bars: int
    rows: dict[str, int]


def update_marts(
    conn: duckdb.DuckDBPyConnection, symbol: str, params: ModelParams, start: date, end: date
) -> MartsUpdate:
    """Rebuild every mart of `symbol` for days [start, end) from its whole staged history."""
    bars = read_bars(conn, symbol, end)
    if bars.empty:
        raise NoStagedBars(f"no staged bars for {symbol} before {end}: run stg_bars_5m")
    brackets = load_brackets(conn, symbol)
    frames = build_marts(bars, brackets, params, symbol, start, end)
    return MartsUpdate(bars=len(bars), rows=write_marts(conn, frames, symbol, start, end))
