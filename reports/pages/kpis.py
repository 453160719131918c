"""The day page's key figures: shorts and longs at risk, the imbalance, risk within ±10 %."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reports.headline import Row, ratio_of
from reports.notation import fmt_signed_usd, fmt_usd, ok
from reports.scenarios import ratio_spread, spread


@dataclass(frozen=True)
class Kpi:
    key: str  # data-metric attribute
    label: str
    value: str
    spread: str  # across the scenarios, "" when fewer than two
    delta: str  # against the previous day, "" on the first day
    venues: str = ""  # the split by venue ("Binance $546M (62%) · Bybit $328M (38%)"), or ""


def _delta_usd(cur: Row, prev: Row | None, key: str) -> str:
    if not prev or not (ok(cur.get(key)) and ok(prev.get(key))):
        return ""
    return f"{fmt_signed_usd(cur[key] - prev[key])} vs previous day"


def kpis(scen: Mapping[str, Row], prev: Row | None) -> list[Kpi]:
    """From the day's rows per scenario `scen` and the previous day's base row `prev`."""
    cur = scen["base"]
    return [
        Kpi(
            key="shorts_at_risk",
            label="Shorts at risk (above spot)",
            value=fmt_usd(cur.get("shorts_at_risk")),
            spread=spread(scen, "shorts_at_risk"),
            delta=_delta_usd(cur, prev, "shorts_at_risk"),
        ),
        Kpi(
            key="longs_at_risk",
            label="Longs at risk (below spot)",
            value=fmt_usd(cur.get("longs_at_risk")),
            spread=spread(scen, "longs_at_risk"),
            delta=_delta_usd(cur, prev, "longs_at_risk"),
        ),
        Kpi(
            key="imbalance",
            label="Imbalance (heavier side)",
            value=ratio_of(cur),
            spread=ratio_spread(scen),
            delta=f"previous day {ratio_of(prev)}" if prev else "",
        ),
        Kpi(
            key="within_10pct",
            label="Within ±10 % of spot",
            value=(
                f"{fmt_usd(cur.get('shorts_at_risk_10pct'))} shorts · "
                f"{fmt_usd(cur.get('longs_at_risk_10pct'))} longs"
            ),
            spread="",
            delta="",
        ),
    ]
