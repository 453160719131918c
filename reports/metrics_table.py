"""The day page's metrics table: Metric | Status | Impact | change since the previous day.

Rule-based wording from the base-scenario rows of two consecutive days.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.formats import (
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_ratio,
    fmt_signed_price,
    fmt_usd,
    fmt_zone,
    ok,
    shown_price,
)
from reports.headline import Row, one_sided, side_of, zone_position

OI_MOVE = 0.02  # a daily open-interest change beyond +/-2 % counts as a move


@dataclass(frozen=True)
class MetricRow:
    metric: str
    status: str
    impact: str
    change: str


def _change_words(now: float | None, before: float | None, fmt, tol: float = 1e-9) -> str:
    if not ok(before):
        return "no previous day"
    if not ok(now):
        return "n/a"
    if abs(now - before) <= tol * max(1.0, abs(before)):
        return f"unchanged ({fmt(before)})"
    return f"{'up' if now > before else 'down'} from {fmt(before)}"


def _fmt_r(r: float) -> str:
    """An imbalance ratio (shorts ÷ longs) as heavier:lighter with the heavier side named."""
    return fmt_ratio(r, 1.0) + (" shorts" if r >= 1 else " longs")


def _ratio_change(now: float | None, before: float | None) -> str:
    """Change of the imbalance in the heavier side's orientation: 2.0:1 → 2.5:1 longs is
    'up from 2.0:1 longs' (longs got heavier); a flip of side says what it was."""
    if not ok(before) or before <= 0:
        return "no previous day"
    if not ok(now) or now <= 0:
        return "n/a"
    if (now >= 1) != (before >= 1):
        return f"was {_fmt_r(before)}"
    h_now, h_before = (now, before) if now >= 1 else (1 / now, 1 / before)
    if abs(h_now - h_before) <= 5e-3 * max(1.0, h_before):
        return f"unchanged ({_fmt_r(before)})"
    return f"{'up' if h_now > h_before else 'down'} from {_fmt_r(before)}"


def metrics_table(cur: Row, prev: Row | None) -> list[MetricRow]:
    """Metric | Status | Impact | change since the previous day (base scenario rows)."""
    prev = prev or {}
    out: list[MetricRow] = []

    # liquidation ratio
    side = side_of(cur)
    ratio = fmt_ratio(cur.get("shorts_at_risk"), cur.get("longs_at_risk"))
    if one_sided(cur):
        status = f"{side}s only, no {'longs' if side == 'short' else 'shorts'} at risk"
    else:
        status = {
            "short": f"{ratio}, shorts heavier",
            "long": f"{ratio}, longs heavier",
            "balanced": f"{ratio}, roughly balanced",
            "none": "n/a",
        }[side]
    impact = {
        "short": "A rise would force short covering (buying): squeeze fuel above.",
        "long": "A fall would force long selling: flush risk below.",
        "balanced": "No strong pull either way from modelled liquidations.",
        "none": "No comparison: a side of the model is missing or empty.",
    }[side]
    r_now = cur.get("imbalance_ratio")
    r_prev = prev.get("imbalance_ratio")
    out.append(MetricRow("Liquidation ratio", status, impact, _ratio_change(r_now, r_prev)))

    # max pain
    mp, mp_side = cur.get("max_pain_price"), cur.get("max_pain_side")
    spot = cur.get("close_price")
    if ok(mp):
        dist = f", {fmt_pct(mp / spot - 1, 0)} from spot" if ok(spot) and spot else ""
        status = f"{fmt_price(mp)} ({mp_side} side{dist})"
        impact = (
            "90% of modelled short liquidations lie between spot and this level."
            if mp_side == "short"
            else "90% of modelled long liquidations lie between spot and this level."
        )
    else:
        status, impact = "n/a", "No liquidation side dominates."
    pmp = prev.get("max_pain_price")
    if ok(mp) and ok(pmp):
        diff = shown_price(mp) - shown_price(pmp)  # the difference of the figures as shown
        change = (
            f"unchanged ({fmt_price(pmp)})"
            if fmt_price(mp) == fmt_price(pmp)
            else f"{fmt_signed_price(diff)} from {fmt_price(pmp)}"
        )
        if prev.get("max_pain_side") and prev.get("max_pain_side") != mp_side:
            change += f" (was the {prev.get('max_pain_side')} side)"
    else:
        change = "no previous day" if not prev else "n/a"
    out.append(MetricRow("Max-pain level", status, impact, change))

    # consolidation zone
    pos = zone_position(cur)
    zone = fmt_zone(cur.get("zone_low"), cur.get("zone_high"))
    days = cur.get("zone_days")
    if pos is None:
        status, impact = "n/a", "No consolidation zone."
    else:
        dtxt = f" (past {days} day{'s' if days != 1 else ''})" if isinstance(days, int) else ""
        status = {
            "inside": f"{zone}{dtxt}, price inside",
            "above": f"{zone}{dtxt}, price above",
            "below": f"{zone}{dtxt}, price below",
        }[pos]
        impact = {
            "inside": "Range-bound: liquidation clusters build up on both sides.",
            "above": "Broke out upward: shorts above are the nearest fuel.",
            "below": "Broke down: longs below are the nearest fuel.",
        }[pos]
    pzone = fmt_zone(prev.get("zone_low"), prev.get("zone_high"))
    if not prev:
        change = "no previous day"
    elif pzone == zone:
        change = "unchanged"
    else:
        change = f"was {pzone}"
    out.append(MetricRow("Current zone", status, impact, change))

    # funding
    state = cur.get("funding_state") or "n/a"
    if state == "n/a":
        status = "n/a"
    else:
        status = (
            f"{state.capitalize()}: 7-day mean {fmt_rate(cur.get('funding_7d_mean'))} "
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

    # open interest
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
    out.append(
        MetricRow(
            "Open-interest change",
            status,
            impact,
            _change_words(cur.get("oi_value"), prev.get("oi_value"), fmt_usd, 1e-6)
            + (
                f"; 7 days {fmt_pct(cur.get('oi_change_7d'))}"
                if ok(cur.get("oi_change_7d"))
                else ""
            ),
        )
    )

    # modelled liquidations during the day
    ll, sl = cur.get("liquidated_long_24h"), cur.get("liquidated_short_24h")
    status = f"longs {fmt_usd(ll)} · shorts {fmt_usd(sl)}"
    if ok(ll) and ok(sl) and max(ll, sl) > 0:
        heavier = "Longs" if ll > sl else "Shorts"
        impact = f"{heavier} took most of the day's modelled liquidations."
    else:
        impact = "No modelled liquidations."
    if prev:
        change = (
            f"was longs {fmt_usd(prev.get('liquidated_long_24h'))} · "
            f"shorts {fmt_usd(prev.get('liquidated_short_24h'))}"
        )
    else:
        change = "no previous day"
    out.append(MetricRow("Modelled liquidations (24h)", status, impact, change))
    return out
