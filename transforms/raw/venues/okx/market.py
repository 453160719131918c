"""Market arrays a fake OKX server serves: 1m candles, 1m mark candles, 5m OI, funding, tiers.

`market_from_simulation` shadows the synthetic Binance market (one price path for every demo
venue) with OKX's own character: a smaller book (per-side OI `oi_share` of Binance's), its own
small price basis, funding a little cooler than Binance's, and contracts of `CONTRACT_VALUES`
coins with tier bounds counted in contracts. `generate_market` is a seeded random walk for
tests. Arrays are float64 with epoch-millisecond timestamps in column 0, ascending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from transforms.raw.synthetic.market import shadow_ohlc
from transforms.raw.venues.okx.source import day_start_ms

MINUTE_MS = 60_000
FUNDING_EVERY_MS = 8 * 60 * MINUTE_MS
#: coins per contract (ctVal) of the USDT swaps: BTC-USDT-SWAP is 0.01 BTC
CONTRACT_VALUES = {"BTCUSDT": 0.01, "ETHUSDT": 0.1, "SOLUSDT": 1.0}
DEFAULT_CONTRACT_VALUE = 1.0


def contract_value(symbol: str) -> float:
    return CONTRACT_VALUES.get(symbol, DEFAULT_CONTRACT_VALUE)


@dataclass
class OkxMarket:
    """One USDT swap: arrays in ascending time, columns as documented per field."""

    symbol: str
    klines: np.ndarray  # (n, 7): ts, open, high, low, close, volume (coin), volume (USDT)
    mark_klines: np.ndarray  # (n, 5): ts, open, high, low, close
    open_interest: np.ndarray  # (m, 3): ts, open interest (coin, one side), value (USD)
    funding: np.ndarray  # (k, 2): fundingTime, realized rate
    contract_value: float = DEFAULT_CONTRACT_VALUE
    tiers: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("klines", "mark_klines", "open_interest", "funding"):
            arr = getattr(self, name)
            if arr.ndim != 2 or (len(arr) > 1 and not np.all(np.diff(arr[:, 0]) > 0)):
                raise ValueError(f"OkxMarket.{name}: expected ascending unique timestamps")


def standard_tiers(symbol: str, n: int = 8) -> list[dict[str, str]]:
    """Position tiers shaped like OKX's BTC-USDT isolated table (values illustrative): bounds
    in contracts (tier 1 up to 10 coins' worth), maintenance rate +0.4 % per tier, initial
    rate twice the maintenance rate."""
    ct = contract_value(symbol)
    coins_per_tier = {"BTCUSDT": 10.0, "ETHUSDT": 150.0, "SOLUSDT": 4000.0}.get(symbol, 50_000.0)
    tiers = []
    for i in range(1, n + 1):
        mmr = 0.004 * i
        imr = 2 * mmr
        tiers.append(
            {
                "tier": str(i),
                "minSz": _text(coins_per_tier * (i - 1) / ct),
                "maxSz": _text(coins_per_tier * i / ct),
                "mmr": _text(mmr),
                "imr": _text(imr),
                "maxLever": _text(round(1 / imr, 2)),
                "instFamily": symbol[:-4] + "-USDT",
                "uly": symbol[:-4] + "-USDT",
            }
        )
    return tiers


def _text(value: float) -> str:
    out = f"{value:.8f}".rstrip("0").rstrip(".")
    return out or "0"


def market_from_simulation(
    symbol: str, sim: Any, *, oi_share: float = 0.35, seed: int = 23
) -> OkxMarket:
    """OKX's market shadowing the synthetic Binance `Market` (see module doc)."""
    rng = np.random.default_rng(seed)
    ts = np.asarray(sim.minute_open_ms, dtype=np.int64)
    basis = 1.0 + rng.normal(0.0, 8e-5, len(ts))
    o, h, lo, c = shadow_ohlc(sim, basis)
    volume = np.asarray(sim.volume, dtype=np.float64) * 0.3
    klines = np.column_stack([ts, o, h, lo, c, volume, volume * c])
    mark = np.column_stack([ts, sim.mark_open, sim.mark_high, sim.mark_low, sim.mark_close])
    oi = np.asarray(sim.oi_base, dtype=np.float64) * oi_share
    oi_ts = ts[0] + 5 * MINUTE_MS * np.arange(len(oi), dtype=np.int64)
    # the USD value at the snapshot: the close of the minute before (the first: its open)
    minute = (oi_ts - ts[0]) // MINUTE_MS
    price = np.where(minute > 0, c[np.maximum(minute - 1, 0)], o[0])
    rates = np.round(np.asarray(sim.funding_rate, dtype=np.float64) * 0.9, 8)
    funding = np.column_stack([np.asarray(sim.funding_ms, dtype=np.int64), rates])
    return OkxMarket(
        symbol=symbol,
        klines=klines.astype(np.float64),
        mark_klines=mark.astype(np.float64),
        open_interest=np.column_stack([oi_ts, oi, oi * price]).astype(np.float64),
        funding=funding.astype(np.float64),
        contract_value=contract_value(symbol),
        tiers=standard_tiers(symbol),
    )


def generate_market(
    symbol: str, start: date, days: int, *, seed: int = 13, price: float = 60_000.0
) -> OkxMarket:
    """A seeded random-walk market covering `days` whole UTC days from `start` (tests)."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    t0 = day_start_ms(start)
    ts = t0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    closes = np.round(price * np.exp(np.cumsum(rng.normal(0.0, 6e-4, n))), 1)
    opens = np.concatenate([[price], closes[:-1]])
    highs = np.maximum(opens, closes) + 5.0
    lows = np.minimum(opens, closes) - 5.0
    volume = np.round(rng.gamma(2.0, 5.0, n), 2)
    klines = np.column_stack([ts, opens, highs, lows, closes, volume, volume * closes])
    mark = np.column_stack([ts, opens, highs - 1.0, lows + 1.0, closes])
    m = days * 288
    oi_ts = t0 + 5 * MINUTE_MS * np.arange(m, dtype=np.int64)
    oi = np.round(20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 2e-3, m))), 2)
    oi_price = closes[np.maximum((oi_ts - t0) // MINUTE_MS - 1, 0)]
    k = days * 3
    f_ts = t0 + FUNDING_EVERY_MS * np.arange(k, dtype=np.int64)
    rates = np.round(rng.normal(1e-4, 5e-5, k), 8)
    return OkxMarket(
        symbol=symbol,
        klines=klines.astype(np.float64),
        mark_klines=mark.astype(np.float64),
        open_interest=np.column_stack([oi_ts, oi, oi * oi_price]).astype(np.float64),
        funding=np.column_stack([f_ts, rates]).astype(np.float64),
        contract_value=contract_value(symbol),
        tiers=standard_tiers(symbol),
    )
