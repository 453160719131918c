"""The liquidation map card: notional per price band within ±MAP_SPAN of spot, at most
MAP_MAX_BARS bands (the mart's bins merged by a whole factor), with cumulative curves, for
every view the layer switch offers (scenario × leverage layer, from `mart.liq_layer_map`),
with spot, both nearest clusters, both 90 % points and the zone drawn on it.

The switch moves everything together: the level lines and their labels are computed per view
(`reports.key_levels.view_rows`, field `k` like the bars) and the caption has one text per
view (the page shows the one of the selected view)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np

from reports import datafiles
from reports.cards.card import ChartCard, Table
from reports.charts.liq_map import (
    DEFAULT_VIEW,
    MAP_DESC,
    MARK_FIELDS,
    VIEW_TEXTS,
    liq_map_template,
    view_label,
)
from reports.charts.spec import fill_text, text_ref
from reports.honesty import LIQUIDATED_CAVEAT
from reports.key_levels import marks_ref, view_marks, zone_band
from reports.loaders import Record
from reports.notation import (
    chart_price,
    chart_price_decimals,
    fmt_price,
    fmt_step,
    fmt_usd,
    ok,
)
from transforms.venues import AGGREGATE_VENUE

MAP_SPAN = 0.25  # liquidation map shows spot ± 25 %
MAP_MAX_BARS = 120


def _bands(
    rows: list[Record], spot: float, lo_edge: float, hi_edge: float, view: str
) -> tuple[list[dict], float]:
    """The view's rows merged into at most MAP_MAX_BARS bands within the window. Notional
    and cumulative figures keep 3 significant digits, what the chart's tooltips print
    ($.3s): rounded once from the mart's value, and the data file stays small."""
    # one pass over the rows: price_low, price_high and the four notional columns
    cols = np.array(
        [
            (
                r["price_low"],
                r["price_high"],
                r["long_notional"],
                r["short_notional"],
                r["long_cum_from_spot"],
                r["short_cum_from_spot"],
            )
            for r in rows
        ],
        dtype=np.float64,
    ).reshape(-1, 6)
    lo, hi = cols[:, 0], cols[:, 1]
    sel = (hi > lo_edge) & (lo < hi_edge)
    if not sel.any():
        return [], 0.0
    width = float(np.median(hi - lo)) or 1.0
    step = width * max(1, int(np.ceil((hi_edge - lo_edge) / width / MAP_MAX_BARS)))
    base = np.floor(lo_edge / step) * step
    g = ((lo[sel] - base) // step).astype(np.int64)
    g -= g.min()
    n = int(g.max()) + 1
    picked = cols[sel]
    gl = np.bincount(g, weights=picked[:, 2], minlength=n)
    gs = np.bincount(g, weights=picked[:, 3], minlength=n)
    glc = np.zeros(n)
    gsc = np.zeros(n)
    np.maximum.at(glc, g, picked[:, 4])
    np.maximum.at(gsc, g, picked[:, 5])
    used = np.bincount(g, minlength=n) > 0
    g0 = float(base + (((lo[sel] - base) // step).min()) * step)
    data = []
    # Python floats in the loop: the same values as numpy's, formatted several times faster;
    # chart_price's rounding inlined (its decimals looked up once)
    ls, ss, lcs, scs = gl.tolist(), gs.tolist(), glc.tolist(), gsc.tolist()
    ndigits = chart_price_decimals()
    # a zero (the other side of spot) is itself: `x and ...` keeps it, sign included
    for i in np.nonzero(used)[0].tolist():
        blo, bhi = g0 + i * step, g0 + (i + 1) * step
        lc, sc, lv, sv = lcs[i], scs[i], ls[i], ss[i]
        data.append(
            {
                "k": view,
                "lo": round(blo, ndigits),
                "hi": round(bhi, ndigits),
                "l": lv and float(f"{lv:.3g}"),
                "s": sv and float(f"{sv:.3g}"),
                "lc": float(f"{lc:.3g}") if blo < spot and lc > 0 else None,
                "sc": float(f"{sc:.3g}") if bhi > spot and sc > 0 else None,
            }
        )
    return data, step


def _desc(
    symbol: str,
    d: date,
    step: float,
    view: str,
    row: Record | None,
    marks: list[dict],
) -> dict[str, Any]:
    """The map's caption for one view (what it shows and its window; another view than the
    base adds its totals and lines) as a `$text` reference (spec.text_ref); `fill_text`
    gives the text."""
    row = row or {}
    # the base view's totals and lines are the key figures' and the levels table's (issue 22)
    own = view != DEFAULT_VIEW
    totals = (
        f" Longs at risk {fmt_usd(row.get('longs_at_risk'))}, shorts at risk "
        f"{fmt_usd(row.get('shorts_at_risk'))}."
        if own and "longs_at_risk" in row
        else ""
    )
    lines = f" Lines: {'; '.join(m['label'] for m in marks) if marks else 'none'}." if own else ""
    return text_ref(
        MAP_DESC,
        symbol=symbol,
        day=str(d),
        view=view_label(view),
        step=fmt_step(step),
        span=f"{MAP_SPAN:.0%}",
        totals=totals,
        lines=lines,
    )


def liq_map_card(
    rows: list[Record],
    cur: Record,
    symbol: str,
    d: date,
    layer_rows: list[Record] | None = None,
    views: Mapping[str, Record] | None = None,
    venue: str = AGGREGATE_VENUE,
) -> ChartCard | None:
    """The card from the day's `mart.liq_map` rows (the base view) and `mart.liq_layer_map`
    rows (the other views); base row `cur` for the totals; `views` each switch view's level
    row (reports.key_levels.views_of; without it only the base view has lines), the
    `levels` of the day file of `venue` (the chart's marks are a `$marks` value)."""
    views = views or {DEFAULT_VIEW: cur}
    if not rows:
        return None
    spot = rows[0]["spot_price"] if ok(rows[0]["spot_price"]) else cur.get("close_price")
    lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
    data, step = _bands(rows, spot, lo_edge, hi_edge, DEFAULT_VIEW)
    if not data:
        return None
    by_view: dict[str, list[Record]] = {}
    for r in layer_rows or []:
        view = f"{r['scenario']}/{r['layer']}"
        if view != DEFAULT_VIEW:
            by_view.setdefault(view, []).append(r)
    for view, vrows in sorted(by_view.items()):
        data += _bands(vrows, spot, lo_edge, hi_edge, view)[0]
    shown = [DEFAULT_VIEW, *sorted(by_view)]
    drawn_views = [v for v in shown if v in views]
    marks = view_marks({v: views[v] for v in drawn_views}, lo_edge, hi_edge)
    refs = {
        v: _desc(symbol, d, step, v, views.get(v), [m for m in marks if m["k"] == v]) for v in shown
    }
    descs = {v: fill_text(r) for v, r in refs.items()}
    desc = descs[DEFAULT_VIEW]
    spec = liq_map_template().fill(
        {
            "map": data,
            "marks": marks_ref(
                datafiles.key(symbol, venue, f"day-{d}"),
                list(views),
                drawn_views,
                lo_edge,
                hi_edge,
                MARK_FIELDS,
            ),
            "zone": zone_band(cur),
            "desc": refs[DEFAULT_VIEW],
        },
        {"xdomain0": chart_price(lo_edge), "xdomain1": chart_price(hi_edge)},
    )
    base = [r for r in data if r["k"] == DEFAULT_VIEW]
    top_l = sorted(base, key=lambda r: -r["l"])[:5]
    top_s = sorted(base, key=lambda r: -r["s"])[:5]
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
        # how to read it: the methodology page (templates/_how_to_read.html.j2)
        intro=f"Liquidation prices of positions open at the day's end. {LIQUIDATED_CAVEAT.short}.",
        desc=desc,
        spec=spec,
        view_descs=descs,
        # what the page script needs besides the default caption and the marks' labels (a
        # view's name only when assets/specs.js has none: VIEW_TEXTS)
        view_notes={
            v: {
                **({} if v in VIEW_TEXTS else {"view": r["a"]["view"]}),
                **({"totals": r["a"]["totals"]} if r["a"]["totals"] else {}),
                # the base view prints no lines: the levels table's (charts.js layerNotes)
                **({"lines": ""} if not r["a"]["lines"] else {}),
            }
            for v, r in refs.items()
        },
        table=Table(
            caption="Largest bands per side (base model, all leverage)",
            head=["Side", "Price band", "Notional"],
            rows=table_rows,
        ),
    )
