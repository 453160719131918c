"""Bybit settings from the environment (merged into transforms.config.Settings by the lead)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from transforms.config import ConfigError, positive_seconds
from transforms.raw.rest.feed import env_rate, env_url
from transforms.raw.venues.bybit.api import DEFAULT_BASE_URL
from transforms.raw.venues.bybit.oi import DEFAULT_OI_SIDES, OI_SIDES

#: the ban remembered across assets and runs, under the raw cache dir (transforms.venue_ban)
BAN_FILE = "bybit-ban.json"


@dataclass(frozen=True)
class BybitSettings:
    base_url: str = DEFAULT_BASE_URL  # LIQMAP_BYBIT_URL
    oi_sides: str = DEFAULT_OI_SIDES  # LIQMAP_BYBIT_OI_SIDES: both | one
    request_deadline_s: float = 30.0  # LIQMAP_BYBIT_DEADLINE_S: per request, retries included
    ban_backoff_s: float = 900.0  # LIQMAP_BYBIT_BAN_BACKOFF_S: quiet time after an HTTP 403
    requests_per_5s: int = 500  # LIQMAP_BYBIT_REQUESTS_PER_5S: <= 600 unless the URL is local


def load_bybit_settings(env: dict[str, str] | None = None) -> BybitSettings:
    env = dict(os.environ if env is None else env)
    url = env_url(env, "LIQMAP_BYBIT_URL", DEFAULT_BASE_URL)
    sides = env.get("LIQMAP_BYBIT_OI_SIDES", DEFAULT_OI_SIDES).strip().lower()
    if sides not in OI_SIDES:
        raise ConfigError(f"LIQMAP_BYBIT_OI_SIDES={sides!r}: expected one of {', '.join(OI_SIDES)}")
    # Bybit bans an IP for >= 10 min above 600 requests / 5 s; only a local server (the
    # offline demo's fake Bybit) may be asked faster
    rate = env_rate(
        env,
        "LIQMAP_BYBIT_REQUESTS_PER_5S",
        url,
        default=500,
        ceiling=600,
        ceiling_rule="Bybit allows 600 requests / 5 s per IP and bans above it; more is "
        "allowed only for a local LIQMAP_BYBIT_URL",
    )
    return BybitSettings(
        base_url=url,
        requests_per_5s=rate,
        oi_sides=sides,
        request_deadline_s=positive_seconds(env, "LIQMAP_BYBIT_DEADLINE_S", 30.0),
        ban_backoff_s=positive_seconds(env, "LIQMAP_BYBIT_BAN_BACKOFF_S", 900.0),
    )


def make_bybit_source(cache_dir, settings: BybitSettings | None = None, **source_kwargs):  # type: ignore[no-untyped-def]
    """A BybitSource for `cache_dir` configured from `settings` (default: environment);
    `source_kwargs` go to BybitSource (e.g. `now`, `settle`)."""
    from pathlib import Path

    from transforms.raw.rest.limiter import SlidingWindowLimiter
    from transforms.raw.venues.bybit.api import BybitClient
    from transforms.raw.venues.bybit.source import BybitSource
    from transforms.venue_ban import VenueBan

    s = settings or load_bybit_settings()
    client = BybitClient(
        s.base_url,
        request_deadline_s=s.request_deadline_s,
        ban_backoff_s=s.ban_backoff_s,
        limiter=SlidingWindowLimiter(s.requests_per_5s, 5.0),
        ban=VenueBan(Path(cache_dir) / BAN_FILE),
    )
    return BybitSource(cache_dir, client, **source_kwargs)
