"""A fake venue's numbers written as JSON strings a column at a time (numpy), not one by one.

The offline demo's fake venues write every number of a page as a JSON string (`"64210.5"`):
one f-string per number cost ~20 s of CPU a demo year for Bybit's pages alone (issue 19),
time the demo spends simulating its own venue, not a real venue's cost. Here a page's rows
are one matrix of characters (a row per JSON row, each number in a fixed-width slot) and a
mask of the characters kept: each part (`literal`, `integers`, `fixed`) writes its slots a
column at a time, and one boolean index gives the page's bytes (`rows`).

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
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: integers up to here are exact in float64 (and fit int64)
_EXACT = float(2**53)


@dataclass(frozen=True)
class Literal:
    """The same bytes in every row (only in the rows `where` is True, when given)."""

    text: bytes
    where: np.ndarray | None = None

    @property
    def width(self) -> int:
        return len(self.text)

    def write(self, chars: np.ndarray, keep: np.ndarray) -> None:
        chars[:] = np.frombuffer(self.text, dtype=np.uint8)
        keep[:] = True if self.where is None else self.where[:, None]


@dataclass(frozen=True)
class Numbers:
    """Rows x columns of numbers, each written `[-]digits[.fraction]` in a slot of its own,
    the columns separated by `separator` (none after the last)."""

    whole: np.ndarray  # (n, k) int64 >= 0
    fraction: np.ndarray | None  # (n, k) int64 >= 0, `places` digits; None: integers
    negative: np.ndarray  # (n, k) bool: a `-` is written
    places: int
    trim: bool  # trailing zeros of the fraction, and a bare point, dropped
    separator: bytes = b""
    where: np.ndarray | None = None  # (n,) bool: the rows written at all (None: every row)

    @property
    def digits(self) -> int:
        return len(str(int(self.whole.max(initial=0))))

    @property
    def slot(self) -> int:
        point = 1 + self.places if self.fraction is not None else 0
        return 1 + self.digits + point + len(self.separator)

    @property
    def width(self) -> int:
        return self.whole.shape[1] * self.slot

    def write(self, chars: np.ndarray, keep: np.ndarray) -> None:
        n, k = self.whole.shape
        slot, digits = self.slot, self.digits
        shape = (n, k, slot)
        c = as_strided(chars, shape, (chars.strides[0], slot, 1))
        kept = as_strided(keep, shape, (keep.strides[0], slot, 1))
        c[..., 0] = ord("-")
        kept[..., 0] = self.negative
        _write_digits(c, self.whole, 1, digits)
        length = np.ones(self.whole.shape, dtype=np.int64)
        for p in range(1, digits):
            length += self.whole >= 10**p
        kept[..., 1 : 1 + digits] = np.arange(digits) >= (digits - length)[..., None]
        at = 1 + digits
        if self.fraction is not None:
            c[..., at] = ord(".")
            _write_digits(c, self.fraction, at + 1, self.places)
            if self.trim:
                zeros = np.zeros(self.fraction.shape, dtype=np.int64)  # trailing zeros
                for p in range(1, self.places + 1):
                    zeros += self.fraction % 10**p == 0
                kept[..., at] = self.fraction != 0
                frac_keep = np.arange(self.places) < (self.places - zeros)[..., None]
                kept[..., at + 1 : at + 1 + self.places] = frac_keep
            else:
                kept[..., at : at + 1 + self.places] = True
            at += 1 + self.places
        if self.separator:
            c[..., at:] = np.frombuffer(self.separator, dtype=np.uint8)
            kept[..., at:] = True
            kept[:, -1, at:] = False
        if self.where is not None:
            kept &= self.where[:, None, None]


#: the four ASCII digits of 0..9999, each as one little-endian uint32
_QUADS = np.frombuffer(b"".join(b"%04d" % i for i in range(10_000)), dtype="<u4")


def _write_digits(chars: np.ndarray, values: np.ndarray, at: int, width: int) -> None:
    """Non-negative int64 `values` as `width` ASCII digits, zero-padded on the left, into
    chars[..., at : at + width]: four digits at a time from a table (one division by a
    scalar per four digits, then a lookup), the first `width % 4` from a last one."""
    rest = values
    end = at + width
    while end > at:
        quotient = rest // 10_000
        quad = _QUADS[rest - quotient * 10_000].view(np.uint8).reshape(*rest.shape, 4)
        take = min(4, end - at)
        chars[..., end - take : end] = quad[..., 4 - take :]
        rest = quotient
        end -= take


def literal(text: bytes, where: np.ndarray | None = None) -> Literal:
    """The same bytes in every row (only in the rows `where` is True, when given)."""
    return Literal(text, where)


def integers(values: np.ndarray) -> Numbers | None:
    """str(int(v)) of every value of a column (truncated towards zero), or None when one is
    not finite or not below 2**53 in size."""
    v = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if not np.isfinite(v).all() or (np.abs(v) >= _EXACT).any():
        return None
    whole = v.astype(np.int64)
    return Numbers(np.abs(whole), None, whole < 0, 0, False)


def fixed(
    values: np.ndarray,
    decimals: int | Sequence[int],
    *,
    trim: bool = True,
    separator: bytes = b"",
    where: np.ndarray | None = None,
) -> Numbers | None:
    """f"{v:.{d}f}" of every value; with `trim`, trailing zeros and a bare point dropped and
    "-0" written "0" (module doc). `values` is a column, or rows x columns with `decimals`
    one per column (then with `trim` only) written `separator`-separated. `where`: the rows
    written at all (the others' values are not read). None when a value is not finite or
    |v| * 10**d is not below 2**53."""
    v = np.asarray(values, dtype=np.float64)
    v = v.reshape(-1, 1) if v.ndim == 1 else v
    if where is not None:
        v = np.where(where.reshape(-1, 1), v, 0.0)
    dec = np.broadcast_to(np.asarray(decimals, dtype=np.int64), v.shape[1:])
    if dec.size and not ((dec >= 1) & (dec <= 18)).all():
        raise ValueError(f"decimals={decimals}: expected 1..18")
    if not trim and len(set(dec.tolist())) > 1:
        raise ValueError("untrimmed columns take one number of decimals")
    places = int(dec.max(initial=1))
    scaled = np.abs(v) * 10.0**dec
    if not np.isfinite(scaled).all() or (scaled >= _EXACT).any():
        return None
    units = np.rint(scaled)
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(scaled)
    if near_half.any():  # rounded by the decimal formatting itself
        decimals_at = np.broadcast_to(dec, v.shape)
        for at in zip(*np.nonzero(near_half), strict=True):
            text = f"{abs(float(v[at])):.{int(decimals_at[at])}f}"
            units[at] = int(text.replace(".", ""))
    units = units.astype(np.int64)
    whole, part = np.divmod(units, 10**dec)
    if places > int(dec.min(initial=places)):  # every fraction written with `places` digits
        part = part * 10 ** (places - dec)
    negative = np.signbit(v) & (units != 0) if trim else np.signbit(v)
    return Numbers(whole, part, negative, places, trim, separator, where)


def rows(parts: list[bytes | Literal | Numbers], n: int) -> bytes:
    """`n` rows, each the concatenation of `parts` (bytes: the same in every row), joined by
    commas: the inside of a JSON array."""
    if n == 0:
        return b""
    fields = [Literal(p) if isinstance(p, bytes) else p for p in parts]
    widths = [f.width for f in fields]
    total = sum(widths) + 1
    chars = np.empty((n, total), dtype=np.uint8)
    keep = np.empty((n, total), dtype=bool)
    at = 0
    for f, w in zip(fields, widths, strict=True):
        f.write(chars[:, at : at + w], keep[:, at : at + w])
        at += w
    chars[:, -1] = ord(",")
    keep[:, -1] = True
    keep[-1, -1] = False
    return chars[keep].tobytes()
