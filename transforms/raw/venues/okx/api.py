"""Keyless OKX v5 REST client: rate limiting, `code` checks inside HTTP 200, `after` paging.

Every request goes through the shared request loop (transforms.raw.rest.retry) with an overall
per-request deadline: HTTP 429 and 5xx are retried with backoff in transforms.http; code 50011
(rate limit) inside an HTTP 200 is retried inside the same deadline; any other code != "0" is
an OkxApiError naming the endpoint.
OKX counts public limits per IP (some per IP + instrument): 10 requests / 2 s is the tightest
of the endpoints we use (open-interest history, funding history, position tiers), so the
client stays at that by default.
"""

from __future__ import annotations

from urllib.parse import urlencode

from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.retry import Envelope, RestClient, RetryRules
from transforms.raw.venues.okx.datasets import (
    DAY_MS,
    OkxDataset,
    decode_envelope,
    inst_family,
    inst_id,
    parse_page,
)
from transforms.raw.venues.okx.errors import OkxApiError, OkxError, OkxFormatError, RateLimited

DEFAULT_BASE_URL = "https://www.okx.com"
RATE_LIMIT_CODE = "50011"
MAX_PAGES = 1000  # a page that does not move backwards is an error, not an endless loop
MAX_PAGE_BYTES = 16 << 20
#: OKX's answers as the shared request loop reads them (transforms.raw.rest.retry)
RULES = RetryRules(
    error=OkxError,
    rate_limited=RateLimited,
    envelope=Envelope(
        code="code",
        message="msg",
        decode=decode_envelope,
        ok="0",
        rate_limit=frozenset({RATE_LIMIT_CODE}),
        api_error=OkxApiError,
        cast=str,
    ),
)


class OkxClient(RestClient):
    """GET pages of the public v5 endpoints."""

    rules = RULES
    max_bytes = MAX_PAGE_BYTES
    default_base_url = DEFAULT_BASE_URL
    default_rate = (10, 2.0)

    def get(self, ds: OkxDataset | str, params: dict[str, str]) -> Page:
        """One successful page (code "0"); 50011 is retried inside the request's deadline."""
        path = ds if isinstance(ds, str) else ds.path
        where = f"{path}?{urlencode(sorted(params.items()))}"
        return self.request(f"{self.base_url}{where}", params, where=where, name=path)

    def day_pages(self, ds: OkxDataset, symbol: str, day_start_ms: int) -> list[Page]:
        """Every page holding the rows of [day_start, day_start + 1 day): OKX serves rows
        newest first and pages backwards by `after` (or `end`) = the oldest timestamp of the
        previous page, starting from the day's end."""
        if ds.paging not in ("after", "end"):
            raise ValueError(f"{ds.name} has no daily history (paging {ds.paging!r})")
        base = {ds.inst_param: inst_id(symbol), **ds.fixed_params, "limit": str(ds.page_limit)}
        cursor = day_start_ms + DAY_MS
        pages: list[Page] = []
        while True:
            page = self.get(ds, {**base, ds.paging: str(cursor)})
            pages.append(page)
            rows = parse_page(ds, page.body, f"{ds.path} page {len(pages)}")
            if not rows:
                return pages
            oldest = min(r[0] for r in rows)
            if oldest <= day_start_ms:
                return pages
            if oldest >= cursor or len(pages) >= MAX_PAGES:
                raise OkxFormatError(f"{ds.path}: page before {cursor} did not move backwards")
            cursor = oldest

    def snapshot_page(self, ds: OkxDataset, symbol: str) -> Page:
        """The current tiers of `symbol`'s instrument family (one page)."""
        return self.get(ds, {ds.inst_param: inst_family(symbol), **ds.fixed_params})

    def mark_price_page(self, symbol: str) -> Page:
        """The swap's current mark price (`markPx`), which values the tier bounds."""
        return self.get(
            "/api/v5/public/mark-price", {"instType": "SWAP", "instId": inst_id(symbol)}
        )

    def contract_value(self, symbol: str) -> tuple[float, Page]:
        """`ctVal` of the swap (coins per contract: 0.01 for BTC-USDT-SWAP) and its page."""
        page = self.get(
            "/api/v5/public/instruments", {"instType": "SWAP", "instId": inst_id(symbol)}
        )
        where = f"/api/v5/public/instruments {inst_id(symbol)}"
        data = decode_envelope(page.body, where)["data"]
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            raise OkxFormatError(f"{where}: expected one instrument, got {str(data)[:80]}")
        value = data[0].get("ctVal")
        try:
            ct_val = float(value)
        except (TypeError, ValueError):
            raise OkxFormatError(f"{where}: ctVal {value!r} is not a number") from None
        if not ct_val > 0:
            raise OkxFormatError(f"{where}: ctVal {value!r} must be > 0")
        return ct_val, page
