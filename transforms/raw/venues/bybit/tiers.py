"""Bybit risk-limit tiers -> rows of the dated tier table (`ref.leverage_brackets` shape).

Bybit's docs show margin rates as percentages in their (inverse) example ("0.5" = 0.5 % with
initialMargin "1" and maxLeverage "100") while SDK examples for linear show fractions
("0.005"). The unit is decided per snapshot from `initialMargin x maxLeverage` (~1 for
fractions, ~100 for percentages) instead of being assumed.
"""

from __future__ import annotations

import pandas as pd

from transforms.model.brackets import BRACKET_COLUMNS as MODEL_BRACKET_COLUMNS
from transforms.raw.venues.bybit.errors import BybitFormatError
from transforms.raw.venues.bybit.source import VENUE, BybitDay

#: the model's bracket columns, led by the venue (the layout of ref.leverage_brackets' rows)
BRACKET_COLUMNS = ["venue", *MODEL_BRACKET_COLUMNS]


def _rate_scale(rows: list[tuple], label: str) -> float:
    products = [r[4] * r[6] for r in rows if r[4] and r[6]]
    if products and all(0.8 <= p <= 1.25 for p in products):
        return 1.0
    if products and all(80 <= p <= 125 for p in products):
        return 0.01
    raise BybitFormatError(
        f"{label}: cannot tell whether margin rates are fractions or percentages "
        f"(initialMargin x maxLeverage = {products[:3]})"
    )


def tiers_to_brackets(snapshot: BybitDay) -> pd.DataFrame:
    """One row per tier, floors from the previous cap; `cum` is Bybit's mmDeduction, or the
    continuity rule `cum_n = cum_{n-1} + floor_n (MMR_n - MMR_{n-1})` when it is empty."""
    if snapshot.dataset != "risk_limit":
        raise ValueError(f"expected a risk_limit snapshot, got {snapshot.dataset}")
    label = f"bybit risk_limit {snapshot.symbol} {snapshot.period}"
    rows = sorted(snapshot.rows, key=lambda r: r[2])
    scale = _rate_scale(rows, label)
    out = []
    floor, prev_mmr, cum = 0.0, 0.0, 0.0
    for i, (_id, symbol, cap, mmr, _im, _lowest, max_lev, deduction) in enumerate(rows):
        mmr = mmr * scale
        if mmr < prev_mmr or cap <= floor:
            raise BybitFormatError(f"{label}: tier {i + 1} is not above tier {i}")
        cum = cum + floor * (mmr - prev_mmr) if deduction is None else deduction
        source = f"Bybit /v5/market/risk-limit snapshot {snapshot.period}"
        if snapshot.sha256:
            source += f" (cache sha256 {snapshot.sha256[:12]})"
        out.append((VENUE, symbol, snapshot.period, i + 1, floor, cap, max_lev, mmr, cum, source))
        floor, prev_mmr = cap, mmr
    frame = pd.DataFrame(out, columns=BRACKET_COLUMNS)
    frame["effective_date"] = pd.to_datetime(frame["effective_date"]).dt.date
    return frame
