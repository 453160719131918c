"""Keyless Bybit v5 REST client: rate limiting, ban handling, retCode checks, paging.

Every request goes through the shared request loop (transforms.raw.rest.retry) with an overall
per-request deadline that also covers retries of retCode 10006 (rate limit). Bybit allows 600
requests per 5 s per IP; we stay at 500 by default. A `403 access too frequent` means an IP
ban of at least 10 minutes, so the client (its ban rule, `_banned`) raises Banned and refuses
to send anything for `ban_backoff_s` afterwards instead of hammering the server.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from transforms.http import HttpStatusError
from transforms.raw.rest.retry import Envelope, RestClient, RetryRules
from transforms.raw.venues.bybit.datasets import (
    CATEGORY,
    DAY_MS,
    BybitDataset,
    Page,
    decode_envelope,
    page_items,
    parse_page,
)
from transforms.raw.venues.bybit.errors import (
    Banned,
    BybitApiError,
    BybitError,
    BybitFormatError,
    RateLimited,
)
from transforms.venue_ban import VenueBan

DEFAULT_BASE_URL = "https://api.bybit.com"
RATE_LIMIT_RET_CODE = 10006
MAX_PAGES = 1000  # a runaway cursor is an error, not an endless loop
MAX_PAGE_BYTES = 16 << 20  # a 1000-bar kline page is ~80 kB
#: Bybit's answers as the shared request loop reads them (transforms.raw.rest.retry)
ENVELOPE = Envelope(
    code="retCode",
    message="retMsg",
    decode=decode_envelope,
    ok=0,
    rate_limit=frozenset({RATE_LIMIT_RET_CODE}),
    api_error=BybitApiError,
)


_QUERY_VALUE = re.compile(r"^[A-Za-z0-9%._~+/-]*$")


def query_string(params: dict[str, str], path: str) -> str:
    """`k=v&...` sorted, values sent verbatim as Bybit's own SDK (pybit) does: a
    `nextPageCursor` arrives already percent-encoded (`lastid%3D...%26lasttime%3D...`) and must
    go back unchanged, not encoded a second time. Values outside URL-safe characters are
    refused rather than sent."""
    for key, value in params.items():
        if not _QUERY_VALUE.fullmatch(str(value)):
            raise BybitFormatError(f"{path}: unsafe query value {key}={str(value)[:60]!r}")
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))


class BybitClient(RestClient):
    """GET pages of the public v5 market endpoints."""

    max_bytes = MAX_PAGE_BYTES
    default_base_url = DEFAULT_BASE_URL
    default_rate = (500, 5.0)

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        ban_backoff_s: float = 900.0,
        page_limits: dict[str, int] | None = None,
        ban: VenueBan | None = None,
        **common: Any,
    ):
        """`common`: the RestClient settings (client, request_deadline_s, limiter, backoffs,
        sleep)."""
        super().__init__(base_url, **common)
        self.ban = ban  # shared with other clients and runs (transforms.venue_ban)
        self.ban_backoff_s = ban_backoff_s
        self.page_limits = dict(page_limits or {})
        self._banned_until = 0.0
        self.rules = RetryRules(
            error=BybitError, rate_limited=RateLimited, envelope=ENVELOPE, on_status=self._banned
        )

    def page_limit(self, ds: BybitDataset) -> int:
        return self.page_limits.get(ds.name, ds.page_limit)

    # -- one request ---------------------------------------------------------------------------
    def _before_attempt(self) -> None:
        self._check_ban()
        super()._before_attempt()

    def _check_ban(self) -> None:
        left = self._banned_until - time.monotonic()
        if self.ban is not None:
            left = max(left, self.ban.seconds_left())
        if left > 0:
            raise Banned(
                f"Bybit banned this IP (HTTP 403) recently; not sending anything for another "
                f"{math.ceil(left)}s (LIQMAP_BYBIT_BAN_BACKOFF_S). Retry later."
            )

    def get(self, ds: BybitDataset, params: dict[str, str]) -> Page:
        """One successful page (retCode 0); 10006 is retried inside the request's deadline."""
        where = f"{ds.path}?{query_string(params, ds.path)}"
        return self.request(self.base_url + where, params, where=where, name=ds.path)

    def _banned(self, exc: HttpStatusError, where: str) -> Banned | None:
        """The ban rule: HTTP 403 bans the IP for minutes; record it, send nothing more."""
        if exc.status != 403:
            return None
        self._banned_until = time.monotonic() + self.ban_backoff_s
        if self.ban is not None:
            self.ban.record(self.ban_backoff_s, f"HTTP 403 from {exc.url}")
        return Banned(
            f"{exc.url}: HTTP 403 from Bybit ({exc.body[:80]!r}). Bybit answers "
            "403 'access too frequent' with an IP ban of at least 10 minutes "
            "(it also answers 403 to restricted regions). Back off for minutes: "
            f"this client sends nothing for {self.ban_backoff_s:.0f}s."
        )

    # -- the pages of one day ----------------------------------------------------------------
    def day_pages(self, ds: BybitDataset, symbol: str, day_start_ms: int) -> list[Page]:
        """Every page holding the rows of [day_start, day_start + 1 day), per paging style."""
        base = {"category": CATEGORY, "symbol": symbol, **ds.fixed_params}
        first, last = day_start_ms, day_start_ms + DAY_MS - 1
        limit = self.page_limit(ds)
        if ds.paging == "window":
            return self._window_pages(ds, base, first, last, limit)
        if ds.paging == "cursor":
            return self._cursor_pages(ds, base, first, last, limit)
        if ds.paging == "end_time":
            return self._end_time_pages(ds, base, first, last, limit)
        raise ValueError(f"{ds.name} has no daily history (paging {ds.paging!r})")

    def _window_pages(
        self, ds: BybitDataset, base: dict[str, str], first: int, last: int, limit: int
    ) -> list[Page]:
        """Disjoint windows of at most `limit` bars: which end of an over-full window Bybit
        returns never matters."""
        assert ds.step_ms is not None
        span = limit * ds.step_ms
        pages = []
        for lo in range(first, last + 1, span):
            hi = min(lo + span - 1, last)
            params = {**base, "start": str(lo), "end": str(hi), "limit": str(limit)}
            pages.append(self.get(ds, params))
        return pages

    def _cursor_pages(
        self, ds: BybitDataset, base: dict[str, str], first: int, last: int, limit: int
    ) -> list[Page]:
        params = {**base, "startTime": str(first), "endTime": str(last), "limit": str(limit)}
        pages: list[Page] = []
        seen: set[str] = set()
        while True:
            page = self.get(ds, params)
            pages.append(page)
            # the items are parsed once, with the day's rows (columns_of_day): here only the
            # envelope, the list and the cursor are read (parsing each page twice cost ~5 %
            # of a demo year's Bybit fetch)
            items, cursor = page_items(page.body, f"{ds.path} page {len(pages)}", page.doc)
            if not cursor or not items:
                return pages
            if cursor in seen or len(pages) >= MAX_PAGES:
                raise BybitFormatError(f"{ds.path}: nextPageCursor repeats ({cursor[:40]!r})")
            seen.add(cursor)
            params = {**params, "cursor": cursor}

    def _end_time_pages(
        self, ds: BybitDataset, base: dict[str, str], first: int, last: int, limit: int
    ) -> list[Page]:
        """Funding: `startTime` alone is an error, so walk backwards moving `endTime`."""
        pages: list[Page] = []
        end = last
        while end >= first:
            params = {**base, "startTime": str(first), "endTime": str(end), "limit": str(limit)}
            page = self.get(ds, params)
            pages.append(page)
            rows = parse_page(ds, page.body, f"{ds.path} page {len(pages)}", page.doc).rows
            if len(rows) < limit:
                return pages
            oldest = min(r[0] for r in rows)
            if oldest > end or len(pages) >= MAX_PAGES:
                raise BybitFormatError(f"{ds.path}: page ending {end} did not move backwards")
            end = oldest - 1
        return pages

    def snapshot_pages(self, ds: BybitDataset, symbol: str) -> list[Page]:
        """Current risk-limit tiers of `symbol` (cursor-paged)."""
        params: dict[str, str] = {"category": CATEGORY, "symbol": symbol}
        pages: list[Page] = []
        while True:
            page = self.get(ds, params)
            pages.append(page)
            cursor = parse_page(ds, page.body, f"{ds.path} page {len(pages)}").next_cursor
            if not cursor or len(pages) >= MAX_PAGES:
                return pages
            params = {**params, "cursor": cursor}
