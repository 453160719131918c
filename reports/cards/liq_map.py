"""The liquidation map card: notional per price band within ±MAP_SPAN of spot, at most
MAP_MAX_BARS bands (the mart's bins merged by a whole factor), with cumulative curves."""

from __future__ import annotations

from datetime import date

import numpy as np

from reports.cards.card import ChartCard, Table
from reports.charts.liq_map import liq_map_template
from reports.formats import chart_price, fmt_price, fmt_step, fmt_usd, ok
from reports.loaders import Record

MAP_SPAN = 0.25  # liquidation map shows spot ± 25 %
MAP_MAX_BARS = 120


def liq_map_card(rows: list[Record], cur: Record, symbol: str, d: date) -> ChartCard | None:
    """The card from the day's `mart.liq_map` rows (base row `cur` for the totals)."""
    if not rows:
        return None
    spot = rows[0]["spot_price"] if ok(rows[0]["spot_price"]) else cur.get("close_price")
    lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
    lo = np.array([r["price_low"] for r in rows])
    hi = np.array([r["price_high"] for r in rows])
    sel = (hi > lo_edge) & (lo < hi_edge)
    if not sel.any():
        return None
    width = float(np.median(hi - lo)) or 1.0
    step = width * max(1, int(np.ceil((hi_edge - lo_edge) / width / MAP_MAX_BARS)))
    base = np.floor(lo_edge / step) * step
    g = ((lo[sel] - base) // step).astype(np.int64)
    g -= g.min()
    n = int(g.max()) + 1

    def col(name: str) -> np.ndarray:
        return np.array([r[name] for r in rows], dtype=np.float64)[sel]

    gl = np.bincount(g, weights=col("long_notional"), minlength=n)
    gs = np.bincount(g, weights=col("short_notional"), minlength=n)
    glc = np.zeros(n)
    gsc = np.zeros(n)
    np.maximum.at(glc, g, col("long_cum_from_spot"))
    np.maximum.at(gsc, g, col("short_cum_from_spot"))
    used = np.bincount(g, minlength=n) > 0
    g0 = base + (((lo[sel] - base) // step).min()) * step
    data = []
    for i in np.nonzero(used)[0].tolist():
        blo, bhi = g0 + i * step, g0 + (i + 1) * step
        data.append(
            {
                "lo": chart_price(float(blo)),
                "hi": chart_price(float(bhi)),
                "l": float(f"{gl[i]:.3g}"),
                "s": float(f"{gs[i]:.3g}"),
                "lc": float(f"{glc[i]:.4g}") if blo < spot and glc[i] > 0 else None,
                "sc": float(f"{gsc[i]:.4g}") if bhi > spot and gsc[i] > 0 else None,
            }
        )
    desc = (
        f"Liquidation map, {symbol}, end of {d} UTC: modelled long (below spot) and "
        f"short (above spot) liquidation notional per {fmt_step(step)} price band within "
        f"±{MAP_SPAN:.0%} of spot {fmt_price(spot)}, with cumulative curves from spot. "
        f"Longs at risk {fmt_usd(cur.get('longs_at_risk'))}, shorts at risk "
        f"{fmt_usd(cur.get('shorts_at_risk'))}."
    )
    spec = liq_map_template().fill(
        {
            "map": data,
            "spot": [{"c": chart_price(spot), "label": f"Spot {fmt_price(spot)}"}],
            "desc": desc,
        },
        {"xdomain0": chart_price(lo_edge), "xdomain1": chart_price(hi_edge)},
    )
    top_l = sorted(data, key=lambda r: -r["l"])[:5]
    top_s = sorted(data, key=lambda r: -r["s"])[:5]
    table_rows = [
        ("Longs", f"{fmt_price(r['lo'])} to {fmt_price(r['hi'])}", fmt_usd(r["l"]))
        for r in top_l
        if r["l"] > 0
    ] + [
        ("Shorts", f"{fmt_price(r['lo'])} to {fmt_price(r['hi'])}", fmt_usd(r["s"]))
        for r in top_s
        if r["s"] > 0
    ]
    return ChartCard(
        id="liqmap",
        title="Liquidation map",
        intro=(
            "Where the model places liquidation prices of positions still open at the end "
            "of the day. Bars: notional per price band. Curves: how much would be "
            "liquidated in total if price moved from spot to that level."
        ),
        desc=desc,
        spec=spec,
        table=Table(
            caption="Largest bands per side",
            head=["Side", "Price band", "Notional"],
            rows=table_rows,
        ),
        downloads="liq_map",
    )
