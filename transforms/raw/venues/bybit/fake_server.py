"""A local HTTP server speaking Bybit v5 market endpoints, for tests and the offline demo.

Serves `BybitMarket` arrays with Bybit's paging semantics: klines newest first, the newest
`limit` bars of [start, end] (limit capped at 1000); open interest newest first with an opaque
`nextPageCursor`; funding newest first, `startTime` alone rejected (page backwards by
`endTime`); risk-limit tiers of a symbol. Bad parameters answer retCode 10001 inside HTTP 200,
as Bybit does. Faults (HTTP statuses, retCodes, truncated bodies, missing fields, delays) can be
queued per endpoint; every request is counted.

Run standalone: `python -m transforms.raw.venues.bybit.fake_server --start 2026-10-01 --days 3`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from transforms.raw.venues.bybit import responses
from transforms.raw.venues.bybit.market import BybitMarket, generate_market

KLINE_MAX, OI_MAX, FUNDING_MAX = 1000, 200, 200
KLINE_DEFAULT, OI_DEFAULT, FUNDING_DEFAULT = 200, 50, 200
OI_INTERVALS = {"5min": 5, "15min": 15, "30min": 30, "1h": 60, "4h": 240, "1d": 1440}


@dataclass
class Fault:
    """Misbehaviour for `times` requests to `path` (None: any), after `after` normal ones.

    kind: `status` (HTTP `status` with `body`), `retcode` (200 with `ret_code`/`ret_msg`),
    `truncate` (the normal body cut in half), `drop_field` (first list item loses `field`),
    `delay` (sleep `delay_s`, then answer normally).
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


class _ParamError(Exception):
    pass


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise _ParamError(f"params error: {name} invalid") from None


def _window(arr: np.ndarray, lo: int | None, hi: int | None) -> np.ndarray:
    mask = np.ones(len(arr), dtype=bool)
    if lo is not None:
        mask &= arr[:, 0] >= lo
    if hi is not None:
        mask &= arr[:, 0] <= hi
    return arr[mask][::-1]  # newest first


_CURSOR = re.compile(r"^lastid=(\d+)&lasttime=(\d+)$")


def _encode_cursor(offset: int, last_ts_ms: int) -> str:
    """Bybit's shape, percent-encoded inside the JSON string: `lastid%3D..%26lasttime%3D..`."""
    return f"lastid%3D{offset}%26lasttime%3D{last_ts_ms // 1000}"


def _decode_cursor(cursor: str) -> int:
    """The cursor as the server sees it after one URL-decoding; a client that encodes the
    token a second time sends `lastid%3D...` here and is refused."""
    match = _CURSOR.match(cursor)
    if not match:
        raise _ParamError("params error: cursor invalid")
    return int(match.group(1))


class FakeBybitServer:
    """Threaded server on 127.0.0.1; `url` is its base URL (use as LIQMAP_BYBIT_URL)."""

    def __init__(self, markets: Iterable[BybitMarket], *, host: str = "127.0.0.1", port: int = 0):
        self.markets = {m.symbol: m for m in markets}
        self.requests = 0
        self.requests_by_path: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, dict[str, str]]] = []  # (path, query) of every request
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeBybitServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeBybitServer:
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

    # -- endpoints ---------------------------------------------------------------------------
    def _market(self, params: dict[str, str]) -> BybitMarket:
        if params.get("category") != "linear":
            raise _ParamError("Illegal category")
        symbol = params.get("symbol", "")
        if symbol not in self.markets:
            raise _ParamError("params error: symbol invalid")
        return self.markets[symbol]

    def _kline(self, params: dict[str, str], mark: bool) -> dict[str, Any]:
        m = self._market(params)
        if params.get("interval") != "1":
            raise _ParamError("params error: interval invalid (this server holds 1 min bars)")
        limit = min(max(_int(params, "limit", KLINE_DEFAULT) or 1, 1), KLINE_MAX)
        arr = m.mark_klines if mark else m.klines
        bars = _window(arr, _int(params, "start"), _int(params, "end"))[:limit]
        if mark:
            return responses.mark_kline_result(m.symbol, bars)
        return responses.kline_result(m.symbol, bars)

    def _open_interest(self, params: dict[str, str]) -> dict[str, Any]:
        m = self._market(params)
        step = OI_INTERVALS.get(params.get("intervalTime", ""))
        if step != 5:
            raise _ParamError("params error: intervalTime invalid (this server holds 5min)")
        limit = _int(params, "limit", OI_DEFAULT) or 0
        if not 1 <= limit <= OI_MAX:
            raise _ParamError("params error: limit must be in [1, 200]")
        points = _window(m.open_interest, _int(params, "startTime"), _int(params, "endTime"))
        offset = _decode_cursor(params["cursor"]) if params.get("cursor") else 0
        page = points[offset : offset + limit]
        more = offset + limit < len(points)
        cursor = _encode_cursor(offset + limit, int(page[-1, 0])) if more else ""
        return responses.open_interest_result(m.symbol, page, cursor)

    def _funding(self, params: dict[str, str]) -> dict[str, Any]:
        m = self._market(params)
        if "startTime" in params and "endTime" not in params:
            raise _ParamError("params error: endTime is required when startTime is set")
        limit = _int(params, "limit", FUNDING_DEFAULT) or 0
        if not 1 <= limit <= FUNDING_MAX:
            raise _ParamError("params error: limit must be in [1, 200]")
        points = _window(m.funding, _int(params, "startTime"), _int(params, "endTime"))[:limit]
        return responses.funding_result(m.symbol, points)

    def _risk_limit(self, params: dict[str, str]) -> dict[str, Any]:
        m = self._market(params)
        return responses.risk_limit_result(m.risk_tiers)

    def respond(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        """Status and body for one request (faults applied by the handler)."""
        routes = {
            "/v5/market/kline": lambda p: self._kline(p, mark=False),
            "/v5/market/mark-price-kline": lambda p: self._kline(p, mark=True),
            "/v5/market/open-interest": self._open_interest,
            "/v5/market/funding/history": self._funding,
            "/v5/market/risk-limit": self._risk_limit,
        }
        if path not in routes:
            return 404, b'{"retCode":404,"retMsg":"Not Found"}'
        try:
            return 200, responses.envelope(routes[path](params))
        except _ParamError as exc:
            return 200, responses.error_body(10001, str(exc))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add
            # ~40 ms to every keep-alive request (a year of demo days is ~20k requests).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests += 1
                    server.requests_by_path[parts.path] += 1
                    server.log.append((parts.path, params))
                fault = server._take_fault(parts.path)
                status, body = server.respond(parts.path, params)
                if fault is not None:
                    status, body = _apply(fault, status, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _apply(fault: Fault, status: int, body: bytes) -> tuple[int, bytes]:
    if fault.kind == "status":
        return fault.status, fault.body
    if fault.kind == "retcode":
        return 200, responses.error_body(fault.ret_code, fault.ret_msg)
    if fault.kind == "truncate":
        return status, body[: len(body) // 2]
    if fault.kind == "drop_field":
        doc = json.loads(body)
        items = doc["result"]["list"]
        if items:
            if isinstance(items[0], dict):
                items[0].pop(fault.field, None)
            else:
                items[0].pop()
        return status, json.dumps(doc, separators=(",", ":")).encode()
    if fault.kind == "delay":
        time.sleep(fault.delay_s)
        return status, body
    raise ValueError(f"unknown fault kind {fault.kind!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--symbols", default="BTCUSDT")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    markets = [
        generate_market(s.strip(), args.start, args.days, seed=args.seed + i)
        for i, s in enumerate(args.symbols.split(","))
    ]
    with FakeBybitServer(markets, port=args.port) as server:
        print(f"LIQMAP_BYBIT_URL={server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
