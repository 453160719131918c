"""A fake Hyperliquid on 127.0.0.1 speaking the public /info API as documented.

POST /info with a JSON body: `meta`, `metaAndAssetCtxs`, `candleSnapshot` (1m; only the latest
5,000 candles before the server's clock, oldest first, `{t, T, s, i, o, c, h, l, v, n}` with
numbers as strings and `n` an integer), `fundingHistory` (at most 500 rows an answer, oldest
first, `time` with ms jitter). Answers are bare JSON; a body that is not a JSON object is
HTTP 422 (the base), an unknown `type` or coin, or a bad field, is HTTP 422 too.
The server's clock (`now_ms`) decides what exists: no candle or context after it. Faults come
from transforms.raw.rest.fake_server (429, 5xx, truncated bodies, missing fields, delays).
Facts: research/okx-hyperliquid.md §2.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from transforms.raw.rest.fake_server import FakeRestServer, Fault
from transforms.raw.venues.hyperliquid.datasets import CANDLES_KEPT, FUNDING_PAGE, MINUTE_MS, coin
from transforms.raw.venues.hyperliquid.market import HyperliquidMarket

__all__ = ["Fault", "FakeHyperliquidServer", "num"]


def num(value: float) -> str:
    """A number as Hyperliquid writes it: a decimal string."""
    text = f"{value:.8f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text in ("-0.0", "") else text


def _json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class _Unprocessable(Exception):
    pass


class FakeHyperliquidServer(FakeRestServer):
    """Threaded server on 127.0.0.1; `url` is its base URL (use as LIQMAP_HYPERLIQUID_URL)."""

    def __init__(
        self,
        markets: Iterable[HyperliquidMarket],
        *,
        now_ms: Callable[[], int] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.markets = {coin(m.symbol): m for m in markets}
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        super().__init__(host=host, port=port)

    def __enter__(self) -> FakeHyperliquidServer:
        return self.start()  # type: ignore[return-value]

    def add_market(self, market: HyperliquidMarket) -> None:
        self.markets[coin(market.symbol)] = market

    def error_body(self, code: int, msg: str) -> bytes:
        """/info has no error envelope; the one shape Hyperliquid uses (for `exchange`)."""
        return _json({"status": "err", "response": f"{code} {msg}"})

    def drop_field(self, doc: Any, name: str) -> Any:
        items = (
            doc[1] if isinstance(doc, list) and len(doc) == 2 and isinstance(doc[0], dict) else doc
        )
        if isinstance(items, dict):
            items = items.get("universe", [])
        if items and isinstance(items[0], dict):
            items[0].pop(name, None)
        return doc

    # -- answers -----------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        universe, tables = [], {}
        for name, m in self.markets.items():
            universe.append(
                {"name": name, "szDecimals": 5, "maxLeverage": m.tiers[0][1],
                 "marginTableId": m.table_id, "onlyIsolated": False}
            )  # fmt: skip
            tiers = [{"lowerBound": num(lb), "maxLeverage": lev} for lb, lev in m.tiers]
            tables[m.table_id] = [m.table_id, {"description": f"tiered {m.tiers[0][1]}x",
                                               "marginTiers": tiers}]  # fmt: skip
        return {"universe": universe, "marginTables": list(tables.values())}

    def _contexts(self) -> list[Any]:
        now = self.now_ms()
        meta, ctxs = self._meta(), []
        for m in self.markets.values():
            past = m.minute_ctx[m.minute_ctx[:, 0] <= now]
            if not len(past):
                raise _Unprocessable("no context before the server clock")
            _, oi, mark = past[-1]
            ctxs.append(
                {"funding": "0.0000125", "openInterest": num(oi), "prevDayPx": num(mark),
                 "dayNtlVlm": "0.0", "premium": "0.0001", "oraclePx": num(mark * 0.9999),
                 "markPx": num(mark), "midPx": num(mark), "impactPxs": [num(mark), num(mark)],
                 "dayBaseVlm": "0.0"}
            )  # fmt: skip
        return [meta, ctxs]

    def _market(self, name: Any) -> HyperliquidMarket:
        if name not in self.markets:
            raise _Unprocessable(f"unknown coin {name!r}")
        return self.markets[name]

    @staticmethod
    def _time(doc: dict[str, Any], name: str, default: int | None = None) -> int:
        value = doc.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Unprocessable(f"{name} must be an integer")
        return value

    def _candles(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        req = doc.get("req")
        if not isinstance(req, dict) or req.get("interval") != "1m":
            raise _Unprocessable("req with interval 1m expected")
        m = self._market(req.get("coin"))
        now = self.now_ms()
        start, end = self._time(req, "startTime"), self._time(req, "endTime", now)
        open_minute = now - now % MINUTE_MS
        k = m.klines
        kept = k[(k[:, 0] <= now) & (k[:, 0] > open_minute - CANDLES_KEPT * MINUTE_MS)]
        rows = kept[(kept[:, 0] >= start) & (kept[:, 0] <= end)][:CANDLES_KEPT]
        name = coin(m.symbol)
        return [
            {"t": int(r[0]), "T": int(r[0]) + MINUTE_MS - 1, "s": name, "i": "1m",
             "o": num(r[1]), "c": num(r[4]), "h": num(r[2]), "l": num(r[3]),
             "v": num(r[5]), "n": int(r[6])}
            for r in rows
        ]  # fmt: skip

    def _funding(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        m = self._market(doc.get("coin"))
        now = self.now_ms()
        start, end = self._time(doc, "startTime"), self._time(doc, "endTime", now)
        f = m.funding
        rows = f[(f[:, 0] <= now) & (f[:, 0] >= start) & (f[:, 0] <= end)][:FUNDING_PAGE]
        name = coin(m.symbol)
        return [
            {"coin": name, "fundingRate": num(r[1]), "premium": "0.0001", "time": int(r[0])}
            for r in rows
        ]

    def respond(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        if method != "POST" or path != "/info":
            return 404, b"Not Found"
        kind = params.get("type")
        try:
            if kind == "meta":
                return 200, _json(self._meta())
            if kind == "metaAndAssetCtxs":
                return 200, _json(self._contexts())
            if kind == "candleSnapshot":
                return 200, _json(self._candles(params))
            if kind == "fundingHistory":
                return 200, _json(self._funding(params))
        except _Unprocessable as exc:
            return 422, f"Failed to deserialize the JSON body: {exc}".encode()
        return 422, b"Failed to deserialize the JSON body into the target type"
