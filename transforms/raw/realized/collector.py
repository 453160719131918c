"""`liqmap collect`: receive realized liquidations from every venue until SIGTERM/SIGINT.

One asyncio task per venue connects with the `websockets` client, subscribes, answers the
venue's heartbeat rule, and writes each new event once (see dedupe) to the hourly files. A
dropped connection is retried with exponential backoff; the time without a stream is left out
of the coverage marks and logged as a gap. Before a connection ages out (Binance ends them
after 24 h) a replacement is opened and only then the old one closed, so planned reconnects
leave no gap. A stop signal closes the sockets, fsyncs and
renames the running hour's files and writes the last coverage marks, so nothing is left
half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from transforms.raw.realized.connection import NotLive, StreamConnection
from transforms.raw.realized.coverage import CoverageLog
from transforms.raw.realized.dedupe import RedeliveryFilter
from transforms.raw.realized.events import PayloadError, ReceivedEvent
from transforms.raw.realized.hourly_files import (
    HourlyWriter,
    day_of,
    hour_files,
    now_ms,
    tail_lines,
)
from transforms.raw.realized.settings import VENUES, CollectorConfig
from transforms.raw.venues.bybit.stream import SubscriptionRejected

log = logging.getLogger("liqmap.collect")
REJECTED_FILE = "rejected.jsonl"
STATUS_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0


@dataclass
class VenueStats:
    """Counters reported on stop (and by the benchmark)."""

    connections: int = 0
    events_written: int = 0
    redeliveries_dropped: int = 0
    rejected_messages: int = 0


class CollectorLocked(RuntimeError):
    """Another collector already writes this venue's folder."""


class VenueCollector:
    """Runs one venue's stream until `stop` is set."""

    def __init__(self, venue: str, config: CollectorConfig, stop: asyncio.Event) -> None:
        self.venue, self.config, self.stop = venue, config, stop
        self.stream: ModuleType = VENUES[venue]
        self.venue_dir = config.venue_dir(venue)
        self.writer = HourlyWriter(self.venue_dir)
        self.coverage = CoverageLog(self.venue_dir)
        self.dedupe = RedeliveryFilter()
        self.symbols = frozenset(config.symbols)
        self.stats = VenueStats()
        self._mark_from: int | None = None
        self._covering: StreamConnection | None = None  # the connection coverage rests on
        self._gap_from: int | None = None
        self._gap_reason = "collector was not running"
        self._conn_ids = 0

    async def run(self) -> VenueStats:
        self.venue_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self._gap_from = self.coverage.last_covered_ms()
            self.writer.start()
            self._seed_dedupe()
            housekeeping = asyncio.create_task(self._housekeeping())
            try:
                await self._until_stopped(asyncio.create_task(self._connect_loop()))
            finally:
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
                self._end_coverage(now_ms())
                self.writer.close()
                self.stats.events_written = self.writer.events_written
                log.info("%s: stopped; %s", self.venue, self.stats)
        return self.stats

    async def _until_stopped(self, streaming: asyncio.Task[None]) -> None:
        """Wait for the stream loop; after a stop signal give it STOP_GRACE_SECONDS to close
        its socket politely, then cancel it (e.g. when stuck in a handshake)."""
        stopped = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({streaming, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not streaming.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(streaming, STOP_GRACE_SECONDS)
            if not streaming.cancelled():
                streaming.result()  # re-raise a failure of the stream loop
        finally:
            stopped.cancel()
            streaming.cancel()

    @contextlib.contextmanager
    def _lock(self):  # type: ignore[no-untyped-def]
        handle = (self.venue_dir / ".collector.lock").open("w")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise CollectorLocked(
                    f"{self.venue_dir}: another `liqmap collect` is already writing here"
                ) from exc
            yield
        finally:
            handle.close()

    def _seed_dedupe(self) -> None:
        """Keys at the end of the newest files on disk count as an earlier connection.

        After a restart the venue may redeliver what the previous process already wrote.
        """
        now = now_ms()
        recent = [p for h in (now - 3_600_000, now) for p in hour_files(self.venue_dir, day_of(h))]
        paths = recent[-1:] + ([self.writer.path] if self.writer.path else [])
        keys = []
        for path in paths:
            for line in tail_lines(path)[0]:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    keys.append(self.stream.stored_key(json.loads(line)))
        self.dedupe.seed(keys, now)

    async def _connect_loop(self) -> None:
        """Keep one live connection: reconnect with backoff, replace it before it ages out."""
        delay = self.config.backoff_seconds
        current: StreamConnection | None = None
        rotate_at = 0.0
        try:
            while not self.stop.is_set():
                if current is None:
                    current = await self._open_connection()
                    if current is None:
                        await self._sleep_unless_stopped(delay)
                        delay = min(delay * 2, self.config.backoff_max_seconds)
                        continue
                    delay = self.config.backoff_seconds
                    self._begin_coverage(current)
                    rotate_at = asyncio.get_running_loop().time() + self.config.rotate_seconds
                outcome = await self._watch(current, rotate_at)
                if outcome == "dropped":
                    # the drop's own time: on a busy machine this loop may notice it late
                    self._end_coverage(current.ended_ms or now_ms(), current.reason)
                    log.warning("%s: disconnected (%s); reconnecting", self.venue, current.reason)
                    current = None
                    await self._sleep_unless_stopped(delay)
                elif outcome == "rotate":
                    # make before break: the new stream is live before the old one closes, so
                    # coverage has no hole; the overlap's duplicates are dropped by dedupe
                    fresh = await self._open_connection()
                    if fresh is None:
                        rotate_at += self.config.backoff_max_seconds
                        continue
                    self._covering = fresh
                    await current.close()
                    log.info(
                        "%s: connection %d replaced by %d",
                        self.venue,
                        current.conn_id,
                        fresh.conn_id,
                    )
                    current = fresh
                    self.stats.connections += 1
                    rotate_at = asyncio.get_running_loop().time() + self.config.rotate_seconds
        finally:
            if current is not None:
                await current.close()

    async def _open_connection(self) -> StreamConnection | None:
        """A live connection, or None (reason logged and kept for the gap record)."""
        self._conn_ids += 1
        conn = StreamConnection(
            self.stream,
            self.stream.stream_url(self.config.url(self.venue), self.config.symbols),
            self.config.symbols,
            self._conn_ids,
            self._handle,
            self._reject,
            self.config.bybit_ping_seconds,
            self.config.open_timeout_seconds,
        )
        try:
            await conn.open()
        except InvalidURI:
            raise
        except (OSError, TimeoutError, InvalidHandshake, WebSocketException, NotLive) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        except SubscriptionRejected as exc:
            reason = str(exc)
        else:
            return conn
        log.warning("%s: cannot open the stream (%s)", self.venue, reason)
        return None

    async def _watch(self, conn: StreamConnection, rotate_at: float) -> str:
        """Wait until the connection drops, is due for replacement, or a stop is asked."""
        assert conn.reader is not None
        stopped = asyncio.ensure_future(self.stop.wait())
        due = asyncio.ensure_future(asyncio.sleep(rotate_at - asyncio.get_running_loop().time()))
        try:
            await asyncio.wait({conn.reader, stopped, due}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            due.cancel()
        if conn.reader.done():
            return "dropped"
        return "stop" if self.stop.is_set() else "rotate"

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    def _begin_coverage(self, conn: StreamConnection) -> None:
        """Coverage starts when the venue confirmed the stream, which may be before `open()`
        returned to this loop (and before messages that already arrived)."""
        start = conn.live_ms if conn.live_ms is not None else now_ms()
        self._covering = conn
        if self._gap_from is not None:
            self.coverage.gap(self._gap_from, start, self._gap_reason)
            self._gap_from = None
        self.stats.connections += 1
        self._mark_from = start
        log.info("%s: receiving %s", self.venue, ",".join(self.config.symbols))

    def _end_coverage(self, at_ms: int, reason: str = "collector stopped") -> None:
        self._covering = None
        if self._mark_from is not None:
            self.coverage.mark(self._mark_from, at_ms)
            self._mark_from = None
            self._gap_from, self._gap_reason = at_ms, reason
        elif self._gap_from is None:
            self._gap_from, self._gap_reason = at_ms, reason

    def _handle(self, message: dict[str, Any], recv: int, conn_id: int) -> None:
        """Write the message's new events (for this venue's symbols) to the hour file."""
        try:
            events = self.stream.parse_message(message, recv, self.symbols)
        except PayloadError as exc:
            self._reject(json.dumps(message), recv, exc)
            return
        events = [e for e in events if self._valid(e, recv)]
        lines = [e.line for e in events if self.dedupe.accept(e.key, recv, conn_id)]
        self.stats.redeliveries_dropped += len(events) - len(lines)
        if lines:
            self.writer.append(lines, recv)

    def _valid(self, event: ReceivedEvent, recv: int) -> bool:
        """The loader's rules (the stream's `normalise`) on one received event: an event the
        loader would skip goes to the rejected file instead of the hour file."""
        try:
            self.stream.normalise(json.loads(event.line), f"{self.venue} {event.symbol} event")
        except (ValueError, KeyError, TypeError) as exc:
            self._reject(event.line.rstrip(b"\n"), recv, exc)
            return False
        return True

    def _reject(self, text: str | bytes, recv: int, exc: Exception) -> None:
        """Keep a message that breaks the venue's format, and say why (nothing is lost)."""
        self.stats.rejected_messages += 1
        raw = text.decode(errors="replace") if isinstance(text, bytes) else text
        path = self.venue_dir / day_of(recv).isoformat() / REJECTED_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(json.dumps({"recv_ms": recv, "error": str(exc), "raw": raw}) + "\n")
        log.error(
            "%s: message does not match the venue format (%s); kept in %s", self.venue, exc, path
        )

    async def _housekeeping(self) -> None:
        """fsync, close finished hours, write coverage marks and a status line, on timers."""
        tick = min(self.config.fsync_seconds, self.config.coverage_seconds, 1.0)
        last_mark = last_status = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(tick)
            self.writer.sync()
            self.writer.roll_if_due()
            clock = asyncio.get_running_loop().time()
            if clock - last_mark >= self.config.coverage_seconds and self._covered_now():
                now = now_ms()
                self.coverage.mark(self._mark_from, now)
                self._mark_from, last_mark = now, clock
            if clock - last_status >= STATUS_SECONDS:
                last_status = clock
                self.stats.events_written = self.writer.events_written
                log.info("%s: %s", self.venue, self.stats)

    def _covered_now(self) -> bool:
        """A periodic mark may run to now only while the connection is still open: once the
        socket has dropped, the drop's own time ends coverage (see _end_coverage)."""
        conn = self._covering
        return self._mark_from is not None and conn is not None and conn.ended_ms is None


async def collect(
    config: CollectorConfig,
    stop: asyncio.Event | None = None,
    samplers: Sequence[Callable[[asyncio.Event], Awaitable[None]]] = (),
) -> dict[str, VenueStats]:
    """Run every configured venue until `stop` is set or SIGTERM/SIGINT arrives, and beside
    them the venues' forward samplers (transforms.raw.packages.samplers), stopped alike."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    collectors = [VenueCollector(venue, config, stop) for venue in config.venues]

    async def guarded(collector: VenueCollector) -> VenueStats:
        try:
            return await collector.run()
        except BaseException:
            stop.set()  # one venue failing stops the others cleanly too
            raise

    async def sampling(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        try:
            await run(stop)
        except BaseException:
            stop.set()
            raise

    try:
        results, *_ = await asyncio.gather(
            asyncio.gather(*(guarded(c) for c in collectors)), *(sampling(r) for r in samplers)
        )
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return {c.venue: stats for c, stats in zip(collectors, results, strict=True)}


def run_collector(
    config: CollectorConfig, samplers: Sequence[Callable[[asyncio.Event], Awaitable[None]]] = ()
) -> dict[str, VenueStats]:
    """Blocking entry point for the CLI."""
    log.info(
        "collecting %s for %s into %s",
        ",".join(config.venues),
        ",".join(config.symbols),
        config.root,
    )
    return asyncio.run(collect(config, samplers=samplers))
