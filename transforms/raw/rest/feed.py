"""Where a REST venue's loader fetches from, the shape every venue's `feed.py` shares.

`open_rest_feed` yields one feed for an ingest: with `LIQMAP_SOURCE=binance` or `mirror`, the
venue's source asking its real API (`<venue>.base_url`); with `LIQMAP_SOURCE=synthetic`, the
venue's fake server on 127.0.0.1 (port 0) runs in-process for the ingest and the source asks
it. The source and any local server are closed on exit. A feed is the source plus two hooks
the shared loop (transforms.raw.rest.ingest) calls before fetching: no-ops for a real API,
which serves every symbol; the synthetic feed makes sure the fake holds the symbol's market,
the shadow of the very simulation the Binance mirror is generated from (`demo_simulation`),
so every demo venue shares one price path.

The settings readers check a venue's LIQMAP_<VENUE>_* variables with one line naming the
variable, the rule and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from transforms.config import ConfigError, Settings
from transforms.raw.rest.demo_markets import mapped_arrays
from transforms.raw.rest.fake_server import FakeRestServer

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
S = TypeVar("S", bound=FakeRestServer)


def env_url(env: dict[str, str], name: str, default: str) -> str:
    """The venue's base URL from `name` (default `default`), without a trailing slash."""
    url = env.get(name, default).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={url!r}: expected an http(s):// URL")
    return url


def env_rate(
    env: dict[str, str],
    name: str,
    url: str,
    *,
    default: int,
    minimum: int = 1,
    minimum_note: str = "",
    ceiling: int,
    ceiling_rule: str,
) -> int:
    """A request budget from `name`: an integer >= `minimum`, above `ceiling` only for a
    local `url` (the offline demo's fake): a real venue bans or refuses above its limit.
    `ceiling_rule` is the sentence naming the venue's limit and the local exception."""
    raw = env.get(name, "").strip()
    rate = int(raw) if raw.isdigit() else (default if not raw else 0)
    if rate < minimum:
        raise ConfigError(f"{name}={raw!r}: expected an integer >= {minimum}{minimum_note}")
    if rate > ceiling and (urlsplit(url).hostname or "") not in LOCAL_HOSTS:
        raise ConfigError(f"{name}={rate}: {ceiling_rule} (got {url})")
    return rate


class RestFeed:
    """A venue's source plus `prepare`, called before a symbol's days are fetched, and
    `prepare_snapshot`, before its tiers: no-ops for the real API, which serves every
    symbol (a synthetic feed makes sure the fake server holds that symbol's market)."""

    def __init__(self, source: Any, url: str):
        self.source = source
        self.url = url

    def prepare(self, symbol: str, dataset: str, days: Iterable[date]) -> None:
        """Nothing to do: the venue itself serves every symbol."""

    def prepare_snapshot(self, symbol: str) -> None:
        """Nothing to do: the venue itself serves every symbol's tiers."""


F = TypeVar("F", bound=RestFeed)


@contextmanager
def open_rest_feed(
    settings: Settings,
    *,
    real: Callable[[], F],
    fake: Callable[[], S],
    synthetic: Callable[[S], F],
) -> Iterator[F]:
    """The feed for one ingest (module doc): `real()` unless the source is synthetic, else
    `synthetic(server)` on a started `fake()`; the source and any server closed on exit."""
    if settings.source != "synthetic":
        feed = real()
        with closing(feed.source):
            yield feed
        return
    with fake() as server:
        feed = synthetic(server)
        with closing(feed.source):
            yield feed


#: the arrays of a demo venue market kept on disk (its tiers and constants are rebuilt)
MARKET_ARRAYS = ("klines", "mark_klines", "open_interest", "funding")


def shadow_arrays(
    settings: Settings,
    venue: str,
    symbol: str,
    params: Mapping[str, object],
    derive: Callable[[Any], Any],
) -> dict[str, np.ndarray]:
    """The MARKET_ARRAYS of `derive(simulation)`, a demo venue's market shadowing the
    simulation the Binance mirror is written from (`demo_simulation`), memory-mapped from
    `settings.demo_markets_dir/<venue>` (built there once, transforms.raw.rest.demo_markets).
    `params`: what else the market depends on (the venue's share, its derivation version)."""
    from transforms.raw.synthetic.archive import GENERATOR_VERSION  # the demo's only

    start, end, seed = settings.start_date, settings.end_date, settings.synthetic_seed
    # keyed by the months simulated, not the window's days: the window moves a day with each
    # daily run, and the market is the same until it reaches a new month
    sim_start, sim_end = demo_span(start, end)
    key = {"venue": venue, "symbol": symbol, "from": sim_start, "to": sim_end, "seed": seed}
    key |= {"generator": GENERATOR_VERSION, **params}

    def build() -> dict[str, np.ndarray]:
        market = derive(demo_simulation(symbol, start, end, seed))
        return {name: getattr(market, name) for name in MARKET_ARRAYS}

    return mapped_arrays(settings.demo_markets_dir / venue, symbol, key, build)


def demo_span(start: date, end: date) -> tuple[date, date]:
    """[first, last) day the demo simulates for the window [start, end]: whole months."""
    from transforms.raw.synthetic.market import month_end_exclusive, month_start

    return month_start(start), month_end_exclusive(end)


def demo_simulation(symbol: str, start: date, end: date, seed: int) -> Any:
    """Exactly the simulation the demo's Binance mirror is written from
    (synthetic.archive.generate_mirror): whole months around [start, end)."""
    from transforms.raw.synthetic.market import simulation

    sim_start, sim_end = demo_span(start, end)
    return simulation(symbol, sim_start, (sim_end - sim_start).days, seed)
