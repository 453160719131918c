"""Chart templates that carry the key levels: the heatmap (raster per layer, candles or a
close line, level rules, zone band) and the liquidation map (per-layer rows, level rules,
zone band). Spec templates are built once per process and filled per page (see
reports.charts.Template); the layer a chart shows is switched by the page's script, from
data the build precomputed from the marts.
"""

from __future__ import annotations

import functools

import altair as alt

from reports.charts import (
    LONG,
    LONG_CUM,
    SHORT,
    SHORT_CUM,
    USD_LABEL,
    VIEW_FILL,
    Template,
    _template,
    num,
    ph,
    usd_expr,
)

SPOT = "#ff4f79"
CANDLE_UP = "#26a69a"
CANDLE_DOWN = "#ef5350"
PRICE_LINE = "#ffffff"
ZONE_FILL = "#ffffff"
MARK_COLORS = {"spot": SPOT, "nearest": "#ffd166", "p90": "#f4f1ff"}
DEFAULT_VIEW = "base/all"


def _heat_x() -> alt.X:
    return alt.X(
        "x:T",
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
        scale=alt.Scale(
            domainMin={"expr": num("ydomain0")},
            domainMax={"expr": num("ydomain1")},
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


@functools.cache
def heatmap_template() -> Template:
    """One heatmap timeframe: raster image (named data "heatimg", set by the page script per
    layer), colour legend from the `vmax` signal, candles (or a close line), zone band and
    level rules with labels."""
    vmax = alt.param(name="vmax", value=1.0)
    image = (
        alt.Chart(alt.NamedData(name="heatimg"))
        .mark_image(aspect=False, smooth=False, aria=False)
        .encode(x=_heat_x(), x2="x2:T", y=_heat_y(), y2="y2:Q", url="url:N")
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
                    gradientLength=160,
                    titleOrient="left",
                    titleLimit=260,
                ),
            )
        )
        .add_params(vmax)
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
    marks = alt.Chart(alt.Data(values=ph("marks")))
    rules = marks.mark_rule(strokeDash=[6, 4], strokeWidth=1.4).encode(
        y=_heat_y("c"), color=_mark_color(), tooltip=[alt.Tooltip("label:N", title="Level")]
    )
    labels = marks.mark_text(
        align="right", baseline="bottom", dx=-4, dy=-2, fontSize=11, fontWeight="bold"
    ).encode(y=_heat_y("c"), x=alt.value("width"), text="label:N", color=_mark_color())
    chart = alt.layer(image, legend, zone, wick, body, line, rules, labels).properties(
        width="container", height=380, description=ph("desc")
    )
    return _template(
        "heatmap", chart.configure_view(fill=VIEW_FILL, stroke=None).configure_legend(labelLimit=80)
    )


@functools.cache
def liq_map_template() -> Template:
    """The liquidation map: rows of every layer view (field `k`, with the cumulative curves
    `lc`/`sc` precomputed by the build), filtered by the `layer` signal the page's switch
    sets; spot, nearest clusters and 90 % points as rules; the zone as a band."""
    layer = alt.param(name="layer", value=DEFAULT_VIEW)
    x = alt.X(
        "lo:Q",
        scale=alt.Scale(
            domainMin={"expr": num("xdomain0")},
            domainMax={"expr": num("xdomain1")},
            zero=False,
            nice=False,
        ),
        axis=alt.Axis(title="Liquidation price (USDT)", format="$~s", labelOverlap=True),
    )
    color_scale = alt.Scale(
        domain=["Longs", "Shorts", "Longs, cumulative", "Shorts, cumulative"],
        range=[LONG, SHORT, LONG_CUM, SHORT_CUM],
    )
    base = (
        alt.Chart(alt.Data(values=ph("map")))
        .transform_filter("datum.k == layer")
        .transform_calculate(
            band="'$' + format(datum.lo, ',.0f') + ' to $' + format(datum.hi, ',.0f')",
            longs=usd_expr("l"),
            shorts=usd_expr("s"),
        )
    )
    bars = (
        base.transform_fold(["l", "s"], as_=["f", "v"])
        .transform_filter("datum.v > 0")
        .transform_calculate(side="datum.f == 'l' ? 'Longs' : 'Shorts'")
        .mark_bar(aria=False)
        .encode(
            x=x,
            x2="hi:Q",
            y=alt.Y(
                "v:Q", stack=None, axis=alt.Axis(title="Notional per band", labelExpr=USD_LABEL)
            ),
            y2=alt.datum(0),
            color=alt.Color(
                "side:N",
                scale=color_scale,
                legend=alt.Legend(title=None, orient="top", direction="horizontal", columns=2),
            ),
            tooltip=[
                alt.Tooltip("band:N", title="Liquidation price"),
                alt.Tooltip("longs:N", title="Longs"),
                alt.Tooltip("shorts:N", title="Shorts"),
            ],
        )
        .add_params(layer)
    )
    cum = (
        base.transform_fold(["lc", "sc"], as_=["f", "cum"])
        .transform_filter("isValid(datum.cum) && datum.cum > 0")
        .transform_calculate(
            side="datum.f == 'lc' ? 'Longs, cumulative' : 'Shorts, cumulative'",
            cx="datum.f == 'lc' ? datum.lo : datum.hi",
            cumtxt=usd_expr("cum"),
            at="'$' + format(datum.f == 'lc' ? datum.lo : datum.hi, ',.0f')",
        )
        .mark_line(strokeWidth=2, interpolate="linear")
        .encode(
            x=alt.X("cx:Q"),
            y=alt.Y(
                "cum:Q",
                axis=alt.Axis(
                    title="Cumulative from spot", labelExpr=USD_LABEL, orient="right", grid=False
                ),
            ),
            color=alt.Color("side:N", scale=color_scale),
            detail="f:N",
            tooltip=[
                alt.Tooltip("side:N", title="Curve"),
                alt.Tooltip("at:N", title="If price reaches"),
                alt.Tooltip("cumtxt:N", title="Liquidated (modelled)"),
            ],
        )
    )
    zone = (
        alt.Chart(alt.Data(values=ph("zone")))
        .mark_rect(color="#8a7fb8", opacity=0.15)
        .encode(x=alt.X("lo:Q"), x2="hi:Q", tooltip=[alt.Tooltip("label:N", title="Zone")])
    )
    marks = alt.Chart(alt.Data(values=ph("marks")))
    rules = marks.mark_rule(strokeDash=[6, 4], strokeWidth=1.4).encode(
        x=alt.X("c:Q"),
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["spot", "nearest", "p90"], range=[SPOT, "#b8860b", "#7a6fb0"]),
            legend=None,
        ),
        tooltip=[alt.Tooltip("label:N", title="Level")],
    )
    labels = marks.mark_text(
        align="left", baseline="top", dx=3, fontSize=10, angle=0, color="#888888"
    ).encode(
        x=alt.X("c:Q"),
        y=alt.Y("row:Q", axis=None, scale=alt.Scale(domain=[0, 6], reverse=True)),
        text="label:N",
    )
    chart = (
        alt.layer(alt.layer(zone, bars, rules, labels).resolve_scale(y="independent"), cum)
        .resolve_scale(y="independent")
        .properties(width="container", height=340, description=ph("desc"))
    )
    return _template("liq_map_levels", chart)
