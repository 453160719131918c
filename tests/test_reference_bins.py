"""Price-bin size and display decimals per symbol scale (hand-checked values)."""

from __future__ import annotations

import math

import pytest

from transforms.reference.bins import format_price, price_bin_size, price_decimals


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        (100_000.0, 250.0),  # BTC: 0.25 % of 100k is exactly 250
        (3_500.0, 10.0),  # ETH: 8.75 -> nearest ladder step 10
        (150.0, 0.5),  # SOL: 0.375 -> 0.5 (0.354 is the 0.25/0.5 midpoint in log terms)
        (2.5, 0.005),  # XRP: 0.00625 -> 0.005
        (0.12, 0.00025),  # DOGE: 0.0003 -> 0.00025
    ],
)
def test_bin_size_per_symbol_scale(price, expected):
    assert price_bin_size(price) == expected


@pytest.mark.parametrize("btc", [63_300.0, 75_000.0, 92_000.0, 100_000.0, 126_000.0, 141_000.0])
def test_btc_keeps_250_over_its_whole_recent_range(btc):
    assert price_bin_size(btc) == 250.0


def test_bin_size_ladder_edges_and_width_bounds():
    # 250 <-> 500 switches at sqrt(250*500)/0.0025 = 141,421 (log midpoint)
    assert price_bin_size(141_000.0) == 250.0
    assert price_bin_size(142_000.0) == 500.0
    # 100 <-> 250 at sqrt(100*250)/0.0025 = 63,246
    assert price_bin_size(63_000.0) == 100.0
    for price in [0.0123, 0.7, 9.99, 42.0, 777.0, 5_432.1, 31_000.0, 2.2e6]:
        width = price_bin_size(price) / price
        assert 0.0015 < width < 0.0040, (price, width)
        mantissa = price_bin_size(price) / 10 ** math.floor(math.log10(price_bin_size(price)))
        assert round(mantissa, 9) in (1.0, 2.5, 5.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_bin_size_rejects_non_prices(bad):
    with pytest.raises(ValueError, match="positive finite price"):
        price_bin_size(bad)
    with pytest.raises(ValueError, match="positive finite price"):
        price_decimals(bad)


@pytest.mark.parametrize(
    ("price", "decimals", "text"),
    [
        (0.12345678, 5, "0.12346"),  # DOGE
        (2.512345, 4, "2.5123"),  # XRP
        (151.2345, 2, "151.23"),  # SOL
        (3_512.346, 2, "3,512.35"),  # ETH
        (104_250.4, 0, "104,250"),  # BTC
        (0.0000123456, 8, "0.00001235"),  # capped at 8 decimals
    ],
)
def test_price_decimals_and_format(price, decimals, text):
    assert price_decimals(price) == decimals
    assert format_price(price) == text


def test_format_uses_reference_scale_for_a_whole_page():
    # Every DOGE number on one page shows DOGE's decimals, even a larger or smaller one.
    assert format_price(1.0, reference_price=0.12) == "1.00000"
    assert format_price(99_000.0, reference_price=100_000.0) == "99,000"
