"""A seeded synthetic perpetual market (BTCUSDT and alts that follow it), simulated in numpy
(the archive files it becomes are written by transforms.raw.synthetic.archive).

BTCUSDT is the leader, simulated as described below. Every other symbol follows BTC's hourly
path (beta times BTC's log move plus its own mean-reverting walk from its own seeded stream,
`_follower_path`) and then gets its own minutes, open interest, ratios and funding from its own
streams, with its price level, OI size, decimals and funding bias from `PROFILES`. Adding a
symbol never changes BTC's files: BTC reads only its own streams.

The market is built top-down, all in numpy:

1. **Regimes** (bull, bear, range, crash, rebound) at hourly resolution. Each regime's length
   and parameters come from a sequential random stream and its hourly noise from its own
   stream, and the next regime is chosen from the price reached, so BTC stays roughly within
   60k-120k. A crash (-25..-35 % in 2-4 days, in lumpy cascades) is due within the first
   ~35-75 days and every ~70-140 days after that.
2. **Minutes**: Brownian bridges pinned to the hourly path, fat-tailed, with intraday and
   weekend seasonality and volatility clustering. Volume, trade count and taker buy share
   follow the size and sign of each minute's move.
3. **Leverage**: open interest (5-min) builds in trends, is flushed by sharp moves (long
   liquidations in crashes, short squeezes on spikes) and mean-reverts slowly. The premium
   follows leverage build-up and momentum; funding settles every 8 h with Binance's
   clamp (0.01 % unless the premium is far from it), so it runs hot in leveraged rallies and
   goes negative after flushes. Mark price = last price plus a small premium-driven basis.

Randomness is drawn per regime, per day and per month from streams keyed on
(seed, symbol, ...), and the simulation always starts on the first day of the start month, so
a given day's files do not change when the window is extended.
"""

from __future__ import annotations

import calendar
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MS_MINUTE = 60_000
_EPOCH = date(1970, 1, 1)

LEADER = "BTCUSDT"  # every other symbol follows BTC's path


@dataclass(frozen=True)
class SymbolProfile:
    """How one synthetic symbol differs from BTC: its price level (the generator keeps BTC
    within ~0.65x-1.3x of it), open interest in base units, price decimals in the files
    (last and mark), how strongly it follows BTC's log path (`beta`), its own volatility
    relative to BTC's (`idio_vol`) and a funding premium bias (alts run hotter)."""

    reference_price: float
    reference_oi: float
    price_decimals: int
    mark_decimals: int
    beta: float = 1.0
    idio_vol: float = 0.0
    funding_bias: float = 0.0


PROFILES = {
    LEADER: SymbolProfile(92_000.0, 82_000.0, 1, 2),
    "ETHUSDT": SymbolProfile(3_000.0, 1_400_000.0, 2, 3, 1.15, 0.55, 0.00003),
    "SOLUSDT": SymbolProfile(150.0, 11_000_000.0, 3, 4, 1.35, 0.8, 0.00006),
    "XRPUSDT": SymbolProfile(2.3, 420_000_000.0, 4, 5, 1.1, 0.9, -0.00002),
    "DOGEUSDT": SymbolProfile(0.16, 6_000_000_000.0, 5, 6, 1.4, 1.0, 0.00004),
}
# Any other configured symbol: a generic alt at 100 USDT.
GENERIC_PROFILE = SymbolProfile(100.0, 1_000_000.0, 4, 5, 1.2, 0.8, 0.0)
IDIO_HALF_LIFE_HOURS = 24 * 14  # the own component mean-reverts, so levels stay bounded


def profile(symbol: str) -> SymbolProfile:
    return PROFILES.get(symbol, GENERIC_PROFILE)


# Intraday volatility profile by UTC hour (US session busiest, late Asia quiet).
_HOUR_PROFILE = np.array(
    [0.95, 0.9, 0.85, 0.8, 0.75, 0.75, 0.8, 0.85, 0.95, 1.0, 1.0, 1.0,
     1.05, 1.25, 1.45, 1.5, 1.35, 1.2, 1.1, 1.0, 0.95, 0.9, 0.9, 0.95]
)  # fmt: skip
_HOUR_PROFILE = _HOUR_PROFILE / _HOUR_PROFILE.mean()

DAILY_VOL = 0.024  # typical daily log-return sd
KIND_NAMES = ("range", "bull", "bear", "crash", "rebound")
RANGE, BULL, BEAR, CRASH, REBOUND = range(5)
# open-interest build-up per day by regime (log change)
_OI_BUILD_PER_DAY = np.array([0.002, 0.012, 0.009, -0.03, 0.004])
# volatility multiplier by regime
_REGIME_VOL = np.array([0.6, 1.0, 1.15, 2.0, 1.4])


def stream(seed: int, symbol: str, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(symbol.encode()), *key])


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end_exclusive(d: date) -> date:
    return d.replace(day=1) + timedelta(days=calendar.monthrange(d.year, d.month)[1])


@dataclass
class Market:
    start: date  # first simulated day (first of a month), 00:00 UTC
    n_days: int
    minute_open_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    quote_volume: np.ndarray
    count: np.ndarray
    taker_buy_volume: np.ndarray
    taker_buy_quote_volume: np.ndarray
    mark_open: np.ndarray
    mark_high: np.ndarray
    mark_low: np.ndarray
    mark_close: np.ndarray
    # 5-minute metrics at create_time = start + 5 min * k
    oi_base: np.ndarray
    oi_value: np.ndarray
    top_account_ratio: np.ndarray
    top_position_ratio: np.ndarray
    global_account_ratio: np.ndarray
    taker_ratio: np.ndarray
    # funding settlements (every 8 h from start)
    funding_ms: np.ndarray
    funding_rate: np.ndarray
    regime_by_hour: np.ndarray


def _choose_regime(prev: int, price: float, ref: float, since_crash: float, due: float, u):
    rel = price / ref
    if prev == CRASH:
        return REBOUND
    if prev == REBOUND:
        return RANGE
    if since_crash >= due and rel > 0.92:
        return CRASH
    if rel > 1.22:
        return BEAR if u < 0.7 else CRASH
    if rel < 0.75:
        return BULL if u < 0.75 else RANGE
    table = {
        BULL: ((RANGE, 0.45), (BULL, 0.25), (BEAR, 0.2), (CRASH, 0.1)),
        BEAR: ((RANGE, 0.45), (BULL, 0.3), (BEAR, 0.15), (CRASH, 0.1)),
        RANGE: ((BULL, 0.45), (BEAR, 0.35), (RANGE, 0.1), (CRASH, 0.1)),
    }[prev]
    acc = 0.0
    for kind, p in table:
        acc += p
        if u < acc:
            return RANGE if kind == CRASH and rel < 0.92 else kind
    return RANGE


def _volatility_clustering(seed: int, symbol: str, n: int) -> np.ndarray:
    """exp(AR(1)) hourly volatility multiplier, mean ~1."""
    z = stream(seed, symbol, 2).standard_normal(n)
    phi, sd = 0.985, 0.35
    x = np.empty(n)
    acc = 0.0
    innov = (z * sd * np.sqrt(1 - phi**2)).tolist()
    for i, e in enumerate(innov):
        acc = phi * acc + e
        x[i] = acc
    return np.exp(x - sd**2 / 2)


def _hourly_path(seed: int, symbol: str, start: date, n_hours: int):
    """Log price at each hour boundary (n_hours + 1), hourly sigma and regime per hour."""
    ref = profile(symbol).reference_price
    choice = stream(seed, symbol, 0)
    max_regime_hours = 60 * 24
    cluster = _volatility_clustering(seed, symbol, n_hours + max_regime_hours)
    hours = np.arange(n_hours + max_regime_hours)
    weekday = (start.weekday() + hours // 24) % 7
    season = _HOUR_PROFILE[hours % 24] * np.where(weekday >= 5, 0.7, 1.0)
    base_sigma = DAILY_VOL / np.sqrt(24) * season * cluster

    lp = np.empty(n_hours + 1)
    sigma = np.empty(n_hours)
    kind_h = np.empty(n_hours, dtype=np.int8)
    first = choice.random(2)
    lp[0] = np.log(ref * (0.9 + 0.15 * first[0]))
    due = 35 + 40 * first[1]
    since_crash = 0.0
    prev = RANGE
    h = 0
    k = 0
    while h < n_hours:
        u = choice.random(6)  # fixed draws per regime keep the stream prefix-stable
        kind = RANGE if k == 0 else _choose_regime(prev, np.exp(lp[h]), ref, since_crash, due, u[0])
        noise = stream(seed, symbol, 1, k)
        if kind == BULL:
            days = 18 + 27 * u[1]
        elif kind == BEAR:
            days = 12 + 18 * u[1]
        elif kind == CRASH:
            days = 2 + 2 * u[1]
        elif kind == REBOUND:
            days = 4 + 6 * u[1]
        else:
            days = 8 + 17 * u[1]
        n = int(days * 24)
        sig = base_sigma[h : h + n] * _REGIME_VOL[kind]
        z = noise.standard_normal(n) * sig
        rel = np.exp(lp[h]) / ref
        if kind in (BULL, BEAR, CRASH, REBOUND):
            if kind == BULL:
                total = min(0.08 + 0.27 * u[2], np.log(1.25 / rel))
                total = max(total, 0.04)
                weights = np.ones(n)
            elif kind == BEAR:
                total = max(-(0.08 + 0.20 * u[2]), np.log(0.68 / rel))
                total = min(total, -0.04)
                weights = np.ones(n)
            elif kind == CRASH:
                total = np.log(1 - (0.25 + 0.10 * u[2]))
                weights = noise.gamma(0.35, size=n) + 0.05
            else:
                total = np.log(1 + (0.08 + 0.12 * u[2]))
                weights = noise.gamma(1.0, size=n) + 0.2
            weights /= weights.sum()
            incr = total * weights + z - z.sum() / n  # endpoint pinned: the move is exact
        else:
            band = 0.035 + 0.035 * u[2]
            walk = np.cumsum(z)
            frac = np.arange(1, n + 1) / n
            walk = walk - frac * walk[-1] + frac * (0.01 * (u[3] - 0.5))
            dev = band * np.tanh(walk / band)
            incr = np.diff(np.concatenate(([0.0], dev)))
        take = min(n, n_hours - h)
        lp[h + 1 : h + 1 + take] = lp[h] + np.cumsum(incr[:take])
        sigma[h : h + take] = sig[:take]
        kind_h[h : h + take] = kind
        if kind == CRASH:
            since_crash = 0.0
            due = 70 + 70 * u[4]
        else:
            since_crash += days
        prev = kind
        h += n
        k += 1
    return lp, sigma, kind_h


def _follower_path(seed: int, symbol: str, start: date, n_hours: int):
    """A symbol correlated with BTC: beta times BTC's log deviation from its level plus an
    own mean-reverting walk from the symbol's seeded stream; BTC's regimes (crashes hit
    every symbol the same hours) and volatility clustering."""
    prof, lead = profile(symbol), profile(LEADER)
    lp_btc, sigma_btc, kind_h = _hourly_path(seed, LEADER, start, n_hours)
    own_sigma = prof.idio_vol * np.concatenate(([sigma_btc[0]], sigma_btc))
    z = stream(seed, symbol, 8).standard_normal(n_hours + 1) * own_sigma
    phi = 1.0 - np.log(2.0) / IDIO_HALF_LIFE_HOURS
    own = np.empty(n_hours + 1)
    acc = 0.0
    for i, e in enumerate(z.tolist()):
        acc = phi * acc + e
        own[i] = acc
    lp = np.log(prof.reference_price) + prof.beta * (lp_btc - np.log(lead.reference_price)) + own
    sigma = sigma_btc * np.hypot(prof.beta, prof.idio_vol)
    return lp, sigma, kind_h


def _ema(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(x)
    acc = float(x[0])
    for i, v in enumerate(x.tolist()):
        acc += alpha * (v - acc)
        out[i] = acc
    return out


def simulate_market(symbol: str, start: date, n_days: int, seed: int) -> Market:
    """Simulate `n_days` from `start` 00:00 UTC (minutes, 5-min metrics, 8-hourly funding)."""
    n_hours = n_days * 24
    n_min = n_hours * 60
    prof = profile(symbol)
    path = _hourly_path if symbol == LEADER else _follower_path
    lp_h, sigma_h, kind_h = path(seed, symbol, start, n_hours)
    px, mx = prof.price_decimals, prof.mark_decimals

    # --- minutes: bridges pinned to the hourly path -----------------------------------
    day0 = start.toordinal()
    e = np.empty(n_min)
    wick = np.empty((2, n_min))
    vol_noise = np.empty(n_min)
    taker_noise = np.empty(n_min)
    count_u = np.empty(n_min)
    mark_noise = np.empty((3, n_min))
    for d in range(n_days):
        r = stream(seed, symbol, 3, day0 + d)
        s = slice(d * 1440, (d + 1) * 1440)
        e[s] = r.standard_t(5, 1440) / np.sqrt(5 / 3)
        wick[:, s] = np.abs(r.standard_normal((2, 1440)))
        vol_noise[s] = r.standard_normal(1440)
        taker_noise[s] = r.standard_normal(1440)
        count_u[s] = r.random(1440)
        mark_noise[:, s] = r.standard_normal((3, 1440))
    sigma_m = np.repeat(sigma_h / np.sqrt(60), 60)
    steps = (e * sigma_m).reshape(n_hours, 60)
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, 61) / 60
    bridge = walk - frac * walk[:, -1:]
    lp_m = (lp_h[:-1, None] + (lp_h[1:] - lp_h[:-1])[:, None] * frac + bridge).ravel()
    close = np.exp(lp_m)
    open_ = np.concatenate(([np.exp(lp_h[0])], close[:-1]))
    ret = lp_m - np.log(open_)
    z_ret = ret / sigma_m
    o = np.round(open_, px)
    c = np.round(close, px)
    high = np.round(np.maximum(o, c) * (1 + 0.5 * sigma_m * wick[0]), px)
    low = np.round(np.minimum(o, c) * (1 - 0.5 * sigma_m * wick[1]), px)
    high = np.maximum(high, np.maximum(o, c))
    low = np.minimum(low, np.minimum(o, c))

    ref = prof.reference_price
    hour_of_min = np.repeat(np.arange(n_hours), 60)
    regime_m = kind_h[hour_of_min]
    regime_volume = np.array([0.8, 1.0, 1.1, 2.5, 1.6])[regime_m]
    season_m = np.repeat(_HOUR_PROFILE[np.arange(n_hours) % 24], 60)
    base_volume = 95.0 * np.sqrt(ref / 92_000.0) * 92_000.0 / ref
    volume = base_volume * season_m * regime_volume * np.exp(0.45 * vol_noise - 0.1)
    volume *= 0.45 + 0.75 * np.abs(z_ret)
    volume = np.round(volume, 3) + 0.001
    vwap = (o + high + low + c) / 4
    quote_volume = np.round(volume * vwap, 4)
    buy_share = np.clip(0.5 + 0.22 * np.tanh(z_ret / 1.5) + 0.04 * taker_noise, 0.03, 0.97)
    taker_buy_volume = np.round(volume * buy_share, 3)
    taker_buy_quote_volume = np.round(taker_buy_volume * vwap, 4)
    count = np.maximum(1, np.round(volume * (12 + 8 * count_u))).astype(np.int64)

    # --- 5-minute leverage state --------------------------------------------------------
    n5 = n_min // 5
    lp5_close = lp_m[4::5]  # close of each 5-min bar
    lp5_open = np.concatenate(([lp_h[0]], lp5_close[:-1]))
    r5 = lp5_close - lp5_open
    regime5 = regime_m[::5]
    # one stream per series, so each is a prefix-stable function of time
    oi_start = float(np.log(0.9 + 0.2 * stream(seed, symbol, 5).random()))
    oi_noise = stream(seed, symbol, 6).standard_normal(n5)
    ratio_noise = np.stack([stream(seed, symbol, 7, i).standard_normal(n5) for i in range(3)])
    sigma5 = sigma_h[np.arange(n5) // 12] / np.sqrt(12)
    # Flushes: moves far beyond the current volatility liquidate leveraged positions.
    calm_sigma5 = sigma5 / _REGIME_VOL[regime5]  # thresholds ignore the regime's own vol
    thr = np.maximum(0.004, 3.0 * calm_sigma5)
    flush = np.minimum(8.0 * np.maximum(0.0, -r5 - thr) + 3.0 * np.maximum(0.0, r5 - thr), 0.05)
    incr = (
        _OI_BUILD_PER_DAY[regime5] / 288
        + 0.05 * (np.abs(r5) - 0.8 * sigma5)  # breakouts open positions
        + 0.0004 * oi_noise
    )
    ref_oi = prof.reference_oi
    target = np.log(ref_oi)
    kappa = 1 / (288 * 30)
    alpha = 1 / (288 * 30)
    x = target + oi_start
    ema = x
    log_oi = np.empty(n5)  # state at create_time k (before bar k)
    lev = np.empty(n5)  # leverage build-up: log OI above its 30-day average
    for i, (inc, fl) in enumerate(zip(incr.tolist(), flush.tolist(), strict=True)):
        log_oi[i] = x
        lev[i] = x - ema
        # less is left to liquidate once leverage has been flushed
        scale = min(2.0, float(np.exp(4.0 * (x - ema)))) if fl else 0.0
        x = x + inc - scale * fl - kappa * (x - target)
        ema += alpha * (x - ema)
    oi_base = np.exp(log_oi)
    lp_at = lp5_open  # price at create_time k
    oi_value = oi_base * np.exp(lp_at)

    lag = 288 * 3
    mom = lp_at - np.concatenate((np.full(min(lag, n5), lp_at[0]), lp_at[:-lag]))[:n5]
    smooth_noise = _ema(ratio_noise[0], 1 / 24) * 3
    premium = 0.01 * lev + 0.007 * mom + 0.0002 * smooth_noise + prof.funding_bias
    premium = np.where(premium < 0, premium * 0.3, premium)
    premium = np.clip(premium, -0.0009, 0.0015)

    # taker buy/sell ratio of the 5 minutes before create_time k
    buy5 = taker_buy_volume.reshape(n5, 5).sum(axis=1)
    vol5 = volume.reshape(n5, 5).sum(axis=1)
    ratio5 = buy5 / np.maximum(vol5 - buy5, 1e-9)
    taker_ratio = np.concatenate((ratio5[:1], ratio5[:-1]))
    top_account = 1.6 * np.exp(0.8 * lev - 1.2 * mom + 0.05 * _ema(ratio_noise[1], 1 / 12) * 3)
    top_position = 1.3 * np.exp(1.0 * lev + 0.6 * mom + 0.05 * _ema(ratio_noise[2], 1 / 12) * 3)
    global_account = 1.8 * np.exp(-1.5 * mom + 0.3 * lev + 0.08 * smooth_noise)

    # --- funding every 8 h (Binance clamp around 0.01 %) ------------------------------------
    n_fund = n_hours // 8
    per = 96  # 5-min bars per 8 h
    fund_ms = (day0 - _EPOCH.toordinal()) * 86_400_000 + np.arange(n_fund) * 8 * 3_600_000
    avg_premium = np.empty(n_fund)
    avg_premium[0] = premium[0]
    if n_fund > 1:
        avg_premium[1:] = premium[: (n_fund - 1) * per].reshape(n_fund - 1, per).mean(axis=1)
    rate = avg_premium + np.clip(0.0001 - avg_premium, -0.0005, 0.0005)
    funding_rate = np.round(rate, 8)

    # --- mark price: last + small premium-driven basis, its own (smaller) wicks -----------
    basis = np.repeat(0.15 * premium, 5) + 0.00004 * mark_noise[0]
    mark_close = close * (1 + basis)
    mark_open = np.concatenate(([open_[0] * (1 + basis[0])], mark_close[:-1]))
    mark_high = np.maximum(mark_open, mark_close) * (1 + 0.25 * sigma_m * np.abs(mark_noise[1]))
    mark_low = np.minimum(mark_open, mark_close) * (1 - 0.25 * sigma_m * np.abs(mark_noise[2]))

    start_ms = (day0 - _EPOCH.toordinal()) * 86_400_000
    return Market(
        start=start,
        n_days=n_days,
        minute_open_ms=start_ms + np.arange(n_min, dtype=np.int64) * MS_MINUTE,
        open=o,
        high=high,
        low=low,
        close=c,
        volume=volume,
        quote_volume=quote_volume,
        count=count,
        taker_buy_volume=taker_buy_volume,
        taker_buy_quote_volume=taker_buy_quote_volume,
        mark_open=np.round(mark_open, mx),
        mark_high=np.round(mark_high, mx),
        mark_low=np.round(mark_low, mx),
        mark_close=np.round(mark_close, mx),
        oi_base=np.round(oi_base, 3),
        oi_value=np.round(oi_value, 5),
        top_account_ratio=np.round(top_account, 8),
        top_position_ratio=np.round(top_position, 8),
        global_account_ratio=np.round(global_account, 8),
        taker_ratio=np.round(taker_ratio, 8),
        funding_ms=fund_ms.astype(np.int64),
        funding_rate=funding_rate,
        regime_by_hour=kind_h,
    )


def shadow_ohlc(
    sim: Market, basis: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Another venue's 1-minute OHLC shadowing `sim` through a per-minute price `basis`.

    Each bar opens at the previous bar's close, as on a real venue: a basis applied to the
    open as well would leave a gap between consecutive bars, which the `bars_continuous` row
    rule (transforms/raw/rules.py) rightly refuses as "open and close swapped?"."""
    c = np.asarray(sim.close, dtype=np.float64) * basis
    o = np.concatenate([[float(sim.open[0]) * float(basis[0])], c[:-1]])
    h = np.maximum(np.asarray(sim.high, dtype=np.float64) * basis, np.maximum(o, c))
    lo = np.minimum(np.asarray(sim.low, dtype=np.float64) * basis, np.minimum(o, c))
    return o, h, lo, c


#: simulations kept while `shared_simulations()` is open (None: none kept)
_SHARED: dict[tuple[str, date, int, int], Market] | None = None


@contextmanager
def shared_simulations() -> Iterator[None]:
    """While open, `simulation` computes each (symbol, start, n_days, seed) once: the offline
    nowcast's fake Binance REST and fake Bybit then share one simulation instead of two
    (~0.5 s per symbol-year each). Nothing is kept once it closes, so the daily run's memory
    is untouched."""
    global _SHARED
    outer = _SHARED
    _SHARED = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED = outer


def simulation(symbol: str, start: date, n_days: int, seed: int) -> Market:
    """`simulate_market`, shared inside `shared_simulations()` (the arrays are never written)."""
    if _SHARED is None:
        return simulate_market(symbol, start, n_days, seed)
    key = (symbol, start, n_days, seed)
    if key not in _SHARED:
        _SHARED[key] = simulate_market(symbol, start, n_days, seed)
    return _SHARED[key]
