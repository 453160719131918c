"""Cohorts: open on rising OI, liquidate on the mark path, close pro-rata, expire.

Everything is vectorized over cohorts; the only loops are over the sparse-table levels
(~17) and the fixed-point passes of the closing factor (a handful).

Timing convention (documented in docs/methodology.md): bar t's ΔOI = OI_t − OI_{t−1};
positive ΔOI opens cohorts at bar t's close; a cohort can first be liquidated at bar t+1;
within a bar, liquidations happen before voluntary closing.

A run can continue from a `ModelCarry` (the alive cohorts and running quantities at the end
of earlier bars, transforms.model.state): carried cohorts have `start = -1` (opened before
bar 0) and keep their log F at opening in `log_f_open`. Every quantity is then computed with
the same floating-point operations in the same order as one run over all the bars (the
closing product is a sequential sum continued from `log_f_prev`, per-bar sums add cohorts in
the canonical side, level, opening-time order), so a chain of runs equals one run exactly.
"""

from __future__ import annotations

import dataclasses
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
class ModelCarry:
    """The model's state at the end of a bar: alive cohorts and running quantities.

    Cohorts are in canonical order (long before short, then leverage level, then opening
    time). `log_f_end` is log F at the last bar, `oi_last` the last (forward-filled) base
    open interest, `last_ts` that bar's open time (ns)."""

    start_ts: np.ndarray  # int64 ns, opening bar open time
    side: np.ndarray  # int8
    level: np.ndarray  # int8
    entry: np.ndarray
    lp: np.ndarray
    n0: np.ndarray
    log_f_open: np.ndarray  # log F at the opening bar
    log_f_end: float = 0.0
    oi_last: float = float("nan")
    last_ts: int = -1

    @classmethod
    def empty(cls) -> ModelCarry:
        z = np.zeros(0)
        i8 = np.zeros(0, dtype=np.int8)
        return cls(np.zeros(0, dtype=np.int64), i8, i8.copy(), z, z.copy(), z.copy(), z.copy())

    @property
    def n_cohorts(self) -> int:
        return len(self.start_ts)


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
    start_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    log_f_open: np.ndarray | None = None  # per cohort log F at opening (carried ones too)
    log_f_prev: float = 0.0  # log F just before bar 0 (0 for a run from the first bar)
    oi_prev: float = float("nan")  # base open interest just before bar 0 (carried)
    ts_prev: int = -1  # open time of the bar before bar 0 (carried), -1 if none

    def __post_init__(self) -> None:
        if self.log_f_open is None:  # a run from the first bar: log F at the opening bar
            self.log_f_open = self.log_f[self.start] if len(self.start) else np.zeros(0)
        if len(self.start_ts) != len(self.start):
            self.start_ts = self.bars.ts[np.maximum(self.start, 0)] if self.bars.n else self.start

    def log_f_before(self, idx: np.ndarray) -> np.ndarray:
        """log F at the end of bar idx - 1 (`log_f_prev` for idx 0)."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.n_bars == 0:
            return np.full(len(idx), self.log_f_prev)
        return np.where(idx > 0, self.log_f[np.maximum(idx - 1, 0)], self.log_f_prev)

    def carry(self) -> ModelCarry:
        """The state at the end of the last bar: the cohorts still alive, in canonical order."""
        return self.carry_at(self.n_bars)

    def carry_at(self, k: int) -> ModelCarry:
        """The state at the end of bar k - 1 (`head(k).carry()`, without the head): the
        cohorts opened before bar k and still in at its end, in canonical order."""
        alive = (self.start < k) & (self.end >= k)
        return ModelCarry(
            start_ts=self.start_ts[alive].astype(np.int64, copy=False),
            side=self.side[alive],
            level=self.level[alive],
            entry=self.entry[alive],
            lp=self.lp[alive],
            n0=self.n0[alive],
            log_f_open=self.log_f_open[alive],
            log_f_end=float(self.log_f[k - 1]) if k else self.log_f_prev,
            oi_last=float(self.bars.oi_base[k - 1]) if k else self.oi_prev,
            last_ts=int(self.bars.ts[k - 1]) if k else self.ts_prev,
        )

    def head(self, k: int) -> ModelRun:
        """This run as a run over its first `k` bars alone (from the same carry) computes it:
        the cohorts opened before bar k, those still in at its end alive. Exact, not an
        approximation: every quantity of bar t depends only on bars up to t (the closing
        product's fixed point is causal, per-bar sums add the same cohorts in the same
        order), so `run_model(bars.head(k), ...)` gives these arrays bit for bit."""
        keep = self.start < k
        end = self.end[keep]
        alive = end >= k
        return dataclasses.replace(
            self,
            bars=self.bars.head(k),
            start=self.start[keep],
            end=np.where(alive, k, end),
            side=self.side[keep],
            level=self.level[keep],
            entry=self.entry[keep],
            lp=self.lp[keep],
            n0=self.n0[keep],
            status=np.where(alive, ALIVE, self.status[keep]).astype(np.int8),
            log_f=self.log_f[:k],
            liq_long=self.liq_long[:k],
            liq_short=self.liq_short[:k],
            opened_long=self.opened_long[:k],
            opened_short=self.opened_short[:k],
            start_ts=self.start_ts[keep],
            log_f_open=self.log_f_open[keep],
        )

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
        out[alive] = self.n0[alive] * np.exp(self.log_f[t] - self.log_f_open[alive])
        return out

    def exit_size(self) -> np.ndarray:
        """Notional at the moment each cohort left (or at the last bar if alive)."""
        return self.n0 * np.exp(
            self.log_f_before(np.minimum(self.end, self.n_bars)) - self.log_f_open
        )

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


class BracketTable:
    """A market's dated brackets prepared for its runs: the snapshots' dates once, and each
    snapshot's LP ratios once per leverage levels and position notional (`lp_ratios`), so
    the scenarios of a market (and the segments of a range) look a snapshot up once."""

    def __init__(self, brackets: pd.DataFrame) -> None:
        b = brackets
        if "effective_date" not in b.columns:
            b = b.assign(effective_date=pd.Timestamp("1970-01-01"))
        eff = pd.to_datetime(b["effective_date"]).astype("datetime64[ns]").to_numpy()
        self.frame = b
        self.eff = eff.view("int64")
        self.dates = np.unique(self.eff)
        self._ratios: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(cls, brackets: pd.DataFrame | BracketTable) -> BracketTable:
        return brackets if isinstance(brackets, BracketTable) else cls(brackets)

    def ratios(
        self, i: int, levels: tuple[float, ...], notional: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`lp_ratios` of snapshot i (copies: callers own them)."""
        key = (int(i), tuple(levels), float(notional))
        if key not in self._ratios:
            self._ratios[key] = lp_ratios(self.frame[self.eff == self.dates[i]], levels, notional)
        return tuple(a.copy() for a in self._ratios[key])  # type: ignore[return-value]


def _ratios_per_open(
    brackets: pd.DataFrame | BracketTable, open_day_ns: np.ndarray, params: ModelParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k_long, k_short) of shape (n_open, n_levels) using the snapshot in force each day.

    Only the snapshots some opening day uses (and the newest, for the effective leverage)
    are looked up: a day's run opens cohorts under one snapshot, not the table's history."""
    table = BracketTable.of(brackets)
    dates = table.dates
    snap = np.searchsorted(dates, open_day_ns, side="right") - 1
    snap = np.clip(snap, 0, len(dates) - 1)  # before the first snapshot: use the earliest
    used = np.union1d(np.unique(snap), [len(dates) - 1])
    n_lev = len(params.leverage_levels)
    kl, ks = np.zeros((len(dates), n_lev)), np.zeros((len(dates), n_lev))
    levs = {}
    for i in used:
        a, s_, lev = table.ratios(i, params.leverage_levels, params.position_notional)
        kl[i], ks[i], levs[i] = a, s_, lev
    return kl[snap], ks[snap], levs[len(dates) - 1]


def _canonical_order(
    side: np.ndarray, level: np.ndarray, start_ts: np.ndarray, n_carried: int, n_lev: int
) -> np.ndarray:
    """`np.lexsort((start_ts, level, -side))`: long before short, then level, then opening
    time (stable). The carried cohorts (first `n_carried`) come in that order and open before
    the new ones, which come in it too (side, level, opening bar), so a stable sort on
    (side, level) alone gives the same permutation in O(n); checked, else the lexsort."""
    block = np.where(side == LONG, 0, n_lev).astype(np.int64) + level
    carried, new = slice(0, n_carried), slice(n_carried, None)
    sorted_parts = all(
        np.all(np.diff(block[part]) >= 0)
        and np.all((np.diff(block[part]) > 0) | (np.diff(start_ts[part]) >= 0))
        for part in (carried, new)
    )
    later = n_carried in (0, len(side)) or start_ts[carried].max() < start_ts[new].min()
    known = np.all((side == LONG) | (side == SHORT)) and np.all((level >= 0) & (level < n_lev))
    if sorted_parts and later and known:
        return np.argsort(block, kind="stable")
    return np.lexsort((start_ts, level, -side.astype(np.int64)))


def run_model(
    bars: BarArrays | pd.DataFrame,
    params: ModelParams,
    brackets,
    carry: ModelCarry | None = None,
) -> ModelRun:
    """Run the cohort model over all bars (one pass) and return cohorts + per-bar series.

    With `carry` (the state at the end of the bar before `bars`, all of whose bars are later)
    the run continues it: see the module doc."""
    b = bars if isinstance(bars, BarArrays) else BarArrays.from_frame(bars)
    c = carry if carry is not None else ModelCarry.empty()
    if c.n_cohorts and b.n and b.ts[0] <= c.last_ts:
        raise ValueError("bars must start after the carried state's last bar")
    n = b.n
    n_lev = len(params.leverage_levels)
    weights = np.asarray(params.leverage_weights)
    log_f_prev = float(c.log_f_end)

    # 1. New positions from rising base-asset OI, valued at the bar's close.
    oi = b.oi_base
    d_oi = np.zeros(n)
    if n > 1:
        d_oi[1:] = oi[1:] - oi[:-1]
    if n and carry is not None:
        d_oi[0] = oi[0] - c.oi_last
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

    # New cohorts: side-major (long block, short block), then level, then opening bar.
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
    start_ts = b.ts[start] if n else np.zeros(0, dtype=np.int64)
    if c.n_cohorts:
        # Carried cohorts (opened before bar 0) join in canonical order: in one run over all
        # bars they sit before the new ones of their side and level.
        start = np.concatenate([np.full(c.n_cohorts, -1, dtype=np.int64), start])
        side = np.concatenate([c.side.astype(np.int8), side])
        level = np.concatenate([c.level.astype(np.int8), level])
        entry = np.concatenate([c.entry, entry])
        lp = np.concatenate([c.lp, lp])
        n0 = np.concatenate([c.n0, n0])
        start_ts = np.concatenate([c.start_ts, start_ts])
        order = _canonical_order(side, level, start_ts, c.n_cohorts, n_lev)
        start, side, level, entry, lp = (
            start[order],
            side[order],
            level[order],
            entry[order],
            lp[order],
        )
        n0, start_ts = n0[order], start_ts[order]
        carried = start < 0
        log_f_carried = np.concatenate([c.log_f_open, np.zeros(len(order) - c.n_cohorts)])[order]
    else:
        carried = np.zeros(len(start), dtype=bool)
        log_f_carried = np.zeros(len(start))
    q0 = n0 / entry  # base quantity

    # 2. Consumption on the mark path (first later bar crossing the LP).
    is_long = side == LONG
    consumed = np.full(len(start), n, dtype=np.int64)
    if n:
        lo_tab, hi_tab = _SparseTable(b.mark_low, "min"), _SparseTable(b.mark_high, "max")
        # an LP beyond every bar's mark range is never crossed (the search would say n):
        # searched only when within it (a NaN mark searches every cohort)
        low, high = np.min(b.mark_low), np.max(b.mark_high)
        reach = np.flatnonzero(is_long & ~(lp < low))
        consumed[reach] = lo_tab.first_cross(start[reach], lp[reach])
        reach = np.flatnonzero(~is_long & ~(lp > high))
        consumed[reach] = hi_tab.first_cross(start[reach], lp[reach])

    # 3. Lookback expiry at the first bar >= opening time + lookback.
    lookback_ns = int(params.lookback_days) * NS_PER_DAY
    expiry = np.searchsorted(b.ts, start_ts + lookback_ns, side="left") if n else start + 1
    end = np.minimum(consumed, expiry)
    status = np.full(len(start), ALIVE, dtype=np.int8)
    status[expiry < n] = EXPIRED
    status[consumed < expiry] = LIQUIDATED  # consumed < expiry <= n
    end = np.where(status == ALIVE, n, end)

    # 4. Closing factor F_t (log space), net of the bar's modelled liquidations. The sum runs
    # on from log F before bar 0, as one sequential sum over all bars would.
    log_f = np.full(n, log_f_prev)
    passes = 0

    def open_log_f(lf: np.ndarray) -> np.ndarray:
        return np.where(carried, log_f_carried, lf[np.maximum(start, 0)] if n else 0.0)

    def before(lf: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.where(idx > 0, lf[np.maximum(idx - 1, 0)], log_f_prev)

    if params.closing == "total_oi" and n > 0:
        oi_prev = np.empty(n)
        oi_prev[0] = c.oi_last if carry is not None else np.nan
        oi_prev[1:] = oi[:-1]
        falling = (d_oi < 0) & (oi_prev > 0)
        liq_mask = status == LIQUIDATED
        l_end, l_q = end[liq_mask], q0[liq_mask]
        l_carried, l_log_f_carried = carried[liq_mask], log_f_carried[liq_mask]
        l_start = np.maximum(start[liq_mask], 0)
        for passes in range(1, 201):  # noqa: B007
            # open_log_f(log_f)[liq_mask], on the liquidated cohorts alone
            l_open = np.where(l_carried, l_log_f_carried, log_f[l_start])
            liq_base = np.bincount(
                l_end, weights=l_q * np.exp(before(log_f, l_end) - l_open), minlength=n
            )[:n]
            closes = np.where(falling, np.maximum(0.0, -d_oi - liq_base), 0.0)
            f = np.ones(n)
            f[falling] = 1.0 - closes[falling] / oi_prev[falling]
            steps = np.log(np.clip(f, _MIN_FACTOR, 1.0))
            new = np.cumsum(np.concatenate([[log_f_prev], steps]))[1:]
            if np.array_equal(new, log_f):
                break
            log_f = new
    log_f_open = open_log_f(log_f)

    # 5. Per-bar liquidation series at the size held when liquidated.
    # (the liquidated cohorts alone, in cohort order: the others would add +0.0 to each sum)
    liq = np.flatnonzero(status == LIQUIDATED)
    liq_size = n0[liq] * np.exp(before(log_f, end[liq]) - log_f_open[liq])
    liq_bar = np.minimum(end[liq], max(n - 1, 0))
    liq_is_long = is_long[liq]
    liq_long = np.bincount(liq_bar[liq_is_long], weights=liq_size[liq_is_long], minlength=n)[:n]
    liq_short = np.bincount(liq_bar[~liq_is_long], weights=liq_size[~liq_is_long], minlength=n)[:n]
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
        start_ts=start_ts.astype(np.int64),
        log_f_open=log_f_open,
        log_f_prev=log_f_prev,
        oi_prev=float(c.oi_last),
        ts_prev=int(c.last_ts),
    )
