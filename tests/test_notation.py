"""One notation: ratios `X:1 <heavier side>` with X ≥ 1, money, prices, zones by the
printed numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.notation import (
    MIN_BREAKOUT,
    RATIO_PATTERN,
    RATIO_SPECIAL,
    fmt_imbalance,
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_shorts_per_long,
    fmt_usd,
    fmt_zone,
    imbalance,
    parse_ratio,
    shown_price,
    zone_position,
)


@pytest.mark.parametrize(
    ("shorts", "longs", "text"),
    [
        (13.6e9, 2.1e9, "6.5:1 shorts"),
        (2.1e9, 13.6e9, "6.5:1 longs"),
        (0.42, 1.0, "2.4:1 longs"),
        (45e9, 2.5e9, "18:1 shorts"),
        (1.02, 1.0, "1.0:1 shorts"),
        (5.0, 5.0, "1:1 even"),
        (5.0, 0.0, "shorts only"),
        (0.0, 5.0, "longs only"),
        (0.0, 0.0, "n/a"),
        (None, 5.0, "n/a"),
        (math.nan, 5.0, "n/a"),
    ],
)
def test_ratio_cases(shorts, longs, text) -> None:
    assert fmt_imbalance(shorts, longs) == text


def test_stored_shorts_per_long_reads_the_same_as_the_sides() -> None:
    assert fmt_shorts_per_long(0.42) == "2.4:1 longs" == fmt_imbalance(0.42e9, 1e9)
    assert fmt_shorts_per_long(6.3) == "6.3:1 shorts"
    assert fmt_shorts_per_long(None) == "n/a"


positive = st.floats(min_value=1e-3, max_value=1e12, allow_nan=False)


@given(positive, positive)
def test_every_ratio_is_x_to_1_heavier_side(shorts, longs) -> None:
    imb = imbalance(shorts, longs)
    if imb.text in RATIO_SPECIAL:
        assert imb.text == "1:1 even" and shorts == longs
        return
    x, side = parse_ratio(imb.text)
    assert x >= 1
    assert side == ("shorts" if shorts > longs else "longs")
    assert x == pytest.approx(max(shorts, longs) / min(shorts, longs), rel=0.06, abs=0.05)
    assert RATIO_PATTERN.match(imb.text)


def test_money_price_and_percent() -> None:
    assert fmt_usd(2.36e9) == "$2.4B"
    assert fmt_usd(-850e6) == "−$850M"
    assert fmt_usd(None) == "n/a"
    assert fmt_price(86_649) == "$86,600"
    assert fmt_price(1234.5) == "$1,230"
    assert fmt_price(12.345) == "$12.35"
    assert fmt_pct(-0.045) == "−4.5%"
    assert fmt_level(96_000, 92_000) == "$96,000 (+4.3%)"


def test_zone_words_follow_the_printed_numbers() -> None:
    # The reported defect: "$87–94k, price inside" with a close of $86,600.
    assert fmt_zone(86_550, 93_800) == "$86,600–$93,800"
    assert zone_position(86_600, 86_550, 93_800) == "testing_low"  # equal as printed
    assert zone_position(90_000, 86_550, 93_800) == "inside"
    # "broke out upward" on a 0.07 % overshoot: now only testing the top.
    assert zone_position(93_800 * 1.0007, 86_550, 93_800) == "testing_high"
    assert zone_position(93_800 * (1 + MIN_BREAKOUT) + 200, 86_550, 93_800) == "above"
    assert zone_position(86_600 * (1 - MIN_BREAKOUT) - 200, 86_550, 93_800) == "below"
    assert zone_position(None, 1, 2) is None


@given(
    st.floats(min_value=1_000, max_value=200_000),
    st.floats(min_value=1_000, max_value=200_000),
    st.floats(min_value=0.0, max_value=0.2),
)
def test_zone_position_agrees_with_the_printed_figures(close, lo, width) -> None:
    hi = lo * (1 + width)
    pos = zone_position(close, lo, hi)
    c, a, b = shown_price(close), shown_price(lo), shown_price(hi)
    # the printed figures parse back to the numbers the decision used
    assert fmt_price(close) == fmt_price(c) and fmt_zone(lo, hi) == fmt_zone(a, b)
    if pos == "inside":
        assert a < c < b
    elif pos == "above":
        assert c > b * (1 + MIN_BREAKOUT)
    elif pos == "below":
        assert c < a * (1 - MIN_BREAKOUT)
    elif pos == "testing_high":
        assert b <= c <= b * (1 + MIN_BREAKOUT)
    else:
        assert pos == "testing_low" and a * (1 - MIN_BREAKOUT) <= c <= a
