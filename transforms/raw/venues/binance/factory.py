"""Pick the source named by `Settings.source`."""

from __future__ import annotations

from transforms.config import ConfigError, Settings, check_inputs
from transforms.raw.venues.binance.cache import Source


def make_source(settings: Settings) -> Source:
    """`binance` (HTTPS archive), `mirror` (LIQMAP_MIRROR_DIR) or `synthetic` (seeded mirror)."""
    check_inputs(settings)
    if settings.source == "binance":
        from transforms.raw.venues.binance.source import BinanceSource

        return BinanceSource(settings.binance_url, settings.cache_dir)
    if settings.source == "mirror":
        from transforms.raw.venues.binance.mirror import MirrorSource

        if settings.mirror_dir is None:
            raise ConfigError("LIQMAP_SOURCE=mirror needs LIQMAP_MIRROR_DIR")
        return MirrorSource(settings.mirror_dir, settings.cache_dir)
    if settings.source == "synthetic":
        from transforms.raw.synthetic import SyntheticSource

        return SyntheticSource.from_settings(settings)
    raise ConfigError(f"unknown source {settings.source!r}")
