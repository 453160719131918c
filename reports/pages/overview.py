"""The market overview (site/index.html) and the list of symbol archives.

One card per symbol: the latest day's imbalance within ±10 % of price (side and window),
the largest long and short clusters (or, without clusters, the flush floor and squeeze
ceiling), the funding state, the open-interest change, and a small liquidation map drawn
as inline SVG (no script, so it shows from file:// and without JavaScript), each
linking to the symbol's latest day page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import jinja2

from reports.loaders import MartData, Record
from reports.notation import (
    fmt_imbalance_in,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_usd,
    ok,
    row_imbalance,
)
from reports.pages.common import SiteInfo, render
from reports.screener import COLUMNS, ScreenerRow

SMALL_MAP_SPAN = 0.15  # the small map shows spot ± 15 %
SMALL_MAP_BARS = 40
SMALL_MAP_SIZE = (240, 64)  # width, height (px)


@dataclass(frozen=True)
class SymbolSummary:
    """One symbol's card on the overview, formatted at the symbol's price scale."""

    symbol: str
    latest_iso: str
    close: str
    ratio: str
    side: str  # the heavier side: shorts | longs | none
    levels: list[tuple[str, str]]  # (label, text): the nearest cluster on each side
    funding: str
    oi_change: str
    oi: str
    map_svg: str
    venues: str = ""  # what the figures add up ("All venues: Binance + Bybit")
    screener: tuple[ScreenerRow, ...] = ()  # its screener rows: the aggregate, then venues

    @classmethod
    def from_data(cls, data: MartData, map_rows: list[Record]) -> SymbolSummary:
        d = data.days[-1]
        cur = data.base(d)
        return cls(
            symbol=data.symbol,
            latest_iso=d.isoformat(),
            close=fmt_price(cur.get("close_price")),
            ratio=fmt_imbalance_in(cur),
            side=row_imbalance(cur).heavier or "none",
            levels=_levels(cur),
            funding=f"{cur.get('funding_state') or 'n/a'} "
            f"(7-day mean {fmt_rate(cur.get('funding_7d_mean'))})",
            oi_change=fmt_pct(cur.get("oi_change_1d")),
            oi=fmt_usd(cur.get("oi_value")),
            map_svg=small_map_svg(map_rows, cur.get("close_price"), data.symbol),
        )


def _levels(cur: Record) -> list[tuple[str, str]]:
    """Both nearest clusters (shorts above spot, longs below), with distance and notional;
    a side without a cluster says n/a."""
    spot = cur.get("close_price")
    out = []
    for label, side in (("Nearest short cluster", "above"), ("Nearest long cluster", "below")):
        price = cur.get(f"nearest_cluster_{side}_price")
        text = fmt_level(price, spot)
        notional = cur.get(f"nearest_cluster_{side}_notional")
        if ok(price) and ok(notional):
            text += f", {fmt_usd(notional)}"
        out.append((label, text))
    return out


def small_map_svg(rows: list[Record], spot: float | None, symbol: str) -> str:
    """Long (below spot) and short (above) notional per band within ±SMALL_MAP_SPAN, as SVG
    bars; an empty string without rows or a spot."""
    if not rows or not ok(spot):
        return ""
    lo_edge, hi_edge = spot * (1 - SMALL_MAP_SPAN), spot * (1 + SMALL_MAP_SPAN)
    step = (hi_edge - lo_edge) / SMALL_MAP_BARS
    longs, shorts = [0.0] * SMALL_MAP_BARS, [0.0] * SMALL_MAP_BARS
    for r in rows:
        mid = (r["price_low"] + r["price_high"]) / 2
        if lo_edge <= mid < hi_edge:
            i = int((mid - lo_edge) // step)
            longs[i] += r["long_notional"] or 0.0
            shorts[i] += r["short_notional"] or 0.0
    top = max(max(longs), max(shorts))
    if top <= 0:
        return ""
    w, h = SMALL_MAP_SIZE
    bw = w / SMALL_MAP_BARS
    bars = []
    for i in range(SMALL_MAP_BARS):
        for value, cls in ((longs[i], "m-long"), (shorts[i], "m-short")):
            if value > 0:
                bh = max(1.0, (h - 2) * value / top)
                bars.append(
                    f'<rect class="{cls}" x="{i * bw:.1f}" y="{h - bh:.1f}" '
                    f'width="{bw - 1:.1f}" height="{bh:.1f}"/>'
                )
    x_spot = (spot - lo_edge) / step * bw
    label = escape(
        f"{symbol} liquidation map, spot {fmt_price(spot)} ± {SMALL_MAP_SPAN:.0%}: "
        "longs below spot, shorts above"
    )
    return (
        f'<svg class="small-map" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="{label}"><title>{label}</title>{"".join(bars)}'
        f'<line class="m-spot" x1="{x_spot:.1f}" x2="{x_spot:.1f}" y1="0" y2="{h}"/></svg>'
    )


@dataclass(frozen=True)
class OverviewContext:
    symbols: list[SymbolSummary]
    columns: tuple[tuple[str, str], ...] = COLUMNS


def render_overview(
    env: jinja2.Environment, site: SiteInfo, summaries: Sequence[SymbolSummary]
) -> str:
    chrome = site.chrome("", "Liquidation maps by symbol")
    return render(env, "overview.html.j2", chrome, OverviewContext(symbols=list(summaries)))


def render_symbols_archive(
    env: jinja2.Environment, site: SiteInfo, summaries: Sequence[SymbolSummary]
) -> str:
    chrome = site.chrome("../", "Archives by symbol")
    return render(env, "symbols_archive.html.j2", chrome, OverviewContext(list(summaries)))
