"""Keyless Hyperliquid client: POST /info bodies, its weight budget, 429 and 5xx retries.

Hyperliquid answers /info with bare JSON and signals errors by HTTP status only: 429 over the
rate limit, 422 for a body it cannot deserialize (research/okx-hyperliquid.md §2.7). 429, 5xx
and connection errors are retried with backoff (or the server's Retry-After) inside the
request's deadline; 429 past it is RateLimited, another 4xx a HyperliquidApiError naming the
request. The budget is 1,200 weight per minute per IP: `meta`, `metaAndAssetCtxs`,
`candleSnapshot` and `fundingHistory` weigh 20, plus 1 per 60 candles or 20 funding rows
returned; the client reserves each request's weight before sending it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from transforms.http import Deadline, make_client, retry_after_seconds
from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.venues.hyperliquid.datasets import (
    CANDLES_KEPT,
    FUNDING_PAGE,
    MINUTE_MS,
    array,
    decode,
    ms,
)
from transforms.raw.venues.hyperliquid.errors import (
    HyperliquidApiError,
    HyperliquidError,
    HyperliquidFormatError,
    RateLimited,
)

DEFAULT_BASE_URL = "https://api.hyperliquid.xyz"
WEIGHT_PER_MINUTE = 1200
BASE_WEIGHT = 20
MAX_PAGES = 100
MAX_BODY_BYTES = 16 << 20


def request_weight(body: dict[str, Any]) -> int:
    """Weight reserved for one request: 20, plus the per-item extra of a full answer."""
    if body.get("type") == "candleSnapshot":
        return BASE_WEIGHT + CANDLES_KEPT // 60
    if body.get("type") == "fundingHistory":
        return BASE_WEIGHT + FUNDING_PAGE // 20
    return BASE_WEIGHT


class HyperliquidClient:
    """POST /info requests; each successful answer is a Page (its body fields and bytes)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        client: httpx.Client | None = None,
        request_deadline_s: float = 30.0,
        limiter: SlidingWindowLimiter | None = None,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = base_url.rstrip("/") + "/info"
        self._http = client or make_client()
        self._owns_http = client is None
        self.request_deadline_s = request_deadline_s
        self.limiter = limiter or SlidingWindowLimiter(WEIGHT_PER_MINUTE, 60.0)
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.requests = 0  # HTTP requests sent, retries included

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def info(self, body: dict[str, Any]) -> Page:
        """One successful /info answer (see module doc for what is retried)."""
        where = f"/info {body.get('type')}"
        payload = json.dumps(body, separators=(",", ":")).encode()
        deadline = Deadline.after(self.request_deadline_s)
        attempt, last = 0, ""
        while True:
            for _ in range(request_weight(body)):
                self.limiter.acquire()
            attempt += 1
            self.requests += 1
            wait: float | None = None
            try:
                response = self._http.post(
                    self.url,
                    content=payload,
                    headers={"Content-Type": "application/json"},
                    timeout=max(deadline.remaining(), 0.001),
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 200:
                    if len(response.content) > MAX_BODY_BYTES:
                        raise HyperliquidFormatError(f"{where}: body over {MAX_BODY_BYTES} bytes")
                    return Page({k: json.dumps(v) for k, v in body.items()}, response.content)
                if status != 429 and status < 500:
                    snippet = response.content[:200].decode("utf-8", errors="replace")
                    raise HyperliquidApiError(f"{where}: HTTP {status}: {snippet!r}")
                last = f"HTTP {status}"
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = self.backoff_s * 2 ** (attempt - 1)
            if wait >= deadline.remaining():
                message = (
                    f"{where}: {last} persisted for {attempt} attempts until the "
                    f"{self.request_deadline_s:g}s deadline"
                )
                raise (RateLimited if last == "HTTP 429" else HyperliquidError)(message)
            self._sleep(wait)

    def candle_pages(self, coin: str, start_ms: int, end_ms: int) -> list[Page]:
        """Every 1m candle answer for [start_ms, end_ms): a full answer (5,000 candles) is
        followed by one from its last `t` + 1 minute."""
        pages: list[Page] = []
        cursor = start_ms
        while cursor < end_ms:
            req = {"coin": coin, "interval": "1m", "startTime": cursor, "endTime": end_ms - 1}
            page = self.info({"type": "candleSnapshot", "req": req})
            pages.append(page)
            items = array(decode(page.body, f"/info candleSnapshot {coin}"), "candleSnapshot")
            if len(items) < CANDLES_KEPT:
                return pages
            last = ms(items[-1].get("t") if isinstance(items[-1], dict) else None, "candle t")
            if last + MINUTE_MS <= cursor or len(pages) >= MAX_PAGES:
                raise HyperliquidFormatError(f"/info candleSnapshot {coin}: paging did not move")
            cursor = last + MINUTE_MS
        return pages

    def funding_pages(self, coin: str, start_ms: int, end_ms: int) -> list[Page]:
        """Every fundingHistory answer for [start_ms, end_ms): a full answer (500 rows) is
        followed by one from its last `time` + 1 ms (HLD "Pagination")."""
        pages: list[Page] = []
        cursor = start_ms
        while cursor < end_ms:
            page = self.info(
                {"type": "fundingHistory", "coin": coin, "startTime": cursor, "endTime": end_ms - 1}
            )
            pages.append(page)
            items = array(decode(page.body, f"/info fundingHistory {coin}"), "fundingHistory")
            if len(items) < FUNDING_PAGE:
                return pages
            last = ms(items[-1].get("time") if isinstance(items[-1], dict) else None, "time")
            if last + 1 <= cursor or len(pages) >= MAX_PAGES:
                raise HyperliquidFormatError(f"/info fundingHistory {coin}: paging did not move")
            cursor = last + 1
        return pages

    def meta(self) -> Page:
        return self.info({"type": "meta"})

    def asset_contexts(self) -> Page:
        return self.info({"type": "metaAndAssetCtxs"})
