"""The `synthetic` source: a seeded simulated market (market.py) written as an archive
mirror (archive.py), generated once per parameter set before the first fetch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from transforms.config import Settings
from transforms.raw.synthetic.archive import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    duplicated_metrics_row,
    ensure_mirror,
    generate_mirror,
    headerless,
)
from transforms.raw.synthetic.market import KIND_NAMES, Market, simulate_market
from transforms.raw.venues.binance.cache import FetchedFile
from transforms.raw.venues.binance.mirror import MirrorSource

__all__ = [
    "GENERATOR_VERSION",
    "KIND_NAMES",
    "MANIFEST_NAME",
    "Market",
    "SyntheticSource",
    "duplicated_metrics_row",
    "ensure_mirror",
    "generate_mirror",
    "headerless",
    "simulate_market",
]


class SyntheticSource(MirrorSource):
    """A mirror that generates itself (once per parameter set) before the first fetch."""

    name = "synthetic"

    def __init__(
        self,
        root: Path,
        cache_dir: Path,
        symbols: tuple[str, ...],
        start: date,
        end: date,
        seed: int,
    ):
        super().__init__(root, cache_dir)
        self.symbols = tuple(symbols)
        self.start = start
        self.end = end
        self.seed = seed
        self._ready: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> SyntheticSource:
        return cls(
            settings.synthetic_dir,
            settings.cache_dir,
            settings.symbols,
            settings.start_date,
            settings.end_date,
            settings.synthetic_seed,
        )

    def ensure(self, symbol: str) -> None:
        if symbol not in self._ready:
            ensure_mirror(self.root, symbol, self.start, self.end, self.seed)
            self._ready.add(symbol)

    def fetch(self, dataset: str, symbol: str, period: str) -> FetchedFile:
        self.ensure(symbol)
        return super().fetch(dataset, symbol, period)
