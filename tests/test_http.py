"""transforms.http against hostile real HTTP servers on 127.0.0.1 (drip, stall, loop, 5xx)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transforms.http import (
    DeadlineExceeded,
    HttpStatusError,
    NotFound,
    RedirectError,
    fetch_bytes,
    make_client,
    retry_after_seconds,
)

Handler = Callable[[BaseHTTPRequestHandler, int], None]


class _Server:
    """A threaded server whose behaviour is `handler(request, attempt_number)` per GET."""

    def __init__(self, handler: Handler):
        outer = self
        self.hits = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with outer._lock:
                    outer.hits += 1
                    n = outer.hits
                    outer.paths.append(self.path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self, n)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], _Server]]:
    servers: list[_Server] = []

    def start(handler: Handler) -> _Server:
        server = _Server(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _reply(req: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    req.send_response(status)
    req.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        req.send_header(name.replace("_", "-"), value)
    req.end_headers()
    req.wfile.write(body)


def test_drip_one_byte_every_2s_fails_at_the_deadline_naming_the_url(serve) -> None:
    def drip(req: BaseHTTPRequestHandler, n: int) -> None:
        req.send_response(200)
        req.send_header("Content-Length", "100")
        req.end_headers()
        for _ in range(100):
            req.wfile.write(b"x")
            req.wfile.flush()
            time.sleep(2.0)

    server = serve(drip)
    url = server.url + "/slow.zip"
    with make_client() as client:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            fetch_bytes(client, url, deadline_s=3.0, backoff_initial_s=0.05)
        elapsed = time.monotonic() - t0
    assert url in str(info.value)
    assert info.value.url == url
    # The per-read timeout alone (30 s) would never trip (the body takes 200 s): the deadline
    # did, not before 3 s, and long before the body could have been read (a busy machine only
    # adds to the lower figure, so the bound is half the body's time, not a speed target).
    assert 2.5 <= elapsed < 100.0, elapsed


STALL_S = 30.0  # a request that stalls this long: the 2 s budget must end long before


def test_stall_on_every_try_fails_at_the_budget(serve) -> None:
    def stall(req: BaseHTTPRequestHandler, n: int) -> None:
        time.sleep(STALL_S)  # never answers within the budget

    server = serve(stall)
    url = server.url + "/stall"
    with make_client(op_timeout_s=0.5) as client:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            fetch_bytes(client, url, deadline_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.1)
        elapsed = time.monotonic() - t0
    assert url in str(info.value) and "timeout" in str(info.value)
    assert server.hits >= 2  # retried inside the budget ...
    assert elapsed < STALL_S, elapsed  # ... and stopped before even one stall ended


def test_redirect_loop_names_url_and_target(serve) -> None:
    def loop(req: BaseHTTPRequestHandler, n: int) -> None:
        nxt = "/b" if req.path.startswith("/a") else "/a"
        _reply(req, 302, Location=nxt)

    server = serve(loop)
    with make_client() as client, pytest.raises(RedirectError) as info:
        fetch_bytes(client, server.url + "/a", deadline_s=5.0)
    message = str(info.value)
    assert f"{server.url}/a" in message and f"{server.url}/b" in message
    assert "loop" in message


def test_redirect_chain_longer_than_limit_names_last_hop(serve) -> None:
    def chain(req: BaseHTTPRequestHandler, n: int) -> None:
        step = int(req.path.strip("/") or 0)
        _reply(req, 301, Location=f"/{step + 1}")

    server = serve(chain)
    with make_client() as client, pytest.raises(RedirectError) as info:
        fetch_bytes(client, server.url + "/0", deadline_s=5.0, max_redirects=3)
    message = str(info.value)
    assert f"{server.url}/0" in message and "more than 3 redirects" in message
    assert f"{server.url}/3 -> {server.url}/4" in message


def test_redirect_then_200_is_followed(serve) -> None:
    def once(req: BaseHTTPRequestHandler, n: int) -> None:
        if req.path == "/old":
            _reply(req, 307, Location="/new")
        else:
            _reply(req, 200, b"moved body")

    server = serve(once)
    with make_client() as client:
        assert fetch_bytes(client, server.url + "/old", deadline_s=5.0) == b"moved body"
    assert server.paths == ["/old", "/new"]


def test_503_then_200_succeeds(serve) -> None:
    def flaky(req: BaseHTTPRequestHandler, n: int) -> None:
        if n == 1:
            _reply(req, 503, b"busy", Retry_After="0")
        else:
            _reply(req, 200, b"payload")

    server = serve(flaky)
    with make_client() as client:
        body = fetch_bytes(client, server.url + "/f", params={"q": "1"}, deadline_s=5.0)
    assert body == b"payload"
    assert server.hits == 2
    assert server.paths == ["/f?q=1", "/f?q=1"]


def test_retry_after_beyond_budget_gives_up_at_once(serve) -> None:
    def throttled(req: BaseHTTPRequestHandler, n: int) -> None:
        _reply(req, 429, b"slow down", Retry_After="120")

    server = serve(throttled)
    with make_client() as client:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            fetch_bytes(client, server.url + "/t", deadline_s=10.0)
    # gave up at once: waiting 120 s cannot fit in 10 s (one request, and no 120 s wait)
    assert time.monotonic() - t0 < 60.0
    assert "HTTP 429" in str(info.value) and server.url + "/t" in str(info.value)
    assert server.hits == 1


def test_404_is_a_distinct_not_found_error(serve) -> None:
    server = serve(lambda req, n: _reply(req, 404, b"nope"))
    url = server.url + "/missing.zip"
    with make_client() as client, pytest.raises(NotFound) as info:
        fetch_bytes(client, url, deadline_s=5.0)
    assert url in str(info.value)
    assert server.hits == 1  # not retried


def test_other_4xx_is_not_retried_and_keeps_status_and_body(serve) -> None:
    server = serve(lambda req, n: _reply(req, 403, b"access too frequent"))
    with make_client() as client, pytest.raises(HttpStatusError) as info:
        fetch_bytes(client, server.url + "/x", deadline_s=5.0)
    assert info.value.status == 403 and info.value.body == b"access too frequent"
    assert server.url + "/x" in str(info.value)
    assert server.hits == 1


def test_connection_refused_fails_within_budget_naming_url() -> None:
    import socket

    # a port bound but not listening while the test runs: refused, and no other test's server
    # can take it meanwhile (as it could a port closed again)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/x"
        with make_client() as client, pytest.raises(DeadlineExceeded) as info:
            fetch_bytes(client, url, deadline_s=0.5, backoff_initial_s=0.05)
    assert url in str(info.value)


def test_retry_after_parses_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Mon, 30 Nov 2026 10:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- the archive source uses it --------------------------------------------------------------


def test_archive_download_that_drips_fails_at_its_deadline_naming_the_url(serve, tmp_path) -> None:
    from transforms.raw.errors import SourceError
    from transforms.raw.venues.binance.source import BinanceSource

    def drip(req: BaseHTTPRequestHandler, n: int) -> None:
        req.send_response(200)
        req.send_header("Content-Length", "100")
        req.end_headers()
        for _ in range(100):  # the whole body would take 100 s and then succeed
            req.wfile.write(b"x")
            req.wfile.flush()
            time.sleep(1.0)

    server = serve(drip)
    source = BinanceSource(server.url + "/", tmp_path / "cache", file_deadline_s=2.0)
    with pytest.raises(SourceError) as info:
        source.fetch("klines_1m", "BTCUSDT", "2025-11-03")
    source.close()
    relpath = "daily/klines/BTCUSDT/1m/BTCUSDT-1m-2025-11-03.zip"
    assert f"{server.url}/{relpath}.CHECKSUM" in str(info.value)
    assert "deadline" in str(info.value)
    assert not list((tmp_path / "cache").rglob("*.zip"))


def test_archive_redirect_loop_names_url_and_target(serve, tmp_path) -> None:
    from transforms.raw.errors import SourceError
    from transforms.raw.venues.binance.source import BinanceSource

    def loop(req: BaseHTTPRequestHandler, n: int) -> None:
        _reply(req, 302, Location=req.path + "x" if n % 2 else req.path[:-1])

    server = serve(loop)
    source = BinanceSource(server.url + "/", tmp_path / "cache")
    with pytest.raises(SourceError) as info:
        source.fetch("klines_1m", "BTCUSDT", "2025-11-03")
    source.close()
    message = str(info.value)
    assert "redirect" in message and server.url in message and "->" in message
