"""Cohorts: open on rising OI, liquidate on the mark path, close pro-rata, expire.

Everything is vectorized over cohorts; the only loops are over the sparse-table levels
(~17) and the fixed-point passes of the closing factor (a handful).

Timing convention (documented in docs/methodology.md): bar t's ΔOI = OI_t − OI_{t−1};
positive ΔOI opens cohorts at bar t's close; a cohort can first be liquidated at bar t+1;
within a bar, liquidations happen before voluntary closing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.model.bars import NS_PER_DAY, BarArrays
from transforms.model.brackets import lp_ratios
from transforms.model.params import ModelParams

ALIVE, LIQUIDATED, EXPIRED = 0, 1, 2
LONG, SHORT = 1, -1
_MIN_FACTOR = 1e-300  # floor of the per-bar survival factor (OI collapsing to ~0)


@dataclass
class ModelRun:
    """Result of one model run: per-cohort arrays and per-bar series.

    A cohort opened at bar `start` holds `n0 * exp(log_f[t] - log_f[start])` USDT (entry
    notional) at the end of bar t for start <= t < end; `end` is the bar where it was
    liquidated (status LIQUIDATED) or expired (EXPIRED), or `n` when still alive.
    """

    bars: BarArrays
    params: ModelParams
    start: np.ndarray  # int64 bar index of opening
    end: np.ndarray  # int64 bar index where it left (n = still alive)
    side: np.ndarray  # int8, +1 long / -1 short
    level: np.ndarray  # int8 index into params.leverage_levels
    entry: np.ndarray  # entry price
    lp: np.ndarray  # liquidation price
    n0: np.ndarray  # opened notional (USDT at entry)
    status: np.ndarray  # int8 ALIVE / LIQUIDATED / EXPIRED
    log_f: np.ndarray  # per-bar log of the running closing product F_t
    liq_long: np.ndarray  # per-bar modelled long liquidations (USDT)
    liq_short: np.ndarray
    opened_long: np.ndarray  # per-bar opened notional (USDT)
    opened_short: np.ndarray
    fixed_point_passes: int = 0
    effective_leverage: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_bars(self) -> int:
        return self.bars.n

    @property
    def n_cohorts(self) -> int:
        return len(self.start)

    def size_at(self, t: int) -> np.ndarray:
        """Notional of every cohort at the end of bar t (0 when not alive then)."""
        alive = (self.start <= t) & (self.end > t)
        out = np.zeros(self.n_cohorts)
        out[alive] = self.n0[alive] * np.exp(self.log_f[t] - self.log_f[self.start[alive]])
        return out

    def exit_size(self) -> np.ndarray:
        """Notional at the moment each cohort left (or at the last bar if alive)."""
        last = np.minimum(self.end, self.n_bars) - 1
        return self.n0 * np.exp(self.log_f[last] - self.log_f[self.start])

    def accounting(self) -> pd.DataFrame:
        """Per cohort: opened = alive + liquidated + closed + expired (USDT)."""
        size = self.exit_size()
        return pd.DataFrame(
            {
                "start": self.start,
                "side": self.side,
                "level": self.level,
                "lp": self.lp,
                "opened": self.n0,
                "alive": np.where(self.status == ALIVE, size, 0.0),
                "liquidated": np.where(self.status == LIQUIDATED, size, 0.0),
                "expired": np.where(self.status == EXPIRED, size, 0.0),
                "closed": self.n0 - size,
            }
        )


class _SparseTable:
    """Range-min (or max) table for 'first later bar crossing a level' queries."""

    def __init__(self, values: np.ndarray, op: str) -> None:
        n = len(values)
        self.n = n
        self.op = op
        pad = np.inf if op == "min" else -np.inf
        fn = np.minimum if op == "min" else np.maximum
        self.K = max(1, int(np.ceil(np.log2(n + 1))))
        rows = [np.append(values.astype(float), pad)]  # index n = padding
        for k in range(1, self.K + 1):
            prev = rows[-1]
            half = 1 << (k - 1)
            shifted = np.full(n + 1, pad)
            if half <= n:
                shifted[: n + 1 - half] = prev[half:]
            rows.append(fn(prev, shifted))
        self.rows = rows

    def first_cross(self, after: np.ndarray, level: np.ndarray) -> np.ndarray:
        """First index j > after with values[j] <= level (min) / >= level (max); n if none."""
        pos = after.astype(np.int64) + 1
        n = self.n
        for k in range(self.K, -1, -1):
            v = self.rows[k][np.minimum(pos, n)]
            ok = v > level if self.op == "min" else v < level
            pos = pos + (ok.astype(np.int64) << k)
        return np.minimum(pos, n)


def _ratios_per_open(
    brackets: pd.DataFrame, open_day_ns: np.ndarray, params: ModelParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k_long, k_short) of shape (n_open, n_levels) using the snapshot in force each day."""
    b = brackets.copy()
    if "effective_date" not in b.columns:
        b["effective_date"] = pd.Timestamp("1970-01-01")
    eff = pd.to_datetime(b["effective_date"]).astype("datetime64[ns]")
    b["_eff"] = eff.to_numpy().view("int64")
    dates = np.sort(b["_eff"].unique())
    kl, ks, levs = [], [], []
    for d in dates:
        a, s_, lev = lp_ratios(b[b["_eff"] == d], params.leverage_levels, params.position_notional)
        kl.append(a)
        ks.append(s_)
        levs.append(lev)
    snap = np.searchsorted(dates, open_day_ns, side="right") - 1
    snap = np.clip(snap, 0, len(dates) - 1)  # before the first snapshot: use the earliest
    return np.asarray(kl)[snap], np.asarray(ks)[snap], np.asarray(levs)[-1]


def run_model(bars: BarArrays | pd.DataFrame, params: ModelParams, brackets) -> ModelRun:
    """Run the cohort model over all bars (one pass) and return cohorts + per-bar series."""
    b = bars if isinstance(bars, BarArrays) else BarArrays.from_frame(bars)
    n = b.n
    n_lev = len(params.leverage_levels)
    weights = np.asarray(params.leverage_weights)

    # 1. New positions from rising base-asset OI, valued at the bar's close.
    oi = b.oi_base
    d_oi = np.zeros(n)
    if n > 1:
        d_oi[1:] = oi[1:] - oi[:-1]
    d_oi[~np.isfinite(d_oi)] = 0.0
    opened = np.where(d_oi > 0, d_oi * b.close, 0.0)
    opened[~np.isfinite(opened)] = 0.0
    r = b.taker_ratio
    if params.side_split == "taker":
        long_share = np.where(np.isfinite(r) & (r > 0), r / (1.0 + r), 0.5)
    else:
        long_share = np.full(n, 0.5)
    op_idx = np.flatnonzero(opened > 0)
    n_open = len(op_idx)
    entry_o = b.close[op_idx]
    k_long, k_short, eff_lev = _ratios_per_open(brackets, b.day_ns[op_idx], params)

    # Cohort layout: side-major (long block, short block), then level, then opening bar.
    start = np.tile(op_idx, 2 * n_lev)
    side = np.repeat(np.array([LONG, SHORT], dtype=np.int8), n_lev * n_open)
    level = np.tile(np.repeat(np.arange(n_lev, dtype=np.int8), n_open), 2)
    entry = np.tile(entry_o, 2 * n_lev)
    lp = np.concatenate(
        [(entry_o[:, None] * k_long).T.ravel(), (entry_o[:, None] * k_short).T.ravel()]
    )
    share_o = long_share[op_idx]
    n0_long = (opened[op_idx] * share_o)[None, :] * weights[:, None]
    n0_short = (opened[op_idx] * (1.0 - share_o))[None, :] * weights[:, None]
    n0 = np.concatenate([n0_long.ravel(), n0_short.ravel()])
    q0 = n0 / entry  # base quantity

    # 2. Consumption on the mark path (first later bar crossing the LP).
    half = n_lev * n_open
    consumed = np.empty(len(start), dtype=np.int64)
    if n:
        consumed[:half] = _SparseTable(b.mark_low, "min").first_cross(start[:half], lp[:half])
        consumed[half:] = _SparseTable(b.mark_high, "max").first_cross(start[half:], lp[half:])

    # 3. Lookback expiry at the first bar >= opening time + lookback.
    lookback_ns = int(params.lookback_days) * NS_PER_DAY
    expiry = np.searchsorted(b.ts, b.ts[start] + lookback_ns, side="left") if n else start
    end = np.minimum(consumed, expiry)
    status = np.full(len(start), ALIVE, dtype=np.int8)
    status[expiry < n] = EXPIRED
    status[consumed < expiry] = LIQUIDATED  # consumed < expiry <= n
    end = np.where(status == ALIVE, n, end)

    # 4. Closing factor F_t (log space), net of the bar's modelled liquidations.
    log_f = np.zeros(n)
    passes = 0
    if params.closing == "total_oi" and n > 1:
        oi_prev = np.empty(n)
        oi_prev[0] = np.nan
        oi_prev[1:] = oi[:-1]
        falling = (d_oi < 0) & (oi_prev > 0)
        liq_mask = status == LIQUIDATED
        l_start, l_end, l_q = start[liq_mask], end[liq_mask], q0[liq_mask]
        for passes in range(1, 201):  # noqa: B007
            liq_base = np.bincount(
                l_end, weights=l_q * np.exp(log_f[l_end - 1] - log_f[l_start]), minlength=n
            )[:n]
            closes = np.where(falling, np.maximum(0.0, -d_oi - liq_base), 0.0)
            f = np.ones(n)
            f[falling] = 1.0 - closes[falling] / oi_prev[falling]
            new = np.cumsum(np.log(np.clip(f, _MIN_FACTOR, 1.0)))
            if np.array_equal(new, log_f):
                break
            log_f = new

    # 5. Per-bar liquidation series at the size held when liquidated.
    liq_size = np.where(
        status == LIQUIDATED,
        n0 * np.exp(log_f[np.maximum(end - 1, 0)] - log_f[start]),
        0.0,
    )
    is_long = side == LONG
    liq_bar = np.minimum(end, max(n - 1, 0))
    liq_long = np.bincount(liq_bar[is_long], weights=liq_size[is_long], minlength=n)[:n]
    liq_short = np.bincount(liq_bar[~is_long], weights=liq_size[~is_long], minlength=n)[:n]
    return ModelRun(
        bars=b,
        params=params,
        start=start.astype(np.int64),
        end=end.astype(np.int64),
        side=side,
        level=level,
        entry=entry,
        lp=lp,
        n0=n0,
        status=status,
        log_f=log_f,
        liq_long=liq_long,
        liq_short=liq_short,
        opened_long=opened * long_share,
        opened_short=opened * (1.0 - long_share),
        fixed_point_passes=passes,
        effective_leverage=eff_lev,
    )
