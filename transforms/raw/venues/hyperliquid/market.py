"""Market arrays a fake Hyperliquid serves: 1m candles, minute OI and mark, hourly funding,
margin tables.

`market_from_simulation` shadows the synthetic Binance market (one price path for every demo
venue) with Hyperliquid's own character: a smaller book (per-side OI `oi_share` of Binance's),
a slightly richer mark (a small positive premium), funding paid hourly at a little over 1/8 of
Binance's 8-hour rate (Hyperliquid's crowd is longer), and its own margin tables (BTC 40x to
150M then 20x; ETH 25x / 15x; SOL 20x / 10x; HLD trading/margin-tiers). `generate_market` is a
seeded random walk for tests. Arrays are float64 with epoch-millisecond times in column 0,
ascending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from transforms.raw.venues.hyperliquid.datasets import HOUR_MS, MINUTE_MS, coin
from transforms.raw.venues.hyperliquid.source import day_start_ms

#: coin -> (margin table id, [(lowerBound USDC, maxLeverage)]) as documented in 2026-08
MARGIN_TABLES: dict[str, tuple[int, list[tuple[float, int]]]] = {
    "BTC": (56, [(0.0, 40), (150_000_000.0, 20)]),
    "ETH": (55, [(0.0, 25), (100_000_000.0, 15)]),
    "SOL": (54, [(0.0, 20), (70_000_000.0, 10)]),
}
#: most altcoins: 0-20M at 10x, above at 5x
DEFAULT_TABLE = (52, [(0.0, 10), (20_000_000.0, 5)])


def margin_table(symbol: str) -> tuple[int, list[tuple[float, int]]]:
    return MARGIN_TABLES.get(coin(symbol), DEFAULT_TABLE)


@dataclass
class HyperliquidMarket:
    """One perp: arrays in ascending time."""

    symbol: str
    klines: np.ndarray  # (n, 7): t, open, high, low, close, volume (coin), trades
    minute_ctx: np.ndarray  # (n, 3): minute, open interest (coin), mark price
    funding: np.ndarray  # (k, 2): time (ms, with jitter), hourly rate
    tiers: list[tuple[float, int]] = field(default_factory=list)
    table_id: int = 0

    def __post_init__(self) -> None:
        for name in ("klines", "minute_ctx", "funding"):
            arr = getattr(self, name)
            if arr.ndim != 2 or (len(arr) > 1 and not np.all(np.diff(arr[:, 0]) > 0)):
                raise ValueError(f"HyperliquidMarket.{name}: expected ascending unique times")
        if not self.tiers:
            self.table_id, self.tiers = margin_table(self.symbol)


def _hourly(funding_ms: np.ndarray, rate_8h: np.ndarray, scale: float) -> np.ndarray:
    """Hourly funding rows from 8-hour ones: each hour pays `scale` x the 8-hour rate / 8, at
    the hour plus a few ms of jitter (as Hyperliquid stamps them)."""
    if not len(funding_ms):
        return np.empty((0, 2))
    hours = np.arange(funding_ms[0], funding_ms[-1] + 8 * HOUR_MS, HOUR_MS, dtype=np.int64)
    which = np.searchsorted(funding_ms, hours, side="right") - 1
    rates = np.round(rate_8h[which] * scale / 8, 10)
    jitter = (hours // HOUR_MS) % 97
    return np.column_stack([hours + jitter, rates]).astype(np.float64)


def market_from_simulation(
    symbol: str, sim: Any, *, oi_share: float = 0.2, seed: int = 41
) -> HyperliquidMarket:
    """Hyperliquid's market shadowing the synthetic Binance `Market` (module doc)."""
    rng = np.random.default_rng(seed)
    ts = np.asarray(sim.minute_open_ms, dtype=np.int64)
    basis = 1.0 + rng.normal(1e-4, 3e-5, len(ts))  # 0.01 % rich, smooth minute to minute
    o, c = sim.open * basis, sim.close * basis
    h = np.maximum(sim.high * basis, np.maximum(o, c))
    lo = np.minimum(sim.low * basis, np.minimum(o, c))
    volume = np.round(np.asarray(sim.volume, dtype=np.float64) * 0.15, 5)
    trades = np.maximum(np.round(np.asarray(sim.count, dtype=np.float64) * 0.2), 1)
    klines = np.column_stack([ts, o, h, lo, c, volume, trades])
    oi_5m = np.asarray(sim.oi_base, dtype=np.float64) * oi_share
    oi = np.repeat(oi_5m, 5)[: len(ts)]
    oi = np.concatenate([oi, np.full(len(ts) - len(oi), oi[-1] if len(oi) else 0.0)])
    mark = np.asarray(sim.mark_close, dtype=np.float64) * (1.0 + 5e-5)
    rates = np.asarray(sim.funding_rate, dtype=np.float64)
    funding = _hourly(np.asarray(sim.funding_ms, dtype=np.int64), rates, 1.1)
    return HyperliquidMarket(
        symbol=symbol,
        klines=klines.astype(np.float64),
        minute_ctx=np.column_stack([ts, np.round(oi, 4), mark]).astype(np.float64),
        funding=funding,
    )


def generate_market(
    symbol: str, start: date, days: int, *, seed: int = 17, price: float = 60_000.0
) -> HyperliquidMarket:
    """A seeded random-walk market covering `days` whole UTC days from `start` (tests)."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    ts = day_start_ms(start) + MINUTE_MS * np.arange(n, dtype=np.int64)
    closes = np.round(price * np.exp(np.cumsum(rng.normal(0.0, 6e-4, n))), 1)
    opens = np.concatenate([[price], closes[:-1]])
    highs = np.maximum(opens, closes) + 5.0
    lows = np.minimum(opens, closes) - 5.0
    volume = np.round(rng.gamma(2.0, 5.0, n), 3)
    trades = rng.integers(1, 400, n).astype(np.float64)
    klines = np.column_stack([ts, opens, highs, lows, closes, volume, trades])
    oi = np.round(20_000 + np.cumsum(rng.normal(0.0, 5.0, n)), 3)
    ctx = np.column_stack([ts, oi, closes + 1.0])
    hours = ts[::60]
    funding = np.column_stack([hours + 7, np.round(rng.normal(1.25e-5, 5e-6, len(hours)), 10)])
    return HyperliquidMarket(symbol, klines, ctx, funding)
