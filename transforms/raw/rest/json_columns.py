"""A fake venue's numbers written as JSON strings a column at a time (numpy), not one by one.

The offline demo's fake venues write every number of a page as a JSON string (`"64210.5"`):
one f-string per number cost ~20 s of CPU a demo year for Bybit's pages alone (issue 19),
time the demo spends simulating its own venue, not a real venue's cost. Here a column is
written as a matrix of characters and a mask of the characters kept (`Chars`), and a page's
rows are assembled from such columns and literal pieces with one boolean index (`rows`).

The strings are exactly the per-number formatting's: `fixed(v, d)` is f"{v:.{d}f}" (with
`trim`, trailing zeros and a bare point dropped and "-0" written "0", as Bybit writes
numbers) and `integers(v)` is str(int(v)). Rounding is decided in binary (v * 10**d rounded
to an integer), which is the decimal rounding wherever v * 10**d is not within two ulps of a
half: those few values are rounded by Python's formatting itself. A column holding a value
that is not finite or too large for exact integers gives None: the caller then writes that
page the straightforward way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

#: integers up to here are exact in float64 (and fit int64)
_EXACT = float(2**53)


class Chars(NamedTuple):
    """Strings written into fixed-width slots: characters and which of them are kept. The
    last axis is the slot; the others are the values' (rows, or rows x columns)."""

    chars: np.ndarray  # (..., width) uint8
    keep: np.ndarray  # (..., width) bool


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative int64 values as `width` ASCII digits each (a new last axis), zero-padded
    on the left. One division by a scalar per digit: numpy divides by a scalar several
    times faster than by a broadcast array of powers."""
    out = np.empty((*values.shape, width), dtype=np.uint8)
    rest = values
    for j in range(width - 1, -1, -1):
        quotient = rest // 10
        out[..., j] = rest - quotient * 10
        rest = quotient
    out += ord("0")
    return out


def _count_at_least(values: np.ndarray, powers: range) -> np.ndarray:
    """How many of 10**k (k in `powers`) each value is at least: a count per value."""
    count = np.zeros(values.shape, dtype=np.int64)
    for k in powers:
        count += values >= 10**k
    return count


def _natural(magnitude: np.ndarray, negative: np.ndarray) -> Chars:
    """Non-negative int64 magnitudes written without leading zeros, `-` where `negative`."""
    width = len(str(int(magnitude.max(initial=0))))
    length = 1 + _count_at_least(magnitude, range(1, width))
    keep = np.arange(width) >= (width - length)[..., None]
    sign = np.full((*magnitude.shape, 1), ord("-"), dtype=np.uint8)
    return Chars(
        np.concatenate([sign, _digits(magnitude, width)], axis=-1),
        np.concatenate([negative[..., None], keep], axis=-1),
    )


def integers(values: np.ndarray) -> Chars | None:
    """str(int(v)) of every value (truncated towards zero), or None when one is not finite or
    not below 2**53 in size."""
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all() or (np.abs(v) >= _EXACT).any():
        return None
    whole = v.astype(np.int64)
    return _natural(np.abs(whole), whole < 0)


def fixed(values: np.ndarray, decimals: int | Sequence[int], *, trim: bool = True) -> Chars | None:
    """f"{v:.{d}f}" of every value; with `trim`, trailing zeros and a bare point dropped and
    "-0" written "0" (module doc). `values` is a column, or rows x columns with `decimals`
    one per column (then with `trim` only). None when a value is not finite or
    |v| * 10**d is not below 2**53."""
    v = np.asarray(values, dtype=np.float64)
    dec = np.broadcast_to(np.asarray(decimals, dtype=np.int64), v.shape[-1:] if v.ndim else ())
    if dec.size and not ((dec >= 1) & (dec <= 18)).all():
        raise ValueError(f"decimals={decimals}: expected 1..18")
    if not trim and dec.size and len(set(dec.tolist())) > 1:
        raise ValueError("untrimmed columns take one number of decimals")
    most = int(dec.max(initial=1))
    scaled = np.abs(v) * 10.0**dec
    if not np.isfinite(scaled).all() or (scaled >= _EXACT).any():
        return None
    units = np.rint(scaled)
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(scaled)
    if near_half.any():  # rounded by the decimal formatting itself
        places = np.broadcast_to(dec, v.shape)
        for at in zip(*np.nonzero(near_half), strict=True):
            text = f"{abs(float(v[at])):.{int(places[at])}f}"
            units[at] = int(text.replace(".", ""))
    units = units.astype(np.int64)
    whole, part = np.divmod(units, 10**dec)
    if most > int(dec.min(initial=most)):  # every fraction written with `most` digits
        part = part * 10 ** (most - dec)
    negative = np.signbit(v) & (units != 0) if trim else np.signbit(v)
    head = _natural(whole, negative)
    frac = _digits(part, most)
    if trim:  # the fraction's digits up to its last non-zero one
        zeros = np.zeros(part.shape, dtype=np.int64)  # trailing zeros of the fraction
        for k in range(1, most + 1):
            zeros += part % 10**k == 0
        frac_keep = np.arange(most) < (most - zeros)[..., None]
        point_keep = part != 0
    else:
        frac_keep = np.ones(frac.shape, dtype=bool)
        point_keep = np.ones(v.shape, dtype=bool)
    point = np.full((*v.shape, 1), ord("."), dtype=np.uint8)
    return Chars(
        np.concatenate([head.chars, point, frac], axis=-1),
        np.concatenate([head.keep, point_keep[..., None], frac_keep], axis=-1),
    )


def joined(columns: Chars, separator: bytes) -> Chars:
    """Rows x columns of strings as one string per row, the columns joined by `separator`."""
    n, k, _ = columns.chars.shape
    sep = literal(separator, n * k).chars.reshape(n, k, len(separator))
    sep_keep = np.ones(sep.shape, dtype=bool)
    sep_keep[:, -1] = False  # none after the last column
    width = k * (columns.chars.shape[-1] + len(separator))
    return Chars(
        np.concatenate([columns.chars, sep], axis=-1).reshape(n, width),
        np.concatenate([columns.keep, sep_keep], axis=-1).reshape(n, width),
    )


def literal(text: bytes, n: int, where: np.ndarray | None = None) -> Chars:
    """The same bytes in each of `n` rows (only in the rows `where` is True, when given)."""
    chars = np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (n, len(text)))
    keep = np.ones((n, len(text)), dtype=bool)
    if where is not None:
        keep &= where[:, None]
    return Chars(chars, keep)


def rows(parts: list[bytes | Chars], n: int) -> bytes:
    """`n` rows, each the concatenation of `parts` (bytes: the same in every row), joined by
    commas: the inside of a JSON array."""
    if n == 0:
        return b""
    pieces = [literal(p, n) if isinstance(p, bytes) else p for p in parts]
    comma = literal(b",", n)
    comma.keep[-1] = False
    pieces.append(comma)
    chars = np.concatenate([p.chars for p in pieces], axis=1)
    keep = np.concatenate([p.keep for p in pieces], axis=1)
    return chars[keep].tobytes()
