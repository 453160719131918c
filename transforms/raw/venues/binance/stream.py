"""Binance USDⓈ-M `!forceOrder@arr`: a throttled snapshot of liquidation orders, all symbols.

Wire format (Binance futures stream docs): the stream is named in the URL
(wss://fstream.binance.com/ws/!forceOrder@arr), nothing is sent to subscribe, and each message
is {"e":"forceOrder","E":..,"o":{"s","S","o","f","q","p","ap","X","l","z","T"}}. Binance
pushes at most the latest liquidation per symbol per 1000 ms, so counts are a lower bound
("throttled"). `S="SELL"` means a LONG was liquidated. The server pings every 3 minutes; the
WebSocket library answers with pongs, so there is no application heartbeat.
"""

from __future__ import annotations

from typing import Any

from transforms.raw.realized.events import (
    Liquidation,
    PayloadError,
    ReceivedEvent,
    canonical_key,
    encode_line,
    positive_float,
    require,
)

DEFAULT_URL = "wss://fstream.binance.com/ws/!forceOrder@arr"
PING_SECONDS = None
SIDES = {"SELL": "long", "BUY": "short"}


def stream_url(base_url: str, symbols: tuple[str, ...]) -> str:
    """The all-market stream; symbols are filtered on receipt."""
    return base_url


def subscribe_messages(symbols: tuple[str, ...]) -> list[str]:
    """Nothing to send: the URL names the stream."""
    return []


def ping_message() -> str | None:
    return None


def is_subscribe_ack(message: dict[str, Any]) -> bool:
    return False


def parse_message(
    message: dict[str, Any], recv_ms: int, symbols: frozenset[str]
) -> list[ReceivedEvent]:
    """The configured symbol's liquidation in one message (combined-stream wrappers unwrapped)."""
    if "data" in message and "stream" in message:
        message = message["data"]
    if message.get("e") != "forceOrder":
        return []
    order = require(message, "o", "binance forceOrder message")
    symbol = require(order, "s", "binance forceOrder 'o' object")
    if symbol not in symbols:
        return []
    record = {"recv_ms": recv_ms, "event": message}
    return [ReceivedEvent(canonical_key(order), symbol, encode_line(record))]


def stored_key(record: dict[str, Any]) -> int:
    """The dedupe key of a stored line (same as parse_message gives on receipt)."""
    return canonical_key(record["event"]["o"])


def normalise(record: dict[str, Any], where: str) -> Liquidation:
    """A stored line's order as a Liquidation (SELL = long liquidated).

    Price is the average fill price `ap` (the order price `p` when nothing filled yet) and
    quantity the filled amount `z` (else the order quantity `q`).
    """
    message = require(record, "event", where)
    order = require(message, "o", where)
    side = require(order, "S", where)
    if side not in SIDES:
        raise PayloadError(f"{where}: S={side!r}, expected 'SELL' or 'BUY'")
    ts = require(order, "T", where)
    if not isinstance(ts, int):
        raise PayloadError(f"{where}: T={ts!r} must be integer milliseconds")
    price_field = "ap" if _is_positive(order.get("ap")) else "p"
    qty_field = "z" if _is_positive(order.get("z")) else "q"
    return Liquidation(
        symbol=require(order, "s", where),
        ts_ms=ts,
        side=SIDES[side],  # type: ignore[arg-type]
        price=positive_float(require(order, price_field, where), price_field, where),
        quantity=positive_float(require(order, qty_field, where), qty_field, where),
    )


def _is_positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False
