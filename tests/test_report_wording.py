"""The words of a day page: one ratio notation, both sides' levels, zone by printed numbers,
the caveat beside modelled liquidations."""

from __future__ import annotations

import math

import pytest

from reports import headline as hl
from reports.metrics_table import metrics_table
from reports.notation import RATIO_PATTERN, RATIO_SPECIAL
from reports.pages.kpis import kpis
from reports.scenarios import scenario_table


def row(**kw):
    r = {
        "close_price": 71_234.0,
        "longs_at_risk": 1.0e9,
        "shorts_at_risk": 25.1e9,
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
    nc = row(shorts_at_risk=80e9)
    text = hl.headline(row(), {"base": row(), "never_close": nc})
    assert text == (
        "The model puts $25.1B of shorts at risk above $71,200 and $1.0B of longs below: "
        "25:1 shorts (vendor-style 'never close': 80:1 shorts). "
        "Nearest major clusters: shorts $73,100 (+2.7%, $2.2B), longs $69,900 (−1.9%, $300M). "
        "90% of shorts lie below $104,000 (+46.0%); 90% of longs lie above $61,000 (−14.4%). "
        "Funding has reset. Price ($71,200) stays inside its $70,100–$72,300 range of the "
        "past 9 days."
    )


def test_longs_heavier_and_balanced() -> None:
    assert "3.0:1 longs" in hl.headline(row(longs_at_risk=9e9, shorts_at_risk=3e9))
    text = hl.headline(row(longs_at_risk=5e9, shorts_at_risk=5.5e9))
    assert "1.1:1 shorts, roughly balanced" in text


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
    rows = {r.metric: r for r in metrics_table(row(), row(shorts_at_risk=20e9))}
    assert list(rows) == [
        "Liquidation ratio",
        "Key levels above (shorts)",
        "Key levels below (longs)",
        "Current zone",
        "Funding",
        "Open-interest change",
        "Modelled liquidations (24h)",
    ]
    assert rows["Liquidation ratio"].status == "25:1 shorts"
    assert rows["Liquidation ratio"].change == "was 20:1 shorts"
    assert rows["Key levels above (shorts)"].status == (
        "nearest cluster $73,100 (+2.7%) ($2.2B); 90% point $104,000 (+46.0%)"
    )
    assert rows["Key levels below (longs)"].change == "90% point unchanged"
    assert rows["Current zone"].status == "$70,100–$72,300 (past 9 days), close $71,200: inside"
    liq = rows["Modelled liquidations (24h)"]
    assert "≈4× CoinGlass's Binance totals" in liq.impact
    first = {r.metric: r.change for r in metrics_table(row(), None)}
    assert all(v.startswith("no previous day") for v in first.values())


@pytest.mark.parametrize(
    ("shorts", "longs"), [(1.0, 2.5), (2.5, 1.0), (1.0, 1.0), (0.0, 1.0), (math.nan, 1.0)]
)
def test_every_printed_ratio_is_in_the_notation(shorts, longs) -> None:
    r = row(shorts_at_risk=shorts * 1e9, longs_at_risk=longs * 1e9)
    texts = [
        hl.ratio_of(r),
        scenario_table({"base": r})[0].ratio,
        kpis({"base": r}, None)[2].value,
    ]
    for t in texts:
        assert RATIO_PATTERN.match(t) or t in RATIO_SPECIAL, t


def test_scenario_table_shows_both_90_points() -> None:
    t = scenario_table({"never_close": row(), "base": row()})
    assert [s.key for s in t] == ["base", "never_close"]
    assert t[0].p90_above == "$104,000 (+46.0%)" and t[0].p90_below == "$61,000 (−14.4%)"


def test_feed_title() -> None:
    assert hl.feed_title("BTCUSDT", "2026-02-15", row()) == "BTCUSDT 2026-02-15: 25:1 shorts"
