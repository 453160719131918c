"""Where the Hyperliquid loader fetches from: Hyperliquid's /info, or the demo's fake.

`open_hyperliquid_feed(settings)` yields a `HyperliquidFeed` for one ingest:

- `LIQMAP_SOURCE=binance` or `mirror`: the source POSTs to `LIQMAP_HYPERLIQUID_URL` (default
  https://api.hyperliquid.xyz) within `LIQMAP_HYPERLIQUID_WEIGHT_PER_MIN` (1,200, Hyperliquid's
  per-IP budget; more only for a local URL), and reads the minute samples `liqmap collect`
  wrote under `<LIQMAP_DATA_DIR>/samples/hyperliquid`.
- `LIQMAP_SOURCE=synthetic`: a `FakeHyperliquidServer` on 127.0.0.1 (port 0) serves the
  shadow of the synthetic Binance simulation. Hyperliquid serves only the latest 5,000
  candles and no OI history, so a demo over past days replays what daily collection would
  have seen: each day is fetched with the fake's clock (and the source's) at 00:20 UTC the
  day after, as a daily run would, and the fake writes the window's minute samples (the
  files `liqmap collect` would have written, in the same format and writer) for days that
  have none. Tests drive the real sampler against the fake server instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from transforms.config import Settings, now_utc
from transforms.raw.realized.coverage import COVERAGE_FILE, CoverageLog
from transforms.raw.realized.hourly_files import HourlyWriter
from transforms.raw.rest.feed import RestFeed, demo_simulation, env_rate, env_url, open_rest_feed
from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.venues.hyperliquid.api import (
    DEFAULT_BASE_URL,
    WEIGHT_PER_MINUTE,
    HyperliquidClient,
)
from transforms.raw.venues.hyperliquid.datasets import DAY_MS, HOUR_MS, coin
from transforms.raw.venues.hyperliquid.fake_server import FakeHyperliquidServer
from transforms.raw.venues.hyperliquid.market import HyperliquidMarket, market_from_simulation
from transforms.raw.venues.hyperliquid.source import HyperliquidSource, day_start_ms

#: the demo's Hyperliquid holds this share of Binance's per-side open interest
DEMO_OI_SHARE = 0.2
#: a daily run fetches the day before at this time (the demo replays it)
DAILY_RUN_AT = timedelta(days=1, minutes=20)


@dataclass(frozen=True)
class HyperliquidSettings:
    base_url: str = DEFAULT_BASE_URL  # LIQMAP_HYPERLIQUID_URL
    weight_per_min: int = WEIGHT_PER_MINUTE  # LIQMAP_HYPERLIQUID_WEIGHT_PER_MIN
    request_deadline_s: float = 30.0


def load_hyperliquid_settings(env: dict[str, str] | None = None) -> HyperliquidSettings:
    env = dict(os.environ if env is None else env)
    url = env_url(env, "LIQMAP_HYPERLIQUID_URL", DEFAULT_BASE_URL)
    weight = env_rate(
        env,
        "LIQMAP_HYPERLIQUID_WEIGHT_PER_MIN",
        url,
        default=WEIGHT_PER_MINUTE,
        minimum=20,
        minimum_note=" (one request)",
        ceiling=WEIGHT_PER_MINUTE,
        ceiling_rule=f"Hyperliquid allows {WEIGHT_PER_MINUTE} weight per minute per IP; more "
        "only for a local LIQMAP_HYPERLIQUID_URL",
    )
    return HyperliquidSettings(base_url=url, weight_per_min=weight)


def make_client(settings: HyperliquidSettings) -> HyperliquidClient:
    return HyperliquidClient(
        settings.base_url,
        request_deadline_s=settings.request_deadline_s,
        limiter=SlidingWindowLimiter(settings.weight_per_min, 60.0),
    )


class HyperliquidFeed(RestFeed):
    """A HyperliquidSource plus the shared loop's hooks (transforms.raw.rest.feed)."""

    source: HyperliquidSource


class ReplayedSource(HyperliquidSource):
    """The demo's source: each day fetched at the time a daily run would fetch it, tiers at
    the first day's run (module doc)."""

    def __init__(self, *args, clock: list[datetime], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, now=lambda: clock[0], **kwargs)
        self.clock = clock
        self.first: date | None = None

    def _run_for(self, day: date) -> None:
        run = datetime(day.year, day.month, day.day, tzinfo=UTC) + DAILY_RUN_AT
        self.clock[0] = min(run, now_utc())

    def fetch_day(self, dataset: str, symbol: str, day: date):  # type: ignore[no-untyped-def]
        self._run_for(day)
        return super().fetch_day(dataset, symbol, day)

    def fetch_tiers(self, symbol: str):  # type: ignore[no-untyped-def]
        if self.first is not None:
            self._run_for(self.first)
        return super().fetch_tiers(symbol)


class SyntheticHyperliquidFeed(HyperliquidFeed):
    def __init__(self, source: ReplayedSource, server: FakeHyperliquidServer, app: Settings):
        super().__init__(source, server.url)
        self.server = server
        self.app = app

    def prepare(self, symbol: str, dataset: str, days: Iterable[date]) -> None:
        days = list(days)
        for s in self.app.symbols:
            if coin(s) not in self.server.markets:
                self.server.add_market(shadow_market(self.app, s))
        if days:
            first = min(days)
            self.source.first = min(self.source.first or first, first)  # type: ignore[attr-defined]
            write_demo_samples(self.source.samples, list(self.server.markets.values()), days)

    def prepare_snapshot(self, symbol: str) -> None:
        if coin(symbol) not in self.server.markets:
            self.server.add_market(shadow_market(self.app, symbol))


def write_demo_samples(root: Path, markets: list[HyperliquidMarket], days: list[date]) -> int:
    """The minute samples `liqmap collect` would have written for `days` (same files, same
    writer), for days with no coverage yet; returns the days written."""
    written = 0
    for day in days:
        if (root / day.isoformat() / COVERAGE_FILE).exists():
            continue
        start = day_start_ms(day)
        if start + DAY_MS > now_utc().timestamp() * 1000:
            continue  # a day not over yet is left to the real collector
        clock = [start]
        writer = HourlyWriter(root, lambda c=clock: c[0])
        writer.start()
        for hour in range(start, start + DAY_MS, HOUR_MS):
            clock[0] = hour
            lines = []
            for m in markets:
                ctx = m.minute_ctx[
                    (m.minute_ctx[:, 0] >= hour) & (m.minute_ctx[:, 0] < hour + HOUR_MS)
                ]
                for minute, oi, mark in ctx:
                    record = {"t": int(minute) + 1_500, "coin": coin(m.symbol),
                              "openInterest": float(oi), "markPx": float(mark)}  # fmt: skip
                    lines.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            if lines:
                writer.append(lines, hour)
        writer.close()
        CoverageLog(root).mark(start, start + DAY_MS)
        written += 1
    return written


def shadow_market(settings: Settings, symbol: str) -> HyperliquidMarket:
    """The demo's Hyperliquid market of `symbol`: the synthetic Binance simulation's shadow."""
    return _shadow(symbol, settings.start_date, settings.end_date, settings.synthetic_seed)


@lru_cache(maxsize=8)
def _shadow(symbol: str, start: date, end: date, seed: int) -> HyperliquidMarket:
    sim = demo_simulation(symbol, start, end, seed)
    return market_from_simulation(symbol, sim, oi_share=DEMO_OI_SHARE)


def open_hyperliquid_feed(
    settings: Settings, hl: HyperliquidSettings | None = None
) -> ContextManager[HyperliquidFeed]:
    """The feed for one ingest (module doc); the source and any local server are closed."""
    cfg = hl or load_hyperliquid_settings()
    clock = [now_utc()]

    def real() -> HyperliquidFeed:
        source = HyperliquidSource(settings.cache_dir, settings.data_dir, make_client(cfg))
        return HyperliquidFeed(source, cfg.base_url)

    def synthetic(server: FakeHyperliquidServer) -> HyperliquidFeed:
        local = HyperliquidSettings(base_url=server.url, weight_per_min=10**9)
        replayed = ReplayedSource(
            settings.cache_dir, settings.data_dir, make_client(local), clock=clock
        )
        return SyntheticHyperliquidFeed(replayed, server, settings)

    return open_rest_feed(
        settings,
        real=real,
        fake=lambda: FakeHyperliquidServer([], now_ms=lambda: int(clock[0].timestamp() * 1000)),
        synthetic=synthetic,
    )
