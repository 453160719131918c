"""Rule-based wording and number formats of the daily report."""

from __future__ import annotations

import math

import pytest

from reports import formats as fmt
from reports import headline as hl
from reports import metrics_table as mt
from reports import scenarios as sc


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
    assert fmt.fmt_usd(value) == text


def test_price_ratio_zone_formats():
    assert fmt.fmt_price(72_431.2) == "$72,400"
    assert fmt.fmt_price(104_000) == "$104,000"
    assert fmt.fmt_price(1_234.5) == "$1,230"
    assert fmt.fmt_ratio(25.1e9, 1.0e9) == "25:1"
    assert fmt.fmt_ratio(1.0, 4.66) == "4.7:1"
    assert fmt.fmt_ratio(0, 1) == "n/a"
    assert fmt.ratio_oriented(1.0, 2.0, shorts_heavy=True) == "1:2.0"
    assert fmt.fmt_zone(70_100, 72_300) == "$70–72k"
    assert fmt.fmt_zone(70_210, 70_290) == "$70.2–70.3k"
    assert fmt.fmt_pct(-0.0321) == "−3.2%"
    assert fmt.fmt_rate(0.0001) == "0.0100%"
    assert fmt.fmt_signed_price(800.0) == "+$800"
    assert fmt.fmt_signed_price(-2_000.0) == "−$2,000"


def test_headline_example_wording():
    nc = base_row(longs_at_risk=1.0e9, shorts_at_risk=80e9)
    text = hl.headline(base_row(), {"base": base_row(), "never_close": nc})
    assert text == (
        "The model puts $25.1B of shorts at risk above $71,200 versus $1.0B of longs below "
        "— a 25:1 imbalance (vendor-style 'never close': 80:1). "
        "A wall of short liquidations reaches $104,000. Funding has reset. "
        "Price stays inside its $70–72k range of the past 9 days."
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
    rows = {r.metric: r for r in mt.metrics_table(cur, prev)}
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
    first_day = {r.metric: r.change for r in mt.metrics_table(cur, None)}
    assert all(v.startswith("no previous day") for v in first_day.values())


def test_scenario_table_and_spread():
    scen = {
        "high_leverage": base_row(shorts_at_risk=30e9),
        "base": base_row(),
        "never_close": base_row(shorts_at_risk=80e9),
    }
    table = sc.scenario_table(scen)
    assert [r.key for r in table] == ["base", "never_close", "high_leverage"]
    assert table[0].is_base and table[0].shorts == "$25.1B" and table[0].ratio == "25:1 shorts"
    assert sc.spread(scen, "shorts_at_risk") == "$25.1B–$80.0B"
    assert sc.ratio_spread(scen, shorts_heavy=True) == "25:1 to 80:1"


def test_zone_from_previous_closes_can_be_broken():
    """The zone is built from closes up to yesterday, so today's close can leave it."""
    import numpy as np
    import pandas as pd

    from transforms.model.params import ModelParams
    from transforms.model.zone import zones_daily

    closes = [70_000.0, 70_500.0, 70_200.0, 70_800.0, 70_400.0, 76_500.0]
    days = pd.date_range("2025-01-01", periods=len(closes), freq="D").to_numpy()
    zone = zones_daily(pd.Series(closes, index=days), days[-2:], ModelParams())
    # the day before: zone of the four closes before it, 70.4k inside
    assert tuple(zone.iloc[0]) == (70_000.0, 70_800.0, 4)
    lo, hi, n = zone.iloc[1]
    assert (lo, hi, n) == (70_000.0, 70_800.0, 5)
    row = base_row(close_price=76_500.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert hl.zone_position(row) == "above"
    assert "Price has broken above its $70–71k range of the past 5 days." in hl.headline(row)
    table = {r.metric: r for r in mt.metrics_table(row, None)}
    assert table["Current zone"].status == "$70–71k (past 5 days), price above"
    assert "Broke out upward" in table["Current zone"].impact
    below = base_row(close_price=64_000.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert "broken below its $70–71k range" in hl.headline(below)
    inside = base_row(close_price=70_300.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert "stays inside its $70–71k range of the past 5 days" in hl.headline(inside)
    assert np.isnan(
        zones_daily(pd.Series(closes[:3], index=days[:3]), days[2:3], ModelParams())[
            "zone_low"
        ].iloc[0]
    )  # two previous closes are not a zone (min 3 days)


@pytest.mark.parametrize(
    ("shorts", "longs", "expected"),
    [
        (
            5e9,
            0.0,
            "$5.0B of shorts at risk above $71,200 and no longs below — all of the "
            "modelled risk is on the short side.",
        ),
        (
            0.0,
            4e9,
            "$4.0B of longs at risk below $71,200 and no shorts above — all of the "
            "modelled risk is on the long side.",
        ),
        (5e9, None, "$5.0B of shorts at risk above $71,200; the long side is not available."),
        (math.nan, 2e9, "$2.0B of longs at risk below $71,200; the short side is not available."),
        (0.0, 0.0, "no positions at risk on either side of $71,200."),
        (None, None, "positions at risk are not available for this day."),
    ],
)
def test_headline_one_sided_or_missing_is_not_balanced(shorts, longs, expected):
    row = base_row(shorts_at_risk=shorts, longs_at_risk=longs, imbalance_ratio=None)
    text = hl.headline(row, {"never_close": base_row()})
    assert expected in text
    assert "balanced" not in text and "(n/a)" not in text and "never close" not in text
    ratio_row = {r.metric: r for r in mt.metrics_table(row, None)}["Liquidation ratio"]
    assert "balanced" not in ratio_row.status


def test_ratio_labels_for_one_sided_rows():
    assert hl.ratio_text(base_row(shorts_at_risk=5e9, longs_at_risk=0.0)) == "shorts only"
    assert hl.ratio_text(base_row(shorts_at_risk=None)) == "n/a"
    assert hl.ratio_text(base_row()) == "25:1 shorts"
    assert hl.ratio_text(base_row(shorts_at_risk=5.5e9, longs_at_risk=5e9)) == "1.1:1"
    rows = {r.metric: r for r in mt.metrics_table(base_row(longs_at_risk=0.0), None)}
    assert rows["Liquidation ratio"].status == "shorts only, no longs at risk"


def test_metrics_table_ratio_change_in_heavier_side_orientation():
    def change(now, before):
        rows = mt.metrics_table(base_row(imbalance_ratio=now), base_row(imbalance_ratio=before))
        return {r.metric: r for r in rows}["Liquidation ratio"].change

    assert change(1 / 2.5, 1 / 2.0) == "up from 2.0:1 longs"  # longs got heavier
    assert change(1 / 2.0, 1 / 2.5) == "down from 2.5:1 longs"
    assert change(2.5, 2.0) == "up from 2.0:1 shorts"
    assert change(1 / 2.0, 1 / 2.0) == "unchanged (2.0:1 longs)"
    assert change(1 / 2.0, 3.0) == "was 3.0:1 shorts"


def test_metrics_table_missing_oi_and_funding_say_na():
    row = base_row(oi_change_1d=None, funding_state=None, funding_7d_mean=None)
    rows = {r.metric: r for r in mt.metrics_table(row, base_row())}
    assert "steady" not in rows["Open-interest change"].impact
    assert rows["Open-interest change"].status.startswith("n/a on the day")
    assert rows["Funding"].status == "n/a"
    assert "N/a" not in rows["Funding"].status + rows["Funding"].impact
