"""The moves template: modelled long and short liquidations per price swing."""

from __future__ import annotations

import functools

import altair as alt

from reports.charts.spec import LONG, SHORT, USD_LABEL, Template, build_template, ph, usd_expr


@functools.cache
def moves_template() -> Template:
    chart = (
        alt.Chart(alt.Data(values=ph("moves")))
        .transform_calculate(vtxt=usd_expr("v"))
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N",
                sort=alt.EncodingSortField("order"),
                axis=alt.Axis(title=None, labelAngle=-40, labelLimit=0, labelFontSize=10),
            ),
            xOffset=alt.XOffset("side:N", sort=["Longs liquidated", "Shorts liquidated"]),
            y=alt.Y("v:Q", axis=alt.Axis(title="Modelled liquidations", labelExpr=USD_LABEL)),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(
                    domain=["Longs liquidated", "Shorts liquidated"], range=[LONG, SHORT]
                ),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Move"),
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("vtxt:N", title="Modelled"),
            ],
        )
        .properties(width="container", height=260, description=ph("desc"))
    )
    return build_template("moves", chart)
