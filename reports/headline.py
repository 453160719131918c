"""Rule-based wording for the daily report: the imbalance, the headline, zone and funding
sentences, the feed title.

Everything here is a pure function of mart rows (dicts), so the page text can be tested
without a browser. Every number goes through reports.notation: ratios are `X:1 <heavier
side>`, both sides' key levels are always named, and statements about price against its zone
follow the rounded numbers the page prints. The wording says "the model": these are
estimates of where leveraged positions would be force-closed, not observed orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.key_levels import levels_sentence
from reports.notation import (
    MIN_BREAKOUT,
    fmt_imbalance,
    fmt_pct,
    fmt_price,
    fmt_usd,
    fmt_zone,
    imbalance,
    ok,
    shown_price,
    zone_position,
)

Row = Mapping[str, Any]

BALANCED = 1.25  # a heavier side below 1.25:1 also reads "roughly balanced"


def ratio_of(row: Row | None) -> str:
    """The row's imbalance in the site notation ('n/a' without a row)."""
    if not row:
        return "n/a"
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
    edge = fmt_pct(MIN_BREAKOUT, 0, signed=False)
    return {
        "inside": f"Price ({price}) stays inside its {zone} range{past}.",
        "testing_high": (
            f"Price ({price}) is testing the top of its {zone} range{past}, less than "
            f"{edge} beyond it: not a breakout yet."
        ),
        "testing_low": (
            f"Price ({price}) is testing the bottom of its {zone} range{past}, less than "
            f"{edge} beyond it: not a breakdown yet."
        ),
        "above": (
            f"Price ({price}) has broken above its {zone} range{past} "
            f"({fmt_pct(shown_price(close) / shown_price(hi) - 1.0)} beyond the top)."
        ),
        "below": (
            f"Price ({price}) has broken below its {zone} range{past} "
            f"({fmt_pct(shown_price(close) / shown_price(lo) - 1.0)} beyond the bottom)."
        ),
    }[pos]


def funding_sentence(row: Row) -> str | None:
    return {
        "reset": "Funding has reset.",
        "elevated": f"Funding is elevated ({fmt_pct(row.get('funding_annualized'))} a year).",
        "negative": "Funding is negative: shorts are paying longs.",
        "neutral": "Funding is neutral.",
    }.get(row.get("funding_state"))


def _first_sentence(cur: Row, scenarios: Mapping[str, Row]) -> str:
    spot = fmt_price(cur.get("close_price"))
    shorts, longs = cur.get("shorts_at_risk"), cur.get("longs_at_risk")
    if not (ok(shorts) or ok(longs)):
        return "The model's positions at risk are not available for this day."
    if not (ok(shorts) and ok(longs)):
        have, where, miss = (
            ("shorts", "above", "long") if ok(shorts) else ("longs", "below", "short")
        )
        amount = fmt_usd(shorts if ok(shorts) else longs)
        return (
            f"The model puts {amount} of {have} at risk {where} {spot}; "
            f"the {miss} side is not available."
        )
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


def feed_title(symbol: str, day_iso: str, cur: Row) -> str:
    """A feed entry's title: the day's imbalance in the site notation."""
    return f"{symbol} {day_iso}: {ratio_of(cur)}" + (" (roughly balanced)" if balanced(cur) else "")
