"""The liquidation map's template: notional per price band and cumulative curves from spot."""

from __future__ import annotations

import functools

import altair as alt

from reports.charts.spec import (
    LONG,
    LONG_CUM,
    SHORT,
    SHORT_CUM,
    SPOT_RULE,
    USD_LABEL,
    Template,
    build_template,
    num,
    ph,
    usd_expr,
)


@functools.cache
def liq_map_template() -> Template:
    x = alt.X(
        "lo:Q",
        scale=alt.Scale(
            domainMin={"expr": num("xdomain0")},
            domainMax={"expr": num("xdomain1")},
            zero=False,
            nice=False,
        ),
        axis=alt.Axis(title="Liquidation price (USDT)", format="$,.0f", labelOverlap=True),
    )
    color_scale = alt.Scale(
        domain=["Longs", "Shorts", "Longs, cumulative", "Shorts, cumulative"],
        range=[LONG, SHORT, LONG_CUM, SHORT_CUM],
    )
    base = alt.Chart(alt.Data(values=ph("map"))).transform_calculate(
        band="'$' + format(datum.lo, ',.0f') + ' to $' + format(datum.hi, ',.0f')",
        longs=usd_expr("l"),
        shorts=usd_expr("s"),
    )
    bars = (
        base.transform_fold(["l", "s"], as_=["k", "v"])
        .transform_filter("datum.v > 0")
        .transform_calculate(side="datum.k == 'l' ? 'Longs' : 'Shorts'")
        .mark_bar(aria=False)
        .encode(
            x=x,
            x2="hi:Q",
            y=alt.Y(
                "v:Q",
                stack=None,
                axis=alt.Axis(title="Notional per band", labelExpr=USD_LABEL),
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
    )
    cum = (
        base.transform_fold(["lc", "sc"], as_=["k", "cum"])
        .transform_filter("isValid(datum.cum) && datum.cum > 0")
        .transform_calculate(
            side="datum.k == 'lc' ? 'Longs, cumulative' : 'Shorts, cumulative'",
            cx="datum.k == 'lc' ? datum.lo : datum.hi",
            cumtxt=usd_expr("cum"),
            at="'$' + format(datum.k == 'lc' ? datum.lo : datum.hi, ',.0f')",
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
            detail="k:N",
            tooltip=[
                alt.Tooltip("side:N", title="Curve"),
                alt.Tooltip("at:N", title="If price reaches"),
                alt.Tooltip("cumtxt:N", title="Liquidated"),
            ],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_rule(color=SPOT_RULE, strokeDash=[6, 4], strokeWidth=1.5)
        .encode(x=alt.X("c:Q"), tooltip=[alt.Tooltip("label:N", title="Current price")])
    )
    text = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_text(align="left", baseline="top", dx=4, dy=2, color=SPOT_RULE, fontSize=11)
        .encode(x=alt.X("c:Q"), y=alt.value(0), text="label:N")
    )
    chart = (
        alt.layer(alt.layer(bars, rule, text), cum)
        .resolve_scale(y="independent")
        .properties(width="container", height=320, description=ph("desc"))
    )
    return build_template("liq_map", chart)
