"""The base of every fake REST venue: a threaded HTTP server on 127.0.0.1 with queued faults.

A venue's fake server (transforms/raw/venues/<venue>/fake_server.py) subclasses
`FakeRestServer` and implements `respond` (its endpoints, in its exact wire format),
`error_body` (its error envelope inside an HTTP 200) and `drop_field` (a missing field in its
list shape). Faults are queued per path (`add_fault`); every request is counted and logged.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
import time
import weakref
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Misbehaviour for `times` requests to `path` (None: any), after `after` normal ones.

    kind: `status` (HTTP `status` with `body`), `retcode` (200 with the venue's error envelope
    carrying `ret_code`/`ret_msg`), `truncate` (the normal body cut in half), `drop_field`
    (first list item loses `field`, or its last element for arrays), `delay` (sleep `delay_s`,
    then answer normally).
    """

    kind: str
    path: str | None = None
    times: int = 1
    after: int = 0  # matching requests answered normally before the fault starts
    status: int = 503
    body: bytes = b""
    ret_code: int = 10006
    ret_msg: str = "Too many visits!"
    field: str = ""
    delay_s: float = 0.0
    #: extra response headers sent with the fault's answer (e.g. Retry-After with a 429)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


class FakeRestServer:
    """Threaded server on 127.0.0.1; `url` is its base URL."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0):
        self.requests = 0
        self.requests_by_path: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, dict[str, Any]]] = []  # (path, query or JSON body)
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    # -- what a venue implements ------------------------------------------------------------
    def respond(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        """Status and body for one request (GET: query parameters; POST: the JSON body)."""
        raise NotImplementedError

    def error_body(self, code: int, msg: str) -> bytes:
        """The venue's error envelope inside an HTTP 200."""
        raise NotImplementedError

    def drop_field(self, doc: Any, name: str) -> Any:
        """`doc` with `name` removed from its first list item (the venue's list shape)."""
        raise NotImplementedError

    def extra_headers(self, path: str) -> dict[str, str]:
        """Headers every answer to `path` carries (e.g. a venue's rate-limit counters)."""
        return {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeRestServer:
        """Serve from a background thread, once: a started server entered by `with` is not
        started again (a second serving loop outlives `shutdown()`, which stops one, and then
        spins on the closed socket at full CPU for the rest of the process)."""
        if self._thread is None:
            # `shutdown()` waits for the loop's next poll: half an interval on average, paid
            # at every ingest's end (a daily run's 4 Bybit ingests waited ~0.1 s at 0.05 s)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path in (None, path) and fault.times > 0:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def apply(self, fault: Fault, status: int, body: bytes) -> tuple[int, bytes]:
        if fault.kind == "status":
            return fault.status, fault.body
        if fault.kind == "retcode":
            return 200, self.error_body(fault.ret_code, fault.ret_msg)
        if fault.kind == "truncate":
            return status, body[: len(body) // 2]
        if fault.kind == "drop_field":
            doc = self.drop_field(json.loads(body), fault.field)
            return status, json.dumps(doc, separators=(",", ":")).encode()
        if fault.kind == "delay":
            time.sleep(fault.delay_s)
            return status, body
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _handle(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests += 1
            self.requests_by_path[path] += 1
            self.log.append((path, params))
        fault = self._take_fault(path)
        status, body = self.respond(method, path, params)
        headers = self.extra_headers(path)
        if fault is not None:
            status, body = self.apply(fault, status, body)
            headers = {**headers, **fault.headers}
        return status, body, headers

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        # A class is freed by the cycle collector only: the handler refers to this server
        # weakly, so a dropped server and what it served (a demo market's arrays, ~60 MB per
        # symbol-year) are freed with their last reference, not at a later pass (issue 19).
        server_ref = weakref.ref(self)

        def _server() -> FakeRestServer:
            server = server_ref()
            if server is None:
                raise ConnectionAbortedError("the fake server was dropped")
            return server

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add
            # ~40 ms to every keep-alive request (a year of demo days is ~20k requests).
            disable_nagle_algorithm = True

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                self._send(*_server()._handle("GET", parts.path, params))

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    doc = json.loads(raw)
                except ValueError:
                    doc = None
                if not isinstance(doc, dict):
                    body = b"Failed to deserialize the JSON body into the target type"
                    self._send(422, body)
                    return
                self._send(*_server()._handle("POST", parts.path, doc))

            def log_message(self, *args: object) -> None:
                pass

        return Handler
