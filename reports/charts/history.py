"""The headline's history: a year of longs/shorts at risk, their imbalance and both 90 %
levels against the close, so a trader sees the trend and not one day.

Three panels on one time axis: at-risk totals per side; the close with the squeeze ceiling
(shorts' 90 % point) above and the flush floor (longs' 90 % point) below; the imbalance on a
log scale labelled in the site's notation (`X:1 shorts` / `X:1 longs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import altair as alt

from reports.charts.spec import (
    LONG,
    SHORT,
    USD_LABEL,
    Template,
    build_template,
    fill_text,
    nearest_hover,
    num,
    ph,
    text_pattern,
    text_ref,
    usd_expr,
)
from reports.charts.template_cache import cached_template
from reports.notation import fmt_imbalance, fmt_price, fmt_usd, ok, row_sides

CLOSE = "#f2a33a"
RATIO = "#9aa3ad"
BAND = "#8a7fb8"

# log10(shorts/longs) as the site writes ratios
RATIO_LABEL = (
    "datum.value == 0 ? '1:1' : datum.value > 0 "
    "? format(pow(10, datum.value), '.2~r') + ':1 shorts' "
    ": format(pow(10, -datum.value), '.2~r') + ':1 longs'"
)


DAY_MS = 86_400_000

# the site's ratio notation (reports.notation.fmt_imbalance) as a Vega expression
RATIO_TEXT = (
    "!(datum.S > 0 && datum.L > 0) ? (datum.S > 0 ? 'shorts only' : datum.L > 0 "
    "? 'longs only' : 'n/a') : datum.S == datum.L ? '1:1 even' : "
    "(max(datum.S, datum.L) / min(datum.S, datum.L) >= 9.95 "
    "? format(max(datum.S, datum.L) / min(datum.S, datum.L), '.0f') "
    ": format(max(datum.S, datum.L) / min(datum.S, datum.L), '.1f')) "
    "+ ':1 ' + (datum.S > datum.L ? 'shorts' : 'longs')"
)


def _day_index(d: date, first: date) -> int:
    return (d - first).days


def _num(x: Any, fmt: str = ".4g") -> str:
    return format(x, fmt) if ok(x) else ""


def history_data(rows: Sequence[Mapping[str, Any]]) -> tuple[str, int]:
    """(CSV "d,L,S,c,qa,qb", epoch ms of day 0) for the base rows, oldest first: `d` counts
    days from the first row, L and S are at risk within ±10 % (the headline's window);
    empty fields are missing values."""
    if not rows:
        return "d,L,S,c,qa,qb", 0
    first = rows[0]["day"]
    t0 = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
    lines = ["d,L,S,c,qa,qb"]
    for r in rows:
        lines.append(
            ",".join(
                [
                    str(_day_index(r["day"], first)),
                    _num(row_sides(r)[1]),
                    _num(row_sides(r)[0]),
                    _num(r.get("close_price"), ".6g"),
                    _num(r.get("p90_above_price"), ".6g"),
                    _num(r.get("p90_below_price"), ".6g"),
                ]
            )
        )
    return "\n".join(lines), t0


# each chart's description, its fixed wording written once (assets/specs.js): the at-risk
# chart's figures and the levels chart's, each once (one text for both repeated all of it)
HISTORY_DESC = {
    "risk": text_pattern(
        "history_risk_desc",
        "Positions at risk within ±10% of price, {symbol}, daily from {first} to {last}: "
        "longs and shorts with their imbalance. First day: longs {a}. Last day: longs {b}.",
    ),
    "levels": text_pattern(
        "history_levels_desc",
        "Daily close between both 90% levels, {symbol}, from {first} to {last}. "
        "First day: {a}. Last day: {b}.",
    ),
}


def history_desc_ref(
    symbol: str, rows: Sequence[Mapping[str, Any]], kind: str
) -> str | dict[str, Any]:
    """Chart `kind`'s text alternative ("risk" or "levels"): its span and the first and last
    day's figures, a `$text` reference (spec.text_ref) as a chart value; `fill_text` gives
    the text."""
    if not rows:
        return f"History of the headline, {symbol}: no days."
    a, b = rows[0], rows[-1]

    def risk(r: Mapping[str, Any]) -> str:
        shorts, longs = row_sides(r)  # within ±10 % of price, as the headline
        return f"{fmt_usd(longs)}, shorts {fmt_usd(shorts)} ({fmt_imbalance(shorts, longs)})"

    def levels(r: Mapping[str, Any]) -> str:
        return f"{fmt_price(r.get('p90_below_price'))} and {fmt_price(r.get('p90_above_price'))}"

    day = risk if kind == "risk" else levels
    return text_ref(
        HISTORY_DESC[kind], symbol=symbol, first=str(a["day"]), last=str(b["day"]), a=day(a),
        b=day(b),
    )  # fmt: skip


def history_desc(symbol: str, rows: Sequence[Mapping[str, Any]], kind: str) -> str:
    """Chart `kind`'s text alternative as text."""
    ref = history_desc_ref(symbol, rows, kind)
    return ref if isinstance(ref, str) else fill_text(ref)


def _base() -> alt.Chart:
    data = alt.Data(
        values=ph("hist"),
        format=alt.DataFormat(
            type="csv",
            parse={k: "number" for k in ("d", "L", "S", "c", "qa", "qb")},
        ),
    )
    return alt.Chart(data).transform_calculate(
        x=f"{num('t0')} + datum.d * {DAY_MS}",
        day=f"utcFormat({num('t0')} + datum.d * {DAY_MS}, '%d %b %Y')",
        Ltxt=usd_expr("L"),
        Stxt=usd_expr("S"),
        rt=RATIO_TEXT,
        lr="datum.S > 0 && datum.L > 0 ? log(datum.S / datum.L) / LN10 : null",
        ctxt="'$' + format(datum.c, ',.0f')",
        qatxt="'$' + format(datum.qa, ',.0f')",
        qbtxt="'$' + format(datum.qb, ',.0f')",
    )


def _x() -> alt.X:
    return alt.X(
        "x:T",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(title=None, format="%b %y", labelOverlap=True, grid=False, tickCount=12),
    )


def _tips() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("day:N", title="Day"),
        alt.Tooltip("Stxt:N", title="Shorts at risk"),
        alt.Tooltip("Ltxt:N", title="Longs at risk"),
        alt.Tooltip("rt:N", title="Imbalance"),
        alt.Tooltip("ctxt:N", title="Close"),
        alt.Tooltip("qatxt:N", title="90% of shorts below"),
        alt.Tooltip("qbtxt:N", title="90% of longs above"),
    ]


@cached_template
def history_risk_template() -> Template:
    """At-risk totals per side (left axis) and the imbalance on a log scale (right axis)."""
    side_scale = alt.Scale(domain=["Shorts at risk", "Longs at risk"], range=[SHORT, LONG])
    risk = (
        _base()
        .transform_fold(["S", "L"], as_=["k", "v"])
        .transform_calculate(side="datum.k == 'S' ? 'Shorts at risk' : 'Longs at risk'")
        .mark_line(strokeWidth=1.8)
        .encode(
            x=_x(),
            y=alt.Y("v:Q", axis=alt.Axis(title="At risk", labelExpr=USD_LABEL)),
            color=alt.Color(
                "side:N", scale=side_scale, legend=alt.Legend(title=None, orient="top")
            ),
            tooltip=_tips(),
        )
    )
    ratio = (
        _base()
        .mark_line(color=RATIO, strokeWidth=1.4, strokeDash=[2, 2])
        .encode(
            x=_x(),
            y=alt.Y(
                "lr:Q",
                axis=alt.Axis(
                    title="Imbalance (dotted)",
                    labelExpr=RATIO_LABEL,
                    orient="right",
                    grid=False,
                    tickCount=5,
                ),
            ),
            tooltip=_tips(),
        )
    )
    chart = (
        alt.layer(risk, ratio, nearest_hover(_base(), _x(), _tips()))
        .resolve_scale(y="independent")
        .properties(width="container", height=230, description=ph("desc"))
    )
    return build_template("history_risk", chart)


@cached_template
def history_levels_template() -> Template:
    """The close between both 90 % levels (squeeze ceiling above, flush floor below)."""
    band = (
        _base()
        .mark_area(opacity=0.22, color=BAND)
        .encode(
            x=_x(),
            y=alt.Y(
                "qb:Q", scale=alt.Scale(zero=False), axis=alt.Axis(title="Price", format="$~s")
            ),
            y2="qa:Q",
            tooltip=_tips(),
        )
    )
    edges = [
        _base()
        .mark_line(color=color, strokeWidth=1.2, strokeDash=[4, 3])
        .encode(x=_x(), y=f"{field}:Q", tooltip=_tips())
        for field, color in (("qa", SHORT), ("qb", LONG))
    ]
    close = _base().mark_line(color=CLOSE, strokeWidth=1.6).encode(x=_x(), y="c:Q", tooltip=_tips())
    chart = alt.layer(band, *edges, close, nearest_hover(_base(), _x(), _tips())).properties(
        width="container", height=230, description=ph("desc")
    )
    return build_template("history_levels", chart)
