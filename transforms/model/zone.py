"""Consolidation zone: the range of recent daily closes that stayed within a narrow band.

Method: take the daily closes up to and including the *previous* day; walk back from that
day while the closes seen so far satisfy (max − min) / min <= zone_width_pct (and at most
zone_max_days). The zone is [min, max] of those closes and zone_days is how many days it
spans. Runs shorter than zone_min_days are not a consolidation: low/high are NULL (zone_days
still reported). The day's own close is left out so it can be placed against the zone:
inside, above (a breakout up) or below (a breakdown) — a zone that included the close could
never be broken.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.model.params import ModelParams


def zone_for(closes: np.ndarray, params: ModelParams) -> tuple[float, float, int]:
    """Zone walking back from the last element of `closes` (daily closes, oldest first).

    For a day's zone pass the closes *before* that day (as `zones_daily` does)."""
    c = np.asarray(closes, dtype=float)
    c = c[np.isfinite(c)][::-1][: params.zone_max_days]
    if len(c) == 0:
        return float("nan"), float("nan"), 0
    hi = np.maximum.accumulate(c)
    lo = np.minimum.accumulate(c)
    ok = (hi - lo) / lo <= params.zone_width_pct
    days = int(np.argmin(ok)) if not ok.all() else len(c)
    if days < params.zone_min_days:
        return float("nan"), float("nan"), days
    return float(lo[days - 1]), float(hi[days - 1]), days


def zones_daily(day_close: pd.Series, target_days, params: ModelParams) -> pd.DataFrame:
    """zone_low / zone_high / zone_days for each target day from a day-indexed close series:
    the zone of the closes strictly before the day (its own close is compared against it)."""
    values = day_close.to_numpy(dtype=float)
    pos = np.searchsorted(day_close.index.to_numpy(), np.asarray(target_days), side="left")
    rows = [zone_for(values[:p], params) for p in pos]
    return pd.DataFrame(rows, columns=["zone_low", "zone_high", "zone_days"], index=target_days)
