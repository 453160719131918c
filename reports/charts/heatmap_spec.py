"""The heatmap's Vega-Lite template: a colour-mapped PNG per timeframe and layer
(``mark_image``, named data "heatimg" set by the page script), candles or a close line, the
consolidation zone and the key levels as labelled rules.

The PNG uses Vega's own viridis ramp (VIRIDIS), so the legend and the raster agree; the
hover value is read from the pixel (reports/static/heatlayers.js), in the legend's unit.
"""

from __future__ import annotations

import functools
import json

import altair as alt

from reports.charts.raster import VIRIDIS, VIRIDIS_HEX  # noqa: F401  (VIRIDIS re-exported)
from reports.charts.side_bars import SIDES
from reports.charts.spec import (
    LONG,
    SHORT,
    USD_LABEL,
    Template,
    bare,
    num,
    ph,
    text_pattern,
)
from reports.charts.template_cache import cached_template

VIEW_FILL = "#" + VIRIDIS_HEX[:6]


SPOT = "#ff4f79"
CANDLE_UP = "#ffffff"  # white and pink: apart from every viridis colour under them
CANDLE_DOWN = "#ff4f79"
PRICE_LINE = "#ffffff"
ZONE_FILL = "#ffffff"
MARK_COLORS = {"spot": SPOT, "nearest": "#ffd166", "p90": "#f4f1ff"}
LABEL_HALO = "#1b1030"  # under the level labels (the darkest viridis tone)
CROSS = "#ffffff"  # the crosshair's rules and tag
TAG_LINE = 13  # the crosshair tag's line height (px)
GAP_FILL = "#9a9a9a"  # band along the bottom over days whose realized was not fully collected
GAP_PX = 8  # its height in pixels
REALIZED_SIZE = (24, 700)  # marker area (px²) range, by notional on a sqrt scale
DEFAULT_VIEW = "base/all"
# the fields of a level mark the template reads (reports.key_levels.view_marks gives more)
MARK_FIELDS = ("c", "kind", "label", "ly", "k")
# the heatmap's description, its fixed wording written once (assets/specs.js)
DESC = text_pattern(
    "heat_desc",
    "Liquidation heatmap, {symbol}, {window} to the end of {day} UTC: modelled notional that "
    "would be liquidated at each price (y) over time (x), brighter is more. Price: {path}. "
    "Dashed lines: current price {spot}, the nearest major clusters and the 90% points of "
    "both sides; band: the consolidation zone.{note}",
)
# a 1×1 transparent PNG: the image layer's row before the page script sets the layer's PNG
BLANK_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQAB"
    "h6FO1AAAAABJRU5ErkJggg=="
)


def _heat_x(field: str = "x") -> alt.X:
    return alt.X(
        f"{field}:T",
        scale=alt.Scale(
            type="utc",
            domainMin={"expr": num("xdomain0")},
            domainMax={"expr": num("xdomain1")},
            nice=False,
        ),
        axis=alt.Axis(
            title=None,
            format=ph("xformat"),
            tickCount={"expr": num("xticks")},
            labelOverlap=True,
            grid=False,
        ),
    )


def _heat_y(field: str = "y") -> alt.Y:
    return alt.Y(
        f"{field}:Q",
        # an explicit domain: no extent is computed from a layer without rows
        scale=alt.Scale(
            domain=[{"expr": num("ydomain0")}, {"expr": num("ydomain1")}],
            zero=False,
            nice=False,
        ),
        axis=alt.Axis(title="Price (USDT)", format="$~s", grid=False),
    )


def _mark_color() -> alt.Color:
    return alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(MARK_COLORS), range=list(MARK_COLORS.values())),
        legend=None,
    )


def realized_layers() -> tuple[alt.Chart, alt.Chart]:
    """Realized liquidations per hour and side as markers (named "realized": x, p, v, side
    and the tooltip texts; a row with v = 0 draws nothing) and bands along the bottom over
    the days not fully collected ("rgaps": x, x2, label; a zero-width row draws nothing)."""
    gaps = (
        alt.Chart(alt.Data(values=ph("rgaps")))
        .mark_rect(fill=GAP_FILL, opacity=0.8, clip=True)
        .encode(
            x=_heat_x(),
            x2="x2:T",
            y=alt.value({"expr": f"height - {GAP_PX}"}),
            y2=alt.value({"expr": "height"}),
            tooltip=[alt.Tooltip("label:N", title="Realized")],
        )
    )
    sides = alt.Scale(domain=SIDES, range=[LONG, SHORT])
    realized = (
        alt.Chart(alt.Data(values=ph("realized")))
        .mark_point(filled=True, stroke="#ffffff", strokeWidth=1, opacity=0.95, clip=True)
        .encode(
            x=_heat_x(),
            y=_heat_y("p"),
            # below the chart: the colour scale keeps the top row to itself (a phone's width)
            fill=alt.Fill(
                "side:N", scale=sides, legend=alt.Legend(title="Realized", orient="bottom")
            ),
            shape=alt.Shape(
                "side:N",
                scale=alt.Scale(domain=SIDES, range=["triangle-down", "triangle-up"]),
                legend=alt.Legend(title="Realized", orient="bottom"),
            ),
            size=alt.condition(
                "datum.v > 0",
                alt.Size(
                    "v:Q", scale=alt.Scale(type="sqrt", range=list(REALIZED_SIZE)), legend=None
                ),
                alt.value(0),
            ),
            tooltip=[
                alt.Tooltip("when:N", title="Hour"),
                alt.Tooltip("side:N", title="Realized"),
                alt.Tooltip("vtxt:N", title="Notional"),
                alt.Tooltip("ptxt:N", title="Weighted price"),
                alt.Tooltip("venues:N", title="Venues"),
            ],
        )
    )
    return gaps, realized


def crosshair_layers() -> tuple[alt.Chart, alt.Chart, alt.Chart, alt.Chart]:
    """A crosshair under the pointer: a rule at its time, one at its price, and a tag
    reading time, price and the heat value of the cell there. The params `cross_t` (ms),
    `cross_p` (price) and `cross_v` (the value's text) are set by the page script
    (reports/static/heatlayers.js), which reads the value from the raster pixel; null
    hides it."""
    t = alt.param(name="cross_t", value=None)
    p = alt.param(name="cross_p", value=None)
    v = alt.param(name="cross_v", value="")
    base = (
        alt.Chart(alt.Data(values=[{"k": 0}]))
        # always one row, inside the window (a layer without rows would give the shared
        # scales an infinite extent): hidden, not filtered out, while the pointer is away
        .transform_calculate(
            t=f"isValid(cross_t) ? cross_t : {num('xdomain0')}",
            p=f"isValid(cross_p) ? cross_p : {num('ydomain0')}",
            tag=(
                "[utcFormat(cross_t, '%d %b %Y %H:%M') + ' UTC', "
                "'Price $' + format(cross_p, ',.0f'), cross_v]"
            ),
        )
    )
    shown = {"expr": "isValid(cross_t) && isValid(cross_p) ? 1 : 0"}
    rule = {"color": CROSS, "strokeDash": [3, 3], "strokeWidth": 1, "aria": False, "opacity": shown}
    vrule = base.mark_rule(**rule).encode(x=_heat_x("t")).add_params(t, p, v)
    hrule = base.mark_rule(**rule).encode(y=_heat_y("p"))
    # left of the pointer in the plot's right half, below it in its top part
    tag = {
        "align": {"expr": "scale('x', cross_t) > width * 0.5 ? 'right' : 'left'"},
        "baseline": {"expr": "scale('y', cross_p) < 60 ? 'top' : 'bottom'"},
        "dx": {"expr": "scale('x', cross_t) > width * 0.5 ? -8 : 8"},
        # its three lines run down from the anchor: above the pointer, clear of the tooltip
        "dy": {"expr": f"scale('y', cross_p) < 60 ? 8 : -8 - 2 * {TAG_LINE}"},
        "lineHeight": TAG_LINE,
        "fontSize": 11,
        "fontWeight": "bold",
        "aria": False,
        "opacity": shown,
    }
    where = {"x": _heat_x("t"), "y": _heat_y("p"), "text": "tag:N"}
    halo = base.mark_text(
        stroke=LABEL_HALO, strokeWidth=4, strokeJoin="round", fill=LABEL_HALO, **tag
    ).encode(**where)
    text = base.mark_text(fill=CROSS, **tag).encode(**where)
    return vrule, hrule, halo, text


# the wheel events that zoom the heatmap: only with a modifier held (Vega event selector)
ZOOM_EVENTS = "wheel![event.ctrlKey || event.metaKey || event.shiftKey]"


@cached_template
def heatmap_template() -> Template:
    """One heatmap timeframe: raster image (named data "heatimg", set by the page script per
    layer), colour legend from the `vmax` signal, candles (or a close line), zone band and
    level rules with labels."""
    return Template("heatmap", _heatmap_text())


@cached_template
def heatmap_quiet_template() -> Template:
    """`heatmap_template` for a window without realized liquidations: its "realized" data
    is one row at the window's end that draws nothing (v = 0, so size 0), written once here
    rather than into every such window of every day file (a layer without rows would give
    Vega an infinite extent)."""
    nothing = {
        "x": bare("xdomain1"),
        "p": bare("ydomain0"),
        "v": 0,
        "side": SIDES[0],
        "when": "",
        "vtxt": "",
        "ptxt": "",
        "venues": "",
    }
    text = _heatmap_text().replace(f'"{ph("realized")}"', json.dumps([nothing]))
    return Template("heatmap_quiet", text)


@functools.cache
def _heatmap_text() -> str:
    vmax = alt.param(name="vmax", value=1.0)
    # the switch's view ('scenario/layer', set by the page script): picks the level lines
    layer = alt.param(name="layer", value="base/all")
    image = (
        alt.Chart(alt.NamedData(name="heatimg"))
        .mark_image(aspect=False, smooth=False, aria=False)
        .encode(x=_heat_x(), x2="x2:T", y=_heat_y(), y2="y2:Q", url="url:N")
        # zoom (wheel with Ctrl, Cmd or Shift held; a trackpad pinch is a Ctrl wheel) and pan
        # (drag) in time and price; a double click restores the window. A plain wheel is left
        # to the page, so scrolling past the chart never gets caught by it (the filter runs
        # before the event is consumed). The image sits on the scales in data coordinates,
        # so it moves with them.
        .add_params(
            alt.selection_interval(
                name="zoom", bind="scales", encodings=["x", "y"], zoom=ZOOM_EVENTS
            )
        )
    )
    legend = (
        alt.Chart(alt.Data(values=[{"v": 0.0}]))
        .mark_point(opacity=0, aria=False)
        .encode(
            color=alt.Color(
                "v:Q",
                scale=alt.Scale(scheme="viridis", domainMin=0, domainMax={"expr": "vmax"}),
                legend=alt.Legend(
                    title=ph("legend"),
                    labelExpr=USD_LABEL,
                    orient="top",
                    direction="horizontal",
                    gradientLength=150,
                    titleOrient="top",  # title above the gradient: fits 390 px
                    titleLimit=300,
                ),
            )
        )
        .add_params(vmax, layer)
    )
    zone = (
        alt.Chart(alt.Data(values=ph("zone")))
        .mark_rect(fill=ZONE_FILL, opacity=0.10, stroke=ZONE_FILL, strokeOpacity=0.5)
        .encode(y=_heat_y("lo"), y2="hi:Q", tooltip=[alt.Tooltip("label:N", title="Zone")])
    )
    candle_base = alt.Chart(alt.Data(values=ph("candles"))).transform_calculate(
        when="utcFormat(datum.x, '%d %b %Y %H:%M') + ' UTC'",
        ohlc=(
            "'O $' + format(datum.o, ',.0f') + ' H $' + format(datum.h, ',.0f') + "
            "' L $' + format(datum.l, ',.0f') + ' C $' + format(datum.c, ',.0f')"
        ),
        mid="(datum.x + datum.x2) / 2",
    )
    up = alt.condition("datum.c >= datum.o", alt.value(CANDLE_UP), alt.value(CANDLE_DOWN))
    tips = [alt.Tooltip("when:N", title="Candle"), alt.Tooltip("ohlc:N", title="Price")]
    wick = candle_base.mark_rule(strokeWidth=1).encode(
        x=alt.X("mid:T"), y=_heat_y("l"), y2="h:Q", color=up, tooltip=tips
    )
    body = candle_base.mark_bar(opacity=0.95, cornerRadius=0).encode(
        x=_heat_x(), x2="x2:T", y=_heat_y("o"), y2="c:Q", color=up, tooltip=tips
    )
    line = (
        alt.Chart(alt.Data(values=ph("closes")))
        .mark_line(color=PRICE_LINE, strokeWidth=1.5)
        .transform_calculate(
            when="utcFormat(datum.x, '%d %b %Y %H:%M') + ' UTC'",
            price="'$' + format(datum.c, ',.0f')",
        )
        .encode(
            x=_heat_x(),
            y=_heat_y("c"),
            tooltip=[alt.Tooltip("when:N", title="Time"), alt.Tooltip("price:N", title="Close")],
        )
    )
    marks = alt.Chart(alt.Data(values=ph("marks"))).transform_filter("datum.k == layer")
    rules = marks.mark_rule(strokeDash=[6, 4], strokeWidth=1.4).encode(
        y=_heat_y("c"), color=_mark_color(), tooltip=[alt.Tooltip("label:N", title="Level")]
    )
    # spot's label on the left, the levels' on the right: a level next to spot stays legible.
    # Labels sit at `ly` (reports.key_levels: inside the window, apart from each other) over
    # a dark halo, so a yellow label on a yellow band or a pale one at the edge still reads.
    text = {"baseline": "bottom", "dy": -2, "fontSize": 11, "fontWeight": "bold"}
    halo = {"stroke": LABEL_HALO, "strokeWidth": 3.5, "strokeJoin": "round", "fill": LABEL_HALO}
    others = marks.transform_filter("datum.kind != 'spot'")
    spot = marks.transform_filter("datum.kind == 'spot'")
    right = {"y": _heat_y("ly"), "x": alt.value("width"), "text": "label:N"}
    left = {"y": _heat_y("ly"), "x": alt.value(0), "text": "label:N"}
    labels_halo = others.mark_text(align="right", dx=-4, opacity=0.8, **text, **halo).encode(
        **right
    )
    labels = others.mark_text(align="right", dx=-4, **text).encode(**right, color=_mark_color())
    spot_halo = spot.mark_text(align="left", dx=4, opacity=0.8, **text, **halo).encode(**left)
    spot_label = spot.mark_text(align="left", dx=4, **text).encode(**left, color=_mark_color())
    gaps, realized = realized_layers()
    cross = crosshair_layers()
    chart = alt.layer(
        image,
        legend,
        zone,
        wick,
        body,
        line,
        gaps,
        rules,
        labels_halo,
        labels,
        spot_halo,
        spot_label,
        realized,
        *cross,
    ).properties(width="container", height=380, description=ph("desc"))
    spec = (
        chart.configure_view(fill=VIEW_FILL, stroke=None)
        .configure_legend(labelLimit=80)
        .to_dict(validate=False)
    )
    # the image rows are set by the page script per layer; until then one transparent pixel
    # spans the window, so no layer starts without rows (written once, in the template: the
    # window's corners are its domain numbers)
    blank = {
        "url": BLANK_PNG,
        "x": bare("xdomain0"),
        "x2": bare("xdomain1"),
        "y": bare("ydomain0"),
        "y2": bare("ydomain1"),
    }
    spec["datasets"] = {**spec.get("datasets", {}), "heatimg": [blank]}
    return json.dumps(spec, separators=(",", ":"))
