"""Day-level market context: day-end bars, funding state and open-interest changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.model.bars import NS_PER_DAY, NS_PER_HOUR, BarArrays
from transforms.model.params import ModelParams

FUNDING_COLUMNS = [
    "funding_rate_last",
    "funding_7d_mean",
    "funding_annualized",
    "funding_pctile_1y",
    "funding_state",
]
OI_COLUMNS = ["oi_value", "oi_change_1d", "oi_change_7d", "oi_change_30d"]


def day_ends(bars: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    """(day_ns, last bar index) for every UTC day that has bars."""
    d = bars.day_ns
    if bars.n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    last = np.flatnonzero(np.append(d[1:] != d[:-1], True))
    return d[last], last


def _window_mean(ts: np.ndarray, x: np.ndarray, ends: np.ndarray, span_ns: int) -> np.ndarray:
    """Mean of finite x over bars with ts in (ts[end] - span, ts[end]] for each end index.

    Every bar carries the rate in force, so this is the time-weighted mean of settlements.
    """
    ok = np.isfinite(x)
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    lo = np.searchsorted(ts, ts[ends] - span_ns, side="right")
    hi = ends + 1
    cnt = cn[hi] - cn[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (cs[hi] - cs[lo]) / np.maximum(cnt, 1), np.nan)


def funding_daily(bars: BarArrays, params: ModelParams) -> pd.DataFrame:
    """Funding metrics for every day in the bars (index = day_ns)."""
    days, last = day_ends(bars)
    f = bars.funding
    ok = np.isfinite(f)
    # Last settled rate as of day end (forward-filled over missing bars).
    idx = np.maximum.accumulate(np.where(ok, np.arange(bars.n), -1)) if bars.n else np.zeros(0)
    li = idx[last].astype(np.int64)
    rate_last = np.where(li >= 0, f[np.maximum(li, 0)], np.nan) if bars.n else np.zeros(0)
    mean7 = _window_mean(bars.ts, f, last, params.funding_mean_days * NS_PER_DAY)
    per_year = 365.0 * 24.0 / params.funding_interval_hours
    annual = mean7 * per_year
    # Percentile of today's 7d mean among the daily 7d means of the past year (incl. today).
    pct = np.full(len(days), np.nan)
    state: list[str | None] = [None] * len(days)
    span = params.funding_pctile_days * NS_PER_DAY
    reset_span = params.funding_reset_days * NS_PER_DAY
    raw = np.where(
        ~np.isfinite(mean7),
        0,
        np.where(
            mean7 >= params.funding_elevated, 2, np.where(mean7 < params.funding_negative, -1, 1)
        ),
    )
    last_elevated: int | None = None
    for i in range(len(days)):
        if np.isfinite(mean7[i]):
            lo = np.searchsorted(days, days[i] - span, side="right")
            window = mean7[lo : i + 1]
            window = window[np.isfinite(window)]
            pct[i] = float(np.mean(window <= mean7[i]))
        if raw[i] == 2:
            state[i] = "elevated"
        elif raw[i] == -1:
            state[i] = "negative"
        elif raw[i] == 1:
            recent = last_elevated is not None and days[i] - last_elevated <= reset_span
            state[i] = "reset" if recent else "neutral"
        if raw[i] == 2:
            last_elevated = int(days[i])
    return pd.DataFrame(
        {
            "funding_rate_last": rate_last,
            "funding_7d_mean": mean7,
            "funding_annualized": annual,
            "funding_pctile_1y": pct,
            "funding_state": pd.array(state, dtype=object),
        },
        index=days,
    )


def oi_daily(bars: BarArrays) -> pd.DataFrame:
    """Day-end open interest value and its 1/7/30-day fractional change (index = day_ns)."""
    days, last = day_ends(bars)
    oi = bars.oi_value[last]
    s = pd.Series(oi, index=days)
    out = {"oi_value": oi}
    for k in (1, 7, 30):
        prev = s.reindex(days - k * NS_PER_DAY).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"oi_change_{k}d"] = np.where(prev > 0, oi / prev - 1.0, np.nan)
    return pd.DataFrame(out, index=days)


def hours_per_bar(bars: BarArrays) -> float:
    return bars.interval_ns / NS_PER_HOUR
