"""The headline history charts: compact data, text alternative, specs that compile, and the
in-chart ratio text agreeing with the site's notation."""

from __future__ import annotations

import re
from datetime import date, timedelta

import altair as alt
import vl_convert as vlc

from reports.charts.history import (
    RATIO_TEXT,
    history_data,
    history_desc,
    history_levels_template,
    history_risk_template,
)
from reports.charts.spec import expand_ref
from reports.notation import fmt_imbalance

ROWS = [
    {
        "day": date(2026, 1, 1) + timedelta(days=i),
        # the charts plot the headline's window, ±10 % of price (not the whole map)
        "longs_at_risk_10pct": 1e9 * (1 + i),
        "shorts_at_risk_10pct": 3e9,
        "longs_at_risk": 5e9,
        "shorts_at_risk": 1e9,
        "close_price": 90_000.0 + i,
        "p90_above_price": 110_000.0,
        "p90_below_price": 70_000.0 if i != 1 else None,
    }
    for i in range(3)
]


def test_data_is_compact_csv_with_day_offsets() -> None:
    csv, t0 = history_data(ROWS)
    assert t0 == 1767225600000  # 2026-01-01 00:00 UTC
    assert csv.splitlines() == [
        "d,L,S,c,qa,qb",
        "0,1e+09,3e+09,90000,110000,70000",
        "1,2e+09,3e+09,90001,110000,",
        "2,3e+09,3e+09,90002,110000,70000",
    ]


def test_each_desc_names_its_own_figures_once() -> None:
    risk = history_desc("BTCUSDT", ROWS, "risk")
    levels = history_desc("BTCUSDT", ROWS, "levels")
    for d in (risk, levels):
        assert "from 2026-01-01 to 2026-01-03" in d
    assert "First day: longs $1.0B, shorts $3.0B (3.0:1 shorts)." in risk
    assert "(1:1 even)" in risk and "$70,000" not in risk
    assert "First day: $70,000 and $110,000." in levels and "shorts" not in levels


def test_specs_compile() -> None:
    csv, t0 = history_data(ROWS)
    for tpl in (history_risk_template(), history_levels_template()):
        # the page gets a spec ref (template name and values); expand it as the page script does
        spec = expand_ref(tpl.fill({"hist": csv, "desc": "d"}, {"t0": t0}))
        svg = vlc.vegalite_to_svg(spec)
        assert "<svg" in svg


def test_ratio_text_in_the_chart_is_the_site_notation() -> None:
    pairs = [(3e9, 1e9), (1e9, 2.4e9), (2.5e10, 1e9), (1e9, 1e9), (0.0, 1e9), (1.04, 1.0)]
    data = [{"i": i, "S": s, "L": lg} for i, (s, lg) in enumerate(pairs)]
    chart = (
        alt.Chart(alt.Data(values=data))
        .transform_calculate(rt=RATIO_TEXT)
        .mark_text()
        .encode(y="i:O", text="rt:N")
    )
    svg = vlc.vegalite_to_svg(chart.to_dict())
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for s, lg in pairs:
        assert fmt_imbalance(s, lg) in texts, (s, lg, texts)
