"""The words of a day page: headline, metrics table, scenario table and key figures.

Pure functions of `mart.daily_metrics` rows (dicts). Every number goes through
reports.notation, so the same figure reads the same everywhere; ratios are `X:1 <heavier
side>`; both sides' key levels are always named; zone statements follow the printed rounded
numbers. Modelled liquidated dollars always carry the measured caveat (reports.honesty).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.honesty import LIQUIDATED_CAVEAT
from reports.key_levels import levels_sentence
from reports.notation import (
    MIN_BREAKOUT,
    fmt_imbalance,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_signed_usd,
    fmt_usd,
    fmt_zone,
    imbalance,
    ok,
    shown_price,
    zone_position,
)

Row = Mapping[str, Any]

SCENARIO_LABELS = {
    "base": "Base model",
    "never_close": "Never close (vendor-style)",
    "low_leverage": "Low leverage mix",
    "high_leverage": "High leverage mix",
}
SCENARIO_ORDER = ["base", "never_close", "low_leverage", "high_leverage"]

BALANCED = 1.25  # a heavier side below 1.25:1 also reads "roughly balanced"
OI_MOVE = 0.02  # a daily open-interest change beyond ±2 % counts as a move


def ratio_of(row: Row) -> str:
    """The row's imbalance in the site notation."""
    return fmt_imbalance(row.get("shorts_at_risk"), row.get("longs_at_risk"))


def balanced(row: Row) -> bool:
    imb = imbalance(row.get("shorts_at_risk"), row.get("longs_at_risk"))
    return imb.x is not None and imb.x < BALANCED


def zone_sentence(row: Row) -> str | None:
    """Price against its zone, worded from the printed numbers (None without a zone)."""
    close, lo, hi = row.get("close_price"), row.get("zone_low"), row.get("zone_high")
    pos = zone_position(close, lo, hi)
    if pos is None:
        return None
    days = row.get("zone_days")
    past = f" of the past {days} days" if isinstance(days, int) and days >= 2 else ""
    zone, price = fmt_zone(lo, hi), fmt_price(close)
    beyond_hi = shown_price(close) / shown_price(hi) - 1.0
    beyond_lo = shown_price(close) / shown_price(lo) - 1.0
    return {
        "inside": f"Price ({price}) stays inside its {zone} range{past}.",
        "testing_high": (
            f"Price ({price}) is testing the top of its {zone} range{past}, less than "
            f"{fmt_pct(MIN_BREAKOUT, 0, signed=False)} beyond it: not a breakout yet."
        ),
        "testing_low": (
            f"Price ({price}) is testing the bottom of its {zone} range{past}, less than "
            f"{fmt_pct(MIN_BREAKOUT, 0, signed=False)} beyond it: not a breakdown yet."
        ),
        "above": (
            f"Price ({price}) has broken above its {zone} range{past} "
            f"({fmt_pct(beyond_hi)} beyond the top)."
        ),
        "below": (
            f"Price ({price}) has broken below its {zone} range{past} "
            f"({fmt_pct(beyond_lo)} beyond the bottom)."
        ),
    }[pos]


def _first_sentence(cur: Row, scenarios: Mapping[str, Row]) -> str:
    spot = fmt_price(cur.get("close_price"))
    shorts, longs = cur.get("shorts_at_risk"), cur.get("longs_at_risk")
    if not (ok(shorts) and ok(longs)):
        return "The model's positions at risk are not available for this day."
    if shorts <= 0 and longs <= 0:
        return f"The model has no positions at risk on either side of {spot}."
    text = (
        f"The model puts {fmt_usd(shorts)} of shorts at risk above {spot} and "
        f"{fmt_usd(longs)} of longs below: {ratio_of(cur)}"
    )
    if balanced(cur):
        text += ", roughly balanced"
    nc = scenarios.get("never_close")
    if nc is not None and ratio_of(nc) != "n/a":
        text += f" (vendor-style 'never close': {ratio_of(nc)})"
    return text + "."


def funding_sentence(row: Row) -> str | None:
    state = row.get("funding_state")
    return {
        "reset": "Funding has reset.",
        "elevated": f"Funding is elevated ({fmt_pct(row.get('funding_annualized'))} a year).",
        "negative": "Funding is negative: shorts are paying longs.",
        "neutral": "Funding is neutral.",
    }.get(state)


def headline(cur: Row, scenarios: Mapping[str, Row] | None = None) -> str:
    """The summary paragraph for one day (base scenario row `cur`)."""
    scenarios = scenarios or {}
    parts = [_first_sentence(cur, scenarios)]
    if ok(cur.get("shorts_at_risk")) and ok(cur.get("longs_at_risk")):
        parts.append(levels_sentence(cur))
    for extra in (funding_sentence(cur), zone_sentence(cur)):
        if extra:
            parts.append(extra)
    return " ".join(parts)


@dataclass(frozen=True)
class MetricRow:
    metric: str
    status: str
    impact: str
    change: str


def _change_words(now: Any, before: Any, fmt, tol: float = 1e-9) -> str:
    if not ok(before):
        return "no previous day"
    if not ok(now):
        return "n/a"
    if abs(now - before) <= tol * max(1.0, abs(before)):
        return f"unchanged ({fmt(before)})"
    return f"{'up' if now > before else 'down'} from {fmt(before)}"


def _ratio_change(cur: Row, prev: Row) -> str:
    """'was 2.0:1 shorts' / 'unchanged' in the same notation as the status."""
    if not prev:
        return "no previous day"
    now, before = ratio_of(cur), ratio_of(prev)
    return "unchanged" if now == before else f"was {before}"


def _level_row(cur: Row, prev: Row, side: str) -> MetricRow:
    name = "shorts" if side == "above" else "longs"
    spot = cur.get("close_price")
    near, q = cur.get(f"nearest_cluster_{side}_price"), cur.get(f"p90_{side}_price")
    if ok(near):
        status = (
            f"nearest cluster {fmt_level(near, spot)} "
            f"({fmt_usd(cur.get(f'nearest_cluster_{side}_notional'))}); "
            f"90% point {fmt_level(q, spot)}"
        )
    else:
        status = f"no {name} at risk"
    impact = (
        "A rise into these levels forces short covering (buying): squeeze fuel."
        if side == "above"
        else "A fall into these levels forces long selling: flush fuel."
    )
    pq = prev.get(f"p90_{side}_price") if prev else None
    if not prev:
        change = "no previous day"
    elif fmt_price(q) == fmt_price(pq):
        change = "90% point unchanged"
    else:
        change = f"90% point was {fmt_price(pq)}"
    label = "Key levels above (shorts)" if side == "above" else "Key levels below (longs)"
    return MetricRow(label, status, impact, change)


def metrics_table(cur: Row, prev: Row | None) -> list[MetricRow]:
    """Metric | Status | Impact | change since the previous day (base scenario rows)."""
    prev = prev or {}
    out: list[MetricRow] = []
    imb = imbalance(cur.get("shorts_at_risk"), cur.get("longs_at_risk"))
    status = imb.text + (", roughly balanced" if balanced(cur) else "")
    if imb.heavier == "shorts" and not balanced(cur):
        impact = "More shorts above than longs below: a rise would force more buying."
    elif imb.heavier == "longs" and not balanced(cur):
        impact = "More longs below than shorts above: a fall would force more selling."
    elif imb.text == "n/a":
        impact = "No comparison: a side of the model is missing or empty."
    else:
        impact = "No strong pull either way from modelled liquidations."
    out.append(MetricRow("Liquidation ratio", status, impact, _ratio_change(cur, prev)))
    out.append(_level_row(cur, prev, "above"))
    out.append(_level_row(cur, prev, "below"))

    pos = zone_position(cur.get("close_price"), cur.get("zone_low"), cur.get("zone_high"))
    zone = fmt_zone(cur.get("zone_low"), cur.get("zone_high"))
    days = cur.get("zone_days")
    if pos is None:
        status, impact = "n/a", "No consolidation zone."
    else:
        dtxt = f" (past {days} day{'s' if days != 1 else ''})" if isinstance(days, int) else ""
        status = (
            f"{zone}{dtxt}, close {fmt_price(cur.get('close_price'))}: "
            + {
                "inside": "inside",
                "testing_high": "testing the top",
                "testing_low": "testing the bottom",
                "above": "above (breakout)",
                "below": "below (breakdown)",
            }[pos]
        )
        impact = {
            "inside": "Range-bound: liquidation clusters build up on both sides.",
            "testing_high": (
                f"At the top edge; a breakout needs a close {fmt_pct(MIN_BREAKOUT, 0, False)} "
                "above it."
            ),
            "testing_low": (
                f"At the bottom edge; a breakdown needs a close {fmt_pct(MIN_BREAKOUT, 0, False)} "
                "below it."
            ),
            "above": "Broke out upward: shorts above are the nearest fuel.",
            "below": "Broke down: longs below are the nearest fuel.",
        }[pos]
    pzone = fmt_zone(prev.get("zone_low"), prev.get("zone_high"))
    change = "no previous day" if not prev else "unchanged" if pzone == zone else f"was {pzone}"
    out.append(MetricRow("Current zone", status, impact, change))

    state = cur.get("funding_state") or "n/a"
    status = (
        "n/a"
        if state == "n/a"
        else f"{state.capitalize()}: 7-day mean {fmt_rate(cur.get('funding_7d_mean'))} "
        f"({fmt_pct(cur.get('funding_annualized'))} a year)"
    )
    impact = {
        "elevated": "Longs pay a premium to stay open: crowded long positioning.",
        "negative": "Shorts pay longs: crowded short positioning.",
        "reset": "Back to neutral after an elevated spell: leverage premium has cooled.",
        "neutral": "No crowding signal from funding.",
    }.get(state, "No funding data for this day.")
    pstate = prev.get("funding_state")
    if not prev:
        change = "no previous day"
    elif pstate and pstate != state:
        change = f"was {pstate}"
    else:
        change = _change_words(cur.get("funding_7d_mean"), prev.get("funding_7d_mean"), fmt_rate)
    out.append(MetricRow("Funding", status, impact, change))

    ch = cur.get("oi_change_1d")
    status = f"{fmt_pct(ch)} on the day, {fmt_usd(cur.get('oi_value'))} open"
    if not ok(ch):
        impact = "No open-interest change available for this day."
    elif ch >= OI_MOVE:
        impact = "New leverage is entering: fresh liquidation levels are forming."
    elif ch <= -OI_MOVE:
        impact = "Positions are being closed or liquidated: leverage is leaving."
    else:
        impact = "Open interest is steady."
    change = _change_words(cur.get("oi_value"), prev.get("oi_value"), fmt_usd, 1e-6)
    if ok(cur.get("oi_change_7d")):
        change += f"; 7 days {fmt_pct(cur.get('oi_change_7d'))}"
    out.append(MetricRow("Open-interest change", status, impact, change))

    ll, sl = cur.get("liquidated_long_24h"), cur.get("liquidated_short_24h")
    status = f"longs {fmt_usd(ll)} · shorts {fmt_usd(sl)} (modelled)"
    impact = LIQUIDATED_CAVEAT.short + "."
    if ok(ll) and ok(sl) and max(ll, sl) > 0:
        impact = f"{'Longs' if ll > sl else 'Shorts'} took most. " + impact
    change = (
        f"was longs {fmt_usd(prev.get('liquidated_long_24h'))} · "
        f"shorts {fmt_usd(prev.get('liquidated_short_24h'))}"
        if prev
        else "no previous day"
    )
    out.append(MetricRow("Modelled liquidations (24h)", status, impact, change))
    return out


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


def scenario_order(key: str) -> tuple[int, str]:
    return (
        SCENARIO_ORDER.index(key) if key in SCENARIO_ORDER else len(SCENARIO_ORDER),
        key,
    )


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
    """Every scenario's ratio, from the most long-heavy to the most short-heavy."""
    vals = [
        (r["shorts_at_risk"] / r["longs_at_risk"], ratio_of(r))
        for r in scenarios.values()
        if ok(r.get("shorts_at_risk")) and ok(r.get("longs_at_risk")) and r["longs_at_risk"] > 0
    ]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    return f"{lo[1]} to {hi[1]}"


def kpis(cur: Row, prev: Row | None, scenarios: Mapping[str, Row]) -> list[dict[str, str]]:
    """The key-figure cards."""

    def delta(key: str) -> str:
        if not prev or not (ok(cur.get(key)) and ok(prev.get(key))):
            return ""
        return f"{fmt_signed_usd(cur[key] - prev[key])} vs previous day"

    return [
        {
            "key": "shorts_at_risk",
            "label": "Shorts at risk (above spot)",
            "value": fmt_usd(cur.get("shorts_at_risk")),
            "spread": spread(scenarios, "shorts_at_risk"),
            "delta": delta("shorts_at_risk"),
        },
        {
            "key": "longs_at_risk",
            "label": "Longs at risk (below spot)",
            "value": fmt_usd(cur.get("longs_at_risk")),
            "spread": spread(scenarios, "longs_at_risk"),
            "delta": delta("longs_at_risk"),
        },
        {
            "key": "imbalance",
            "label": "Imbalance (heavier side)",
            "value": ratio_of(cur),
            "spread": ratio_spread(scenarios),
            "delta": f"previous day {ratio_of(prev)}" if prev else "",
        },
        {
            "key": "within_10pct",
            "label": "Within ±10 % of spot",
            "value": (
                f"{fmt_usd(cur.get('shorts_at_risk_10pct'))} shorts · "
                f"{fmt_usd(cur.get('longs_at_risk_10pct'))} longs"
            ),
            "spread": "",
            "delta": "",
        },
    ]


def feed_title(symbol: str, day_iso: str, cur: Row) -> str:
    """The feed entry title: the day's imbalance in the site notation."""
    return f"{symbol} {day_iso}: {ratio_of(cur)}" + (" (roughly balanced)" if balanced(cur) else "")
