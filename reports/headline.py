"""Rule-based wording for the daily report: the imbalance, the headline, zone and funding
sentences, the feed title.

Near-spot first (DESIGN §3): the imbalance the page leads with, the one the sentiment table's
Impact follows and the feed's title is the one within ±10 % of price (`HEADLINE_BAND`, what a
move can actually reach); ±5 % stands beside it and the whole map is context, labelled so.

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
    fmt_pct,
    fmt_price,
    fmt_usd,
    fmt_window,
    fmt_zone,
    ok,
    row_imbalance,
    row_sides,
    shown_price,
    zone_position,
)
from transforms.model.metrics import HEADLINE_BAND

Row = Mapping[str, Any]

BALANCED = 1.25  # a heavier side below 1.25:1 also reads "roughly balanced"


NEAR = HEADLINE_BAND  # the headline's window
CONTEXT_BAND = "5pct"  # the nearer window shown beside it


def ratio_of(row: Row | None, window: str | None = NEAR) -> str:
    """The row's imbalance within `window` (default the headline's ±10 %; None: the whole
    map) in the site notation ('n/a' without a row)."""
    if not row:
        return "n/a"
    return row_imbalance(row, window).text


def whole_map_ratio_of(row: Row | None) -> str:
    """The imbalance over the whole map: context, never the headline."""
    return ratio_of(row, None)


def balanced(row: Row, window: str | None = NEAR) -> bool:
    imb = row_imbalance(row, window)
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


def _context(cur: Row, scenarios: Mapping[str, Row]) -> str:
    """' (within ±5%: …; vendor-style 'never close': …)', the near figures beside the
    headline's, then the whole map as context."""
    inner = []
    if ratio_of(cur, CONTEXT_BAND) != "n/a":
        inner.append(f"within {fmt_window(CONTEXT_BAND)}: {ratio_of(cur, CONTEXT_BAND)}")
    nc = scenarios.get("never_close")
    if nc is not None and ratio_of(nc) != "n/a":
        inner.append(f"vendor-style 'never close': {ratio_of(nc)}")
    text = f" ({'; '.join(inner)})" if inner else ""
    shorts, longs = row_sides(cur, None)
    if ratio_of(cur, None) != "n/a":
        text += (
            f". Over the whole map, for context: {whole_map_ratio_of(cur)} "
            f"({fmt_usd(shorts)} shorts · {fmt_usd(longs)} longs)"
        )
    return text


def _first_sentence(cur: Row, scenarios: Mapping[str, Row]) -> str:
    spot = fmt_price(cur.get("close_price"))
    shorts, longs = row_sides(cur, NEAR)
    within = f"within {fmt_window(NEAR)} of {spot}"
    if not (ok(shorts) or ok(longs)):
        return "The model's positions at risk near price are not available for this day."
    if not (ok(shorts) and ok(longs)):
        have, where, miss = (
            ("shorts", "above", "long") if ok(shorts) else ("longs", "below", "short")
        )
        amount = fmt_usd(shorts if ok(shorts) else longs)
        return (
            f"The model puts {amount} of {have} at risk {where} {spot} (within "
            f"{fmt_window(NEAR)}); the {miss} side is not available."
        )
    if shorts <= 0 and longs <= 0:
        return f"The model has no positions at risk {within}{_context(cur, {})}."
    text = (
        f"Within {fmt_window(NEAR)} of {spot} the model puts {fmt_usd(shorts)} of shorts at "
        f"risk above and {fmt_usd(longs)} of longs below: {ratio_of(cur)}"
    )
    if balanced(cur):
        text += ", roughly balanced"
    return text + _context(cur, scenarios) + "."


def headline(cur: Row, scenarios: Mapping[str, Row] | None = None) -> str:
    """The summary paragraph for one day (base scenario row `cur`)."""
    scenarios = scenarios or {}
    parts = [_first_sentence(cur, scenarios)]
    if all(ok(x) for x in row_sides(cur, None)):
        parts.append(levels_sentence(cur))
    for extra in (funding_sentence(cur), zone_sentence(cur)):
        if extra:
            parts.append(extra)
    return " ".join(parts)


def feed_title(symbol: str, day_iso: str, cur: Row) -> str:
    """A feed entry's title: the day's near-spot imbalance in the site notation, with its
    window."""
    text = f"{symbol} {day_iso}: {ratio_of(cur)} within {fmt_window(NEAR)}"
    return text + (" (roughly balanced)" if balanced(cur) else "")
