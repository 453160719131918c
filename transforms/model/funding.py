"""Day-level market context: funding state and open-interest changes (transforms.model.context
computes them, with what carries over from earlier days)."""

from __future__ import annotations

import pandas as pd

from transforms.model.bars import NS_PER_HOUR, BarArrays
from transforms.model.context import FUNDING_COLUMNS, OI_COLUMNS, day_context, day_ends
from transforms.model.params import ModelParams

__all__ = ["FUNDING_COLUMNS", "OI_COLUMNS", "day_ends", "funding_daily", "oi_daily"]


def funding_daily(bars: BarArrays, params: ModelParams) -> pd.DataFrame:
    """Funding metrics for every day in the bars (index = day_ns)."""
    return day_context(bars, params)[0][FUNDING_COLUMNS]


def oi_daily(bars: BarArrays) -> pd.DataFrame:
    """Day-end open interest value and its 1/7/30-day fractional change (index = day_ns)."""
    return day_context(bars, ModelParams())[0][OI_COLUMNS]


def hours_per_bar(bars: BarArrays) -> float:
    return bars.interval_ns / NS_PER_HOUR
