"""The model scenarios as the report shows them: labels, order, and the scenario table.

The mart names each scenario (`mart.daily_metrics.scenario`); this is the one place the
report lists them. Ratios in the site notation; both 90 % points, never one side by weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reports.headline import Row, ratio_of
from reports.notation import fmt_level, fmt_usd, ok, row_sides
from transforms.model.scenarios import SCENARIO_LABELS, SCENARIO_NAMES

SCENARIO_ORDER = list(SCENARIO_NAMES)


def scenario_order(key: str) -> tuple[int, str]:
    """Sort key: the known scenarios in SCENARIO_ORDER, then any others by name."""
    return (SCENARIO_ORDER.index(key) if key in SCENARIO_ORDER else len(SCENARIO_ORDER), key)


@dataclass(frozen=True)
class ScenarioRow:
    key: str
    label: str
    longs: str
    shorts: str
    ratio: str
    p90_above: str
    p90_below: str
    is_base: bool


def scenario_table(scenarios: Mapping[str, Row]) -> list[ScenarioRow]:
    out = []
    for k in sorted(scenarios, key=scenario_order):
        r = scenarios[k]
        spot = r.get("close_price")
        out.append(
            ScenarioRow(
                key=k,
                label=SCENARIO_LABELS.get(k, k.replace("_", " ").capitalize()),
                longs=fmt_usd(r.get("longs_at_risk")),
                shorts=fmt_usd(r.get("shorts_at_risk")),
                ratio=ratio_of(r),
                p90_above=fmt_level(r.get("p90_above_price"), spot),
                p90_below=fmt_level(r.get("p90_below_price"), spot),
                is_base=k == "base",
            )
        )
    return out


def spread(scenarios: Mapping[str, Row], key: str) -> str:
    """'$20.1B–$77.8B' across the scenarios for one figure (empty if fewer than two)."""
    vals = [r.get(key) for r in scenarios.values() if ok(r.get(key))]
    if len(vals) < 2:
        return ""
    return f"{fmt_usd(min(vals))}–{fmt_usd(max(vals))}"


def ratio_spread(scenarios: Mapping[str, Row]) -> str:
    """Every scenario's near-spot ratio (the headline's window), from the most long-heavy to
    the most short-heavy."""
    vals = [
        (shorts / longs, ratio_of(r))
        for r in scenarios.values()
        for shorts, longs in [row_sides(r)]
        if ok(shorts) and ok(longs) and longs > 0
    ]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    return f"{lo[1]} to {hi[1]}"
