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
from reports.charts.spec import column_rows, fill_text, text_ref
from reports.honesty import LIQUIDATED_CAVEAT
from reports.key_levels import marks_ref, view_marks, zone_band
from reports.loaders import LAYER_VALUES, Record, ViewColumns
from reports.notation import (
    chart_price,
    chart_price_decimals,
    fmt_price,
    fmt_step,
    fmt_usd,
    ok,
)
from reports.queries import bin_width
from transforms.venues import AGGREGATE_VENUE

MAP_SPAN = 0.25  # liquidation map shows spot ± 25 %
MAP_MAX_BARS = 120


def _bands(
    cols: np.ndarray, spot: float, lo_edge: float, hi_edge: float
) -> tuple[dict[str, list], float]:
    """The view's rows (`cols`: price_low, price_high, long and short notional, long and
    short cumulative, one row each) merged into at most MAP_MAX_BARS bands within the
    window, as columns lo, hi, l, s, lc, sc (`BAND_KEYS` but the view). Notional and
    cumulative figures keep 3 significant digits, what the chart's tooltips print ($.3s):
    rounded once from the mart's value, and the data file stays small."""
    lo, hi = cols[:, 0], cols[:, 1]
    sel = (hi > lo_edge) & (lo < hi_edge)
    if not sel.any():
        return {}, 0.0
    width = bin_width(lo, hi) or 1.0
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
    used = np.nonzero(np.bincount(g, minlength=n) > 0)[0]
    g0 = float(base + (((lo[sel] - base) // step).min()) * step)
    # Python floats: the same values as numpy's, formatted several times faster;
    # chart_price's rounding inlined (its decimals looked up once)
    ls, ss = gl[used].tolist(), gs[used].tolist()
    lcs, scs = glc[used].tolist(), gsc[used].tolist()
    ndigits = chart_price_decimals()
    # every band edge once: band i's top is band i + 1's bottom (the same g0 + (i + 1) * step)
    edges = [g0 + j * step for j in range(n + 1)]
    shown = [round(x, ndigits) for x in edges]
    at = used.tolist()
    blo = [edges[i] for i in at]
    bhi = [edges[i + 1] for i in at]
    # a zero (the other side of spot) is itself: `x and ...` keeps it, sign included
    return {
        "lo": [shown[i] for i in at],
        "hi": [shown[i + 1] for i in at],
        "l": [v and float(f"{v:.3g}") for v in ls],
        "s": [v and float(f"{v:.3g}") for v in ss],
        "lc": [
            float(f"{c:.3g}") if b < spot and c > 0 else None for b, c in zip(blo, lcs, strict=True)
        ],
        "sc": [
            float(f"{c:.3g}") if b > spot and c > 0 else None for b, c in zip(bhi, scs, strict=True)
        ],
    }, step


def _record_columns(rows: list[Record]) -> np.ndarray:
    """Map rows (records) as `_bands` reads them: one row of its six values each."""
    return np.array(
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


def _view_columns(view: Mapping[str, np.ndarray]) -> np.ndarray:
    """A layer view's columns (reports.loaders.ViewColumns) as `_bands` reads them."""
    return np.stack([view[c] for c in LAYER_VALUES], axis=1).reshape(-1, 6)


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
    layer_views: ViewColumns | None = None,
    views: Mapping[str, Record] | None = None,
    venue: str = AGGREGATE_VENUE,
) -> ChartCard | None:
    """The card from the day's `mart.liq_map` rows (the base view) and `mart.liq_layer_map`
    rows by view (the other views, reports.loaders.layer_views_of); base row `cur` for the
    totals; `views` each switch view's level row (reports.key_levels.views_of; without it
    only the base view has lines), the `levels` of the day file of `venue` (the chart's
    marks are a `$marks` value)."""
    views = views or {DEFAULT_VIEW: cur}
    if not rows:
        return None
    spot = rows[0]["spot_price"] if ok(rows[0]["spot_price"]) else cur.get("close_price")
    lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
    base, step = _bands(_record_columns(rows), spot, lo_edge, hi_edge)
    if not base:
        return None
    # the bands of every view, one after the other, as columns (each band a row of the
    # chart's data: its view in `k`)
    data = {"k": [DEFAULT_VIEW] * len(base["lo"]), **{c: list(v) for c, v in base.items()}}
    others = sorted(v for v in layer_views or {} if v != DEFAULT_VIEW)
    for view in others:
        bands = _bands(_view_columns(layer_views[view]), spot, lo_edge, hi_edge)[0]
        if bands:
            data["k"] += [view] * len(bands["lo"])
            for c, values in bands.items():
                data[c] += values
    shown = [DEFAULT_VIEW, *others]
    drawn_views = [v for v in shown if v in views]
    marks = view_marks({v: views[v] for v in drawn_views}, lo_edge, hi_edge)
    refs = {
        v: _desc(symbol, d, step, v, views.get(v), [m for m in marks if m["k"] == v]) for v in shown
    }
    descs = {v: fill_text(r) for v, r in refs.items()}
    desc = descs[DEFAULT_VIEW]
    spec = liq_map_template().fill(
        {
            "map": column_rows(data),
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
    blo, bhi, bl, bs = base["lo"], base["hi"], base["l"], base["s"]
    top_l = sorted(range(len(blo)), key=lambda i: -bl[i])[:5]
    top_s = sorted(range(len(blo)), key=lambda i: -bs[i])[:5]
    table_rows = [
        ("Longs", f"{fmt_price(blo[i])} to {fmt_price(bhi[i])}", fmt_usd(bl[i]))
        for i in top_l
        if bl[i] > 0
    ] + [
        ("Shorts", f"{fmt_price(blo[i])} to {fmt_price(bhi[i])}", fmt_usd(bs[i]))
        for i in top_s
        if bs[i] > 0
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
