"""The day page's metrics table: Metric | Status | Impact | change since the previous day.

Rule-based wording from the base-scenario rows of two consecutive days, every figure in the
site notation (reports.notation). The imbalance row and its Impact follow the near-spot
imbalance (within ±10 %, the headline's); ±5 % and the whole map stand beside it as
context. The key levels of both sides get a row each, and the
modelled liquidations carry the measured caveat (reports.honesty).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports.headline import CONTEXT_BAND, NEAR, Row, balanced, ratio_of, whole_map_ratio_of
from reports.honesty import LIQUIDATED_CAVEAT
from reports.key_levels import move_words
from reports.notation import (
    MIN_BREAKOUT,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_usd,
    fmt_window,
    fmt_zone,
    ok,
    row_imbalance,
    zone_position,
)

IMBALANCE_METRIC = f"Imbalance within {fmt_window(NEAR)}"
OI_MOVE = 0.02  # a daily open-interest change beyond ±2 % counts as a move


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
    why = move_words(cur, side)
    if ok(near):
        status = (
            f"nearest major cluster {fmt_level(near, spot)} "
            f"({fmt_usd(cur.get(f'nearest_cluster_{side}_notional'))}); "
            f"90% point {fmt_level(q, spot)}"
        )
    elif ok(q):
        status = f"no major cluster; 90% point {fmt_level(q, spot)}"
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
    pn = prev.get(f"nearest_cluster_{side}_price") if prev else None
    if prev and fmt_price(pn) != fmt_price(near):
        change += f"; nearest cluster was {fmt_price(pn)}" + (f" ({why})" if why else "")
    elif prev and cur.get(f"nearest_cluster_{side}_move") == "held":
        change += "; nearest cluster held"
    label = "Key levels above (shorts)" if side == "above" else "Key levels below (longs)"
    return MetricRow(label, status, impact, change)


def metrics_table(cur: Row, prev: Row | None) -> list[MetricRow]:
    """Metric | Status | Impact | change since the previous day (base scenario rows)."""
    prev = prev or {}
    out: list[MetricRow] = []
    imb = row_imbalance(cur, NEAR)
    status = imb.text + (", roughly balanced" if balanced(cur) else "")
    status += (
        f" (within {fmt_window(CONTEXT_BAND)}: {ratio_of(cur, CONTEXT_BAND)}; "
        f"whole map, context: {whole_map_ratio_of(cur)})"
    )
    near = fmt_window(NEAR)
    if imb.heavier == "shorts" and not balanced(cur):
        impact = (
            f"More shorts above than longs below within {near}: a rise would force more buying."
        )
    elif imb.heavier == "longs" and not balanced(cur):
        impact = (
            f"More longs below than shorts above within {near}: a fall would force more selling."
        )
    elif imb.text == "n/a":
        impact = f"No comparison: a side of the model is missing or empty within {near}."
    else:
        impact = f"No strong pull either way from modelled liquidations within {near}."
    out.append(MetricRow(IMBALANCE_METRIC, status, impact, _ratio_change(cur, prev)))
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
