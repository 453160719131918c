"""Rule-based wording and number formats of the daily report."""

from __future__ import annotations

import math

import pytest

from reports import headline as hl


def base_row(**kw):
    row = {
        "close_price": 71_234.0,
        "longs_at_risk": 1.0e9,
        "shorts_at_risk": 25.1e9,
        "imbalance_ratio": 25.1,
        "max_pain_price": 104_020.0,
        "max_pain_side": "short",
        "funding_state": "reset",
        "funding_7d_mean": 0.00008,
        "funding_annualized": 0.0876,
        "zone_low": 70_050.0,
        "zone_high": 72_300.0,
        "zone_days": 9,
        "oi_value": 8.1e9,
        "oi_change_1d": 0.031,
        "oi_change_7d": 0.05,
        "liquidated_long_24h": 120e6,
        "liquidated_short_24h": 30e6,
    }
    row.update(kw)
    return row


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (25.1e9, "$25.1B"),
        (1.0e9, "$1.0B"),
        (999.6e6, "$1.0B"),
        (999.4e6, "$999M"),
        (850e6, "$850M"),
        (12.34e6, "$12.3M"),
        (45_000, "$45.0k"),
        (950, "$950"),
        (-2.5e9, "-$2.5B"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_fmt_usd(value, text):
    assert hl.fmt_usd(value) == text


def test_price_ratio_zone_formats():
    assert hl.fmt_price(72_431.2) == "$72,400"
    assert hl.fmt_price(104_000) == "$104,000"
    assert hl.fmt_price(1_234.5) == "$1,230"
    assert hl.fmt_ratio(25.1e9, 1.0e9) == "25:1"
    assert hl.fmt_ratio(1.0, 4.66) == "4.7:1"
    assert hl.fmt_ratio(0, 1) == "n/a"
    assert hl.ratio_oriented(1.0, 2.0, shorts_heavy=True) == "1:2.0"
    assert hl.fmt_zone(70_100, 72_300) == "$70–72k"
    assert hl.fmt_zone(70_210, 70_290) == "$70.2–70.3k"
    assert hl.fmt_pct(-0.0321) == "−3.2%"
    assert hl.fmt_rate(0.0001) == "0.0100%"
    assert hl.fmt_signed_price(800.0) == "+$800"
    assert hl.fmt_signed_price(-2_000.0) == "−$2,000"


def test_headline_example_wording():
    nc = base_row(longs_at_risk=1.0e9, shorts_at_risk=80e9)
    text = hl.headline(base_row(), {"base": base_row(), "never_close": nc})
    assert text == (
        "The model puts $25.1B of shorts at risk above $71,200 versus $1.0B of longs below "
        "— a 25:1 imbalance (vendor-style 'never close': 80:1). "
        "A wall of short liquidations reaches $104,000. Funding has reset. "
        "Price consolidates at $70–72k (9 days)."
    )


def test_headline_longs_heavier_and_breakout():
    row = base_row(
        longs_at_risk=9e9,
        shorts_at_risk=3e9,
        max_pain_side="long",
        max_pain_price=61_000,
        funding_state="negative",
        close_price=69_000,
    )
    text = hl.headline(row, {})
    assert text.startswith("The model puts $9.0B of longs at risk below $69,000 versus $3.0B")
    assert "a 3.0:1 imbalance" in text
    assert "reaches down to $61,000" in text
    assert "shorts are paying longs" in text
    assert "broken below its $70–72k range" in text


def test_headline_balanced_and_missing_values():
    row = base_row(longs_at_risk=5e9, shorts_at_risk=5.5e9, funding_state=None, zone_low=None)
    text = hl.headline(row, {"never_close": base_row()})
    assert "roughly balanced (1.1:1)" in text
    assert "never close" not in text  # no orientation to compare against
    assert "Funding" not in text and "Price" not in text


def test_metrics_table_changes():
    cur = base_row()
    prev = base_row(
        imbalance_ratio=20.0, max_pain_price=102_000, funding_state="elevated", oi_value=7.9e9
    )
    rows = {r.metric: r for r in hl.metrics_table(cur, prev)}
    assert list(rows) == [
        "Liquidation ratio",
        "Max-pain level",
        "Current zone",
        "Funding",
        "Open-interest change",
        "Modelled liquidations (24h)",
    ]
    assert rows["Liquidation ratio"].status == "25:1, shorts heavier"
    assert rows["Liquidation ratio"].change == "up from 20:1 shorts"
    assert rows["Max-pain level"].status.startswith("$104,000 (short side, +46% from spot")
    assert rows["Max-pain level"].change == "+$2,000 from $102,000"
    assert rows["Current zone"].change == "unchanged"
    assert rows["Funding"].change == "was elevated"
    assert rows["Open-interest change"].status == "+3.1% on the day, $8.1B open"
    assert "New leverage" in rows["Open-interest change"].impact
    first_day = {r.metric: r.change for r in hl.metrics_table(cur, None)}
    assert all(v.startswith("no previous day") for v in first_day.values())


def test_scenario_table_and_spread():
    scen = {
        "high_leverage": base_row(shorts_at_risk=30e9),
        "base": base_row(),
        "never_close": base_row(shorts_at_risk=80e9),
    }
    table = hl.scenario_table(scen)
    assert [r.key for r in table] == ["base", "never_close", "high_leverage"]
    assert table[0].is_base and table[0].shorts == "$25.1B" and table[0].ratio == "25:1 shorts"
    assert hl.spread(scen, "shorts_at_risk") == "$25.1B–$80.0B"
    assert hl.ratio_spread(scen, shorts_heavy=True) == "25:1 to 80:1"
