"""Day-level running quantities of a market (or of a symbol's aggregate), carried across runs.

The daily metrics beside the cohorts — funding (last rate, 7-day mean, its percentile over a
year, the elevated/reset state), open-interest change over 1/7/30 days, the consolidation zone
and the days of history seen — each look back over a bounded span of earlier days. A
`ContextCarry` keeps exactly what they need at the end of a bar: the daily series of the
last `keep_days` days (day-end close, open interest, 7-day mean funding), the funding of the
bars of the last `funding_mean_days`, the last settled rate, the last elevated day and the
first bar ever seen. `day_context(bars, params, carry)` gives the same numbers for the days of
`bars` as one call over all bars since the first would (each figure is computed from the same
values with the same operations, whatever the chunking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.model.bars import NS_PER_DAY, BarArrays
from transforms.model.params import ModelParams
from transforms.model.zone import zone_for

FUNDING_COLUMNS = [
    "funding_rate_last",
    "funding_7d_mean",
    "funding_annualized",
    "funding_pctile_1y",
    "funding_state",
]
OI_COLUMNS = ["oi_value", "oi_change_1d", "oi_change_7d", "oi_change_30d"]
ZONE_COLUMNS = ["zone_low", "zone_high", "zone_days"]
OI_CHANGE_DAYS = (1, 7, 30)


@dataclass
class ContextCarry:
    """What the day-level metrics need of the days before a run (see module doc)."""

    first_ts: int = -1  # open time of the first bar ever seen (-1: none yet)
    day_ns: np.ndarray | None = None  # earlier days with bars, ascending (bounded)
    day_close: np.ndarray | None = None
    day_oi: np.ndarray | None = None
    day_mean7: np.ndarray | None = None
    fund_ts: np.ndarray | None = None  # bars within funding_mean_days of the last bar
    fund_rate: np.ndarray | None = None
    rate_last: float = float("nan")
    last_elevated: int = -1  # day (ns) of the last "elevated" day, -1 if none
    elevated_before_last: int = -1  # ... before the last day of `day_ns`

    def __post_init__(self) -> None:
        for name in ("day_ns", "fund_ts"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(0, dtype=np.int64))
        for name in ("day_close", "day_oi", "day_mean7", "fund_rate"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(0))


def keep_days(params: ModelParams) -> int:
    """Daily entries a carry keeps: enough for every look-back (a calendar span of N days
    holds at most N entries, the zone counts entries)."""
    return max(params.funding_pctile_days, params.zone_max_days, max(OI_CHANGE_DAYS)) + 1


def day_ends(bars: BarArrays) -> tuple[np.ndarray, np.ndarray]:
    """(day_ns, last bar index) for every UTC day that has bars."""
    d = bars.day_ns
    if bars.n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    last = np.flatnonzero(np.append(d[1:] != d[:-1], True))
    return d[last], last


def _funding(
    bars: BarArrays, days: np.ndarray, last: np.ndarray, params: ModelParams, c: ContextCarry
) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[int, int]]:
    """Funding columns for `days`, their 7-day means, and the last elevated day (through
    the last day, and before it)."""
    m = len(days)
    ts = np.concatenate([c.fund_ts, bars.ts])
    f = np.concatenate([c.fund_rate, bars.funding])
    ok = np.isfinite(f)
    x = np.where(ok, f, 0.0)
    off = len(c.fund_ts)
    ends = last + off
    lo = np.searchsorted(ts, ts[ends] - params.funding_mean_days * NS_PER_DAY, side="right")
    mean7 = np.full(m, np.nan)
    rate_last = np.full(m, np.nan)
    # last settled rate as of each day end, forward-filled over bars (and from the carry)
    idx = np.maximum.accumulate(np.where(ok, np.arange(len(f)), -1)) if len(f) else ok
    for i in range(m):
        cnt = int(np.count_nonzero(ok[lo[i] : ends[i] + 1]))
        if cnt:
            mean7[i] = float(np.sum(x[lo[i] : ends[i] + 1])) / cnt
        j = int(idx[ends[i]])
        rate_last[i] = f[j] if j >= 0 else c.rate_last
    per_year = 365.0 * 24.0 / params.funding_interval_hours
    all_days = np.concatenate([c.day_ns, days])
    all_mean7 = np.concatenate([c.day_mean7, mean7])
    pct = np.full(m, np.nan)
    state: list[str | None] = [None] * m
    span = params.funding_pctile_days * NS_PER_DAY
    reset_span = params.funding_reset_days * NS_PER_DAY
    last_elevated: int | None = None if c.last_elevated < 0 else c.last_elevated
    before_last = c.elevated_before_last if m == 0 else -1
    base = len(c.day_ns)
    for i in range(m):
        if i == m - 1:
            before_last = -1 if last_elevated is None else last_elevated
        v = mean7[i]
        if np.isfinite(v):
            k = base + i
            lo_d = np.searchsorted(all_days, all_days[k] - span, side="right")
            window = all_mean7[lo_d : k + 1]
            window = window[np.isfinite(window)]
            pct[i] = float(np.mean(window <= v))
            if v >= params.funding_elevated:
                state[i] = "elevated"
            elif v < params.funding_negative:
                state[i] = "negative"
            else:
                recent = last_elevated is not None and days[i] - last_elevated <= reset_span
                state[i] = "reset" if recent else "neutral"
            if v >= params.funding_elevated:
                last_elevated = int(days[i])
    cols = {
        "funding_rate_last": rate_last,
        "funding_7d_mean": mean7,
        "funding_annualized": mean7 * per_year,
        "funding_pctile_1y": pct,
        "funding_state": pd.array(state, dtype=object),
    }
    return cols, mean7, (-1 if last_elevated is None else last_elevated, before_last)


def day_context(
    bars: BarArrays, params: ModelParams, carry: ContextCarry | None = None
) -> tuple[pd.DataFrame, ContextCarry]:
    """Funding, open-interest and zone columns and `history_days` for every UTC day of
    `bars` (index = day_ns), and the carry at the end of its last bar."""
    c = carry if carry is not None else ContextCarry()
    days, last = day_ends(bars)
    if len(days) and len(c.day_ns) and c.day_ns[-1] == days[0]:
        # the carry ended inside the first day (an intraday step): that day is redone whole
        c = ContextCarry(
            c.first_ts, c.day_ns[:-1], c.day_close[:-1], c.day_oi[:-1], c.day_mean7[:-1],
            c.fund_ts, c.fund_rate, c.rate_last, c.elevated_before_last, c.elevated_before_last,
        )  # fmt: skip
    first_ts = c.first_ts if c.first_ts >= 0 else (int(bars.ts[0]) if bars.n else -1)
    fund, mean7, (last_elevated, before_last) = _funding(bars, days, last, params, c)
    close, oi = bars.close[last], bars.oi_value[last]
    all_days = np.concatenate([c.day_ns, days])
    all_close = np.concatenate([c.day_close, close])
    all_oi = np.concatenate([c.day_oi, oi])
    out: dict[str, object] = dict(fund)
    out["oi_value"] = oi
    for k in OI_CHANGE_DAYS:
        pos = np.searchsorted(all_days, days - k * NS_PER_DAY)
        hit = pos < len(all_days)
        hit[hit] = all_days[pos[hit]] == days[hit] - k * NS_PER_DAY
        prev = np.where(hit, all_oi[np.minimum(pos, len(all_oi) - 1)], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"oi_change_{k}d"] = np.where(prev > 0, oi / prev - 1.0, np.nan)
    base = len(c.day_ns)
    zones = [zone_for(all_close[: base + i], params) for i in range(len(days))]
    zone = np.array(zones, dtype=float).reshape(len(days), 3)
    out["zone_low"], out["zone_high"] = zone[:, 0], zone[:, 1]
    out["zone_days"] = zone[:, 2].astype("int64")
    out["history_days"] = ((days + NS_PER_DAY - first_ts) // NS_PER_DAY).astype("int64")
    frame = pd.DataFrame(out, index=days)

    keep = keep_days(params)
    all_mean7 = np.concatenate([c.day_mean7, mean7])
    ts = np.concatenate([c.fund_ts, bars.ts])
    rates = np.concatenate([c.fund_rate, bars.funding])
    last_ts = ts[-1] if len(ts) else 0
    recent = ts > last_ts - params.funding_mean_days * NS_PER_DAY
    ok = np.isfinite(rates)
    rate_last = rates[np.flatnonzero(ok)[-1]] if ok.any() else c.rate_last
    new = ContextCarry(
        first_ts=first_ts,
        day_ns=all_days[-keep:],
        day_close=all_close[-keep:],
        day_oi=all_oi[-keep:],
        day_mean7=all_mean7[-keep:],
        fund_ts=ts[recent],
        fund_rate=rates[recent],
        rate_last=float(rate_last),
        last_elevated=last_elevated,
        elevated_before_last=before_last,
    )
    return frame, new
