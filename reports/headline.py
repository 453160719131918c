"""Rule-based wording for the daily report: which side is heavier, and the headline.

Everything here is a pure function of mart rows (dicts), so the page text can be tested
without a browser. The wording is deliberately plain and says "the model" — these are
estimates of where leveraged positions would be force-closed, not observed orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.formats import fmt_pct, fmt_price, fmt_ratio, fmt_usd, fmt_zone, ok, ratio_oriented

Row = Mapping[str, Any]

BALANCED = 1.25  # ratios between 1/1.25 and 1.25 read as "roughly balanced"


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
