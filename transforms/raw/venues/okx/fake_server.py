"""A local HTTP server speaking OKX v5 public endpoints, for tests and the offline demo.

Serves `OkxMarket` arrays the way OKX does (research/okx-hyperliquid.md §1): every answer is
`{"code": "0", "msg": "", "data": [...]}` with every value a string; candles and open interest
are arrays, newest first, paged backwards with `after` (open interest: `end`) = rows older than
the value; the bar still open is sent with confirm "0"; only the latest 1,440 open-interest
entries and three months of funding are kept (relative to the server's clock); limits are
capped per endpoint. Bad parameters answer code 51000 (an unknown instrument 51001) inside
HTTP 200, as OKX does. Faults (HTTP statuses such as 429, codes such as 50011, truncated
bodies, missing fields, delays) can be queued per endpoint; every request is counted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from transforms.raw.rest.fake_server import FakeRestServer, Fault
from transforms.raw.venues.okx.datasets import inst_family, inst_id
from transforms.raw.venues.okx.market import OkxMarket

__all__ = ["FakeOkxServer", "Fault"]

CANDLES, MARK = "/api/v5/market/history-candles", "/api/v5/market/history-mark-price-candles"
OI = "/api/v5/rubik/stat/contracts/open-interest-history"
FUNDING, TIERS = "/api/v5/public/funding-rate-history", "/api/v5/public/position-tiers"
INSTRUMENTS, MARK_PRICE = "/api/v5/public/instruments", "/api/v5/public/mark-price"
#: (max limit, default limit) per endpoint
LIMITS = {CANDLES: (300, 100), MARK: (100, 100), OI: (100, 100), FUNDING: (400, 400)}
OI_KEPT = 1440
FUNDING_KEPT_MS = 92 * 86_400_000


class _ParamError(Exception):
    def __init__(self, code: str, msg: str):
        super().__init__(msg)
        self.code = code


def num(value: float) -> str:
    """A number as OKX writes it: plain decimal string, trailing zeros trimmed."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def body(data: list[Any], code: str = "0", msg: str = "") -> bytes:
    return json.dumps({"code": code, "msg": msg, "data": data}, separators=(",", ":")).encode()


class FakeOkxServer(FakeRestServer):
    """Threaded server on 127.0.0.1; `url` is its base URL (use as LIQMAP_OKX_URL)."""

    def __init__(
        self,
        markets: Iterable[OkxMarket],
        *,
        now_ms: Callable[[], int] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.markets = {inst_id(m.symbol): m for m in markets}
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        super().__init__(host=host, port=port)

    def __enter__(self) -> FakeOkxServer:
        return self.start()  # type: ignore[return-value]

    def add_market(self, market: OkxMarket) -> None:
        self.markets[inst_id(market.symbol)] = market

    def error_body(self, code: int, msg: str) -> bytes:
        return body([], str(code), msg)

    def drop_field(self, doc: Any, name: str) -> Any:
        items = doc["data"]
        if items:
            if isinstance(items[0], dict):
                items[0].pop(name, None)
            else:
                items[0].pop()
        return doc

    # -- endpoints ---------------------------------------------------------------------------
    def _market(self, params: dict[str, str]) -> OkxMarket:
        inst = params.get("instId", "")
        if not inst:
            raise _ParamError("51000", "Parameter instId error")
        if inst not in self.markets:
            raise _ParamError("51001", "Instrument ID does not exist")
        return self.markets[inst]

    @staticmethod
    def _int(params: dict[str, str], name: str) -> int | None:
        if name not in params:
            return None
        if not params[name].isdigit():
            raise _ParamError("51000", f"Parameter {name} error")
        return int(params[name])

    def _limit(self, path: str, params: dict[str, str]) -> int:
        top, default = LIMITS[path]
        limit = self._int(params, "limit") or default
        return min(max(limit, 1), top)

    def _older(self, arr: np.ndarray, params: dict[str, str], older: str, newer: str) -> np.ndarray:
        """Rows older than `older`, newer than `newer`, at or before now: newest first."""
        mask = arr[:, 0] <= self.now_ms()
        hi, lo = self._int(params, older), self._int(params, newer)
        if hi is not None:
            mask &= arr[:, 0] < hi
        if lo is not None:
            mask &= arr[:, 0] > lo
        return arr[mask][::-1]

    def _candles(self, path: str, params: dict[str, str]) -> list[list[str]]:
        m = self._market(params)
        if params.get("bar", "1m") != "1m":
            raise _ParamError("51000", "Parameter bar error (this server holds 1m bars)")
        arr = m.mark_klines if path == MARK else m.klines
        rows = self._older(arr, params, "after", "before")[: self._limit(path, params)]
        open_minute = self.now_ms() // 60_000 * 60_000
        out = []
        for r in rows:
            confirm = "0" if int(r[0]) >= open_minute else "1"
            prices = [num(x) for x in r[1:5]]
            if path == MARK:
                out.append([str(int(r[0])), *prices, confirm])
            else:
                contracts = num(r[5] / m.contract_value)
                out.append([str(int(r[0])), *prices, contracts, num(r[5]), num(r[6]), confirm])
        return out

    def _open_interest(self, params: dict[str, str]) -> list[list[str]]:
        m = self._market(params)
        if params.get("period") != "5m":
            raise _ParamError("51000", "Parameter period error (this server holds 5m)")
        kept = m.open_interest[m.open_interest[:, 0] <= self.now_ms()][-OI_KEPT:]
        rows = self._older(kept, params, "end", "begin")[: self._limit(OI, params)]
        return [[str(int(r[0])), num(r[1] / m.contract_value), num(r[1]), num(r[2])] for r in rows]

    def _funding(self, params: dict[str, str]) -> list[dict[str, str]]:
        m = self._market(params)
        kept = m.funding[m.funding[:, 0] >= self.now_ms() - FUNDING_KEPT_MS]
        rows = self._older(kept, params, "after", "before")[: self._limit(FUNDING, params)]
        return [
            {
                "instId": inst_id(m.symbol),
                "instType": "SWAP",
                "fundingRate": num(r[1]),
                "realizedRate": num(r[1]),
                "fundingTime": str(int(r[0])),
                "formulaType": "withRate",
                "method": "current_period",
            }
            for r in rows
        ]

    def _tiers(self, params: dict[str, str]) -> list[dict[str, str]]:
        if params.get("instType") != "SWAP" or params.get("tdMode") not in ("isolated", "cross"):
            raise _ParamError("51000", "Parameter instType or tdMode error")
        family = params.get("instFamily", "")
        for m in self.markets.values():
            if inst_family(m.symbol) == family:
                return [dict(t) for t in m.tiers]
        raise _ParamError("51001", "Instrument ID does not exist")

    def _instruments(self, params: dict[str, str]) -> list[dict[str, str]]:
        m = self._market(params)
        return [
            {
                "instId": inst_id(m.symbol),
                "instType": "SWAP",
                "ctVal": num(m.contract_value),
                "ctValCcy": m.symbol[:-4],
                "settleCcy": "USDT",
                "ctType": "linear",
                "state": "live",
            }
        ]

    def _mark_price(self, params: dict[str, str]) -> list[dict[str, str]]:
        m = self._market(params)
        past = m.mark_klines[m.mark_klines[:, 0] <= self.now_ms()]
        if not len(past):
            raise _ParamError("51001", "Instrument ID does not exist")
        return [
            {
                "instId": inst_id(m.symbol),
                "instType": "SWAP",
                "markPx": num(past[-1, 4]),
                "ts": str(int(past[-1, 0]) + 59_999),
            }
        ]

    def respond(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        routes: dict[str, Callable[[dict[str, str]], list[Any]]] = {
            CANDLES: lambda p: self._candles(CANDLES, p),
            MARK: lambda p: self._candles(MARK, p),
            OI: self._open_interest,
            FUNDING: self._funding,
            TIERS: self._tiers,
            INSTRUMENTS: self._instruments,
            MARK_PRICE: self._mark_price,
        }
        if method != "GET" or path not in routes:
            return 404, body([], "404", "Not Found")
        try:
            return 200, body(routes[path](params))
        except _ParamError as exc:
            return 200, body([], exc.code, str(exc))
