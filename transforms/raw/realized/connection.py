"""One WebSocket connection to a venue: connect, subscribe, heartbeat, hand messages on.

`open()` returns only once the stream is live (Bybit: the subscribe reply arrived; Binance: the
handshake is done), so the collector can open a replacement before closing the old one.
The connection keeps its own clock readings, `live_ms` and `ended_ms`, taken where they happen
(not when the collector gets round to looking), so coverage marks are exact on a busy machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from transforms.raw.realized.hourly_files import now_ms

log = logging.getLogger("liqmap.collect")
MAX_MESSAGE_BYTES = 1 << 22

OnMessage = Callable[[dict[str, Any], int, int], None]  # message, receive ms, connection id
OnReject = Callable[[str | bytes, int, Exception], None]


class NotLive(RuntimeError):
    """The connection closed or stayed silent before the venue confirmed the subscription."""


class StreamConnection:
    """A live subscription; `reader` finishes when the socket closes, `reason` says why."""

    def __init__(
        self,
        stream: ModuleType,
        url: str,
        symbols: tuple[str, ...],
        conn_id: int,
        on_message: OnMessage,
        on_reject: OnReject,
        ping_seconds: float,
        open_timeout: float,
    ) -> None:
        self.stream, self.url, self.symbols, self.conn_id = stream, url, symbols, conn_id
        self.on_message, self.on_reject = on_message, on_reject
        self.ping_seconds, self.open_timeout = ping_seconds, open_timeout
        self.live = asyncio.Event()
        self.live_ms: int | None = None  # when the venue confirmed the stream
        self.ended_ms: int | None = None  # when the socket was found closed
        self._last_recv_ms: int | None = None
        self.reader: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._pinger: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Connect, subscribe and wait for the venue's confirmation (raises on failure)."""
        self._ws = await connect(
            self.url, open_timeout=self.open_timeout, max_size=MAX_MESSAGE_BYTES
        )
        subscribe = self.stream.subscribe_messages(self.symbols)
        for message in subscribe:
            await self._ws.send(message)
        if not subscribe:
            self._went_live(now_ms())
        self.reader = asyncio.create_task(self._read(self._ws))
        self._pinger = asyncio.create_task(self._ping(self._ws))
        confirmed = asyncio.ensure_future(self.live.wait())
        try:
            await asyncio.wait(
                {confirmed, self.reader},
                timeout=self.open_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            confirmed.cancel()
        if not self.live.is_set():
            reason = self.reason if self.reader.done() else "subscription not confirmed in time"
            await self.close()
            raise NotLive(reason)

    @property
    def reason(self) -> str:
        """Why the connection ended: the error, or the close code the venue sent."""
        if self.reader is not None and self.reader.done() and not self.reader.cancelled():
            exc = self.reader.exception()
            if exc is not None:
                return f"{type(exc).__name__}: {exc}"
        ws = self._ws
        code = ws.close_code if ws is not None else None
        return f"closed by the venue (code {code}, {ws.close_reason if ws else ''!r})"

    async def close(self) -> None:
        """Close politely and wait for the reader to drain what was already received."""
        if self._pinger is not None:
            self._pinger.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                recv = now_ms()
                try:
                    message = json.loads(text)
                    if not isinstance(message, dict):
                        raise ValueError(f"expected a JSON object, got {type(message).__name__}")
                except ValueError as exc:
                    self.on_reject(text, recv, exc)
                    continue
                if self.stream.is_subscribe_ack(message):  # raises SubscriptionRejected
                    self._went_live(recv)
                    continue
                self._last_recv_ms = recv
                self.on_message(message, recv, self.conn_id)
        finally:
            # A message received in millisecond T proves T was covered: [.., T + 1).
            ended = now_ms()
            if self._last_recv_ms is not None:
                ended = max(ended, self._last_recv_ms + 1)
            self.ended_ms = ended
            if self._pinger is not None:
                self._pinger.cancel()

    def _went_live(self, at_ms: int) -> None:
        self.live_ms = at_ms
        self.live.set()

    async def _ping(self, ws: ClientConnection) -> None:
        """The venue's application heartbeat (Bybit: {"op":"ping"} every 20 s)."""
        message = self.stream.ping_message()
        if message is None:
            return
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.ping_seconds)
                await ws.send(message)
