"""A local WebSocket server speaking Bybit's or Binance's liquidation stream format.

Each connection is driven by a per-connection "script": the messages to send, whether to
abort the TCP connection afterwards (a drop mid-burst), and an optional pause between sends.
The server also behaves like the venue towards the client: Bybit's subscribe requests are
acknowledged and `{"op":"ping"}` answered with a pong; everything the client sends is kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tests.conftest import REPO_ROOT

BASE_MS = 1_764_500_000_000  # event times in the fixtures: 2025-11-30


def bybit_item(i: int, symbol: str = "BTCUSDT", side: str = "Buy") -> dict[str, Any]:
    """One allLiquidation entry: T, s, S, v, p (bankruptcy price), unique per i."""
    return {"T": BASE_MS + i, "s": symbol, "S": side, "v": f"{0.001 * (i + 1):.3f}", "p": "91000.5"}


def bybit_push(items: list[dict[str, Any]], symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {
        "topic": f"allLiquidation.{symbol}",
        "type": "snapshot",
        "ts": BASE_MS + 10_000,
        "data": items,
    }


def binance_message(i: int, symbol: str = "BTCUSDT", side: str = "SELL") -> dict[str, Any]:
    """One !forceOrder@arr message with its `o` object, unique per i."""
    qty = f"{0.001 * (i + 1):.3f}"
    return {
        "e": "forceOrder",
        "E": BASE_MS + i + 5,
        "o": {
            "s": symbol,
            "S": side,
            "o": "LIMIT",
            "f": "IOC",
            "q": qty,
            "p": "90500.0",
            "ap": "90612.3",
            "X": "FILLED",
            "l": qty,
            "z": qty,
            "T": BASE_MS + i,
        },
    }


@dataclass
class Script:
    """What the server does on one connection."""

    messages: list[dict[str, Any] | str]
    abort_after: bool = False  # drop the TCP connection once sent (no close frame)
    interval: float = 0.0
    hold_open: bool = True  # keep the connection open after sending (until the client leaves)


@dataclass
class FakeVenue:
    """Serve one venue's stream on 127.0.0.1; `scripts[n]` drives the n-th connection."""

    venue: str
    scripts: list[Script] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    sent: int = 0
    url: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    reject_subscription: bool = False  # answer like Bybit does for an unknown topic

    async def __aenter__(self) -> FakeVenue:
        path = "/v5/public/linear" if self.venue == "bybit" else "/ws/!forceOrder@arr"
        self._server = await serve(self._handle, "127.0.0.1", 0, ping_interval=None)
        port = self._server.sockets[0].getsockname()[1]  # type: ignore[index]
        self.url = f"ws://127.0.0.1:{port}{path}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def pings(self) -> int:
        return sum(1 for m in self.received if m.get("op") == "ping")

    async def _handle(self, ws: ServerConnection) -> None:
        index = self.connections
        self.connections += 1
        script = self.scripts[index] if index < len(self.scripts) else Script([])
        subscribed = asyncio.Event()
        if self.venue == "binance":
            subscribed.set()
        reader = asyncio.create_task(self._answer(ws, subscribed))
        try:
            waiters = {
                asyncio.ensure_future(subscribed.wait()),
                asyncio.ensure_future(ws.wait_closed()),
            }
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            if not subscribed.is_set():
                return  # the client left (or was refused) before subscribing
            for message in script.messages:
                await ws.send(message if isinstance(message, str) else json.dumps(message))
                self.sent += 1
                if script.interval:
                    await asyncio.sleep(script.interval)
            if index == len(self.scripts) - 1:
                self.done.set()
            if script.abort_after:
                ws.transport.abort()
                return
            if script.hold_open:
                await ws.wait_closed()
        finally:
            reader.cancel()

    async def _answer(self, ws: ServerConnection, subscribed: asyncio.Event) -> None:
        async for text in ws:
            message = json.loads(text)
            self.received.append(message)
            if message.get("op") == "subscribe" and self.reject_subscription:
                topic = message["args"][0]
                refusal = {"success": False, "ret_msg": f"error:handler not found,topic:{topic}"}
                await ws.send(json.dumps({**refusal, "conn_id": "c1", "op": "subscribe"}))
            elif message.get("op") == "subscribe":
                ack = {"success": True, "ret_msg": "", "conn_id": "c1", "op": "subscribe"}
                await ws.send(json.dumps({**ack, "req_id": message.get("req_id")}))
                subscribed.set()
            elif message.get("op") == "ping":
                pong = {"success": True, "ret_msg": "pong", "conn_id": "c1", "op": "ping"}
                await ws.send(json.dumps(pong))


def stored_lines(venue_dir: Path, include_open: bool = False) -> list[dict[str, Any]]:
    """Every event line in a venue's hourly files (closed, and optionally `.open`)."""
    patterns = ["*/[0-2][0-9]*.jsonl"] + (["*/*.jsonl.open"] if include_open else [])
    lines = []
    for pattern in patterns:
        for path in sorted(venue_dir.glob(pattern)):
            lines += [json.loads(x) for x in path.read_text().splitlines()]
    return lines


def event_ids(venue: str, lines: list[dict[str, Any]]) -> list[int]:
    """The fixture index i of each stored event (its T minus BASE_MS)."""
    if venue == "bybit":
        return [line["event"]["T"] - BASE_MS for line in lines]
    return [line["event"]["o"]["T"] - BASE_MS for line in lines]


async def wait_until(predicate, what: str, limit: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


def collector_env(data_dir: Path, urls: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        LIQMAP_DATA_DIR=str(data_dir),
        LIQMAP_SYMBOLS="BTCUSDT",
        LIQMAP_COLLECT_VENUES=",".join(urls),
        LIQMAP_COLLECT_BACKOFF_SECONDS="0.05",
        LIQMAP_COLLECT_FSYNC_SECONDS="0.2",
        LIQMAP_COLLECT_COVERAGE_SECONDS="0.5",
        PYTHONPATH=str(REPO_ROOT),
    )
    for venue, url in urls.items():
        env[f"LIQMAP_{venue.upper()}_WS_URL"] = url
    env.update(extra)
    return env


async def start_collector(env: dict[str, str]) -> asyncio.subprocess.Process:
    """`liqmap collect` as a real subprocess (the CLI entry point)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orchestration.cli",
        "collect",
        env=env,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_collector(proc: asyncio.subprocess.Process, signum: int = signal.SIGTERM) -> str:
    proc.send_signal(signum)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    return err.decode()
