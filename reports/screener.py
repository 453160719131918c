"""The screener on the site's index: one row per symbol (the aggregate), expandable to one
row per venue, each with the figures a trader scans the market for.

Near-spot imbalance: shorts over longs with liquidation prices within ±5 % and ±10 % of spot
(mart.liq_map, the query `queries.NEAR_SPOT`); the nearest major cluster each side (price,
distance, notional); modelled liquidations during the day; open interest and its change;
funding state and its 1-year percentile. Every cell carries its number for sorting
(`data-v`), the page script (reports/static/screener.js) sorts and filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from reports import queries
from reports.loaders import MartData, Record
from reports.notation import fmt_imbalance, fmt_level, fmt_pct, fmt_price, fmt_usd, ok
from reports.venue_set import VenueSet
from transforms.venues import AGGREGATE_VENUE, venue_label

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


def near_spot(
    conn: duckdb.DuckDBPyConnection, symbol: str, d: date
) -> dict[str, dict[float, tuple[float, float]]]:
    """venue -> pct -> (shorts, longs) near spot on day `d`."""
    out: dict[str, dict[float, tuple[float, float]]] = {}
    for pct in NEAR_SPOT_PCTS:
        for r in queries.rows(conn, queries.NEAR_SPOT, symbol=symbol, day=d, pct=pct):
            out.setdefault(r["venue"], {})[pct] = (r["shorts"] or 0.0, r["longs"] or 0.0)
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


def row_for(
    data: MartData, near: dict[float, tuple[float, float]], href: str, label: str
) -> ScreenerRow:
    d = data.days[-1]
    cur = data.base(d)
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


def screener_rows(
    conn: duckdb.DuckDBPyConnection, data: MartData, venues: VenueSet
) -> list[ScreenerRow]:
    """The symbol's row (the aggregate, its latest day) then one row per venue (each its
    own latest day) when there are two or more."""
    near = near_spot(conn, data.symbol, data.days[-1])
    rows = [row_for(data, near.get(AGGREGATE_VENUE, {}), f"{data.symbol}/index.html", data.symbol)]
    if venues.split:
        for v in venues.venues:
            vdata = venues.per_venue[v]
            if not vdata.days:
                continue
            vnear = (
                near
                if vdata.days[-1] == data.days[-1]
                else near_spot(conn, data.symbol, vdata.days[-1])
            )
            rows.append(
                row_for(vdata, vnear.get(v, {}), f"{data.symbol}/{v}/index.html", venue_label(v))
            )
    return rows
