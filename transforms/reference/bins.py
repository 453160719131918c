"""Price scale per symbol: the liquidation-map bin size and the decimals to show a price.

A fixed 250 USDT bin suits BTC near 100k but is meaningless for SOL at 150 or DOGE at 0.12, so
the bin is a fixed fraction of the symbol's reference price, snapped to a short ladder of round
steps (1, 2.5, 5 x 10^k) so bin edges read as round numbers and small price drifts do not
change the bin. The ladder has no 2: that keeps the 250 step for every BTC price from about
63k to 141k, so BTC maps keep exactly today's 250 USDT bins.
"""

from __future__ import annotations

import math

BIN_FRACTION = 0.0025  # target bin width: 0.25 % of the reference price
BIN_LADDER = (1.0, 2.5, 5.0)  # round steps per decade
PRICE_SIGNIFICANT_DIGITS = 5
CENT_DECIMALS_BELOW = 10_000.0  # prices under this always show at least cents
MAX_PRICE_DECIMALS = 8


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite price, got {value!r}")
    return value


def price_bin_size(reference_price: float) -> float:
    """Bin width for a symbol trading near `reference_price`.

    Rule: the ladder step (1, 2.5 or 5 x 10^k) nearest, in log terms, to 0.25 % of the price;
    a tie goes to the larger step. The result is within ~0.16 %-0.40 % of the price.
    Examples: BTC 100,000 -> 250; ETH 3,500 -> 10; SOL 150 -> 0.5; XRP 2.5 -> 0.005;
    DOGE 0.12 -> 0.00025.
    """
    target = _positive("reference_price", reference_price) * BIN_FRACTION
    exponent = math.floor(math.log10(target))
    candidates = [(step, k) for k in (exponent - 1, exponent, exponent + 1) for step in BIN_LADDER]
    # Distance in log space; ties (equal distance) go to the larger step.
    step, k = min(
        candidates,
        key=lambda c: (round(abs(math.log10(c[0]) + c[1] - math.log10(target)), 12), -c[1], -c[0]),
    )
    # Build the value from the decimal string so 0.00025 is the float nearest 0.00025.
    return float(f"{step}e{k}")


def price_decimals(price: float) -> int:
    """Decimals to display a price of this scale.

    Rule: five significant digits, at least cents below 10,000, at most 8 decimals.
    Examples: BTC 100,000 -> 0; ETH 3,500 -> 2; SOL 150 -> 2; XRP 2.5 -> 4; DOGE 0.12 -> 5.
    """
    magnitude = math.floor(math.log10(_positive("price", price)))
    decimals = max(0, PRICE_SIGNIFICANT_DIGITS - 1 - magnitude)
    if price < CENT_DECIMALS_BELOW:
        decimals = max(decimals, 2)
    return min(decimals, MAX_PRICE_DECIMALS)


def format_price(value: float, reference_price: float | None = None) -> str:
    """A price with thousands separators and the decimals of its scale.

    `reference_price` sets the scale (so every price on one symbol's page shows the same
    decimals); it defaults to the value itself.
    """
    decimals = price_decimals(value if reference_price is None else reference_price)
    return f"{float(value):,.{decimals}f}"


HEATMAP_BIN_FACTOR = 2  # the heatmap's bins are twice the map's (BTC: 250 map, 500 heatmap)


def symbol_bins(reference_price: float) -> tuple[float, float]:
    """(liquidation-map bin, heatmap bin) for a symbol whose history starts at this price.

    The model uses the first staged close of the symbol as its reference price, so the bins
    never change as days are added (a daily run and a range run agree) and the params_hash of
    a symbol is stable. BTC from ~63k to ~141k: (250, 500), the bins used before symbols
    scaled.
    """
    size = price_bin_size(reference_price)
    return size, float(f"{size * HEATMAP_BIN_FACTOR:.12g}")
