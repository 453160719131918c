"""Two-side bar charts: longs and shorts liquidated per category, the bars of a category side
by side (the moves chart, the realized totals and the realized hours all share this builder).

Rows carry `side` ("Longs liquidated" | "Shorts liquidated") and the value `v`; the caller
chooses the category (x), what sits side by side within it (x offset), an optional second
distinction drawn as opacity (realized vs modelled, or venue) and the extra tooltip fields.
"""

from __future__ import annotations

import altair as alt

from reports.charts.spec import LONG, SHORT, USD_LABEL, Template, build_template, ph, usd_expr

SIDES = ["Longs liquidated", "Shorts liquidated"]


def side_color() -> alt.Color:
    """Longs and shorts in the site's colours, legend on top."""
    return alt.Color(
        "side:N",
        scale=alt.Scale(domain=SIDES, range=[LONG, SHORT]),
        legend=alt.Legend(title=None, orient="top"),
    )


def side_bars_template(
    name: str,
    *,
    x: alt.X,
    offset: alt.XOffset,
    y_title: str,
    tooltip: list[alt.Tooltip],
    value_title: str,
    height: int,
    opacity: alt.Opacity | None = None,
    value_field: str = "v",
) -> Template:
    """The chart over the rows of placeholder "rows" (description: placeholder "desc").
    `value_field` is the field shown in the tooltip (as compact dollars): `v` itself, or
    e.g. its absolute value when shorts are drawn below zero."""
    encoding: dict[str, object] = {
        "x": x,
        "xOffset": offset,
        "y": alt.Y("v:Q", stack=None, axis=alt.Axis(title=y_title, labelExpr=USD_LABEL)),
        "color": side_color(),
        "tooltip": [*tooltip, alt.Tooltip("vtxt:N", title=value_title)],
    }
    if opacity is not None:
        encoding["opacity"] = opacity
    chart = (
        alt.Chart(alt.Data(values=ph("rows")))
        .transform_calculate(vtxt=usd_expr(value_field))
        .mark_bar()
        .encode(**encoding)
        .properties(width="container", height=height, description=ph("desc"))
    )
    return build_template(name, chart)
