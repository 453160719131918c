"""A local HTTP server speaking Binance USDⓈ-M REST market endpoints, for tests and the offline
demo: the synthetic market's day in progress in Binance's exact format.

Serves a simulated market (transforms.raw.synthetic.market.Market, the very simulation
the synthetic archive is written from) up to the server's clock `now()`: `/fapi/v1/klines` and
`/fapi/v1/markPriceKlines` (12-element arrays, prices as strings, ascending, `limit` <= 1500),
`/futures/data/openInterestHist` and `/futures/data/takerlongshortRatio` (objects, limit <=
500, HTTP 400 code -1130 for a start older than 30 days), `/fapi/v1/fundingRate`,
`/fapi/v1/premiumIndex` and `/fapi/v1/time`. Every answer carries `X-MBX-USED-WEIGHT-1M`.
Built on the shared fake REST server (transforms.raw.rest.fake_server): its faults (HTTP
statuses with headers, truncated bodies, missing fields, delays) plus `ban` (418 with Binance's
"banned until" message); `skew_ms` sets the server's clock off ours.

Run standalone: `python -m transforms.raw.venues.binance.fake_rest --start 2026-10-01 --days 3`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from transforms.raw.rest.fake_server import FakeRestServer
from transforms.raw.rest.fake_server import Fault as BaseFault
from transforms.raw.synthetic.market import Market, simulation

MS_MINUTE = 60_000
MS_5M = 5 * MS_MINUTE
MS_DAY = 86_400_000
KLINE_MAX, STATS_MAX = 1500, 500
WEIGHT = {"/fapi/v1/klines": 10, "/fapi/v1/markPriceKlines": 10, "/fapi/v1/premiumIndex": 1}


@dataclass
class Fault(BaseFault):
    """The shared faults, plus kind `ban`: HTTP 418 with Binance's "IP banned until <ms>"
    message, `ban_s` after the server's clock, and a Retry-After header."""

    ban_s: float = 300.0


class _BadRequest(Exception):
    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code


def _int(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return int(params[name])
    except ValueError:
        raise _BadRequest(-1100, f"Illegal characters found in parameter '{name}'") from None


def _num(x: float) -> str:
    return repr(float(x))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FakeBinanceRest(FakeRestServer):
    """Threaded server on 127.0.0.1; `url` is its base (use as LIQMAP_BINANCE_FAPI_URL).
    `skew_ms`: how far the server's clock (and every timestamp it serves) is ahead of ours."""

    def __init__(
        self,
        markets: dict[str, Market],
        *,
        now: Callable[[], datetime] = _utcnow,
        host: str = "127.0.0.1",
        port: int = 0,
        skew_ms: int = 0,
    ):
        super().__init__(host=host, port=port)
        self.url += "/"
        self.markets = dict(markets)
        self.now = now
        self.skew_ms = skew_ms
        self.weight_used = 0
        self._weight_minute = -1

    # -- endpoints ---------------------------------------------------------------------------
    def _now_ms(self, skew_ms: int) -> int:
        return int(self.now().timestamp() * 1000) + skew_ms

    def _market(self, params: dict[str, str]) -> Market:
        symbol = params.get("symbol", "")
        if symbol not in self.markets:
            raise _BadRequest(-1121, "Invalid symbol.")
        return self.markets[symbol]

    @staticmethod
    def _select(times: np.ndarray, lo: int | None, hi: int | None, limit: int) -> np.ndarray:
        """Indices of `times` in [lo, hi]: the first `limit` from lo, else the last `limit`."""
        mask = np.ones(len(times), dtype=bool)
        if lo is not None:
            mask &= times >= lo
        if hi is not None:
            mask &= times <= hi
        idx = np.nonzero(mask)[0]
        return idx[:limit] if lo is not None else idx[-limit:]

    def _klines(self, params: dict[str, str], mark: bool, now_ms: int, skew: int) -> Any:
        m = self._market(params)
        if params.get("interval") != "1m":
            raise _BadRequest(-1120, "Invalid interval (this server holds 1m bars).")
        limit = _int(params, "limit") or 500
        if not 1 <= limit <= KLINE_MAX:
            raise _BadRequest(-1130, "Data sent for parameter 'limit' is not valid.")
        times = np.asarray(m.minute_open_ms, dtype=np.int64)
        hi = min(_int(params, "endTime") or now_ms, now_ms - skew)
        idx = self._select(times, _int(params, "startTime"), hi, limit)
        rows = []
        for i in idx:
            t = int(times[i])
            if mark:
                o, h, lo, c = m.mark_open[i], m.mark_high[i], m.mark_low[i], m.mark_close[i]
                rows.append(
                    [t + skew, _num(o), _num(h), _num(lo), _num(c), "0", t + skew + MS_MINUTE - 1]
                    + ["0", 60, "0", "0", "0"]
                )
            else:
                rows.append(
                    [
                        t + skew,
                        _num(m.open[i]),
                        _num(m.high[i]),
                        _num(m.low[i]),
                        _num(m.close[i]),
                        _num(m.volume[i]),
                        t + skew + MS_MINUTE - 1,
                        _num(m.quote_volume[i]),
                        int(m.count[i]),
                        _num(m.taker_buy_volume[i]),
                        _num(m.taker_buy_quote_volume[i]),
                        "0",
                    ]
                )
        return rows

    def _stats(self, params: dict[str, str], kind: str, now_ms: int, skew: int) -> Any:
        m = self._market(params)
        if params.get("period") != "5m":
            raise _BadRequest(-1120, "Invalid period (this server holds 5m).")
        limit = _int(params, "limit") or 30
        if not 1 <= limit <= STATS_MAX:
            raise _BadRequest(-1130, "Data sent for parameter 'limit' is not valid.")
        lo = _int(params, "startTime")
        if lo is not None and lo < now_ms - 30 * MS_DAY:
            raise _BadRequest(-1130, "Data sent for parameter 'startTime' is not valid.")
        start_ms = int(m.minute_open_ms[0])
        times = start_ms + MS_5M * np.arange(len(m.oi_base), dtype=np.int64)
        hi = min(_int(params, "endTime") or now_ms, now_ms - skew)
        out = []
        for i in self._select(times, lo, hi, limit):
            t = int(times[i]) + skew
            if kind == "oi":
                out.append(
                    {
                        "symbol": params["symbol"],
                        "sumOpenInterest": _num(m.oi_base[i]),
                        "sumOpenInterestValue": _num(m.oi_value[i]),
                        "CMCCirculatingSupply": "0",
                        "timestamp": t,
                    }
                )
            else:
                r = float(m.taker_ratio[i])
                out.append(
                    {
                        "buySellRatio": _num(r),
                        "sellVol": "1.0",
                        "buyVol": _num(r),
                        "timestamp": t,
                    }
                )
        return out

    def _funding(self, params: dict[str, str], now_ms: int, skew: int) -> Any:
        m = self._market(params)
        limit = _int(params, "limit") or 100
        times = np.asarray(m.funding_ms, dtype=np.int64)
        hi = min(_int(params, "endTime") or now_ms, now_ms - skew)
        return [
            {
                "symbol": params["symbol"],
                "fundingTime": int(times[i]) + skew,
                "fundingRate": f"{float(m.funding_rate[i]):.8f}",
                "markPrice": _num(m.mark_close[min(len(m.mark_close) - 1, _minute(m, times[i]))]),
            }
            for i in self._select(times, _int(params, "startTime"), hi, min(limit, 1000))
        ]

    def _premium(self, params: dict[str, str], now_ms: int, skew: int) -> Any:
        m = self._market(params)
        i = max(0, min(len(m.close) - 1, _minute(m, now_ms - skew)))
        times = np.asarray(m.funding_ms, dtype=np.int64)
        nxt = int(np.searchsorted(times, now_ms - skew, side="right"))
        rate = float(m.funding_rate[min(nxt, len(times) - 1)])
        nxt_ms = int(times[nxt]) if nxt < len(times) else int(times[-1]) + 8 * 3_600_000
        return {
            "symbol": params["symbol"],
            "markPrice": _num(m.mark_close[i]),
            "indexPrice": _num(m.close[i]),
            "estimatedSettlePrice": _num(m.close[i]),
            "lastFundingRate": f"{rate:.8f}",
            "interestRate": "0.00010000",
            "nextFundingTime": nxt_ms + skew,
            "time": now_ms,
        }

    def respond(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        """Status and body for one request, stamped by the server's (possibly skewed) clock."""
        skew = self.skew_ms
        now_ms = self._now_ms(skew)
        routes: dict[str, Callable[[], Any]] = {
            "/fapi/v1/klines": lambda: self._klines(params, False, now_ms, skew),
            "/fapi/v1/markPriceKlines": lambda: self._klines(params, True, now_ms, skew),
            "/futures/data/openInterestHist": lambda: self._stats(params, "oi", now_ms, skew),
            "/futures/data/takerlongshortRatio": lambda: self._stats(params, "taker", now_ms, skew),
            "/fapi/v1/fundingRate": lambda: self._funding(params, now_ms, skew),
            "/fapi/v1/premiumIndex": lambda: self._premium(params, now_ms, skew),
            "/fapi/v1/time": lambda: {"serverTime": now_ms},
        }
        if method != "GET" or path not in routes:
            return 404, b"<html><body><h2>404 Not found</h2></body></html>"
        try:
            return 200, json.dumps(routes[path](), separators=(",", ":")).encode()
        except _BadRequest as exc:
            return 400, self.error_body(exc.code, str(exc))

    def error_body(self, code: int, msg: str) -> bytes:
        """Binance's error object (sent with HTTP 400, or 200 for a queued `retcode` fault)."""
        return json.dumps({"code": code, "msg": msg}).encode()

    def drop_field(self, doc: Any, name: str) -> Any:
        """Objects lose `name`; 12-element bar arrays lose their last element."""
        items = doc if isinstance(doc, list) else [doc]
        if items:
            if isinstance(items[0], dict):
                items[0].pop(name, None)
            else:
                items[0].pop()
        return doc

    def extra_headers(self, path: str) -> dict[str, str]:
        """X-MBX-USED-WEIGHT-1M: the weight this server counted in the current minute."""
        minute = int(self.now().timestamp() // 60)
        with self._lock:
            if minute != self._weight_minute:
                self._weight_minute, self.weight_used = minute, 0
            self.weight_used += WEIGHT.get(path, 1 if path.startswith("/fapi") else 0)
            return {"X-MBX-USED-WEIGHT-1M": str(self.weight_used)}

    def apply(self, fault: BaseFault, status: int, body: bytes) -> tuple[int, bytes]:
        if fault.kind != "ban":
            return super().apply(fault, status, body)
        ban_s = getattr(fault, "ban_s", 300.0)
        until = int(self.now().timestamp() * 1000 + ban_s * 1000)
        fault.headers.setdefault("Retry-After", str(int(ban_s)))
        msg = {
            "code": -1003,
            "msg": f"Way too much request weight used; IP banned until {until}. Please use "
            "WebSocket Streams for live updates to avoid bans.",
        }
        return 418, json.dumps(msg).encode()


def _minute(m: Market, ms: int) -> int:
    return int((int(ms) - int(m.minute_open_ms[0])) // MS_MINUTE)


def simulated_markets(
    symbols: Iterable[str], start: date, end: date, seed: int
) -> dict[str, Market]:
    """The synthetic archive's simulations (same start month, seed and symbols) through the
    month of `end`, so REST and the archive agree bar for bar."""
    from transforms.raw.synthetic.market import month_end_exclusive, month_start

    first = month_start(start)
    n_days = (month_end_exclusive(end) - first).days
    return {s: simulation(s, first, n_days, seed) for s in symbols}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--symbols", default="BTCUSDT")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    end = date.fromordinal(args.start.toordinal() + args.days - 1)
    markets = simulated_markets(args.symbols.split(","), args.start, end, args.seed)
    with FakeBinanceRest(markets, port=args.port) as server:
        print(f"LIQMAP_BINANCE_FAPI_URL={server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
