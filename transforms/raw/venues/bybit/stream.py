"""Bybit v5 public linear `allLiquidation.<SYM>`: every liquidation, pushed in batches.

Wire format (Bybit v5 docs): subscribe with {"op":"subscribe","args":["allLiquidation.BTCUSDT"]},
acknowledged by {"success":true,"op":"subscribe",...}; data pushes every 500 ms as
{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":..,"data":[{"T","s","S","v","p"},..]}.
Bybit drops a connection that sends nothing for a while, so clients send {"op":"ping"} every
20 s (answered by {"op":"ping","ret_msg":"pong",..}). `S="Buy"` means a LONG was liquidated
(the opposite of Binance); `p` is the bankruptcy price, `v` the size in base units.
"""

from __future__ import annotations

import json
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

DEFAULT_URL = "wss://stream.bybit.com/v5/public/linear"
TOPIC_PREFIX = "allLiquidation."
PING_SECONDS = 20.0
SIDES = {"Buy": "long", "Sell": "short"}


class SubscriptionRejected(RuntimeError):
    """Bybit answered the subscribe request with success=false (e.g. an unknown symbol)."""


def stream_url(base_url: str, symbols: tuple[str, ...]) -> str:
    """Bybit subscribes by message, so the URL is the endpoint itself."""
    return base_url


def subscribe_messages(symbols: tuple[str, ...]) -> list[str]:
    """One subscribe request for every configured symbol's topic."""
    args = [TOPIC_PREFIX + symbol for symbol in symbols]
    return [json.dumps({"req_id": "liqmap-subscribe", "op": "subscribe", "args": args})]


def ping_message() -> str:
    return json.dumps({"req_id": "liqmap-ping", "op": "ping"})


def is_subscribe_ack(message: dict[str, Any]) -> bool:
    """True for a successful subscribe reply; raises SubscriptionRejected for a refusal."""
    if message.get("op") != "subscribe":
        return False
    if not message.get("success"):
        raise SubscriptionRejected(f"bybit refused the subscription: {message.get('ret_msg')!r}")
    return True


def parse_message(
    message: dict[str, Any], recv_ms: int, symbols: frozenset[str]
) -> list[ReceivedEvent]:
    """The liquidations in one push (control replies such as pong yield none)."""
    topic = message.get("topic")
    if not isinstance(topic, str) or not topic.startswith(TOPIC_PREFIX):
        return []
    data = require(message, "data", f"bybit {topic} push")
    if not isinstance(data, list):
        raise PayloadError(f"bybit {topic} push: 'data' must be an array, got {type(data)}")
    events = []
    for item in data:
        symbol = require(item, "s", f"bybit {topic} item")
        if symbol not in symbols:
            continue
        record = {"recv_ms": recv_ms, "push_ts": message.get("ts"), "event": item}
        events.append(ReceivedEvent(canonical_key(item), symbol, encode_line(record)))
    return events


def stored_key(record: dict[str, Any]) -> int:
    """The dedupe key of a stored line (same as parse_message gives on receipt)."""
    return canonical_key(record["event"])


def normalise(record: dict[str, Any], where: str) -> Liquidation:
    """A stored line's event as a Liquidation (Buy = long liquidated)."""
    item = require(record, "event", where)
    side = require(item, "S", where)
    if side not in SIDES:
        raise PayloadError(f"{where}: S={side!r}, expected 'Buy' or 'Sell'")
    ts = require(item, "T", where)
    if not isinstance(ts, int):
        raise PayloadError(f"{where}: T={ts!r} must be integer milliseconds")
    return Liquidation(
        symbol=require(item, "s", where),
        ts_ms=ts,
        side=SIDES[side],  # type: ignore[arg-type]
        price=positive_float(require(item, "p", where), "p", where),
        quantity=positive_float(require(item, "v", where), "v", where),
    )
