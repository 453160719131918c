"""Helpers for the nowcast tests: a settable clock, a fake Binance REST server of the synthetic
market, and a warehouse connection factory."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from transforms.db import open_warehouse
from transforms.raw.venues.binance.fake_rest import FakeBinanceRest, simulated_markets

LOG = logging.getLogger("liqmap.tests.nowcast")


class Clock:
    """A clock the test moves by hand; `sleep` advances it instead of waiting."""

    def __init__(self, t: datetime):
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += timedelta(seconds=seconds)

    def at(self, day: date, hh: int, mm: int, ss: int = 0) -> Clock:
        self.t = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)
        return self


def fake_binance(
    symbols: tuple[str, ...], start: date, today: date, clock: Clock, seed: int = 7
) -> FakeBinanceRest:
    """A started fake Binance REST over the synthetic simulation the archive is built from."""
    return FakeBinanceRest(simulated_markets(symbols, start, today, seed), now=clock).start()


#: the sockets holding dead_url's ports, kept bound (never listening) while the worker lives
_DEAD_PORTS: list[socket.socket] = []


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: its port stays bound without listening, so a
    connection is refused (a port closed again could be taken meanwhile by another test's
    server on the other xdist worker, which would then answer)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _DEAD_PORTS.append(s)
    return f"http://127.0.0.1:{s.getsockname()[1]}/"


def connector(path: Path):
    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        conn = open_warehouse(str(path))
        try:
            yield conn
        finally:
            conn.close()

    return connect


class WebhookServer:
    """A real HTTP endpoint on 127.0.0.1 recording POSTed bodies; `mode` is `ok` (204),
    `fail` (HTTP 500) or `hang` (never answers within the test's deadlines)."""

    def __init__(self, mode: str = "ok"):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.mode = mode
        self.bodies: list[dict] = []
        self.hits = 0
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                server.hits += 1
                if server.mode == "hang":
                    server._release.wait(30)
                    return
                if server.mode == "fail":
                    self.send_response(500)
                    self.send_header("Content-Length", "5")
                    self.end_headers()
                    self.wfile.write(b"oops!")
                    return
                server.bodies.append(json.loads(raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> WebhookServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
