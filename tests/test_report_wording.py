"""The words of a day page: one ratio notation, both sides' levels, zone by printed numbers,
the caveat beside modelled liquidations."""

from __future__ import annotations

import math

import pytest

from reports import headline as hl
from reports.key_levels import levels_table
from reports.metrics_table import metrics_table
from reports.notation import RATIO_PATTERN, RATIO_SPECIAL, imbalance
from reports.pages.kpis import kpis
from reports.scenarios import scenario_table


def row(**kw):
    r = {
        "close_price": 71_234.0,
        "longs_at_risk": 1.0e9,
        "shorts_at_risk": 25.1e9,
        # near spot the longs are heavier, although the whole map is 25:1 shorts
        "longs_at_risk_10pct": 0.9e9,
        "shorts_at_risk_10pct": 0.3e9,
        "longs_at_risk_5pct": 0.5e9,
        "shorts_at_risk_5pct": 0.2e9,
        "nearest_cluster_above_price": 73_125.0,
        "nearest_cluster_above_notional": 2.2e9,
        "p90_above_price": 104_000.0,
        "nearest_cluster_below_price": 69_875.0,
        "nearest_cluster_below_notional": 0.3e9,
        "p90_below_price": 61_000.0,
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
    r.update(kw)
    return r


def test_headline_names_both_sides_in_one_notation() -> None:
    nc = row(shorts_at_risk=80e9, shorts_at_risk_10pct=1.8e9)
    text = hl.headline(row(), {"base": row(), "never_close": nc})
    assert text == (
        "Within ±10% of $71,200 the model puts $300M of shorts at risk above and $900M of "
        "longs below: 3.0:1 longs (within ±5%: 2.5:1 longs; vendor-style 'never close': "
        "2.0:1 shorts). Over the whole map, for context: 25:1 shorts ($25.1B shorts · $1.0B "
        "longs). "
        "Nearest major clusters: shorts $73,100 (+2.7%, $2.2B), longs $69,900 (−1.9%, $300M). "
        "Major: at least 1% of open interest per 1% of price. "
        "90% of shorts lie below $104,000 (+46.0%); 90% of longs lie above $61,000 (−14.4%). "
        "Funding has reset. Price ($71,200) stays inside its $70,100–$72,300 range of the "
        "past 9 days."
    )


def test_longs_heavier_and_balanced() -> None:
    text = hl.headline(row(longs_at_risk_10pct=3e9, shorts_at_risk_10pct=9e9))
    assert "below: 3.0:1 shorts (" in text
    text = hl.headline(row(longs_at_risk_10pct=5e8, shorts_at_risk_10pct=5.5e8))
    assert "1.1:1 shorts, roughly balanced" in text


@pytest.mark.parametrize(
    ("near_shorts", "near_longs", "whole_shorts", "whole_longs"),
    [(995e6, 799e6, 1.0e9, 3.1e9), (1e8, 5e8, 9e9, 1e9), (4e8, 4e8, 9e9, 1e9)],
)
def test_headline_impact_and_feed_follow_the_near_spot_side(
    near_shorts, near_longs, whole_shorts, whole_longs
) -> None:
    """The issue's BTCUSDT 2026-12-04: 3.1:1 longs on the whole map beside $995M shorts vs
    $799M longs within ±10 %: every lead figure names the near-spot side."""
    r = row(
        shorts_at_risk_10pct=near_shorts,
        longs_at_risk_10pct=near_longs,
        shorts_at_risk=whole_shorts,
        longs_at_risk=whole_longs,
    )
    near = imbalance(near_shorts, near_longs)
    assert (
        hl.ratio_of(r) == near.text and near.heavier != imbalance(whole_shorts, whole_longs).heavier
    )
    head = hl.headline(r)
    assert head.startswith("Within ±10% of $71,200 the model puts") and f": {near.text}" in head
    assert f"whole map, for context: {imbalance(whole_shorts, whole_longs).text}" in head
    assert hl.feed_title("BTCUSDT", "2026-12-04", r).startswith(
        f"BTCUSDT 2026-12-04: {near.text} within ±10%"
    )
    # the imbalance is the headline's and the key figures': the metrics table has no row
    assert not [m for m in metrics_table(r, None) if "Imbalance" in m.metric]


def test_levels_table_says_the_day_befores_levels() -> None:
    moved = row(nearest_cluster_above_price=80_125.0, nearest_cluster_above_move="consumed")
    above, below = levels_table(moved, row())
    assert above.change == "90% point unchanged; nearest cluster was $73,100"
    assert below.change == "90% point unchanged"
    assert {r.change for r in levels_table(row())} == {"no previous day"}
    lower = levels_table(row(), row(p90_above_price=100_000.0))[0]
    assert lower.change == "90% point was $100,000"


@pytest.mark.parametrize(
    ("close", "words"),
    [
        (72_340.0, "is testing the top of its $70,100–$72,300 range"),  # +0.06 % beyond
        (73_100.0, "has broken above its $70,100–$72,300 range of the past 9 days (+1.1%"),
        (70_060.0, "is testing the bottom"),
        (69_000.0, "has broken below"),
    ],
)
def test_zone_words_follow_the_printed_numbers(close, words) -> None:
    assert words in hl.zone_sentence(row(close_price=close))


def test_metrics_table() -> None:
    """Only what the rest of the page does not print (issue 22): the previous day's zone,
    funding and open interest, the rate a year, 7 days of open interest and the modelled
    liquidations (the key levels and the day before's are the levels table's)."""
    rows = {r.metric: r for r in metrics_table(row(), row(shorts_at_risk_10pct=0.2e9))}
    assert list(rows) == [
        "Current zone",
        "Funding",
        "Open-interest change",
        "Modelled liquidations (24h)",
    ]
    assert rows["Current zone"].status == "in the summary"
    assert rows["Open-interest change"].status == "+5.0% over 7 days"
    liq = rows["Modelled liquidations (24h)"]
    assert "≈4× CoinGlass's Binance totals" in liq.impact
    first = {r.metric: r.change for r in metrics_table(row(), None)}
    assert all(v.startswith("no previous day") for v in first.values())


@pytest.mark.parametrize(
    ("shorts", "longs"), [(1.0, 2.5), (2.5, 1.0), (1.0, 1.0), (0.0, 1.0), (math.nan, 1.0)]
)
def test_every_printed_ratio_is_in_the_notation(shorts, longs) -> None:
    r = row(shorts_at_risk_10pct=shorts * 1e9, longs_at_risk_10pct=longs * 1e9)
    r.update(shorts_at_risk=shorts * 2e9, longs_at_risk=longs * 1e9)
    texts = [
        hl.ratio_of(r),
        hl.whole_map_ratio_of(r),
        scenario_table({"base": r})[0].ratio,
        *(k.value for k in kpis({"base": r}, None) if k.key.startswith("imbalance")),
    ]
    for t in texts:
        assert RATIO_PATTERN.match(t) or t in RATIO_SPECIAL, t


def test_scenario_table_shows_both_90_points() -> None:
    t = scenario_table({"never_close": row(), "base": row()})
    assert [s.key for s in t] == ["base", "never_close"]
    assert t[0].p90_above == "$104,000 (+46.0%)" and t[0].p90_below == "$61,000 (−14.4%)"


def test_feed_title() -> None:
    assert hl.feed_title("BTCUSDT", "2026-02-15", row()) == (
        "BTCUSDT 2026-02-15: 3.0:1 longs within ±10%"
    )
