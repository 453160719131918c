"""The moves template: modelled and realized long and short liquidations per price swing
(a two-side bar chart, reports.charts.side_bars): per swing, modelled longs, realized longs,
modelled shorts, realized shorts side by side, realized drawn lighter."""

from __future__ import annotations

import altair as alt

from reports.charts.side_bars import side_bars_template
from reports.charts.spec import Template, text_pattern
from reports.charts.template_cache import cached_template

# the chart's description, its fixed wording written once (assets/specs.js), not in every
# day file
MOVES_DESC = text_pattern(
    "moves_desc",
    "Modelled and realized liquidations per price swing, {symbol}: the last {n} swings beyond "
    "the zigzag threshold up to {day}, longs and shorts liquidated in each, realized "
    "({venues}) beside modelled. Latest: {latest}; realized {realized}.",
)

KINDS = ["Modelled", "Realized"]
SERIES = ["Modelled longs", "Realized longs", "Modelled shorts", "Realized shorts"]


@cached_template
def moves_template() -> Template:
    return side_bars_template(
        "moves",
        x=alt.X(
            "label:N",
            sort=alt.EncodingSortField("order"),
            # rotated labels that would overlap are thinned (a phone's width), not stacked
            axis=alt.Axis(
                title=None,
                labelAngle=-40,
                labelLimit=150,
                labelFontSize=10,
                labelOverlap="greedy",
            ),
        ),
        offset=alt.XOffset("series:N", sort=SERIES),
        y_title="Liquidations per move",
        tooltip=[
            alt.Tooltip("label:N", title="Move"),
            alt.Tooltip("series:N", title="Series"),
            alt.Tooltip("collected:N", title="Realized collected"),
        ],
        value_title="Liquidated",
        height=260,
        opacity=alt.Opacity(
            "kind:N",
            sort=KINDS,
            scale=alt.Scale(domain=KINDS, range=[1.0, 0.5]),
            legend=alt.Legend(title=None, orient="top"),
        ),
    )
