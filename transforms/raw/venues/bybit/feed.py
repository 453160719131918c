"""Where the Bybit loader fetches from: Bybit's REST API, or the offline demo's local fake Bybit.

`open_bybit_feed(settings)` yields a `BybitFeed` for one ingest:

- `LIQMAP_SOURCE=binance` or `mirror`: the source asks `LIQMAP_BYBIT_URL` (default
  api.bybit.com; a mirror folder holds only Binance's archive layout, so Bybit stays REST).
- `LIQMAP_SOURCE=synthetic`: a `FakeBybitServer` on 127.0.0.1 (port 0) runs in-process for the
  duration of the ingest and serves `market_from_simulation` of the very simulation the Binance
  mirror is generated from (same symbol, seed and start month), so both venues share one price
  path. A symbol's market is needed only when one of its days is not in the verified Bybit
  day cache yet (each day is fetched once, then read from the cache); it is simulated once per
  parameter set into the data folder and memory-mapped by each ingest that needs it
  (transforms.raw.rest.demo_markets), not held in the process between ingests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager as ContextManager
from datetime import date, datetime

import numpy as np

from transforms.config import Settings
from transforms.raw.rest.feed import RestFeed, open_rest_feed, shadow_arrays
from transforms.raw.venues.bybit.fake_server import FakeBybitServer
from transforms.raw.venues.bybit.market import BybitMarket, market_from_simulation, standard_tiers
from transforms.raw.venues.bybit.settings import BybitSettings, load_bybit_settings
from transforms.raw.venues.bybit.settings import make_bybit_source as _make_source
from transforms.raw.venues.bybit.source import BybitSource

#: requests per 5 s towards the in-process fake Bybit (local only: rest.feed.env_rate)
LOCAL_REQUESTS_PER_5S = 1_000_000
#: the demo's Bybit holds around this share of Binance's per-side open interest, moving day
#: to day (market.share_path; docs/venues.md)
DEMO_OI_SHARE = 0.6
#: bump when `market_from_simulation` gives other arrays for the same simulation: the demo
#: markets kept on disk are keyed by it (with the simulation's GENERATOR_VERSION)
SHADOW_VERSION = 1


class BybitFeed(RestFeed):
    """A BybitSource plus the shared loop's hooks (transforms.raw.rest.feed) and the Bybit
    settings the loader reads (which open-interest sides to split)."""

    source: BybitSource

    def __init__(self, source: BybitSource, settings: BybitSettings, url: str):
        super().__init__(source, url)
        self.settings = settings

    def is_cached(self, dataset: str, symbol: str, day: date) -> bool:
        """True when the verified cache holds the day (its sha256 sidecar exists)."""
        path = self.source.cache.path_for(dataset, symbol, day.isoformat())
        return self.source.cache.sidecar(path).is_file()


class SyntheticBybitFeed(BybitFeed):
    """The offline feed: the fake server gains a symbol's market the first time it is needed.
    With `now` (the nowcast's clock), the market ends there: a day in progress is served
    only as far as it has happened."""

    def __init__(
        self,
        source: BybitSource,
        settings: BybitSettings,
        server: FakeBybitServer,
        app: Settings,
        now: Callable[[], datetime] | None = None,
    ):
        super().__init__(source, settings, server.url)
        self.server = server
        self.app = app
        self.now = now

    def prepare(self, symbol: str, dataset: str, days: Iterable[date]) -> None:
        market = self.server.markets.get(symbol)
        if market is not None and len(market.klines):
            return
        if all(self.is_cached(dataset, symbol, day) for day in days):
            return
        market = shadow_market(self.app, symbol)
        if self.now is not None:
            market = market_until(market, int(self.now().timestamp() * 1000))
        self.server.markets[symbol] = market

    def prepare_snapshot(self, symbol: str) -> None:
        if symbol not in self.server.markets:
            # Tiers only: no need to simulate a year of minutes to serve a risk-limit table.
            self.server.markets[symbol] = tiers_only_market(symbol)


def shadow_market(settings: Settings, symbol: str) -> BybitMarket:
    """The demo's Bybit market of `symbol`: the synthetic Binance simulation's shadow,
    memory-mapped from the data folder (transforms.raw.rest.feed.shadow_arrays)."""

    def derive(sim: object) -> BybitMarket:
        return market_from_simulation(
            symbol, sim, oi_share=DEMO_OI_SHARE, oi_reported_as="both", share_drift=True
        )

    params = {"oi_share": DEMO_OI_SHARE, "shadow": SHADOW_VERSION}
    arrays = shadow_arrays(settings, "bybit", symbol, params, derive)
    # checked when built (`derive`); mapped back as written, only the pages served are read
    return BybitMarket(symbol=symbol, **arrays, risk_tiers=standard_tiers(symbol), check=False)


def market_until(market: BybitMarket, now_ms: int) -> BybitMarket:
    """The market as known at `now_ms`: bars closed by then, points and settlements taken."""

    def cut(arr: np.ndarray, width_ms: int) -> np.ndarray:
        return arr[arr[:, 0] + width_ms <= now_ms] if len(arr) else arr

    return dataclasses.replace(
        market,
        klines=cut(market.klines, 60_000),
        mark_klines=cut(market.mark_klines, 60_000),
        open_interest=cut(market.open_interest, 0),
        funding=cut(market.funding, 0),
    )


def tiers_only_market(symbol: str) -> BybitMarket:
    """A market holding only risk-limit tiers (its time series are empty)."""
    return BybitMarket(
        symbol=symbol,
        klines=np.empty((0, 7)),
        mark_klines=np.empty((0, 5)),
        open_interest=np.empty((0, 3)),
        funding=np.empty((0, 2)),
        risk_tiers=standard_tiers(symbol),
    )


def open_bybit_feed(
    settings: Settings,
    bybit: BybitSettings | None = None,
    now: Callable[[], datetime] | None = None,
) -> ContextManager[BybitFeed]:
    """The feed for one ingest (see module doc); the source and any local server are closed
    on exit. `bybit` defaults to the LIQMAP_BYBIT_* environment; `now` is the clock that
    decides which days are final (default: the system's)."""
    cfg = bybit or load_bybit_settings()
    clock = {"now": now} if now is not None else {}

    def synthetic(server: FakeBybitServer) -> BybitFeed:
        local = dataclasses.replace(cfg, base_url=server.url, requests_per_5s=LOCAL_REQUESTS_PER_5S)
        source = _make_source(settings.cache_dir, local, **clock)
        return SyntheticBybitFeed(source, local, server, settings, now)

    return open_rest_feed(
        settings,
        real=lambda: BybitFeed(_make_source(settings.cache_dir, cfg, **clock), cfg, cfg.base_url),
        fake=lambda: FakeBybitServer([]),
        synthetic=synthetic,
    )
