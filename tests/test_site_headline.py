"""Headline edge cases (one side empty or missing), money formats, and the zone built from
the closes before the day (so the day's close can leave it)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports import headline as hl
from reports import metrics_table as mt
from reports.notation import fmt_usd
from transforms.model.params import ModelParams
from transforms.model.zone import zones_daily


def base_row(**kw):
    row = {
        "close_price": 71_234.0,
        "longs_at_risk": 1.0e9,
        "shorts_at_risk": 25.1e9,
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
        (-2.5e9, "−$2.5B"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_fmt_usd(value, text):
    assert fmt_usd(value) == text


def test_zone_from_previous_closes_can_be_broken():
    """The zone is built from closes up to yesterday, so today's close can leave it."""
    closes = [70_000.0, 70_500.0, 70_200.0, 70_800.0, 70_400.0, 76_500.0]
    days = pd.date_range("2025-01-01", periods=len(closes), freq="D").to_numpy()
    zone = zones_daily(pd.Series(closes, index=days), days[-2:], ModelParams())
    assert tuple(zone.iloc[0]) == (70_000.0, 70_800.0, 4)
    lo, hi, n = zone.iloc[1]
    assert (lo, hi, n) == (70_000.0, 70_800.0, 5)
    row = base_row(close_price=76_500.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert (
        "Price ($76,500) has broken above its $70,000–$70,800 range of the past 5 days "
        "(+8.1% beyond the top)." in hl.headline(row)
    )
    table = {r.metric: r for r in mt.metrics_table(row, None)}
    assert table["Current zone"].status == "in the summary"  # the headline's sentence
    assert "Broke out upward" in table["Current zone"].impact
    below = base_row(close_price=64_000.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert "broken below its $70,000–$70,800 range" in hl.headline(below)
    inside = base_row(close_price=70_300.0, zone_low=lo, zone_high=hi, zone_days=int(n))
    assert "stays inside its $70,000–$70,800 range of the past 5 days" in hl.headline(inside)
    assert np.isnan(
        zones_daily(pd.Series(closes[:3], index=days[:3]), days[2:3], ModelParams())[
            "zone_low"
        ].iloc[0]
    )  # two previous closes are not a zone (min 3 days)


@pytest.mark.parametrize(
    ("shorts", "longs", "expected"),
    [
        (5e9, 0.0, "$5.0B of shorts at risk above and $0 of longs below: shorts only"),
        (0.0, 4e9, "$0 of shorts at risk above and $4.0B of longs below: longs only"),
        (5e9, None, "$5.0B of shorts at risk above $71,200 (within ±10%); the long side is"),
        (math.nan, 2e9, "$2.0B of longs at risk below $71,200 (within ±10%); the short side"),
        (0.0, 0.0, "no positions at risk within ±10% of $71,200"),
        (None, None, "positions at risk near price are not available for this day."),
    ],
)
def test_headline_one_sided_or_missing_is_not_balanced(shorts, longs, expected):
    row = base_row(shorts_at_risk_10pct=shorts, longs_at_risk_10pct=longs)
    text = hl.headline(row, {"never_close": base_row(shorts_at_risk_10pct=None)})
    assert expected in text
    assert "balanced" not in text and "(n/a)" not in text and "never close" not in text
    assert "balanced" not in " ".join(r.status for r in mt.metrics_table(row, None))


def test_metrics_table_missing_oi_and_funding_say_na():
    row = base_row(oi_change_1d=None, funding_state=None, funding_7d_mean=None)
    rows = {r.metric: r for r in mt.metrics_table(row, base_row())}
    assert "steady" not in rows["Open-interest change"].impact
    assert rows["Open-interest change"].impact.startswith("No open-interest change")
    assert rows["Funding"].status == "n/a"
    assert "N/a" not in rows["Funding"].status + rows["Funding"].impact
