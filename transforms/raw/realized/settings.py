"""Collector settings from the environment (symbols and data directory come from LIQMAP_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType

from transforms.config import ConfigError, Settings, positive_seconds
from transforms.raw.venues.bybit import stream as bybit_stream
from transforms.venues import realized_venues, venue

#: venue -> its stream module (transforms/raw/venues/<venue>/stream.py), for every venue the
#: registry marks as having a realized stream, the complete ones first
VENUES: dict[str, ModuleType] = {
    name: import_module(f"{venue(name).package}.stream") for name in realized_venues()
}


def url_env(name: str) -> str:
    """The variable overriding a venue's stream URL, e.g. LIQMAP_BYBIT_WS_URL."""
    return f"LIQMAP_{name.upper()}_WS_URL"


@dataclass(frozen=True)
class CollectorConfig:
    """What `liqmap collect` connects to, where it writes and how often it syncs and pings."""

    root: Path  # <data dir>/realized; one folder per venue below
    symbols: tuple[str, ...]
    venues: tuple[str, ...] = tuple(VENUES)
    urls: tuple[tuple[str, str], ...] = ()
    bybit_ping_seconds: float = bybit_stream.PING_SECONDS
    fsync_seconds: float = 1.0
    coverage_seconds: float = 5.0
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    open_timeout_seconds: float = 10.0
    rotate_seconds: float = 23 * 3600.0  # Binance ends every connection after 24 h

    def url(self, venue: str) -> str:
        return dict(self.urls).get(venue) or VENUES[venue].DEFAULT_URL

    def venue_dir(self, venue: str) -> Path:
        return self.root / venue


def realized_root(settings: Settings) -> Path:
    """Where the hourly liquidation files live: <LIQMAP_DATA_DIR>/realized."""
    return settings.data_dir / "realized"


def collector_config(settings: Settings, env: dict[str, str] | None = None) -> CollectorConfig:
    """Build the collector's settings, validating every LIQMAP_COLLECT_* / *_WS_URL value."""
    env = dict(os.environ if env is None else env)
    venues = tuple(
        v.strip().lower() for v in env.get("LIQMAP_COLLECT_VENUES", ",".join(VENUES)).split(",")
    )
    unknown = [v for v in venues if v not in VENUES]
    if unknown or not venues:
        raise ConfigError(
            f"LIQMAP_COLLECT_VENUES={env.get('LIQMAP_COLLECT_VENUES')!r}: "
            f"expected a comma-separated subset of {', '.join(VENUES)}"
        )
    urls = []
    for name in venues:
        url = env.get(url_env(name), VENUES[name].DEFAULT_URL)
        if not url.startswith(("ws://", "wss://")):
            raise ConfigError(f"{url_env(name)}={url!r}: expected a ws:// or wss:// URL")
        urls.append((name, url))
    return CollectorConfig(
        root=realized_root(settings),
        symbols=settings.symbols,
        venues=venues,
        urls=tuple(urls),
        bybit_ping_seconds=positive_seconds(env, "LIQMAP_COLLECT_PING_SECONDS", 20.0),
        fsync_seconds=positive_seconds(env, "LIQMAP_COLLECT_FSYNC_SECONDS", 1.0),
        coverage_seconds=positive_seconds(env, "LIQMAP_COLLECT_COVERAGE_SECONDS", 5.0),
        backoff_seconds=positive_seconds(env, "LIQMAP_COLLECT_BACKOFF_SECONDS", 0.5),
        backoff_max_seconds=positive_seconds(env, "LIQMAP_COLLECT_BACKOFF_MAX_SECONDS", 30.0),
        rotate_seconds=positive_seconds(env, "LIQMAP_COLLECT_ROTATE_SECONDS", 23 * 3600.0),
    )
