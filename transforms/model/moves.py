"""Zigzag swings on bar closes, with the modelled liquidations inside each swing.

The zigzag is resumable: `ZigzagCarry` holds its state at the end of a bar (direction and the
four points it tracks: running high and low before the first swing, the pivot and the running
extreme), each point with its time, close and the running values the swing rows need there
(cumulative modelled liquidations, open interest). `advance_zigzag` continues it over later
bars, so chained runs give the swings of one run over all bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.model.cohorts import ModelRun

MOVE_COLUMNS = [
    "start_ts",
    "end_ts",
    "direction",
    "from_price",
    "to_price",
    "pct_change",
    "long_liquidated",
    "short_liquidated",
    "oi_change",
    "confirmed",
    "confirm_ts",
]
HI, LO, PIVOT, EXT = range(4)


@dataclass
class ZigzagCarry:
    """The zigzag at the end of a bar. Points are rows of `ts`, `close`, `values` in the
    order HI, LO, PIVOT, EXT; `values` has one column per tracked running value."""

    n_values: int
    started: bool = False
    direction: int = 0
    ts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    close: np.ndarray = field(default_factory=lambda: np.zeros(4))
    values: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.values is None:
            self.values = np.zeros((4, self.n_values))


@dataclass(frozen=True)
class Swing:
    start: int  # point row index into the swing table of `advance_zigzag`
    end: int
    confirm_ts: int | None


@dataclass(frozen=True)
class Swings:
    """`advance_zigzag`'s swings, one entry per swing in each array (a few swings a day: a
    frame, whose attributes pandas copies on every column read, cost more than finding
    them)."""

    start_ts: np.ndarray
    end_ts: np.ndarray
    from_price: np.ndarray
    to_price: np.ndarray
    confirmed: np.ndarray
    confirm_ts: np.ndarray  # -1 for the running swing
    start_values: np.ndarray  # (swings, values): the rows of `values` at the start
    end_values: np.ndarray


def advance_zigzag(
    carry: ZigzagCarry, ts: np.ndarray, close: np.ndarray, values: np.ndarray, pct: float
) -> tuple[Swings, ZigzagCarry]:
    """Swings confirmed during these bars plus the running one at their end, and the carry.

    A swing is confirmed once price reverses by `pct` from its extreme; `confirm_ts` is the
    time of the bar whose close did that. Until the first `pct` move there is no swing. The
    rows for bars up to i depend only on bars up to i (no look-ahead). Columns: start/end/
    confirm times (ns), from/to price, the start and end rows of `values` (`start_values`,
    `end_values`) and `confirmed` (`Swings`)."""
    c = ZigzagCarry(
        carry.n_values,
        carry.started,
        carry.direction,
        carry.ts.copy(),
        carry.close.copy(),
        carry.values.copy(),
    )
    pts_ts, pts_close, pts_vals, confirms = [], [], [], []
    up_k, dn_k = 1.0 + pct, 1.0 - pct
    cl = [float(x) for x in close]
    n = len(cl)

    def put(k: int, i: int) -> None:
        c.ts[k], c.close[k], c.values[k] = ts[i], cl[i], values[i]

    def emit(confirm: int | None) -> None:
        pts_ts.append((int(c.ts[PIVOT]), int(c.ts[EXT])))
        pts_close.append((float(c.close[PIVOT]), float(c.close[EXT])))
        pts_vals.append((c.values[PIVOT].copy(), c.values[EXT].copy()))
        confirms.append(confirm)

    first = 0
    if not c.started and n:
        put(HI, 0)
        put(LO, 0)
        c.started, first = True, 1
    for i in range(first, n):
        p = cl[i]
        if c.direction == 0:
            if p > c.close[HI]:
                put(HI, i)
            if p < c.close[LO]:
                put(LO, i)
            if p >= c.close[LO] * up_k:
                c.direction = 1
                c.ts[PIVOT], c.close[PIVOT], c.values[PIVOT] = c.ts[LO], c.close[LO], c.values[LO]
                put(EXT, i)
            elif p <= c.close[HI] * dn_k:
                c.direction = -1
                c.ts[PIVOT], c.close[PIVOT], c.values[PIVOT] = c.ts[HI], c.close[HI], c.values[HI]
                put(EXT, i)
        elif (c.direction == 1 and p > c.close[EXT]) or (c.direction == -1 and p < c.close[EXT]):
            put(EXT, i)
        elif (c.direction == 1 and p <= c.close[EXT] * dn_k) or (
            c.direction == -1 and p >= c.close[EXT] * up_k
        ):
            emit(int(ts[i]))
            c.direction = -c.direction
            c.ts[PIVOT], c.close[PIVOT], c.values[PIVOT] = c.ts[EXT], c.close[EXT], c.values[EXT]
            put(EXT, i)
    if c.direction != 0:
        emit(None)
    k = len(confirms)
    swings = Swings(
        start_ts=np.array([t[0] for t in pts_ts], dtype=np.int64),
        end_ts=np.array([t[1] for t in pts_ts], dtype=np.int64),
        from_price=np.array([p[0] for p in pts_close], dtype=float),
        to_price=np.array([p[1] for p in pts_close], dtype=float),
        confirmed=np.array([x is not None for x in confirms], dtype=bool),
        confirm_ts=np.array([-1 if x is None else x for x in confirms], dtype=np.int64),
        start_values=(
            np.array([v[0] for v in pts_vals]).reshape(k, c.n_values)
            if k
            else np.zeros((0, c.n_values))
        ),
        end_values=(
            np.array([v[1] for v in pts_vals]).reshape(k, c.n_values)
            if k
            else np.zeros((0, c.n_values))
        ),
    )
    return swings, c


def zigzag(close: np.ndarray, pct: float) -> list[tuple[int, int, int | None]]:
    """Pivots of a close series: [(start, end, confirmed_at)] as bar indices (the running
    swing last, with confirmed_at None)."""
    idx = np.arange(len(close), dtype=np.int64)
    sw, _ = advance_zigzag(
        ZigzagCarry(0), idx, np.asarray(close, float), np.zeros((len(close), 0)), pct
    )
    return [
        (int(s), int(e), int(cf) if ok else None)
        for s, e, cf, ok in zip(sw.start_ts, sw.end_ts, sw.confirm_ts, sw.confirmed, strict=True)
    ]


def cumulative(prev: float, per_bar: np.ndarray) -> np.ndarray:
    """Running total through each bar, continued from `prev` (one sequential sum, as over
    all bars at once)."""
    return np.cumsum(np.concatenate([[prev], per_bar]))[1:]


def swing_rows(sw: Swings) -> pd.DataFrame:
    """Swing rows (MOVE_COLUMNS) from `advance_zigzag` with values (cum long liquidations,
    cum short liquidations, open interest): liquidations in bars (start, end], the change of
    open-interest value from start to end (NaN unless both are known)."""
    sv, ev = sw.start_values, sw.end_values
    fp, tp = sw.from_price, sw.to_price
    oi_ok = np.isfinite(sv[:, 2]) & np.isfinite(ev[:, 2])
    return pd.DataFrame(
        {
            "start_ts": sw.start_ts,
            "end_ts": sw.end_ts,
            "direction": np.where(tp > fp, "up", "down"),
            "from_price": fp,
            "to_price": tp,
            "pct_change": tp / fp - 1.0,
            "long_liquidated": ev[:, 0] - sv[:, 0],
            "short_liquidated": ev[:, 1] - sv[:, 1],
            "oi_change": np.where(oi_ok, ev[:, 2] - sv[:, 2], np.nan),
            "confirmed": sw.confirmed,
            "confirm_ts": sw.confirm_ts,
        },
        columns=MOVE_COLUMNS,
    )


def moves(
    run: ModelRun, carry: ZigzagCarry | None = None, cum_prev: tuple[float, float] = (0.0, 0.0)
) -> tuple[pd.DataFrame, ZigzagCarry, tuple[float, float]]:
    """Swings of the run's bars (confirmed in them, and the running one) with long/short
    liquidations in bars (start, end] and the open-interest change; the zigzag carry and the
    cumulative liquidations at the last bar."""
    b = run.bars
    cl = cumulative(cum_prev[0], run.liq_long)
    cs = cumulative(cum_prev[1], run.liq_short)
    values = np.column_stack([cl, cs, b.oi_value]) if b.n else np.zeros((0, 3))
    sw, new = advance_zigzag(carry or ZigzagCarry(3), b.ts, b.close, values, run.params.zigzag_pct)
    last = (float(cl[-1]), float(cs[-1])) if b.n else cum_prev
    return swing_rows(sw), new, last
