"""The liquidation map's template: notional per price band and cumulative curves from spot."""

from __future__ import annotations

import altair as alt

from reports.charts.spec import (
    LONG,
    LONG_CUM,
    SHORT,
    SHORT_CUM,
    USD_LABEL,
    Template,
    build_template,
    num,
    ph,
    text_pattern,
    usd_expr,
)
from reports.charts.template_cache import cached_template
from transforms.model.layers import LAYER_LABELS, LAYER_VIEWS
from transforms.model.scenarios import SCENARIO_LABELS

SPOT = "#ff4f79"
DEFAULT_VIEW = "base/all"
# the fields of a level mark the template reads (reports.key_levels.view_marks gives more)
MARK_FIELDS = ("c", "kind", "label", "row", "k")
# the map's description, its fixed wording written once (assets/specs.js): what it shows and
# its window; the base view's totals and lines are the key figures' and the levels table's,
# so only another switch view adds its own (reports.cards.liq_map._desc)
MAP_DESC = text_pattern(
    "liq_map_desc",
    "Liquidation map, {symbol}, end of {day} UTC ({view}): modelled long (below spot) and "
    "short (above spot) liquidation notional per {step} price band within ±{span} of spot, "
    "with cumulative curves from spot.{totals}{lines}",
)


def view_label(view: str) -> str:
    """'Never close (vendor-style), High (≥ 50x)' for 'never_close/high'."""
    scenario, layer = view.split("/")
    return f"{SCENARIO_LABELS.get(scenario, scenario)}, {LAYER_LABELS.get(layer, layer)}"


#: each switch view's name in the map's captions, the same every day: written once
#: (assets/specs.js, text "view <scenario/layer>"), not into every day file's `notes`
VIEW_TEXTS = {
    v: text_pattern(f"view {v}", view_label(v)) for v in (f"{s}/{a}" for s, a in LAYER_VIEWS)
}


@cached_template
def liq_map_template() -> Template:
    """The liquidation map: rows of every layer view (field `k`, with the cumulative curves
    `lc`/`sc` precomputed by the build), filtered by the `layer` signal the page's switch
    sets; spot, nearest clusters and 90 % points as rules; the zone as a band."""
    layer = alt.param(name="layer", value=DEFAULT_VIEW)
    x = alt.X(
        "lo:Q",
        # an explicit domain: no extent is computed from a layer without rows (an empty zone)
        scale=alt.Scale(
            domain=[{"expr": num("xdomain0")}, {"expr": num("xdomain1")}],
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
            color=alt.Color("side:N", scale=color_scale, legend=None),
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
    # the level lines of the selected view only (field `k`, like the bars)
    marks = alt.Chart(alt.Data(values=ph("marks"))).transform_filter("datum.k == layer")
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
        alt.layer(
            alt.layer(zone, bars, rules, labels).resolve_scale(
                y="independent", color="independent"
            ),
            cum,
        )
        .resolve_scale(y="independent", color="independent")
        .properties(width="container", height=340, description=ph("desc"))
    )
    return build_template("liq_map", chart)
