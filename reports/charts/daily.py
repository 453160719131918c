"""The daily-series templates: open interest with the close price, and the funding rate."""

from __future__ import annotations

import altair as alt

from reports.charts.spec import (
    CLOSE_COLOR,
    FUNDING_NEG,
    FUNDING_POS,
    OI_COLOR,
    USD_LABEL,
    Template,
    build_template,
    nearest_hover,
    ph,
    usd_expr,
)
from reports.charts.template_cache import cached_template


def _time_axis(fmt: str | None = None) -> alt.Axis:
    return alt.Axis(title=None, format=fmt, labelOverlap=True, grid=False)


def _daily_x() -> alt.X:
    return alt.X("x:T", scale=alt.Scale(type="utc"), axis=_time_axis("%d %b %y"))


@cached_template
def oi_price_template() -> Template:
    base = alt.Chart(alt.Data(values=ph("daily"))).transform_calculate(
        day="utcFormat(datum.x, '%d %b %Y')",
        oitxt=usd_expr("oi"),
        closetxt="'$' + format(datum.c, ',.0f')",
    )
    tips = [
        alt.Tooltip("day:N", title="Day"),
        alt.Tooltip("oitxt:N", title="Open interest"),
        alt.Tooltip("closetxt:N", title="Close"),
    ]
    area = base.mark_area(color=OI_COLOR, opacity=0.45, line={"color": OI_COLOR}).encode(
        x=_daily_x(),
        y=alt.Y(
            "oi:Q",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(title="Open interest", labelExpr=USD_LABEL, titleColor=OI_COLOR),
        ),
        tooltip=tips,
    )
    line = base.mark_line(
        color=CLOSE_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(size=10, color=CLOSE_COLOR)
    ).encode(
        x=_daily_x(),
        y=alt.Y(
            "c:Q",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(
                title="Close price", format="$,.0f", orient="right", titleColor=CLOSE_COLOR
            ),
        ),
        tooltip=tips,
    )
    chart = (
        alt.layer(area, line, nearest_hover(base, _daily_x(), tips))
        .resolve_scale(y="independent")
        .properties(width="container", height=260, description=ph("desc"))
    )
    return build_template("oi_price", chart)


@cached_template
def funding_template() -> Template:
    base = alt.Chart(alt.Data(values=ph("daily"))).transform_calculate(
        fp="datum.f * 100",
        f7p="datum.f7 * 100",
        day="utcFormat(datum.x, '%d %b %Y')",
        ftxt="format(datum.f * 100, '.4f') + '%'",
        f7txt="format(datum.f7 * 100, '.4f') + '%'",
    )
    tips = [
        alt.Tooltip("day:N", title="Day"),
        alt.Tooltip("ftxt:N", title="Last rate"),
        alt.Tooltip("f7txt:N", title="7-day mean"),
    ]
    bars = base.mark_bar(opacity=0.8).encode(
        x=_daily_x(),
        y=alt.Y("fp:Q", axis=alt.Axis(title="Funding rate per settlement (%)", format=".3f")),
        color=alt.condition("datum.f >= 0", alt.value(FUNDING_POS), alt.value(FUNDING_NEG)),
        tooltip=tips,
    )
    line = base.mark_line(color=CLOSE_COLOR, strokeWidth=2).encode(
        x=_daily_x(), y="f7p:Q", tooltip=tips
    )
    zero = alt.Chart(alt.Data(values=[{"z": 0}])).mark_rule(color="#888888").encode(y="z:Q")
    chart = alt.layer(bars, line, zero, nearest_hover(base, _daily_x(), tips)).properties(
        width="container", height=220, description=ph("desc")
    )
    return build_template("funding", chart)
