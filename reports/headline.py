"""Rule-based wording for the daily report: number formats, the headline, the metrics table.

Everything here is a pure function of mart rows (dicts), so the page text can be tested
without a browser. The wording is deliberately plain and says "the model" — these are
estimates of where leveraged positions would be force-closed, not observed orders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transforms.model.scenarios import SCENARIO_LABELS, SCENARIO_NAMES

Row = Mapping[str, Any]

SCENARIO_ORDER = list(SCENARIO_NAMES)

BALANCED = 1.25  # ratios between 1/1.25 and 1.25 read as "roughly balanced"
OI_MOVE = 0.02  # a daily open-interest change beyond +/-2 % counts as a move


def ok(x: Any) -> bool:
    """True for a usable number (not None / NaN / inf)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ---------------------------------------------------------------- number formats


def fmt_usd(x: float | None) -> str:
    """Compact dollars: $25.1B, $850M, $12.3M, $45.0k, $950."""
    if not ok(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 999.5e6:
        v, unit = a / 1e9, "B"
    elif a >= 999.5e3:
        v, unit = a / 1e6, "M"
    elif a >= 999.5:
        v, unit = a / 1e3, "k"
    else:
        return f"{sign}${a:,.0f}"
    text = f"{v:,.0f}" if v >= 99.95 else f"{v:.1f}"
    return f"{sign}${text}{unit}"


def fmt_price(x: float | None) -> str:
    """A price at a readable precision: $72,400 (≥10k → nearest 100), $1,234.50 below."""
    if not ok(x):
        return "n/a"
    if abs(x) >= 10_000:
        return f"${round(x, -2):,.0f}"
    if abs(x) >= 1_000:
        return f"${round(x, -1):,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.4g}"


def _shown(x: float) -> float:
    """A price rounded the way `fmt_price` shows it."""
    if abs(x) >= 10_000:
        return round(x, -2)
    if abs(x) >= 1_000:
        return round(x, -1)
    return x


def fmt_ratio_value(r: float) -> str:
    """25 → '25', 4.66 → '4.7'."""
    return f"{r:.0f}" if r >= 9.95 else f"{r:.1f}"


def fmt_ratio(shorts: float | None, longs: float | None) -> str:
    """Imbalance as heavier:lighter, e.g. '25:1'; 'n/a' when a side is missing or zero."""
    if not (ok(shorts) and ok(longs)) or shorts <= 0 or longs <= 0:
        return "n/a"
    r = shorts / longs
    return f"{fmt_ratio_value(r if r >= 1 else 1 / r)}:1"


def ratio_oriented(shorts: float | None, longs: float | None, shorts_heavy: bool) -> str:
    """The ratio written in a fixed orientation (heavier side of the base model first)."""
    if not (ok(shorts) and ok(longs)) or shorts <= 0 or longs <= 0:
        return "n/a"
    r = shorts / longs if shorts_heavy else longs / shorts
    return f"{fmt_ratio_value(r)}:1" if r >= 1 else f"1:{fmt_ratio_value(1 / r)}"


def fmt_pct(x: float | None, decimals: int = 1, signed: bool = True) -> str:
    """0.032 → '+3.2%'."""
    if not ok(x):
        return "n/a"
    s = f"{x * 100:+.{decimals}f}%" if signed else f"{x * 100:.{decimals}f}%"
    return s.replace("-", "−")


def fmt_rate(x: float | None) -> str:
    """A funding rate (fraction per settlement) as a percentage: 0.0001 → '0.0100%'."""
    if not ok(x):
        return "n/a"
    return f"{x * 100:.4f}%".replace("-", "−")


def fmt_zone(lo: float | None, hi: float | None) -> str:
    """A price range, compact: '$70–72k', '$70.2–70.9k', '$950–$1,020'."""
    if not (ok(lo) and ok(hi)):
        return "n/a"
    if lo >= 10_000:
        for dec in (0, 1, 2):
            a, b = f"{lo / 1000:.{dec}f}", f"{hi / 1000:.{dec}f}"
            if a != b:
                return f"${a}–{b}k"
        return f"${a}k"
    return f"{fmt_price(lo)}–{fmt_price(hi)}"


def fmt_signed_usd(x: float | None) -> str:
    if not ok(x):
        return "n/a"
    return ("+" if x >= 0 else "−") + fmt_usd(abs(x))


def fmt_signed_price(x: float | None) -> str:
    """A price change: +$2,000, −$800 (whole dollars from $1 up)."""
    if not ok(x):
        return "n/a"
    sign = "+" if x >= 0 else "−"
    return sign + (f"${abs(x):,.0f}" if abs(x) >= 1 else fmt_price(abs(x)))


# ---------------------------------------------------------------- the words


def side_of(row: Row) -> str:
    """'short' when shorts at risk are heavier (or the only side), 'long' when longs are,
    'balanced' when both are > 0 within BALANCED of each other, and 'none' when a side is
    missing or both are zero (nothing to compare)."""
    s, lg = row.get("shorts_at_risk"), row.get("longs_at_risk")
    if not (ok(s) and ok(lg)) or (s <= 0 and lg <= 0):
        return "none"
    if lg <= 0:
        return "short"
    if s <= 0:
        return "long"
    r = s / lg
    if r >= BALANCED:
        return "short"
    if r <= 1 / BALANCED:
        return "long"
    return "balanced"


def one_sided(row: Row) -> bool:
    """True when one side has notional at risk and the other exactly none."""
    s, lg = row.get("shorts_at_risk"), row.get("longs_at_risk")
    return ok(s) and ok(lg) and (s > 0) != (lg > 0)


def ratio_text(row: Row) -> str:
    """The imbalance for labels: '25:1 shorts', '3.0:1 longs', '1.1:1' when balanced,
    'shorts only' / 'longs only' when the other side is zero, 'n/a' when missing."""
    side = side_of(row)
    if side == "none":
        return "n/a"
    if one_sided(row):
        return f"{side}s only"
    ratio = fmt_ratio(row.get("shorts_at_risk"), row.get("longs_at_risk"))
    return ratio if side == "balanced" else f"{ratio} {side}s"


def zone_position(row: Row) -> str | None:
    """Today's close against the zone built from the closes before today: 'inside', 'above'
    (broke out upward) or 'below' (broke down); None without a zone."""
    c, lo, hi = row.get("close_price"), row.get("zone_low"), row.get("zone_high")
    if not (ok(c) and ok(lo) and ok(hi)):
        return None
    if c > hi:
        return "above"
    if c < lo:
        return "below"
    return "inside"


def headline(cur: Row, scenarios: Mapping[str, Row] | None = None) -> str:
    """The generated summary paragraph for one day (base scenario row `cur`)."""
    scenarios = scenarios or {}
    spot = fmt_price(cur.get("close_price"))
    shorts, longs = cur.get("shorts_at_risk"), cur.get("longs_at_risk")
    parts: list[str] = []
    side = side_of(cur)
    ratio = fmt_ratio(shorts, longs)
    if side == "none" and not (ok(shorts) or ok(longs)):
        first = "The model's positions at risk are not available for this day"
    elif side == "none" and ok(shorts) and ok(longs):
        first = f"The model has no positions at risk on either side of {spot}"
    elif side == "none":
        have, miss, where = (
            ("shorts", "long", "above") if ok(shorts) else ("longs", "short", "below")
        )
        amount = fmt_usd(shorts if ok(shorts) else longs)
        first = (
            f"The model puts {amount} of {have} at risk {where} {spot}; "
            f"the {miss} side is not available"
        )
    elif one_sided(cur):
        have, other, where, other_where = (
            ("shorts", "longs", "above", "below")
            if side == "short"
            else ("longs", "shorts", "below", "above")
        )
        amount = fmt_usd(shorts if side == "short" else longs)
        first = (
            f"The model puts {amount} of {have} at risk {where} {spot} and no {other} "
            f"{other_where} — all of the modelled risk is on the {side} side"
        )
    elif side == "short":
        first = (
            f"The model puts {fmt_usd(shorts)} of shorts at risk above {spot} versus "
            f"{fmt_usd(longs)} of longs below — a {ratio} imbalance"
        )
    elif side == "long":
        first = (
            f"The model puts {fmt_usd(longs)} of longs at risk below {spot} versus "
            f"{fmt_usd(shorts)} of shorts above — a {ratio} imbalance"
        )
    else:
        first = (
            f"The model puts {fmt_usd(shorts)} of shorts at risk above {spot} and "
            f"{fmt_usd(longs)} of longs below — roughly balanced ({ratio})"
        )
    nc = scenarios.get("never_close")
    if nc is not None and side in ("short", "long") and not one_sided(cur):
        nc_ratio = ratio_oriented(
            nc.get("shorts_at_risk"), nc.get("longs_at_risk"), side == "short"
        )
        if nc_ratio != "n/a":
            first += f" (vendor-style 'never close': {nc_ratio})"
    parts.append(first + ".")

    mp, mp_side = cur.get("max_pain_price"), cur.get("max_pain_side")
    if ok(mp) and mp_side == "short":
        parts.append(f"A wall of short liquidations reaches {fmt_price(mp)}.")
    elif ok(mp) and mp_side == "long":
        parts.append(f"A wall of long liquidations reaches down to {fmt_price(mp)}.")

    state = cur.get("funding_state")
    if state == "reset":
        parts.append("Funding has reset.")
    elif state == "elevated":
        parts.append(f"Funding is elevated ({fmt_pct(cur.get('funding_annualized'))} a year).")
    elif state == "negative":
        parts.append("Funding is negative: shorts are paying longs.")
    elif state == "neutral":
        parts.append("Funding is neutral.")

    pos = zone_position(cur)
    zone = fmt_zone(cur.get("zone_low"), cur.get("zone_high"))
    days = cur.get("zone_days")
    past = f" of the past {days} days" if isinstance(days, int) and days >= 2 else ""
    if pos == "inside":
        parts.append(f"Price stays inside its {zone} range{past}.")
    elif pos == "above":
        parts.append(f"Price has broken above its {zone} range{past}.")
    elif pos == "below":
        parts.append(f"Price has broken below its {zone} range{past}.")
    return " ".join(parts)


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
        diff = _shown(mp) - _shown(pmp)  # the difference of the figures as shown
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
