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

Row = Mapping[str, Any]

SCENARIO_LABELS = {
    "base": "Base model",
    "never_close": "Never close (vendor-style)",
    "low_leverage": "Low leverage mix",
    "high_leverage": "High leverage mix",
}
SCENARIO_ORDER = ["base", "never_close", "low_leverage", "high_leverage"]

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
    """'short' when shorts at risk are heavier, 'long' when longs are, 'balanced' otherwise."""
    s, lg = row.get("shorts_at_risk"), row.get("longs_at_risk")
    if not (ok(s) and ok(lg)) or s <= 0 or lg <= 0:
        return "balanced"
    r = s / lg
    if r >= BALANCED:
        return "short"
    if r <= 1 / BALANCED:
        return "long"
    return "balanced"


def zone_position(row: Row) -> str | None:
    """'inside', 'above' or 'below' the consolidation zone (None without a zone)."""
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
    if side == "short":
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
    if nc is not None and side != "balanced":
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
    if pos == "inside":
        days = cur.get("zone_days")
        tail = f" ({days} days)" if isinstance(days, int) and days >= 2 else ""
        parts.append(f"Price consolidates at {zone}{tail}.")
    elif pos == "above":
        parts.append(f"Price has broken above its {zone} range.")
    elif pos == "below":
        parts.append(f"Price has broken below its {zone} range.")
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


def metrics_table(cur: Row, prev: Row | None) -> list[MetricRow]:
    """Metric | Status | Impact | change since the previous day (base scenario rows)."""
    prev = prev or {}
    out: list[MetricRow] = []

    # liquidation ratio
    side = side_of(cur)
    ratio = fmt_ratio(cur.get("shorts_at_risk"), cur.get("longs_at_risk"))
    status = {
        "short": f"{ratio}, shorts heavier",
        "long": f"{ratio}, longs heavier",
        "balanced": f"{ratio}, roughly balanced",
    }[side]
    impact = {
        "short": "A rise would force short covering (buying): squeeze fuel above.",
        "long": "A fall would force long selling: flush risk below.",
        "balanced": "No strong pull either way from modelled liquidations.",
    }[side]
    r_now = cur.get("imbalance_ratio")
    r_prev = prev.get("imbalance_ratio")

    def fmt_r(r: float) -> str:
        return fmt_ratio(r, 1.0) + (" shorts" if r >= 1 else " longs")

    out.append(
        MetricRow("Liquidation ratio", status, impact, _change_words(r_now, r_prev, fmt_r, 5e-3))
    )

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
        dtxt = f" for {days} day{'s' if days != 1 else ''}" if isinstance(days, int) else ""
        status = {
            "inside": f"{zone}, price inside{dtxt}",
            "above": f"{zone}, price above",
            "below": f"{zone}, price below",
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
    status = (
        f"{state.capitalize()}: 7-day mean {fmt_rate(cur.get('funding_7d_mean'))} "
        f"({fmt_pct(cur.get('funding_annualized'))} a year)"
    )
    impact = {
        "elevated": "Longs pay a premium to stay open: crowded long positioning.",
        "negative": "Shorts pay longs: crowded short positioning.",
        "reset": "Back to neutral after an elevated spell: leverage premium has cooled.",
        "neutral": "No crowding signal from funding.",
    }.get(state, "n/a")
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
    if ok(ch) and ch >= OI_MOVE:
        impact = "New leverage is entering: fresh liquidation levels are forming."
    elif ok(ch) and ch <= -OI_MOVE:
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
                ratio=fmt_ratio(r.get("shorts_at_risk"), r.get("longs_at_risk"))
                + {"short": " shorts", "long": " longs", "balanced": ""}[side_of(r)],
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
