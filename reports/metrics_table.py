"""The day page's metrics table: Metric | Status | Impact | change since the previous day.

Rule-based wording from the base-scenario rows of two consecutive days, every figure in the
site notation (reports.notation). The table prints only what the rest of the page does not
(issue 22): the imbalance is the headline's and the key figures' (no row), the key levels
and the day before's are the levels table's (no row), the zone is the headline's (its row
keeps the previous day and the reading), the 7-day funding mean and the day's open interest
are their charts' captions. The modelled liquidations carry the measured caveat (reports.honesty).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reports.headline import Row
from reports.honesty import LIQUIDATED_CAVEAT
from reports.notation import (
    MIN_BREAKOUT,
    fmt_pct,
    fmt_rate,
    fmt_usd,
    fmt_zone,
    ok,
    zone_position,
)

IN_SUMMARY = "in the summary"  # a status the headline prints
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


def metrics_table(cur: Row, prev: Row | None) -> list[MetricRow]:
    """Metric | Status | Impact | change since the previous day (base scenario rows): only
    the figures no other part of the day page prints (the module's docstring)."""
    prev = prev or {}
    out: list[MetricRow] = []
    pos = zone_position(cur.get("close_price"), cur.get("zone_low"), cur.get("zone_high"))
    zone = fmt_zone(cur.get("zone_low"), cur.get("zone_high"))
    if pos is None:
        status, impact = "n/a", "No consolidation zone."
    else:
        status = IN_SUMMARY  # the headline's zone sentence (reports.headline.zone_sentence)
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
    # the 7-day mean is the funding chart's caption; the elevated rate a year the headline's
    status = (
        "n/a"
        if state == "n/a"
        else state.capitalize()
        if state == "elevated"
        else f"{state.capitalize()}: {fmt_pct(cur.get('funding_annualized'))} a year"
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
    # the day's change and open interest are the open-interest chart's caption
    status = f"{fmt_pct(cur.get('oi_change_7d'))} over 7 days"
    if not ok(ch):
        impact = "No open-interest change available for this day."
    elif ch >= OI_MOVE:
        impact = "New leverage is entering: fresh liquidation levels are forming."
    elif ch <= -OI_MOVE:
        impact = "Positions are being closed or liquidated: leverage is leaving."
    else:
        impact = "Open interest is steady."
    change = _change_words(cur.get("oi_value"), prev.get("oi_value"), fmt_usd, 1e-6)
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
