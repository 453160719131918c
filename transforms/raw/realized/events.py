"""Venue-neutral shapes shared by the stream parsers, the collector and the loader."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

Side = Literal["long", "short"]


class PayloadError(ValueError):
    """A stored or received event does not have the venue's documented shape."""


@dataclass(frozen=True)
class ReceivedEvent:
    """One liquidation as delivered: its dedupe key, symbol and the line to persist."""

    key: int
    symbol: str
    line: bytes


@dataclass(frozen=True)
class Liquidation:
    """One normalised liquidation. `side` is the side that was liquidated."""

    symbol: str
    ts_ms: int
    side: Side
    price: float
    quantity: float

    @property
    def notional(self) -> float:
        return self.price * self.quantity


def canonical_key(obj: dict[str, Any]) -> int:
    """A stable identity for a venue event object: a 64-bit digest of its sorted-key JSON.

    A digest rather than the text keeps the dedupe window small in memory during a cascade.
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSON line (newline-terminated) as stored in the hourly files."""
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def require(obj: dict[str, Any], field: str, where: str) -> Any:
    """obj[field], or a PayloadError naming the field and where it was expected."""
    try:
        return obj[field]
    except (KeyError, TypeError) as exc:
        raise PayloadError(f"{where}: missing field {field!r}") from exc


def positive_float(value: Any, field: str, where: str) -> float:
    """A venue's decimal string as a float > 0, or a PayloadError saying what was expected."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"{where}: {field}={value!r} is not a decimal number") from exc
    if not number > 0:
        raise PayloadError(f"{where}: {field}={value!r} must be > 0")
    return number
