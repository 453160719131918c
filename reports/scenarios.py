"""The model scenarios as the report shows them: labels, order, and the scenario table.

The mart names each scenario (`mart.daily_metrics.scenario`); this is the one place the
report lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reports.formats import fmt_price, fmt_usd, ok, ratio_oriented
from reports.headline import Row, ratio_text
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
    max_pain: str
    is_base: bool


def scenario_table(scenarios: Mapping[str, Row]) -> list[ScenarioRow]:
    keys = [k for k in SCENARIO_ORDER if k in scenarios] + sorted(
        k for k in scenarios if k not in SCENARIO_ORDER
    )
    out = []
    for k in keys:
        r = scenarios[k]
        mp = r.get("max_pain_price")
        out.append(
            ScenarioRow(
                key=k,
                label=SCENARIO_LABELS.get(k, k.replace("_", " ").capitalize()),
                longs=fmt_usd(r.get("longs_at_risk")),
                shorts=fmt_usd(r.get("shorts_at_risk")),
                ratio=ratio_text(r),
                max_pain=(f"{fmt_price(mp)} ({r.get('max_pain_side')})" if ok(mp) else "n/a"),
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


def ratio_spread(scenarios: Mapping[str, Row], shorts_heavy: bool) -> str:
    """'18:1 to 80:1' across the scenarios, in the base model's orientation."""
    vals = []
    for r in scenarios.values():
        s, lg = r.get("shorts_at_risk"), r.get("longs_at_risk")
        if ok(s) and ok(lg) and s > 0 and lg > 0:
            vals.append((s / lg if shorts_heavy else lg / s, s, lg))
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    return (
        f"{ratio_oriented(lo[1], lo[2], shorts_heavy)} to "
        f"{ratio_oriented(hi[1], hi[2], shorts_heavy)}"
    )
