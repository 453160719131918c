"""The venue split templates: at-risk totals and open interest stacked by venue, and the
liquidation map's bands stacked by venue (the stacks add up to the aggregate's).

Every tooltip text is formatted by the build (`reports.notation`), never by Vega."""

from __future__ import annotations

from collections.abc import Sequence

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
)
from reports.charts.template_cache import cached_template
from transforms.venues import venue_label, venue_names

# one colour per registered venue (transforms/venues.py order: the reference venue first)
VENUE_COLORS = ("#4c9be8", "#f2a33a", "#8a7fb8", "#5fb36b")
# the map's series: per venue a long shade and a short shade
LONG_SHADES = (LONG, LONG_CUM, "#b23a1c", "#ffc2ad")
SHORT_SHADES = (SHORT, SHORT_CUM, "#0d6f73", "#b3ecee")


def _colour(palette: tuple[str, ...], venue: str) -> str:
    """A venue's colour by its place in the registry: the same on every page and build."""
    known = venue_names()
    i = known.index(venue) if venue in known else len(known)
    return palette[i % len(palette)]


def venue_series(venues: Sequence[str]) -> tuple[list[str], list[str]]:
    """(labels, colours) of the venues a page shows, each venue in its own fixed colour."""
    return [venue_label(v) for v in venues], [_colour(VENUE_COLORS, v) for v in venues]


def map_series(venues: Sequence[str]) -> tuple[list[str], list[str]]:
    """('Binance longs', ... 'Bybit shorts'; their colours): longs in reds, shorts in teals."""
    labels = [venue_label(v) for v in venues]
    names = [f"{x} longs" for x in labels] + [f"{x} shorts" for x in labels]
    colours = [_colour(LONG_SHADES, v) for v in venues] + [_colour(SHORT_SHADES, v) for v in venues]
    return names, colours


def _per_page_scale(template: Template) -> Template:
    """The colour scale's domain and range become placeholders the page fills with the
    venues it shows (Altair validates a scale as a list, so it is built with one-item lists)."""
    text = template.text
    for name in ("domain", "range"):
        text = text.replace(f'["{ph(name)}"]', f'"{ph(name)}"')
    return Template(template.name, text)


@cached_template
def venue_risk_template() -> Template:
    """Horizontal bars per measure (shorts at risk, longs at risk, open interest), stacked by
    venue. Rows: m (measure), o (its order), venue, x (USD), txt (value and share)."""
    chart = (
        alt.Chart(alt.Data(values=ph("rows")))
        .mark_bar()
        .encode(
            y=alt.Y("m:N", sort=alt.EncodingSortField("o"), axis=alt.Axis(title=None)),
            x=alt.X(
                "x:Q", stack="zero", axis=alt.Axis(title="USDT, by venue", labelExpr=USD_LABEL)
            ),
            color=alt.Color(
                "venue:N",
                scale=alt.Scale(domain=[ph("domain")], range=[ph("range")]),
                # every entry, wrapped into rows on a phone instead of cut at its edge
                legend=alt.Legend(
                    title=None, orient="top", direction="horizontal", columns=3, labelLimit=0
                ),
            ),
            order=alt.Order("vo:Q"),
            tooltip=[
                alt.Tooltip("m:N", title="Figure"),
                alt.Tooltip("venue:N", title="Venue"),
                alt.Tooltip("txt:N", title="Value (share of all venues)"),
            ],
        )
        .properties(width="container", height=150, description=ph("desc"))
    )
    return _per_page_scale(build_template("venue_risk", chart))


@cached_template
def venue_map_template() -> Template:
    """Notional per price band stacked by venue and side (rows: lo = the band's low edge, s =
    series, v0/v1 = the segment's bottom and top in USD, stacked by the build and written by
    their tops, `spec.stacked`; the band width is the number `step`, its edges shown with
    `pdec` decimals), with spot as a rule. The
    tooltip's band and notional texts are built here from those, not written per day."""
    x = alt.X(
        "lo:Q",
        scale=alt.Scale(
            domain=[{"expr": num("xdomain0")}, {"expr": num("xdomain1")}], zero=False, nice=False
        ),
        axis=alt.Axis(title="Liquidation price (USDT)", format="$~s", labelOverlap=True),
    )
    bars = (
        alt.Chart(alt.Data(values=ph("bands")))
        .transform_calculate(
            hi=f"datum.lo + {num('step')}",
            val="datum.v1 - datum.v0",
            side="indexof(datum.s, ' shorts') >= 0 ? 'shorts' : 'longs'",
        )
        .transform_joinaggregate(total="sum(val)", groupby=["lo", "side"])
        .transform_calculate(
            band=f"format(datum.lo, '$,.{num('pdec')}f') + ' to ' "
            f"+ format(datum.hi, '$,.{num('pdec')}f')",
            txt="replace(format(datum.val, '$.3s'), 'G', 'B') + ' (' "
            "+ format(datum.total > 0 ? datum.val / datum.total : 0, '.0%') + ')'",
        )
        .mark_bar()
        .encode(
            x=x,
            x2="hi:Q",
            y=alt.Y("v1:Q", axis=alt.Axis(title="Notional per band", labelExpr=USD_LABEL)),
            y2="v0:Q",
            color=alt.Color(
                "s:N",
                scale=alt.Scale(domain=[ph("domain")], range=[ph("range")]),
                # every entry, wrapped into rows on a phone instead of cut at its edge
                legend=alt.Legend(
                    title=None, orient="top", direction="horizontal", columns=2, labelLimit=0
                ),
            ),
            tooltip=[
                alt.Tooltip("band:N", title="Liquidation price"),
                alt.Tooltip("s:N", title="Venue and side"),
                alt.Tooltip("txt:N", title="Notional (share of the band)"),
            ],
        )
    )
    spot = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_rule(color=SPOT_RULE, strokeDash=[6, 4], strokeWidth=1.4)
        .encode(x=alt.X("c:Q"), tooltip=[alt.Tooltip("label:N", title="Level")])
    )
    chart = alt.layer(bars, spot).properties(width="container", height=260, description=ph("desc"))
    return _per_page_scale(build_template("venue_map", chart))
