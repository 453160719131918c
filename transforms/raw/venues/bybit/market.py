"""Market arrays a fake Bybit server serves: 1m klines, 1m mark klines, 5m OI, funding, tiers.

`generate_market` makes a seeded random walk for tests and the offline demo; any other
generator (e.g. the synthetic Binance market) can fill a `BybitMarket` instead. Arrays are
float64 with epoch-millisecond timestamps in column 0, ascending.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import date
from typing import Any

import numpy as np

from transforms.days import day_start_ms
from transforms.raw.synthetic.market import shadow_ohlc

MINUTE_MS = 60_000
FUNDING_EVERY_MS = 8 * 60 * MINUTE_MS


@dataclass
class BybitMarket:
    """One linear perpetual: arrays in ascending time, columns as documented per field."""

    symbol: str
    klines: np.ndarray  # (n, 7): open_time, open, high, low, close, volume, turnover
    mark_klines: np.ndarray  # (n, 5): open_time, open, high, low, close
    open_interest: np.ndarray  # (m, 2|3): timestamp, openInterest as Bybit reports it[, single]
    funding: np.ndarray  # (k, 2): fundingRateTimestamp, fundingRate
    risk_tiers: list[dict[str, Any]] = field(default_factory=list)
    #: check the timestamps ascend (False: arrays already checked when first built, e.g. the
    #: demo's market memory-mapped back: the check reads every page of a year of minutes)
    check: InitVar[bool] = True

    def __post_init__(self, check: bool) -> None:
        if not check:
            return
        for name in ("klines", "mark_klines", "open_interest", "funding"):
            arr = getattr(self, name)
            if arr.ndim != 2 or (len(arr) > 1 and not np.all(np.diff(arr[:, 0]) > 0)):
                raise ValueError(f"BybitMarket.{name}: expected ascending unique timestamps")


def standard_tiers(symbol: str, n: int = 10, first_value: float = 2_000_000.0) -> list[dict]:
    """Tiered maintenance margin shaped like Bybit's BTCUSDT table (values illustrative):
    maintenance rate +0.5 % per tier, deduction keeps the requirement continuous."""
    tiers = []
    deduction = 0.0
    prev_mm = 0.0
    for i in range(1, n + 1):
        value = first_value * i
        mm = 0.005 * i
        im = 0.01 * i if i > 1 else 0.01
        if i > 1:
            deduction += (mm - prev_mm) * (first_value * (i - 1))
        tiers.append(
            {
                "id": i,
                "symbol": symbol,
                "riskLimitValue": value,
                "maintenanceMargin": mm,
                "initialMargin": im,
                "isLowestRisk": 1 if i == 1 else 0,
                "maxLeverage": round(1.0 / im, 2),
                "mmDeduction": None if i == 1 else deduction,
            }
        )
        prev_mm = mm
    return tiers


def generate_market(
    symbol: str,
    start: date,
    days: int,
    *,
    seed: int = 11,
    price: float = 60_000.0,
    open_interest: float = 50_000.0,
) -> BybitMarket:
    """A seeded random-walk market covering `days` whole UTC days from `start`."""
    rng = np.random.default_rng(seed)
    n = days * 1440
    t0 = day_start_ms(start)
    ts = t0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    closes = price * np.exp(np.cumsum(rng.normal(0.0, 6e-4, n)))
    opens = np.concatenate([[price], closes[:-1]])
    wick = np.abs(rng.normal(0.0, 3e-4, (n, 2))) * closes[:, None]
    highs = np.maximum(opens, closes) + wick[:, 0]
    lows = np.minimum(opens, closes) - wick[:, 1]
    volume = rng.gamma(2.0, 20.0, n)
    klines = np.column_stack([ts, opens, highs, lows, closes, volume, volume * closes])
    basis = 1.0 + rng.normal(0.0, 1e-4, n)
    mark = np.column_stack([ts, opens * basis, highs * basis, lows * basis, closes * basis])
    mark[:, 2] = np.maximum(mark[:, 2], mark[:, [1, 4]].max(axis=1))
    mark[:, 3] = np.minimum(mark[:, 3], mark[:, [1, 4]].min(axis=1))
    m = days * 288
    oi_ts = t0 + 5 * MINUTE_MS * np.arange(m, dtype=np.int64)
    oi = open_interest * np.exp(np.cumsum(rng.normal(0.0, 2e-3, m)))
    k = days * 3
    f_ts = t0 + FUNDING_EVERY_MS * np.arange(k, dtype=np.int64)
    rates = np.round(rng.normal(1e-4, 5e-5, k), 8)
    return BybitMarket(
        symbol=symbol,
        klines=klines.astype(np.float64),
        mark_klines=mark.astype(np.float64),
        open_interest=np.column_stack([oi_ts, oi]).astype(np.float64),
        funding=np.column_stack([f_ts, rates]).astype(np.float64),
        risk_tiers=standard_tiers(symbol),
    )


#: how far the demo Bybit's share of Binance's open interest wanders: the daily log-share is
#: an AR(1) with this step (its persistence SHARE_PERSISTENCE), clipped to ±SHARE_RANGE
SHARE_STEP = 0.08
SHARE_PERSISTENCE = 0.85
SHARE_RANGE = 0.5
#: Bybit's own openings and closings: a mean-reverting 5-minute log-OI wobble of this step
OWN_FLOW_STEP = 0.0015
OWN_FLOW_PERSISTENCE = 0.995


def share_path(n5: int, oi_share: float, rng: np.random.Generator, drift: bool) -> np.ndarray:
    """Per 5-minute step, Bybit's per-side OI as a multiple of Binance's: `oi_share` held
    (drift False), or moving day to day around it (a daily AR(1) log-share interpolated
    across each day, so no step creates positions at once) with Bybit's own 5-minute flow on
    top: its traders open and close at other times than Binance's."""
    if not drift:
        return np.full(n5, oi_share)
    days = n5 // 288 + 2
    x = np.zeros(days)
    for d in range(1, days):
        x[d] = SHARE_PERSISTENCE * x[d - 1] + rng.normal(0.0, SHARE_STEP)
    x = np.clip(x, -SHARE_RANGE, SHARE_RANGE)
    daily = np.interp(np.arange(n5) / 288.0, np.arange(days), x)
    own = np.zeros(n5)
    steps = rng.normal(0.0, OWN_FLOW_STEP, n5)
    for k in range(1, n5):
        own[k] = OWN_FLOW_PERSISTENCE * own[k - 1] + steps[k]
    return oi_share * np.exp(daily + own)


def market_from_simulation(
    symbol: str,
    sim: Any,
    *,
    oi_share: float = 0.6,
    oi_reported_as: str = "both",
    seed: int = 11,
    share_drift: bool = False,
) -> BybitMarket:
    """A Bybit market shadowing a simulated Binance market (the synthetic generator's `Market`:
    minute arrays, 5-min `oi_base` from the first minute, 8-hourly funding), so the demo's two
    venues share one price path, as real venues do.

    Bybit's per-side OI is `oi_share` x Binance's; it is written the way Bybit reports it under
    `oi_reported_as` (`both`: doubled, `one`: as is), so reading it back with the same
    LIQMAP_BYBIT_OI_SIDES gives `oi_share` x Binance exactly; `singleOpenInterest` (one side)
    is served too, as in Bybit's newest responses. Prices carry a small venue basis. With
    `share_drift` (the demo) the share moves day to day and Bybit's traders open and close
    at their own times (`share_path`), so the venue split carries information; its funding
    then carries a venue premium that moves too.
    """
    if oi_reported_as not in ("both", "one"):
        raise ValueError(f"oi_reported_as={oi_reported_as!r}: expected both or one")
    rng = np.random.default_rng(seed)
    ts = np.asarray(sim.minute_open_ms, dtype=np.int64)
    n = len(ts)
    basis = 1.0 + rng.normal(0.0, 5e-5, n)
    o, h, lo, c = shadow_ohlc(sim, basis)
    volume = np.asarray(sim.volume, dtype=np.float64) * 0.5
    klines = np.column_stack([ts, o, h, lo, c, volume, volume * c])
    mark = np.column_stack([ts, sim.mark_open, sim.mark_high, sim.mark_low, sim.mark_close])
    binance_oi = np.asarray(sim.oi_base, dtype=np.float64)
    oi_per_side = binance_oi * share_path(len(binance_oi), oi_share, rng, share_drift)
    reported = oi_per_side * (2.0 if oi_reported_as == "both" else 1.0)
    oi_ts = ts[0] + 5 * MINUTE_MS * np.arange(len(reported), dtype=np.int64)
    rates = np.asarray(sim.funding_rate, dtype=np.float64)
    if share_drift:  # Bybit's own premium: a slow mean-reverting wobble around Binance's rate
        premium = np.zeros(len(rates))
        steps = rng.normal(0.0, 1e-5, len(rates))
        for k in range(1, len(rates)):
            premium[k] = 0.97 * premium[k - 1] + steps[k]
        rates = np.round(rates + premium, 8)
    funding = np.column_stack([np.asarray(sim.funding_ms, dtype=np.int64), rates])
    return BybitMarket(
        symbol=symbol,
        klines=klines.astype(np.float64),
        mark_klines=mark.astype(np.float64),
        open_interest=np.column_stack([oi_ts, reported, oi_per_side]).astype(np.float64),
        funding=funding.astype(np.float64),
        risk_tiers=standard_tiers(symbol),
    )
