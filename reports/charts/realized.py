"""Realized vs modelled templates: the day's totals per venue beside the model, and the
day's realized liquidations per hour (longs up, shorts down), one bar per venue. Both are
two-side bar charts (reports.charts.side_bars)."""

from __future__ import annotations

import altair as alt

from reports.charts.side_bars import SIDES, side_bars_template
from reports.charts.spec import Template
from reports.charts.template_cache import cached_template

__all__ = ["SIDES", "realized_hourly_template", "realized_totals_template"]

VENUE_ORDER = ["Bybit", "Binance"]  # venue labels as the card writes them
HOURS = [f"{h:02d}" for h in range(24)]  # the day's hours (UTC), always all 24


@cached_template
def realized_totals_template() -> Template:
    """Bars per series ("Binance realized", "Binance modelled", ...), both sides."""
    return side_bars_template(
        "realized_totals",
        x=alt.X(
            "series:N",
            sort=alt.EncodingSortField("order"),
            axis=alt.Axis(title=None, labelAngle=0, labelLimit=180),
        ),
        offset=alt.XOffset("side:N", sort=SIDES),
        y_title="Liquidated that day",
        tooltip=[alt.Tooltip("series:N", title="Series"), alt.Tooltip("side:N", title="Side")],
        value_title="Liquidated",
        height=240,
    )


@cached_template
def realized_hourly_template() -> Template:
    """The day's 24 hours (UTC): realized longs above zero, shorts below, one bar per venue."""
    return side_bars_template(
        "realized_hourly",
        x=alt.X(
            "hour:O",
            scale=alt.Scale(domain=HOURS),
            axis=alt.Axis(title="Hour (UTC)", labelAngle=0, labelOverlap=True),
        ),
        offset=alt.XOffset("venue:N", sort=VENUE_ORDER),
        y_title="Realized (longs up, shorts down)",
        tooltip=[
            alt.Tooltip("hour:O", title="Hour (UTC)"),
            alt.Tooltip("venue:N", title="Venue"),
            alt.Tooltip("side:N", title="Side"),
            alt.Tooltip("events:Q", title="Events"),
        ],
        value_title="Realized",
        height=220,
        opacity=alt.Opacity(
            "venue:O",
            sort=VENUE_ORDER,
            scale=alt.Scale(domain=VENUE_ORDER, range=[1.0, 0.55]),
            legend=alt.Legend(title="Venue", orient="top"),
        ),
        value_field="abs_v",
    )
