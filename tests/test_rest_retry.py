"""The request loop every REST venue shares (transforms.raw.rest.retry), for every venue:
its rate-limit answer (Bybit retCode 10006, OKX code 50011, Hyperliquid HTTP 429) retried
inside one overall deadline, and the deadline reached after one named as the rate limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from transforms.raw.rest.fake_server import FakeRestServer, Fault
from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.rest.retry import RestClient
from transforms.raw.venues.bybit.api import BybitClient
from transforms.raw.venues.bybit.datasets import dataset as bybit_dataset
from transforms.raw.venues.bybit.errors import RateLimited as BybitRateLimited
from transforms.raw.venues.bybit.fake_server import FakeBybitServer
from transforms.raw.venues.bybit.feed import tiers_only_market as bybit_tiers_only
from transforms.raw.venues.hyperliquid.api import HyperliquidClient
from transforms.raw.venues.hyperliquid.errors import RateLimited as HyperliquidRateLimited
from transforms.raw.venues.hyperliquid.fake_server import FakeHyperliquidServer
from transforms.raw.venues.okx.api import OkxClient
from transforms.raw.venues.okx.datasets import dataset as okx_dataset
from transforms.raw.venues.okx.errors import RateLimited as OkxRateLimited
from transforms.raw.venues.okx.fake_server import FakeOkxServer
from transforms.raw.venues.okx.feed import tiers_only_market as okx_tiers_only

UNLIMITED = 10**9


@dataclass(frozen=True)
class Venue:
    name: str
    server: Callable[[], FakeRestServer]
    client: type[RestClient]
    #: the client -> one page asked of it
    ask: Callable[[Any], Any]
    path: str
    limit: Fault  # one rate-limit answer
    error: type[Exception]
    named: str  # how the error names the rate-limit answer

    def request(self, url: str, deadline: float, backoff: float) -> Callable[[], Any]:
        """A zero-argument request of one page with this deadline and backoff (all waits)."""
        waits = (
            {"backoff_s": backoff}
            if self.client is HyperliquidClient
            else {"rate_limit_backoff_s": backoff, "http_backoff_s": backoff}
        )
        limiter = SlidingWindowLimiter(UNLIMITED, 1.0)
        client = self.client(url, request_deadline_s=deadline, limiter=limiter, **waits)
        return lambda: self.ask(client)


VENUES = [
    Venue(
        "bybit",
        lambda: FakeBybitServer([bybit_tiers_only("BTCUSDT")]),
        BybitClient,
        lambda c: c.get(bybit_dataset("risk_limit"), {"category": "linear", "symbol": "BTCUSDT"}),
        bybit_dataset("risk_limit").path,
        Fault("retcode", ret_code=10006, ret_msg="Too many visits!"),
        BybitRateLimited,
        "retCode 10006 (Too many visits!)",
    ),
    Venue(
        "okx",
        lambda: FakeOkxServer([okx_tiers_only("BTCUSDT")]),
        OkxClient,
        lambda c: c.snapshot_page(okx_dataset("position_tiers"), "BTCUSDT"),
        okx_dataset("position_tiers").path,
        Fault("retcode", ret_code=50011, ret_msg="Too Many Requests"),
        OkxRateLimited,
        "code 50011 (Too Many Requests)",
    ),
    Venue(
        "hyperliquid",
        lambda: FakeHyperliquidServer([]),
        HyperliquidClient,
        lambda c: c.meta(),
        "/info",
        Fault("status", status=429, body=b"null"),
        HyperliquidRateLimited,
        "/info meta: HTTP 429",
    ),
]


@pytest.fixture(params=VENUES, ids=[v.name for v in VENUES])
def venue(request) -> Iterator[tuple[Venue, FakeRestServer]]:
    v: Venue = request.param
    with v.server() as server:
        yield v, server


def _limit(v: Venue, **kwargs: Any) -> Fault:
    return Fault(**{**v.limit.__dict__, "path": v.path, "headers": {}, **kwargs})


def test_a_rate_limit_answer_is_retried_then_succeeds(venue) -> None:
    v, server = venue
    server.add_fault(_limit(v, times=2))
    page = v.request(server.url, 5.0, 0.01)()
    assert page.body and server.requests_by_path[v.path] == 3


def test_a_rate_limit_until_the_deadline_is_rate_limited_naming_the_answer(venue) -> None:
    v, server = venue
    server.add_fault(_limit(v, times=10**6))
    with pytest.raises(v.error) as info:
        v.request(server.url, 1.5, 0.1)()
    line = str(info.value)
    assert v.named in line and "deadline; slow down" in line and "\n" not in line
    # backed off, did not hammer: waits of 0.1, 0.2, 0.4, 0.8 s fit in 1.5 s
    assert 1 <= server.requests_by_path[v.path] <= 5


def test_the_deadline_reached_in_the_retry_after_a_rate_limit_is_rate_limited(venue) -> None:
    # a busy machine: the retry after a rate-limit answer outlives the overall deadline (the
    # server answers after 2 s). The error names the rate limit, not a bare timeout.
    v, server = venue
    server.add_fault(_limit(v, times=1))
    server.add_fault(Fault("delay", path=v.path, times=1, delay_s=2.0))
    with pytest.raises(v.error) as info:
        v.request(server.url, 0.5, 0.01)()
    assert v.named in str(info.value) and "persisted for 1 attempts" in str(info.value)
