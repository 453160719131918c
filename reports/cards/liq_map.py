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


# 10^0 ... 10^22: exact doubles, so m * 10^k and m / 10^k are one correctly rounded operation
_POW10 = np.array([float(f"1e{k}") for k in range(23)])
_HALF_MARGIN = 1e-9  # |v| / 10^k this near a half (or the range's ends): Python decides


def three_digits(a: np.ndarray) -> list[float]:
    """`[float(f"{v:.3g}") for v in a]` at once, the same floats: v rounded to 3 significant
    digits is round(v / 10^k) * 10^k (k = its exponent - 2, round half to even); the quotient
    is computed to a relative 2^-53, so away from a half (and from 100 and 1000, where k
    would be another) it rounds as the exact one does, and m * 10^k (or m / 10^-k) is one
    correctly rounded operation, as float() of the text is. A zero is itself; the others
    (ties, values near a power of ten, non-finite ones) are formatted as before."""
    a = np.asarray(a, dtype=np.float64)
    absa = np.abs(a)
    nz = np.isfinite(a) & (absa > 0)
    k = np.zeros(len(a), dtype=np.int64)
    k[nz] = np.floor(np.log10(absa[nz])).astype(np.int64) - 2
    ok = nz & (np.abs(k) <= 22)
    p = _POW10[np.where(ok, np.abs(k), 0)]
    with np.errstate(invalid="ignore"):  # inf - inf: not ok, formatted below
        q = np.where(k >= 0, a / p, a * p)
        m = np.rint(q)
        aq = np.abs(q)
        ok &= (aq > 100 + _HALF_MARGIN) & (aq < 1000 - _HALF_MARGIN)
        ok &= np.abs(aq - np.floor(aq) - 0.5) > _HALF_MARGIN
    # a zero is itself (its sign too, as "-0" is -0.0)
    out = np.where(absa == 0, a, np.where(k >= 0, m * p, m / p))
    vals = out.tolist()
    for i in np.flatnonzero(~ok & (absa != 0)).tolist():
        v = float(a[i])
        vals[i] = float(f"{v:.3g}")
    return vals


def _band_sums(
    cols: np.ndarray, lo_edge: float, hi_edge: float
) -> tuple[float, float, np.ndarray, np.ndarray] | None:
    """A view's rows (`cols`: price_low, price_high, long and short notional, long and short
    cumulative, one row each) merged into at most MAP_MAX_BARS bands within the window:
    (the first band's bottom, the band width, the bands holding rows (their places from
    the first), their long, short, long and short cumulative figures [4, bands]); None
    when no row is in the window."""
    lo, hi = cols[:, 0], cols[:, 1]
    sel = (hi > lo_edge) & (lo < hi_edge)
    if not sel.any():
        return None
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
    return g0, step, used, np.stack((gl, gs, glc, gsc))[:, used]


def _bands(
    views: list[np.ndarray], spot: float, lo_edge: float, hi_edge: float
) -> list[tuple[dict[str, list], float]]:
    """Each view's bands (`_band_sums` of its rows) as columns lo, hi, l, s, lc, sc
    (`BAND_KEYS` but the view) and the band width ({} and 0.0 when no row is in the window).
    Notional and cumulative figures keep 3 significant digits, what the chart's tooltips
    print ($.3s): rounded once from the mart's value, and the data file stays small (every
    view's at once, `three_digits`)."""
    sums = [_band_sums(cols, lo_edge, hi_edge) for cols in views]
    held = [s[3] for s in sums if s is not None]
    flat = three_digits(np.concatenate([h.ravel() for h in held])) if held else []
    ndigits = chart_price_decimals()
    out: list[tuple[dict[str, list], float]] = []
    at_flat = 0
    for one in sums:
        if one is None:
            out.append(({}, 0.0))
            continue
        g0, step, used, figures = one
        k = figures.shape[1]
        l3, s3, lc3, sc3 = (flat[at_flat + i * k : at_flat + (i + 1) * k] for i in range(4))
        at_flat += 4 * k
        # Python floats: the same values as numpy's; chart_price's rounding inlined (its
        # decimals looked up once)
        ls, ss, lcs, scs = figures.tolist()
        # every band edge once: band i's top is band i + 1's bottom (the same g0 + (i + 1) *
        # step)
        at = used.tolist()
        edges = [g0 + j * step for j in range(at[-1] + 2)]
        shown = [round(x, ndigits) for x in edges]
        blo = [edges[i] for i in at]
        bhi = [edges[i + 1] for i in at]
        # a zero (the other side of spot) is itself: `x and ...` keeps it, sign included
        bands = {
            "lo": [shown[i] for i in at],
            "hi": [shown[i + 1] for i in at],
            "l": [v and r for v, r in zip(ls, l3, strict=True)],
            "s": [v and r for v, r in zip(ss, s3, strict=True)],
            "lc": [
                r if b < spot and c > 0 else None for b, c, r in zip(blo, lcs, lc3, strict=True)
            ],
            "sc": [
                r if b > spot and c > 0 else None for b, c, r in zip(bhi, scs, sc3, strict=True)
            ],
        }
        out.append((bands, step))
    return out


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
    others = sorted(v for v in layer_views or {} if v != DEFAULT_VIEW)
    every = _bands(
        [_record_columns(rows), *(_view_columns(layer_views[v]) for v in others)],
        spot,
        lo_edge,
        hi_edge,
    )
    base, step = every[0]
    if not base:
        return None
    # the bands of every view, one after the other, as columns (each band a row of the
    # chart's data: its view in `k`)
    data = {"k": [DEFAULT_VIEW] * len(base["lo"]), **{c: list(v) for c, v in base.items()}}
    for view, (bands, _) in zip(others, every[1:], strict=True):
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
