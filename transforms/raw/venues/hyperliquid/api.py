"""Keyless Hyperliquid client: POST /info bodies, its weight budget, 429 and 5xx retries.

Hyperliquid answers /info with bare JSON and signals errors by HTTP status only: 429 over the
rate limit, 422 for a body it cannot deserialize (research/okx-hyperliquid.md §2.7). The
shared request loop (transforms.raw.rest.retry) sends each POST within the request's overall
deadline (connect, every read, every retry); 429, 5xx and connection errors are retried with
backoff (or the server's Retry-After) inside it; 429 past it is RateLimited, another 4xx a
HyperliquidApiError naming the request. The budget is 1,200 weight per minute per IP:
`meta`, `metaAndAssetCtxs`, `candleSnapshot` and `fundingHistory` weigh 20, plus 1 per 60
candles or 20 funding rows returned; the client reserves each request's weight before
sending it.
"""

from __future__ import annotations

import json
from typing import Any

from transforms.http import HttpStatusError
from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.retry import RestClient, RetryRules
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


def _refused(exc: HttpStatusError, where: str) -> HyperliquidApiError | None:
    """Any 4xx but 429: /info refused the request itself (422: a body it cannot read); a
    server error is the venue's (None: the base error)."""
    if exc.status >= 500:
        return None
    snippet = exc.body[:200].decode("utf-8", errors="replace")
    return HyperliquidApiError(f"{where}: HTTP {exc.status}: {snippet!r}")


#: Hyperliquid's answers as the shared request loop reads them (transforms.raw.rest.retry):
#: bare JSON, errors by HTTP status only, 429 its rate limit
RULES = RetryRules(
    error=HyperliquidError,
    rate_limited=RateLimited,
    rate_limit_statuses=frozenset({429}),
    on_status=_refused,
    too_large=HyperliquidFormatError,
)


def request_weight(body: dict[str, Any]) -> int:
    """Weight reserved for one request: 20, plus the per-item extra of a full answer."""
    if body.get("type") == "candleSnapshot":
        return BASE_WEIGHT + CANDLES_KEPT // 60
    if body.get("type") == "fundingHistory":
        return BASE_WEIGHT + FUNDING_PAGE // 20
    return BASE_WEIGHT


class HyperliquidClient(RestClient):
    """POST /info requests; each successful answer is a Page (its body fields and bytes)."""

    rules = RULES
    max_bytes = MAX_BODY_BYTES
    default_base_url = DEFAULT_BASE_URL
    default_rate = (WEIGHT_PER_MINUTE, 60.0)

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, backoff_s: float = 0.5, **common: Any):
        """`backoff_s`: the first wait after a 429, 5xx or transport error; `common`: the
        RestClient settings (client, request_deadline_s, limiter, sleep)."""
        super().__init__(
            base_url, rate_limit_backoff_s=backoff_s, http_backoff_s=backoff_s, **common
        )
        self.url = self.base_url + "/info"

    def info(self, body: dict[str, Any]) -> Page:
        """One successful /info answer (see module doc for what is retried)."""
        weight = request_weight(body)

        def before_attempt() -> None:
            for _ in range(weight):
                self.limiter.acquire()
            self.requests += 1

        where = f"/info {body.get('type')}"
        return self.request(
            self.url,
            {k: json.dumps(v) for k, v in body.items()},
            where=where,
            name=where,
            post=json.dumps(body, separators=(",", ":")).encode(),
            before_attempt=before_attempt,
        )

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
