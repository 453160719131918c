"""Number formats for the report text: compact dollars, prices, ratios, rates, zones.

Pure functions of numbers; every one returns "n/a" for a missing or non-finite value.

Prices depend on the symbol's scale (BTC at 90,000 and DOGE at 0.12 need different decimals):
the site builder sets the scale of the symbol being rendered with `price_scale(reference)`,
and prices under 1,000 then show `transforms.reference.bins.price_decimals(reference)`
decimals. Prices of 1,000 and more read the same on every symbol (BTC pages are unchanged).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from transforms.reference.bins import price_decimals

_PRICE_SCALE: ContextVar[float | None] = ContextVar("liqmap_price_scale", default=None)


@contextmanager
def price_scale(reference_price: float | None) -> Iterator[None]:
    """Format prices for a symbol trading near `reference_price` inside this block."""
    token = _PRICE_SCALE.set(reference_price if ok(reference_price) else None)
    try:
        yield
    finally:
        _PRICE_SCALE.reset(token)


def _scaled_decimals() -> int | None:
    """Decimals of the current symbol's prices under 1,000, or None without a scale."""
    ref = _PRICE_SCALE.get()
    return price_decimals(ref) if ref is not None and ref > 0 else None


def chart_price(x: float) -> float:
    """A price as written into chart data: cents for BTC-scale symbols, one decimal more
    than shown for small prices (a DOGE line rounded to cents would be flat)."""
    dec = _scaled_decimals()
    return round(x, 2 if dec is None else max(2, dec + 1))


def fmt_step(step: float) -> str:
    """A price-band width: '$250', '$0.5', '$0.00025'."""
    return f"${step:,.0f}" if step >= 1 and float(step).is_integer() else f"${step:,.4g}"


def ok(x: Any) -> bool:
    """True for a usable number (not None / NaN / inf)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fmt_usd(x: float | None) -> str:
    """Compact dollars: $25.1B, $850M, $12.3M, $45.0k, $950."""
    if not ok(x):
        return "n/a"
    sign = "-" if x < 0 else ""
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


def fmt_price(x: float | None) -> str:
    """A price at a readable precision: $72,400 (≥10k → nearest 100), $1,234.50 below."""
    if not ok(x):
        return "n/a"
    if abs(x) >= 10_000:
        return f"${round(x, -2):,.0f}"
    if abs(x) >= 1_000:
        return f"${round(x, -1):,.0f}"
    dec = _scaled_decimals()
    if dec is not None:
        return f"${x:,.{dec}f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.4g}"


def shown_price(x: float) -> float:
    """A price rounded the way `fmt_price` shows it."""
    if abs(x) >= 10_000:
        return round(x, -2)
    if abs(x) >= 1_000:
        return round(x, -1)
    dec = _scaled_decimals()
    return round(x, dec) if dec is not None else x


def fmt_ratio_value(r: float) -> str:
    """25 → '25', 4.66 → '4.7'."""
    return f"{r:.0f}" if r >= 9.95 else f"{r:.1f}"


def fmt_ratio(shorts: float | None, longs: float | None) -> str:
    """Imbalance as heavier:lighter, e.g. '25:1'; 'n/a' when a side is missing or zero."""
    if not (ok(shorts) and ok(longs)) or shorts <= 0 or longs <= 0:
        return "n/a"
    r = shorts / longs
    return f"{fmt_ratio_value(r if r >= 1 else 1 / r)}:1"


def ratio_oriented(shorts: float | None, longs: float | None, shorts_heavy: bool) -> str:
    """The ratio written in a fixed orientation (heavier side of the base model first)."""
    if not (ok(shorts) and ok(longs)) or shorts <= 0 or longs <= 0:
        return "n/a"
    r = shorts / longs if shorts_heavy else longs / shorts
    return f"{fmt_ratio_value(r)}:1" if r >= 1 else f"1:{fmt_ratio_value(1 / r)}"


def fmt_pct(x: float | None, decimals: int = 1, signed: bool = True) -> str:
    """0.032 → '+3.2%'."""
    if not ok(x):
        return "n/a"
    s = f"{x * 100:+.{decimals}f}%" if signed else f"{x * 100:.{decimals}f}%"
    return s.replace("-", "−")


def fmt_rate(x: float | None) -> str:
    """A funding rate (fraction per settlement) as a percentage: 0.0001 → '0.0100%'."""
    if not ok(x):
        return "n/a"
    return f"{x * 100:.4f}%".replace("-", "−")


def fmt_zone(lo: float | None, hi: float | None) -> str:
    """A price range, compact: '$70–72k', '$70.2–70.9k', '$950–$1,020'."""
    if not (ok(lo) and ok(hi)):
        return "n/a"
    if lo >= 10_000:
        for dec in (0, 1, 2):
            a, b = f"{lo / 1000:.{dec}f}", f"{hi / 1000:.{dec}f}"
            if a != b:
                return f"${a}–{b}k"
        return f"${a}k"
    return f"{fmt_price(lo)}–{fmt_price(hi)}"


def fmt_signed_usd(x: float | None) -> str:
    if not ok(x):
        return "n/a"
    return ("+" if x >= 0 else "−") + fmt_usd(abs(x))


def fmt_signed_price(x: float | None) -> str:
    """A price change: +$2,000, −$800 (whole dollars from $1 up)."""
    if not ok(x):
        return "n/a"
    sign = "+" if x >= 0 else "−"
    ref = _PRICE_SCALE.get()
    if ref is not None and ref < 1_000:
        return sign + fmt_price(abs(x))
    return sign + (f"${abs(x):,.0f}" if abs(x) >= 1 else fmt_price(abs(x)))


def iso_z(d: datetime) -> str:
    """A timestamp as ISO 8601 UTC with a Z, to the second (naive means UTC)."""
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.replace(microsecond=0).isoformat() + "Z"
