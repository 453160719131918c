"""Bybit settings from the environment (merged into transforms.config.Settings by the lead)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from transforms.config import ConfigError
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


def _positive(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ConfigError(f"{name}={raw!r}: expected a number of seconds > 0")
    return value


def _requests_per_5s(raw: str, url: str) -> int:
    """Bybit bans an IP for >= 10 min above 600 requests / 5 s; only a local server (the
    offline demo's fake Bybit) may be asked faster."""
    if not raw.strip():
        return 500
    try:
        rate = int(raw)
    except ValueError:
        rate = 0
    if rate < 1:
        raise ConfigError(f"LIQMAP_BYBIT_REQUESTS_PER_5S={raw!r}: expected an integer >= 1")
    host = urlsplit(url).hostname or ""
    if rate > 600 and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            f"LIQMAP_BYBIT_REQUESTS_PER_5S={rate}: Bybit allows 600 requests / 5 s per IP and "
            f"bans above it; more is allowed only for a local LIQMAP_BYBIT_URL (got {url})"
        )
    return rate


def load_bybit_settings(env: dict[str, str] | None = None) -> BybitSettings:
    env = dict(os.environ if env is None else env)
    url = env.get("LIQMAP_BYBIT_URL", DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"LIQMAP_BYBIT_URL={url!r}: expected an http(s):// URL")
    sides = env.get("LIQMAP_BYBIT_OI_SIDES", DEFAULT_OI_SIDES).strip().lower()
    if sides not in OI_SIDES:
        raise ConfigError(f"LIQMAP_BYBIT_OI_SIDES={sides!r}: expected one of {', '.join(OI_SIDES)}")
    rate = _requests_per_5s(env.get("LIQMAP_BYBIT_REQUESTS_PER_5S", ""), url)
    return BybitSettings(
        base_url=url,
        requests_per_5s=rate,
        oi_sides=sides,
        request_deadline_s=_positive(env, "LIQMAP_BYBIT_DEADLINE_S", 30.0),
        ban_backoff_s=_positive(env, "LIQMAP_BYBIT_BAN_BACKOFF_S", 900.0),
    )


def make_bybit_source(cache_dir, settings: BybitSettings | None = None, **source_kwargs):  # type: ignore[no-untyped-def]
    """A BybitSource for `cache_dir` configured from `settings` (default: environment);
    `source_kwargs` go to BybitSource (e.g. `now`, `settle`)."""
    from pathlib import Path

    from transforms.raw.venues.bybit.api import BybitClient, SlidingWindowLimiter
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
