"""Bybit settings from the environment (merged into transforms.config.Settings by the lead)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from transforms.config import ConfigError
from transforms.raw.venues.bybit.api import DEFAULT_BASE_URL
from transforms.raw.venues.bybit.oi import DEFAULT_OI_SIDES, OI_SIDES


@dataclass(frozen=True)
class BybitSettings:
    base_url: str = DEFAULT_BASE_URL  # LIQMAP_BYBIT_URL
    oi_sides: str = DEFAULT_OI_SIDES  # LIQMAP_BYBIT_OI_SIDES: both | one
    request_deadline_s: float = 30.0  # LIQMAP_BYBIT_DEADLINE_S: per request, retries included
    ban_backoff_s: float = 900.0  # LIQMAP_BYBIT_BAN_BACKOFF_S: quiet time after an HTTP 403


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


def load_bybit_settings(env: dict[str, str] | None = None) -> BybitSettings:
    env = dict(os.environ if env is None else env)
    url = env.get("LIQMAP_BYBIT_URL", DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"LIQMAP_BYBIT_URL={url!r}: expected an http(s):// URL")
    sides = env.get("LIQMAP_BYBIT_OI_SIDES", DEFAULT_OI_SIDES).strip().lower()
    if sides not in OI_SIDES:
        raise ConfigError(f"LIQMAP_BYBIT_OI_SIDES={sides!r}: expected one of {', '.join(OI_SIDES)}")
    return BybitSettings(
        base_url=url,
        oi_sides=sides,
        request_deadline_s=_positive(env, "LIQMAP_BYBIT_DEADLINE_S", 30.0),
        ban_backoff_s=_positive(env, "LIQMAP_BYBIT_BAN_BACKOFF_S", 900.0),
    )


def make_bybit_source(cache_dir, settings: BybitSettings | None = None):  # type: ignore[no-untyped-def]
    """A BybitSource for `cache_dir` configured from `settings` (default: environment)."""
    from transforms.raw.venues.bybit.api import BybitClient
    from transforms.raw.venues.bybit.source import BybitSource

    s = settings or load_bybit_settings()
    client = BybitClient(
        s.base_url, request_deadline_s=s.request_deadline_s, ban_backoff_s=s.ban_backoff_s
    )
    return BybitSource(cache_dir, client)
