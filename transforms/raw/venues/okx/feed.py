"""Where the OKX loader fetches from: OKX's REST API, or the offline demo's local fake OKX.

`open_okx_feed(settings)` yields an `OkxFeed` for one ingest:

- `LIQMAP_SOURCE=binance` or `mirror`: the source asks `LIQMAP_OKX_URL` (default
  https://www.okx.com), at most `LIQMAP_OKX_REQUESTS_PER_2S` requests per 2 s (10 by default,
  OKX's tightest public limit among the endpoints used; more only for a local URL).
- `LIQMAP_SOURCE=synthetic`: a `FakeOkxServer` on 127.0.0.1 (port 0) runs in-process for the
  ingest and serves `market_from_simulation` of the very simulation the Binance mirror is
  generated from, so every demo venue shares one price path; its clock is the real one, so
  OKX's open-interest reach (about five days) makes OKX start late in a long demo window.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from transforms.config import Settings, now_utc
from transforms.raw.rest.feed import RestFeed, env_rate, env_url, open_rest_feed, shadow_arrays
from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.venues.okx.api import DEFAULT_BASE_URL, OkxClient
from transforms.raw.venues.okx.fake_server import FakeOkxServer
from transforms.raw.venues.okx.market import OkxMarket, contract_value, market_from_simulation
from transforms.raw.venues.okx.market import standard_tiers as okx_tiers
from transforms.raw.venues.okx.source import OkxSource

#: the demo's OKX holds this share of Binance's per-side open interest
DEMO_OI_SHARE = 0.35
#: bump when `market_from_simulation` gives other arrays for the same simulation: the demo
#: markets kept on disk are keyed by it (transforms.raw.rest.feed.shadow_arrays)
SHADOW_VERSION = 1


@dataclass(frozen=True)
class OkxSettings:
    base_url: str = DEFAULT_BASE_URL  # LIQMAP_OKX_URL
    requests_per_2s: int = 10  # LIQMAP_OKX_REQUESTS_PER_2S
    request_deadline_s: float = 30.0


def load_okx_settings(env: dict[str, str] | None = None) -> OkxSettings:
    env = dict(os.environ if env is None else env)
    url = env_url(env, "LIQMAP_OKX_URL", DEFAULT_BASE_URL)
    rate = env_rate(
        env,
        "LIQMAP_OKX_REQUESTS_PER_2S",
        url,
        default=10,
        ceiling=20,
        ceiling_rule="OKX allows 10-20 requests / 2 s per IP on these endpoints; more is "
        "allowed only for a local LIQMAP_OKX_URL",
    )
    return OkxSettings(base_url=url, requests_per_2s=rate)


def make_okx_source(cache_dir: Path, settings: OkxSettings, **source_kwargs) -> OkxSource:  # type: ignore[no-untyped-def]
    client = OkxClient(
        settings.base_url,
        request_deadline_s=settings.request_deadline_s,
        limiter=SlidingWindowLimiter(settings.requests_per_2s, 2.0),
    )
    return OkxSource(cache_dir, client, **source_kwargs)


class OkxFeed(RestFeed):
    """An OkxSource plus the shared loop's hooks (transforms.raw.rest.feed)."""

    source: OkxSource


class SyntheticOkxFeed(OkxFeed):
    def __init__(self, source: OkxSource, server: FakeOkxServer, app: Settings):
        super().__init__(source, server.url)
        self.server = server
        self.app = app

    def prepare(self, symbol: str, dataset: str, days: Iterable[date]) -> None:
        market = self.server.markets.get(f"{symbol[:-4]}-USDT-SWAP")
        if market is not None and len(market.klines):
            return
        first = self.source.first_day(symbol)
        if all(d < first for d in days):
            return  # nothing the venue still serves: no need to simulate
        self.server.add_market(shadow_market(self.app, symbol))

    def prepare_snapshot(self, symbol: str) -> None:
        if f"{symbol[:-4]}-USDT-SWAP" not in self.server.markets:
            self.server.add_market(tiers_only_market(symbol))


def shadow_market(settings: Settings, symbol: str) -> OkxMarket:
    """The demo's OKX market of `symbol`: the synthetic Binance simulation's shadow,
    memory-mapped from the data folder (transforms.raw.rest.feed.shadow_arrays)."""

    def derive(sim: object) -> OkxMarket:
        return market_from_simulation(symbol, sim, oi_share=DEMO_OI_SHARE)

    params = {"oi_share": DEMO_OI_SHARE, "shadow": SHADOW_VERSION}
    arrays = shadow_arrays(settings, "okx", symbol, params, derive)
    return OkxMarket(
        symbol=symbol, **arrays, contract_value=contract_value(symbol), tiers=okx_tiers(symbol)
    )


def tiers_only_market(symbol: str) -> OkxMarket:
    empty = np.empty((0, 7))
    return OkxMarket(
        symbol=symbol,
        klines=empty,
        mark_klines=np.empty((0, 5)),
        open_interest=np.empty((0, 3)),
        funding=np.empty((0, 2)),
        contract_value=contract_value(symbol),
        tiers=okx_tiers(symbol),
    )


def open_okx_feed(settings: Settings, okx: OkxSettings | None = None) -> ContextManager[OkxFeed]:
    """The feed for one ingest (see module doc); the source and any local server are closed."""
    cfg = okx or load_okx_settings()

    def synthetic(server: FakeOkxServer) -> OkxFeed:
        local = OkxSettings(base_url=server.url, requests_per_2s=1_000_000)
        source = make_okx_source(settings.cache_dir, local, now=now_utc)
        return SyntheticOkxFeed(source, server, settings)

    return open_rest_feed(
        settings,
        real=lambda: OkxFeed(make_okx_source(settings.cache_dir, cfg), cfg.base_url),
        fake=lambda: FakeOkxServer([], now_ms=lambda: int(now_utc().timestamp() * 1000)),
        synthetic=synthetic,
    )
