"""The day page's key figures: shorts and longs at risk, the imbalance within ±10 % (the
headline's) with the sums behind it, and the whole map's imbalance as context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reports.headline import CONTEXT_BAND, NEAR, Row, ratio_of, whole_map_ratio_of
from reports.notation import fmt_signed_usd, fmt_usd, fmt_window, ok, row_sides
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
            label=f"Imbalance within {fmt_window(NEAR)} (heavier side)",
            value=ratio_of(cur),
            spread=ratio_spread(scen),
            delta=f"previous day {ratio_of(prev)}" if prev else "",
        ),
        Kpi(
            key="within_10pct",
            label=f"At risk within {fmt_window(NEAR)} of spot",
            value=_sums(cur, NEAR),
            spread="",
            delta=f"within {fmt_window(CONTEXT_BAND)}: {_sums(cur, CONTEXT_BAND)} "
            f"({ratio_of(cur, CONTEXT_BAND)})",
        ),
        Kpi(
            key="imbalance_whole_map",
            label="Imbalance, whole map (context)",
            value=whole_map_ratio_of(cur),
            spread="",
            delta=f"previous day {whole_map_ratio_of(prev)}" if prev else "",
        ),
    ]


def _sums(cur: Row, window: str) -> str:
    shorts, longs = row_sides(cur, window)
    return f"{fmt_usd(shorts)} shorts · {fmt_usd(longs)} longs"
