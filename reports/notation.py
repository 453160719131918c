"""One formatting path for every figure the site prints: money, prices, percentages, ratios,
zones. Cards, tables, the archive, the feed and the downloads all call these functions, so
the same number never reads two ways.

Ratios are always written `X:1 <heavier side>` with X ≥ 1 ("6.3:1 shorts"); stored columns
say what they divide (`shorts_per_long`). Statements about price against a zone are made from
the rounded numbers the page prints, so the words can never contradict the figures.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from transforms.model.metrics import HEADLINE_BAND, NEAR_BANDS
from transforms.reference.bins import price_decimals

# "X:1 shorts" / "X:1 longs" with X >= 1, or the three cases without a ratio.
RATIO_PATTERN = re.compile(r"^(\d+(?:\.\d)?):1 (shorts|longs)$")
RATIO_SPECIAL = ("1:1 even", "shorts only", "longs only", "n/a")

# A close counts as a breakout only this far beyond the printed zone edge (a fraction of the
# edge); closer than that it is "testing" the edge.
MIN_BREAKOUT = 0.01

MINUS = "−"  # typographic minus, used for every negative figure


def ok(x: Any) -> bool:
    """True for a usable number (not None / NaN / inf / bool)."""
    if type(x) is float:  # the common case (a site build asks ~800k times per symbol)
        return math.isfinite(x)
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


# ---------------------------------------------------------------- price scale
# BTC at 90,000 and DOGE at 0.12 need different decimals: the site builder sets the scale of
# the symbol being rendered with `price_scale(reference)`; prices under 1,000 then show
# `transforms.reference.bins.price_decimals(reference)` decimals. Prices of 1,000 and more read
# the same on every symbol.

_PRICE_SCALE: ContextVar[float | None] = ContextVar("liqmap_price_scale", default=None)


@contextmanager
def price_scale(reference_price: float | None) -> Iterator[None]:
    """Format prices for a symbol trading near `reference_price` inside this block."""
    token = _PRICE_SCALE.set(reference_price if ok(reference_price) else None)
    try:
        yield
    finally:
        _PRICE_SCALE.reset(token)


@functools.lru_cache(maxsize=256)
def _decimals_of(ref: float) -> int:
    return price_decimals(ref)


# decimals set outright (a data file names those its prices were written with)
_FIXED_DECIMALS: ContextVar[tuple[int | None] | None] = ContextVar(
    "liqmap_price_decimals", default=None
)


@contextmanager
def price_decimals_as(decimals: int | None) -> Iterator[None]:
    """Format prices inside this block as under a scale of `decimals` (`scaled_decimals`;
    None: no scale), e.g. to rebuild a data file's labels the way its build wrote them."""
    token = _FIXED_DECIMALS.set((decimals,))
    try:
        yield
    finally:
        _FIXED_DECIMALS.reset(token)


def _scaled_decimals() -> int | None:
    """Decimals of the current symbol's prices under 1,000, or None without a scale."""
    fixed = _FIXED_DECIMALS.get()
    if fixed is not None:
        return fixed[0]
    ref = _PRICE_SCALE.get()
    return _decimals_of(ref) if ref is not None and ref > 0 else None


def scaled_decimals() -> int | None:
    """The decimals prices under 1,000 are written with here (None: no price scale)."""
    return _scaled_decimals()


def chart_price_decimals() -> int:
    """The decimals `chart_price` rounds to under the current price scale (for loops that
    round many prices: look it up once)."""
    dec = _scaled_decimals()
    return 2 if dec is None else max(2, dec + 1)


def chart_price(x: float) -> float:
    """A price as written into chart data: cents for BTC-scale symbols, one decimal more
    than shown for small prices (a DOGE line rounded to cents would be flat)."""
    return round(x, chart_price_decimals())


def fmt_step(step: float) -> str:
    """A price-band width: '$250', '$0.5', '$0.00025'."""
    return f"${step:,.0f}" if step >= 1 and float(step).is_integer() else f"${step:,.4g}"


# ---------------------------------------------------------------- money and prices


def fmt_usd(x: float | None) -> str:
    """Compact dollars: $25.1B, $850M, $12.3M, $45.0k, $950."""
    if not ok(x):
        return "n/a"
    sign = MINUS if x < 0 else ""
    a = abs(x)
    if a >= 999.5e6:
        v, unit = a / 1e9, "B"
    elif a >= 999.5e3:
        v, unit = a / 1e6, "M"
    elif a >= 999.5:
        v, unit = a / 1e3, "k"
    else:
        return f"{sign}${a:,.0f}"
    text = f"{v:,.0f}" if v >= 99.95 else f"{v:.1f}"
    return f"{sign}${text}{unit}"


def fmt_signed_usd(x: float | None) -> str:
    """+$1.2B / −$850M."""
    if not ok(x):
        return "n/a"
    return ("+" if x >= 0 else MINUS) + fmt_usd(abs(x))


def _round_half_up(x: float, step: float) -> float:
    """x to the nearest multiple of `step`, halves away from zero (70,050 → 70,100)."""
    return math.copysign(math.floor(abs(x) / step + 0.5) * step, x)


def shown_price(x: float) -> float:
    """A price rounded the way `fmt_price` prints it (nearest 100 from 10k, 10 from 1k,
    cents from 1, halves up): the number the reader sees."""
    if abs(x) >= 10_000:
        return _round_half_up(x, 100.0)
    if abs(x) >= 1_000:
        return _round_half_up(x, 10.0)
    dec = _scaled_decimals()
    if dec is not None:
        return round(_round_half_up(x, 10.0**-dec), dec)
    if abs(x) >= 1:
        return round(_round_half_up(x, 0.01), 2)
    return float(f"{x:.4g}")


def fmt_price(x: float | None) -> str:
    """A price at a readable precision: $72,400 (≥ 10k), $1,230 (≥ 1k), $12.34, $0.1234."""
    if not ok(x):
        return "n/a"
    v = shown_price(x)
    sign = MINUS if v < 0 else ""
    a = abs(v)
    if a >= 1_000:
        return f"{sign}${a:,.0f}"
    dec = _scaled_decimals()
    if dec is not None:
        return f"{sign}${a:,.{dec}f}"
    if a >= 1:
        return f"{sign}${a:,.2f}"
    return f"{sign}${a:.4g}"


def fmt_compact_price(x: float | None) -> str:
    """A price in a short chart label: compact from 1,000 up ($72.4k), else at the symbol's
    price precision ($0.12345), so a small-priced symbol never reads '$0'."""
    if ok(x) and abs(x) >= 999.5:
        return fmt_usd(x)
    return fmt_price(x)


# ---------------------------------------------------------------- percentages and rates


def fmt_pct(x: float | None, decimals: int = 1, signed: bool = True) -> str:
    """A fraction as a percentage: 0.032 → '+3.2%' (signed) or '3.2%'."""
    if not ok(x):
        return "n/a"
    s = f"{x * 100:+.{decimals}f}%" if signed else f"{x * 100:.{decimals}f}%"
    return s.replace("-", MINUS)


def fmt_rate(x: float | None) -> str:
    """A funding rate (fraction per settlement): 0.0001 → '0.0100%'."""
    if not ok(x):
        return "n/a"
    return f"{x * 100:.4f}%".replace("-", MINUS)


def fmt_level(price: float | None, spot: float | None) -> str:
    """A level with its distance from spot: '$96,000 (+4.3%)'."""
    if not ok(price):
        return "n/a"
    if not ok(spot) or spot == 0:
        return fmt_price(price)
    return f"{fmt_price(price)} ({fmt_pct(price / spot - 1.0)})"


# ---------------------------------------------------------------- ratios


def fmt_ratio_value(x: float) -> str:
    """The X of 'X:1' (X ≥ 1): 25 → '25', 4.66 → '4.7'."""
    return f"{x:.0f}" if x >= 9.95 else f"{x:.1f}"


@dataclass(frozen=True)
class Imbalance:
    """Shorts against longs at risk: `text` is what every page prints."""

    text: str
    heavier: str | None  # "shorts" | "longs" | None (even, one-sided or missing)
    x: float | None  # heavier ÷ lighter, >= 1 (None when there is no ratio)


def imbalance(shorts: float | None, longs: float | None) -> Imbalance:
    """The imbalance of shorts vs longs: '6.3:1 shorts', '2.4:1 longs', '1:1 even', 'shorts
    only' / 'longs only' (the other side is zero) or 'n/a' (a side missing or both zero)."""
    if not (ok(shorts) and ok(longs)) or shorts < 0 or longs < 0:
        return Imbalance("n/a", None, None)
    if shorts == 0 and longs == 0:
        return Imbalance("n/a", None, None)
    if longs == 0:
        return Imbalance("shorts only", "shorts", None)
    if shorts == 0:
        return Imbalance("longs only", "longs", None)
    if shorts == longs:
        return Imbalance("1:1 even", None, 1.0)
    heavier = "shorts" if shorts > longs else "longs"
    x = max(shorts, longs) / min(shorts, longs)
    return Imbalance(f"{fmt_ratio_value(x)}:1 {heavier}", heavier, x)


def fmt_imbalance(shorts: float | None, longs: float | None) -> str:
    """`imbalance(shorts, longs).text`."""
    return imbalance(shorts, longs).text


def fmt_shorts_per_long(r: float | None) -> str:
    """The stored `shorts_per_long` column in the printed notation (2.4 → '2.4:1 shorts',
    0.42 → '2.4:1 longs')."""
    if not ok(r) or r <= 0:
        return "n/a"
    return fmt_imbalance(r, 1.0)


def fmt_window(window: str | None) -> str:
    """A near-spot window as printed: '10pct' → '±10%'; None (the whole map) → 'whole map'."""
    if window is None:
        return "whole map"
    return "±" + fmt_pct(NEAR_BANDS[window], 0, signed=False)


def row_sides(row: Any, window: str | None = HEADLINE_BAND) -> tuple[Any, Any]:
    """(shorts, longs) at risk of a mart row within `window` (a NEAR_BANDS name: the stored
    `*_at_risk_<window>` sums) or over the whole map (None)."""
    suffix = f"_{window}" if window else ""
    return row.get(f"shorts_at_risk{suffix}"), row.get(f"longs_at_risk{suffix}")


def row_imbalance(row: Any, window: str | None = HEADLINE_BAND) -> Imbalance:
    """The imbalance of a mart row within `window` (default the headline's, ±10 %) or over
    the whole map (None), in the site notation."""
    return imbalance(*row_sides(row, window))


def fmt_imbalance_in(row: Any, window: str | None = HEADLINE_BAND) -> str:
    """The imbalance with its window, for places that print it without a label: '1.4:1
    shorts within ±10%', '3.1:1 longs over the whole map'."""
    text = row_imbalance(row, window).text
    return f"{text} {'over the' if window is None else 'within'} {fmt_window(window)}"


def parse_ratio(text: str) -> tuple[float, str] | None:
    """('X', side) of a printed ratio, None for the special cases (for checks and tests)."""
    m = RATIO_PATTERN.match(text)
    return (float(m.group(1)), m.group(2)) if m else None


# ---------------------------------------------------------------- zones


def fmt_zone(lo: float | None, hi: float | None) -> str:
    """A price range at price precision: '$86,600–$93,800'."""
    if not (ok(lo) and ok(hi)):
        return "n/a"
    return f"{fmt_price(lo)}–{fmt_price(hi)}"


def zone_position(close: float | None, lo: float | None, hi: float | None) -> str | None:
    """Where the printed close sits against the printed zone: 'inside', 'testing_high' /
    'testing_low' (at or beyond an edge by less than MIN_BREAKOUT), 'above' / 'below' (a
    breakout of at least MIN_BREAKOUT); None without a zone or close. Decided on the rounded
    numbers `fmt_price` prints, so the words agree with the figures beside them."""
    if not (ok(close) and ok(lo) and ok(hi)):
        return None
    c, a, b = shown_price(close), shown_price(lo), shown_price(hi)
    if c > b * (1.0 + MIN_BREAKOUT):
        return "above"
    if c < a * (1.0 - MIN_BREAKOUT):
        return "below"
    if c >= b:
        return "testing_high"
    if c <= a:
        return "testing_low"
    return "inside"


ZONE_WORDS = {
    "inside": "price inside",
    "testing_high": "price testing the top",
    "testing_low": "price testing the bottom",
    "above": "price above (breakout)",
    "below": "price below (breakdown)",
}


def fmt_times(x: float | None) -> str:
    """A multiple: 4.12 → '4.1×', 25 → '25×', 73308 → '73,308×'."""
    if not ok(x) or x <= 0:
        return "n/a"
    return f"{x:,.0f}×" if x >= 9.95 else f"{x:.1f}×"


def fmt_corr(x: float | None) -> str:
    """A correlation coefficient: 0.623 → '+0.62', −0.1 → '−0.10'."""
    if not ok(x):
        return "n/a"
    return f"{x:+.2f}".replace("-", "−")


def fmt_share(part: float | None, whole: float | None) -> str:
    """A part's share of a whole: 37.5 % → '38%'; 'n/a' without both or a zero whole."""
    if not (ok(part) and ok(whole)) or whole <= 0:
        return "n/a"
    return f"{part / whole * 100:.0f}%"
