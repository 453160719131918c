"""Two-sided key levels on the page: the sentence, the table and the chart marks.

Reads the level columns of a `mart.daily_metrics` row (see transforms/model/levels.py):
per side the nearest major cluster, the peak cluster and the 90 % point. Both sides are
always shown; nothing is picked by which side is heavier. "Major" is the absolute rule
(`major_rule`: a share of open interest per 1 % of price, with today's size in dollars),
and when a nearest cluster moved by more than 10 % since the day before the page says why
(transforms/model/stable_levels.py: price moved, the cluster was consumed or closed).
A mark that lies outside a chart's price window is pinned to the window's edge with an
arrow and its real price, so no level named in the text is ever missing from the chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reports.notation import (
    chart_price,
    chart_price_decimals,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_usd,
    ok,
    price_decimals_as,
    scaled_decimals,
)
from reports.queries import bin_width
from transforms.model.layers import LAYER_VIEWS
from transforms.model.levels import LEVEL_COLUMNS, LevelParams, key_level_columns
from transforms.model.stable_levels import JUMP_MOVES

Row = Mapping[str, Any]

SIDE_NAMES = {"above": "shorts", "below": "longs"}
DEFAULT_VIEW = "base/all"  # the switch's default view (scenario/layer)


def _get(row: Row, kind: str, side: str, field: str) -> float | None:
    v = row.get(f"{kind}_{side}_{field}")
    return v if ok(v) else None


_P = LevelParams()
#: why a nearest cluster moved by more than 10 % since the day before (stored move → words)
MOVE_WORDS = {
    "price": (
        f"moved because price moved {fmt_pct(_P.price_move_pct, 0, False)} or more since the "
        "day before"
    ),
    "consumed": "moved because price reached the previous cluster and consumed it",
    "window": (
        f"moved because price drifted more than {fmt_pct(_P.window_pct, 0, False)} away "
        "from the previous cluster"
    ),
    "closed": (
        f"moved because the previous cluster shrank below {fmt_pct(_P.hold_share, 0, False)} "
        "of the major size: closed or liquidated"
    ),
}


#: the same in a table cell, plus "held" (kept from the day before)
SHORT_MOVES = {
    "held": "held from the day before",
    "price": "moved: price moved",
    "consumed": "moved: previous consumed",
    "window": "moved: previous out of window",
    "closed": "moved: previous closed",
}


def major_rule(row: Row) -> str:
    """The major rule as the page states it: 'Major: at least 1% of open interest per 1% of
    price, $35.7M per price bin on this day.'"""
    rule = (
        f"Major: at least {fmt_pct(_P.major_density / 100, 0, False)} of open interest per "
        "1% of price"
    )
    size = row.get("major_cluster_min")
    return rule + (f", {fmt_usd(size)} per price bin on this day." if ok(size) else ".")


def move_words(row: Row, side: str) -> str | None:
    """Why the side's nearest cluster moved by more than 10 % since the day before (None when
    it did not)."""
    move = row.get(f"nearest_cluster_{side}_move")
    return MOVE_WORDS[move] if move in JUMP_MOVES else None


def levels_sentence(row: Row) -> str:
    """'Nearest major clusters (major = …): shorts $96,000 (+4.3%, $1.2B), longs $88,500
    (−3.8%, $950M). 90 % of shorts lie below $110,000 (+19.0%), 90 % of longs above $76,000
    (−17.4%).' A side whose level jumped says why."""
    spot = row.get("close_price")
    near, p90 = [], []
    for side, name in SIDE_NAMES.items():
        price = _get(row, "nearest_cluster", side, "price")
        why = move_words(row, side)
        if price is None:
            gone = why.removeprefix("moved because ") if why else None
            near.append(f"no major {name}" + (f" ({gone})" if gone else ""))
        else:
            notional = fmt_usd(_get(row, "nearest_cluster", side, "notional"))
            dist = fmt_pct(price / spot - 1.0) if ok(spot) and spot else "n/a"
            moved = f"; {why}" if why else ""
            near.append(f"{name} {fmt_price(price)} ({dist}, {notional}{moved})")
        q = _get(row, "p90", side, "price")
        if q is not None:
            where = "below" if side == "above" else "above"
            p90.append(f"90% of {name} lie {where} {fmt_level(q, spot)}")
    text = "Nearest major clusters: " + ", ".join(near) + ". " + major_rule(row)
    if p90:
        text += " " + "; ".join(p90) + "."
    return text[0].upper() + text[1:]


@dataclass(frozen=True)
class LevelRow:
    side: str  # "Shorts (above)" / "Longs (below)"
    nearest: str
    peak: str
    p90: str
    change: str  # the side's levels the day before, where they differ


def level_change(row: Row, prev: Row | None, side: str) -> str:
    """'90% point was $76,000; nearest cluster was $62,400': the day before's levels of a
    side, in the printed notation (why a cluster jumped is the headline's: levels_sentence)."""
    if not prev:
        return "no previous day"
    q, pq = _get(row, "p90", side, "price"), _get(prev, "p90", side, "price")
    text = (
        "90% point unchanged" if fmt_price(q) == fmt_price(pq) else f"90% point was {fmt_price(pq)}"
    )
    near = _get(row, "nearest_cluster", side, "price")
    pn = _get(prev, "nearest_cluster", side, "price")
    if fmt_price(pn) != fmt_price(near):
        text += f"; nearest cluster was {fmt_price(pn)}"
    elif row.get(f"nearest_cluster_{side}_move") == "held":
        text += "; nearest cluster held"
    return text


def levels_table(row: Row, prev: Row | None = None) -> list[LevelRow]:
    """One row per side: nearest cluster, peak cluster (with notional), 90 % point and the
    day before's (`prev`, its base row)."""
    spot = row.get("close_price")
    out = []
    for side, name in SIDE_NAMES.items():
        cells = []
        for kind in ("nearest_cluster", "peak_cluster"):
            price = _get(row, kind, side, "price")
            move = SHORT_MOVES.get(row.get(f"{kind}_{side}_move"))
            cells.append(
                ("none major" if kind == "nearest_cluster" else "n/a")
                if price is None
                else f"{fmt_level(price, spot)} · {fmt_usd(_get(row, kind, side, 'notional'))}"
                + (f" · {move}" if move else "")
            )
        out.append(
            LevelRow(
                side=f"{name.capitalize()} ({side})",
                nearest=cells[0],
                peak=cells[1],
                p90=fmt_level(_get(row, "p90", side, "price"), spot),
                change=level_change(row, prev, side),
            )
        )
    return out


def view_rows(
    view: str,
    scenarios: Mapping[str, Row],
    map_rows: Mapping[str, np.ndarray] | None,
    spot: float | None,
    oi: float | None,
) -> Row | None:
    """The level columns of one switch view ('scenario/layer'). A whole scenario
    ('<scenario>/all') has its stored `mart.daily_metrics` row (levels held day to day); a
    leverage layer has no row of its own, so its levels come from its map rows (the ±25 %
    window) by the same rule, on the same open interest (`flag` 'window': the 90 % points
    are then of the layer's positions within the window, and nothing is held).
    `map_rows`: the view's map rows as columns (reports.loaders.ViewColumns)."""
    scenario, layer = view.split("/")
    if layer == "all":
        return scenarios.get(scenario)
    if map_rows is None or not len(map_rows["price_low"]) or not ok(spot):
        return None
    lows = map_rows["price_low"]
    width = bin_width(lows, map_rows["price_high"])
    k = np.rint((lows - lows.min()) / width).astype(np.int64)
    price_low = lows.min() + width * np.arange(int(k.max()) + 1)
    # each bin's rows added in order from 0, as np.add.at does, at a fraction of its cost
    nb = len(price_low)
    long = np.bincount(k, weights=map_rows["long_notional"], minlength=nb)[None, :nb]
    short = np.bincount(k, weights=map_rows["short_notional"], minlength=nb)[None, :nb]
    oi_arr = np.array([oi if ok(oi) else np.nan])
    cols = key_level_columns(price_low, width, long, short, np.array([spot]), oi_arr)
    levels = {c: float(cols[c][0]) for c in (*LEVEL_COLUMNS, "major_cluster_min")}
    return {**levels, "close_price": spot, "flag": "window"}


def views_of(
    scenarios: Mapping[str, Row], layer_views: Mapping[str, Mapping[str, np.ndarray]] | None
) -> dict[str, Row]:
    """Every switch view's level row on one day (`view_rows`), from the day's rows per
    scenario (base included) and its `mart.liq_layer_map` rows by view, as columns
    (reports.loaders.layer_views_of); the base view first."""
    cur = scenarios["base"]
    spot, oi = cur.get("close_price"), cur.get("oi_value")
    layer_views = layer_views or {}
    out: dict[str, Row] = {DEFAULT_VIEW: cur}
    for scenario, layer in LAYER_VIEWS:
        view = f"{scenario}/{layer}"
        if view != DEFAULT_VIEW:
            row = view_rows(view, scenarios, layer_views.get(view), spot, oi)
            if row is not None:
                out[view] = row
    return out


def view_marks(
    views: Mapping[str, Row], lo: float | None = None, hi: float | None = None
) -> list[dict]:
    """`level_marks` of every view, each mark with its view in `k` (what the charts filter
    on) and its label row among the view's marks in `row`."""
    return _view_marks([level_row(v, r) for v, r in views.items()], lo, hi)


def _view_marks(rows: list[list], lo: float | None, hi: float | None) -> list[dict]:
    out = []
    for row in rows:
        marks = _marks(row, lo, hi)
        for i, m in enumerate(marks):
            m["row"], m["k"] = i, row[0]
        out += marks
    return out


def drawn(marks: list[dict], fields: tuple[str, ...]) -> list[dict]:
    """The marks with only the fields a chart's template reads: the real price, side and
    label row of each mark stay out of every day file that does not draw them."""
    return [{f: m[f] for f in fields} for m in marks]


#: a day file's `levels` table: per switch view the prices its level marks stand at
LEVEL_COLS = ("view", "spot", "nearest_above", "p90_above", "nearest_below", "p90_below", "window")


def level_row(view: str, row: Row) -> list:
    """One view's line of the `levels` table: spot (the close), the nearest cluster and the
    90 % point per side (None when there is none) and 1 when the 90 % points are of the
    window (a leverage layer's, `view_rows`), else 0."""
    spot = row.get("close_price")
    return [
        view,
        spot if ok(spot) else None,
        *(
            _get(row, kind, side, "price")
            for side in SIDE_NAMES
            for kind in ("nearest_cluster", "p90")
        ),
        1 if row.get("flag") == "window" else 0,
    ]


def levels_of(views: Mapping[str, Row]) -> dict[str, Any]:
    """The `levels` of a day file: every switch view's `level_row` (in the order of
    `views`) and the price decimals its labels are written with, from which the page
    script builds each chart's level marks (a `$marks` value, `marks_ref`) as
    `resolve_marks` does here: the labels are written once, not into every chart."""
    return {
        "dec": scaled_decimals(),
        "cols": list(LEVEL_COLS),
        "rows": [level_row(v, r) for v, r in views.items()],
    }


def marks_ref(
    key: str,
    order: Sequence[str],
    shown: Sequence[str],
    lo: float,
    hi: float,
    fields: tuple[str, ...],
) -> dict[str, Any]:
    """A chart value standing for the level marks of views `shown` within window [lo, hi]
    with fields `fields`, built from the `levels` of data file `key` (whose rows are the
    views in `order`)."""
    return {
        "$marks": key,
        "views": [list(order).index(v) for v in shown],
        "lo": lo,
        "hi": hi,
        "f": list(fields),
    }


def resolve_marks(levels: Mapping[str, Any], ref: Mapping[str, Any]) -> list[dict]:
    """The rows a `$marks` value stands for (what the page script builds, liqdata.js)."""
    rows = [levels["rows"][i] for i in ref["views"]]
    with price_decimals_as(levels["dec"]):
        return drawn(_view_marks(rows, ref["lo"], ref["hi"]), tuple(ref["f"]))


def level_marks(row: Row, lo: float | None = None, hi: float | None = None) -> list[dict]:
    """Horizontal marks for a chart: spot, both nearest clusters and both 90 % points, each
    {"c": price to draw, "label", "kind", "side", "price": real price}. With a window
    [lo, hi], a mark outside it is drawn at the edge and its label says where it really is.
    A row of a leverage layer (`view_rows`, flag 'window') labels its 90 % points as of
    the window."""
    return _marks(level_row("", row), lo, hi)


def _marks(levels: list, lo: float | None, hi: float | None) -> list[dict]:
    """`level_marks` of one `level_row`."""
    _, spot, near_above, p90_above, near_below, p90_below, window = levels
    marks = []
    if ok(spot):
        marks.append({"c": spot, "price": spot, "kind": "spot", "side": "", "label": "Now"})
    for side, p, q in (("above", near_above, p90_above), ("below", near_below, p90_below)):
        name = SIDE_NAMES[side]
        if p is not None:
            marks.append(
                {"c": p, "price": p, "kind": "nearest", "side": side, "label": f"Nearest {name}"}
            )
        if q is not None:
            within = " in window" if window else ""
            marks.append(
                {"c": q, "price": q, "kind": "p90", "side": side, "label": f"90% {name}{within}"}
            )
    for m in marks:
        text = f"{m['label']} {fmt_price(m['price'])}"
        if m["kind"] != "spot" and ok(spot) and spot:
            text += f" ({fmt_pct(m['price'] / spot - 1.0)})"
        if lo is not None and m["price"] < lo:
            m["c"], text = lo, f"↓ {text}"
        elif hi is not None and m["price"] > hi:
            m["c"], text = hi, f"↑ {text}"
        m["label"] = text
    _label_places(marks, lo, hi)
    nd = chart_price_decimals()  # chart_price, its decimals looked up once
    for m in marks:
        m["c"] = round(float(m["c"]), nd)
        m["price"] = round(float(m["price"]), nd)
        m["ly"] = round(float(m["ly"]), nd)
    return marks


LABEL_GAP = 0.05  # labels of a window at least this share of its height apart (11 px in 380)


def _label_places(marks: list[dict], lo: float | None, hi: float | None) -> None:
    """Each mark's label price `ly`: its line's, moved only as needed so that labels in the
    same column (spot's on the left, the levels' on the right) keep LABEL_GAP of the window
    apart and stay inside it (a label pinned at the top edge would be drawn above the plot,
    pale on the page); without a window, the line's price."""
    for m in marks:
        m["ly"] = m["c"]
    if lo is None or hi is None or not hi > lo:
        return
    gap = (hi - lo) * LABEL_GAP
    for column in ([m for m in marks if m["kind"] == "spot"],
                   [m for m in marks if m["kind"] != "spot"]):  # fmt: skip
        ceiling = hi - gap  # the text sits above its price: keep it under the top edge
        for m in sorted(column, key=lambda m: -m["c"]):
            m["ly"] = min(m["c"], ceiling)
            ceiling = m["ly"] - gap
        floor = lo + gap / 2  # clear of the band along the bottom (days not collected)
        low = [m for m in column if m["ly"] < floor]
        if low:  # pushed below the window: lift the column back in, keeping the gaps
            lift = floor - min(m["ly"] for m in column)
            for m in column:
                m["ly"] = min(m["ly"] + lift, hi - gap)


def zone_band(row: Row) -> list[dict]:
    """The consolidation zone as one band {"lo", "hi", "label"} (empty without a zone)."""
    lo, hi = row.get("zone_low"), row.get("zone_high")
    if not (ok(lo) and ok(hi)):
        return []
    return [
        {
            "lo": chart_price(float(lo)),
            "hi": chart_price(float(hi)),
            "label": f"Zone {fmt_price(lo)}–{fmt_price(hi)}",
        }
    ]
