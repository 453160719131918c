"""Realized vs modelled templates: the day's totals per venue beside the model, and the
day's realized liquidations per hour (longs up, shorts down), one bar per venue."""

from __future__ import annotations

import functools

import altair as alt

from reports.charts.spec import LONG, SHORT, USD_LABEL, Template, build_template, ph, usd_expr

SIDES = ["Longs liquidated", "Shorts liquidated"]
VENUE_ORDER = ["Bybit", "Binance"]  # venue labels as the card writes them
HOURS = [f"{h:02d}" for h in range(24)]  # the day's hours (UTC), always all 24


def _side_color() -> alt.Color:
    return alt.Color(
        "side:N",
        scale=alt.Scale(domain=SIDES, range=[LONG, SHORT]),
        legend=alt.Legend(title=None, orient="top"),
    )


@functools.cache
def realized_totals_template() -> Template:
    """Bars per series ("Binance realized (throttled)", "Binance modelled", ...), both sides."""
    chart = (
        alt.Chart(alt.Data(values=ph("bars")))
        .transform_calculate(vtxt=usd_expr("v"))
        .mark_bar()
        .encode(
            x=alt.X(
                "series:N",
                sort=alt.EncodingSortField("order"),
                axis=alt.Axis(title=None, labelAngle=0, labelLimit=180),
            ),
            xOffset=alt.XOffset("side:N", sort=SIDES),
            y=alt.Y("v:Q", axis=alt.Axis(title="Liquidated that day", labelExpr=USD_LABEL)),
            color=_side_color(),
            tooltip=[
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("vtxt:N", title="Liquidated"),
            ],
        )
        .properties(width="container", height=240, description=ph("desc"))
    )
    return build_template("realized_totals", chart)


@functools.cache
def realized_hourly_template() -> Template:
    """The day's 24 hours (UTC): realized longs above zero, shorts below, one bar per venue."""
    chart = (
        alt.Chart(alt.Data(values=ph("hours")))
        .transform_calculate(vtxt=usd_expr("abs_v"))
        .mark_bar()
        .encode(
            x=alt.X(
                "hour:O",
                scale=alt.Scale(domain=HOURS),
                axis=alt.Axis(title="Hour (UTC)", labelAngle=0, labelOverlap=True),
            ),
            xOffset=alt.XOffset("venue:N", sort=VENUE_ORDER),
            y=alt.Y(
                "v:Q",
                stack=None,
                axis=alt.Axis(title="Realized (longs up, shorts down)", labelExpr=USD_LABEL),
            ),
            color=_side_color(),
            opacity=alt.Opacity(
                "venue:O",
                sort=VENUE_ORDER,
                scale=alt.Scale(domain=VENUE_ORDER, range=[1.0, 0.55]),
                legend=alt.Legend(title="Venue", orient="top"),
            ),
            tooltip=[
                alt.Tooltip("hour:O", title="Hour (UTC)"),
                alt.Tooltip("venue:N", title="Venue"),
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("vtxt:N", title="Realized"),
                alt.Tooltip("events:Q", title="Events"),
            ],
        )
        .properties(width="container", height=220, description=ph("desc"))
    )
    return build_template("realized_hourly", chart)
