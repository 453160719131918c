"""The screener on the site's index: one row per symbol (the aggregate), expandable to one
row per venue, each with the figures a trader scans the market for.

Near-spot imbalance: shorts over longs at risk within ±5 % and ±10 % of spot (the
`*_at_risk_5pct` / `*_at_risk_10pct` columns of mart.daily_metrics); the nearest major
cluster each side (price, distance, notional); modelled liquidations during the day; open
interest and its change; funding state and its 1-year percentile. Every cell carries its
number for sorting (`data-v`); the page script (reports/static/screener.js) sorts and
filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.loaders import MartData, Record
from reports.notation import fmt_imbalance, fmt_level, fmt_pct, fmt_price, fmt_usd, ok
from reports.venue_set import VenueSet
from transforms.venues import venue_label

NEAR_SPOT_PCTS = (0.05, 0.10)


@dataclass(frozen=True)
class Cell:
    """One screener cell: its text and the number it sorts by (None: sorts last)."""

    text: str
    v: float | None


@dataclass(frozen=True)
class ScreenerRow:
    symbol: str
    venue: str  # 'all' for the symbol's row, else one venue's
    label: str  # the symbol, or the venue's name
    href: str  # the page the row links to (from the site root)
    day: str
    side: str  # heavier side within ±10 %: shorts | longs | none
    cells: dict[str, Cell]


COLUMNS = (
    ("close", "Close"),
    ("near5", "Shorts:longs ±5%"),
    ("near10", "Shorts:longs ±10%"),
    ("above", "Nearest short cluster"),
    ("below", "Nearest long cluster"),
    ("liq24", "Modelled liquidations 24h"),
    ("oi", "Open interest"),
    ("oi1d", "OI 24h change"),
    ("funding", "Funding (1y percentile)"),
)


def near_spot(cur: Record) -> dict[float, tuple[float, float]]:
    """pct -> (shorts, longs) at risk within pct of spot: the day's base row of
    mart.daily_metrics (`shorts_at_risk_5pct`, `longs_at_risk_10pct`, ...)."""
    out: dict[float, tuple[float, float]] = {}
    for pct in NEAR_SPOT_PCTS:
        band = f"{round(pct * 100)}pct"
        shorts, longs = cur.get(f"shorts_at_risk_{band}"), cur.get(f"longs_at_risk_{band}")
        if ok(shorts) and ok(longs):
            out[pct] = (shorts, longs)
    return out


def _ratio(shorts: float, longs: float) -> Cell:
    v = shorts / longs if longs > 0 else (float("inf") if shorts > 0 else None)
    return Cell(fmt_imbalance(shorts, longs), v if v is None or v != float("inf") else 1e12)


def _cluster(cur: Record, side: str) -> Cell:
    price = cur.get(f"nearest_cluster_{side}_price")
    spot = cur.get("close_price")
    text = fmt_level(price, spot)
    notional = cur.get(f"nearest_cluster_{side}_notional")
    if ok(price) and ok(notional):
        text += f", {fmt_usd(notional)}"
    pct = cur.get(f"nearest_cluster_{side}_pct")
    return Cell(text, abs(pct) if ok(pct) else None)


def row_for(data: MartData, href: str, label: str) -> ScreenerRow:
    d = data.days[-1]
    cur = data.base(d)
    near = near_spot(cur)
    liq = [cur.get("liquidated_long_24h"), cur.get("liquidated_short_24h")]
    liq_total = sum(x for x in liq if ok(x)) if any(ok(x) for x in liq) else None
    pctile = cur.get("funding_pctile_1y")
    funding = cur.get("funding_state") or "n/a"
    if ok(pctile):
        funding += f" ({pctile * 100:.0f}th)"
    s10, l10 = near.get(0.10, (0.0, 0.0))
    side = "shorts" if s10 > l10 else "longs" if l10 > s10 else "none"
    cells = {
        "close": Cell(fmt_price(cur.get("close_price")), cur.get("close_price")),
        "near5": _ratio(*near.get(0.05, (0.0, 0.0))),
        "near10": _ratio(s10, l10),
        "above": _cluster(cur, "above"),
        "below": _cluster(cur, "below"),
        "liq24": Cell(
            f"{fmt_usd(liq_total)} (longs {fmt_usd(liq[0])}, shorts {fmt_usd(liq[1])})"
            if liq_total is not None
            else "n/a",
            liq_total,
        ),
        "oi": Cell(fmt_usd(cur.get("oi_value")), cur.get("oi_value")),
        "oi1d": Cell(fmt_pct(cur.get("oi_change_1d")), cur.get("oi_change_1d")),
        "funding": Cell(funding, pctile if ok(pctile) else None),
    }
    return ScreenerRow(
        symbol=data.symbol,
        venue=data.venue,
        label=label,
        href=href,
        day=d.isoformat(),
        side=side,
        cells={k: Cell(c.text, c.v if ok(c.v) else None) for k, c in cells.items()},
    )


def screener_rows(data: MartData, venues: VenueSet) -> list[ScreenerRow]:
    """The symbol's row (the aggregate, its latest day) then one row per venue (each its
    own latest day) when there are two or more."""
    rows = [row_for(data, f"{data.symbol}/index.html", data.symbol)]
    if venues.split:
        for v in venues.venues:
            vdata = venues.per_venue[v]
            if vdata.days:
                rows.append(row_for(vdata, f"{data.symbol}/{v}/index.html", venue_label(v)))
    return rows
