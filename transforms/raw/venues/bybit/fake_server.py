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
import contextlib
import re
import threading
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np

from transforms.raw.rest.fake_server import FakeRestServer, Fault
from transforms.raw.venues.bybit import responses
from transforms.raw.venues.bybit.market import BybitMarket, generate_market

KLINE_MAX, OI_MAX, FUNDING_MAX = 1000, 200, 200
KLINE_DEFAULT, OI_DEFAULT, FUNDING_DEFAULT = 200, 50, 200
OI_INTERVALS = {"5min": 5, "15min": 15, "30min": 30, "1h": 60, "4h": 240, "1d": 1440}


class _ParamError(Exception):
    pass


def _int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise _ParamError(f"params error: {name} invalid") from None


def _window(arr: np.ndarray, lo: int | None, hi: int | None, ascending: bool = False) -> np.ndarray:
    """Rows with lo <= time <= hi, newest first. With `ascending` (the time column is sorted,
    as a market's is) two binary searches find them: a mask over a year of minutes cost ~1 ms
    per request."""
    times = arr[:, 0]
    if not ascending:
        mask = np.ones(len(arr), dtype=bool)
        if lo is not None:
            mask &= times >= lo
        if hi is not None:
            mask &= times <= hi
        return arr[mask][::-1]
    first = 0 if lo is None else int(np.searchsorted(times, lo, side="left"))
    end = len(times) if hi is None else int(np.searchsorted(times, hi, side="right"))
    return arr[first:end][::-1]  # newest first


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


class FakeBybitServer(FakeRestServer):
    """Threaded server on 127.0.0.1; `url` is its base URL (use as LIQMAP_BYBIT_URL)."""

    def __init__(self, markets: Iterable[BybitMarket], *, host: str = "127.0.0.1", port: int = 0):
        self.markets = {m.symbol: m for m in markets}
        #: id(array) -> (the array, its time column ascending), checked once per array
        self._order: dict[int, tuple[np.ndarray, bool]] = {}
        super().__init__(host=host, port=port)

    def __enter__(self) -> FakeBybitServer:
        return self.start()  # type: ignore[return-value]

    def clock_ms(self) -> int:
        """The envelope's `time`: where the served data ends (the close of the newest bar of
        any market), never the wall clock, so two identical demo builds are byte-identical."""
        ends = [int(m.klines[-1, 0]) + 60_000 for m in list(self.markets.values()) if len(m.klines)]
        return max(ends, default=0)

    def error_body(self, code: int, msg: str) -> bytes:
        return responses.error_body(code, msg, self.clock_ms())

    def drop_field(self, doc: Any, name: str) -> Any:
        items = doc["result"]["list"]
        if items:
            if isinstance(items[0], dict):
                items[0].pop(name, None)
            else:
                items[0].pop()
        return doc

    def _window(self, arr: np.ndarray, lo: int | None, hi: int | None) -> np.ndarray:
        known = self._order.get(id(arr))
        if known is None or known[0] is not arr:
            with self._lock:
                known = (arr, bool((np.diff(arr[:, 0]) >= 0).all()))
                self._order[id(arr)] = known
        return _window(arr, lo, hi, ascending=known[1])

    # -- endpoints ---------------------------------------------------------------------------
    def _market(self, params: dict[str, str]) -> BybitMarket:
        if params.get("category") != "linear":
            raise _ParamError("Illegal category")
        symbol = params.get("symbol", "")
        if symbol not in self.markets:
            raise _ParamError("params error: symbol invalid")
        return self.markets[symbol]

    def _kline(self, params: dict[str, str], mark: bool) -> bytes:
        m = self._market(params)
        if params.get("interval") != "1":
            raise _ParamError("params error: interval invalid (this server holds 1 min bars)")
        limit = min(max(_int(params, "limit", KLINE_DEFAULT) or 1, 1), KLINE_MAX)
        arr = m.mark_klines if mark else m.klines
        bars = self._window(arr, _int(params, "start"), _int(params, "end"))[:limit]
        if mark:
            return responses.mark_kline_body(m.symbol, bars, self.clock_ms())
        return responses.kline_body(m.symbol, bars, self.clock_ms())

    def _open_interest(self, params: dict[str, str]) -> bytes:
        m = self._market(params)
        step = OI_INTERVALS.get(params.get("intervalTime", ""))
        if step != 5:
            raise _ParamError("params error: intervalTime invalid (this server holds 5min)")
        limit = _int(params, "limit", OI_DEFAULT) or 0
        if not 1 <= limit <= OI_MAX:
            raise _ParamError("params error: limit must be in [1, 200]")
        points = self._window(m.open_interest, _int(params, "startTime"), _int(params, "endTime"))
        offset = _decode_cursor(params["cursor"]) if params.get("cursor") else 0
        page = points[offset : offset + limit]
        more = offset + limit < len(points)
        cursor = _encode_cursor(offset + limit, int(page[-1, 0])) if more else ""
        return responses.open_interest_body(m.symbol, page, cursor, self.clock_ms())

    def _funding(self, params: dict[str, str]) -> bytes:
        m = self._market(params)
        if "startTime" in params and "endTime" not in params:
            raise _ParamError("params error: endTime is required when startTime is set")
        limit = _int(params, "limit", FUNDING_DEFAULT) or 0
        if not 1 <= limit <= FUNDING_MAX:
            raise _ParamError("params error: limit must be in [1, 200]")
        points = self._window(m.funding, _int(params, "startTime"), _int(params, "endTime"))[:limit]
        return responses.funding_body(m.symbol, points, self.clock_ms())

    def _risk_limit(self, params: dict[str, str]) -> bytes:
        m = self._market(params)
        return responses.envelope(
            responses.risk_limit_result(m.risk_tiers), time_ms=self.clock_ms()
        )

    def respond(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        """Status and body for one request (faults applied by the base class); a page's body
        is written a column at a time (responses: the same bytes as the reference)."""
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
            return 200, routes[path](params)
        except _ParamError as exc:
            return 200, self.error_body(10001, str(exc))


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


__all__ = ["Fault", "FakeBybitServer"]
