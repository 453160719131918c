"""Bars as plain numpy arrays: the model's only input, on any bar interval."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 10**9
NS_PER_HOUR = 3_600 * 10**9


def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return np.array(pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan))


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN (leading NaN stay NaN)."""
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x.copy()
    idx = np.where(ok, np.arange(len(x)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = x[idx]
    out[: np.argmax(ok)] = np.nan
    return out


def to_ns(ts) -> np.ndarray:
    """Timestamps (naive = UTC, or tz-aware) as int64 nanoseconds since the epoch."""
    s = pd.to_datetime(pd.Series(ts), utc=True).dt.tz_convert(None)
    return s.to_numpy().astype("datetime64[ns]").view("int64")


@dataclass
class BarArrays:
    """One symbol's bars sorted by time. Missing inputs degrade gracefully:

    mark high/low fall back to last-price high/low per bar, a missing taker ratio means a
    50/50 side split, missing funding gives NaN funding metrics, and base-asset open interest
    is derived from the USDT value / open price when only the value exists.
    """

    ts: np.ndarray  # int64 ns, bar open time UTC
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    mark_high: np.ndarray  # mark path for consumption (falls back to high)
    mark_low: np.ndarray  # (falls back to low)
    mark_close: np.ndarray  # NaN when unknown
    oi_base: np.ndarray  # forward-filled, NaN before the first observation
    oi_value: np.ndarray  # forward-filled USDT value (derived from base x close if absent)
    taker_ratio: np.ndarray  # NaN when unknown
    funding: np.ndarray  # last settled rate as of the bar, NaN when unknown

    def __post_init__(self) -> None:
        if len(self.ts) and np.any(np.diff(self.ts) <= 0):
            raise ValueError("bars must be sorted by ts with no duplicate timestamps")

    @property
    def n(self) -> int:
        return len(self.ts)

    def head(self, k: int) -> BarArrays:
        """The first `k` bars (views of these arrays)."""
        return BarArrays(**{f.name: getattr(self, f.name)[:k] for f in dataclasses.fields(self)})

    def same_bits(self, other: BarArrays) -> bool:
        """Every array of one dtype and shape with the same bytes (NaN payloads and -0.0
        included): the model given either computes the same numbers."""
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a.dtype != b.dtype or a.shape != b.shape:
                return False
            if a.size and not np.array_equal(a.view(np.uint8), b.view(np.uint8)):
                return False
        return True

    @property
    def interval_ns(self) -> int:
        """Bar interval inferred from the timestamps (median spacing)."""
        if self.n < 2:
            return 5 * 60 * 10**9
        return int(np.median(np.diff(self.ts)))

    @property
    def day_ns(self) -> np.ndarray:
        """UTC day of each bar as int64 ns at midnight."""
        return self.ts - self.ts % NS_PER_DAY

    @classmethod
    def from_frame(cls, df: pd.DataFrame, oi_prev: tuple[float, float] | None = None) -> BarArrays:
        """From `stg.bars_5m`-shaped rows (one symbol); extra or missing columns are fine.

        `oi_prev` is (base, value) open interest of the bar before the first (a continued
        run): leading missing open interest is forward-filled from it, as one frame over all
        the bars would."""
        df = df.sort_values("ts", kind="stable")
        ts = to_ns(df["ts"])
        close = _col(df, "close")
        high, low, op = _col(df, "high"), _col(df, "low"), _col(df, "open")
        high = np.where(np.isfinite(high), high, close)
        low = np.where(np.isfinite(low), low, close)
        op = np.where(np.isfinite(op), op, close)
        mh, ml = _col(df, "mark_high"), _col(df, "mark_low")
        mark_high = np.where(np.isfinite(mh), mh, high)
        mark_low = np.where(np.isfinite(ml), ml, low)
        oi_value = _col(df, "oi_value")
        oi_base = _col(df, "oi_base")
        oi_value[~(oi_value > 0)] = np.nan
        oi_base[~(oi_base > 0)] = np.nan
        if not np.isfinite(oi_base).any():
            oi_base = oi_value / op
        prev_base, prev_value = oi_prev if oi_prev is not None else (np.nan, np.nan)
        oi_base = _ffill(np.concatenate([[prev_base], oi_base]))[1:]
        if np.isfinite(oi_value).any() or np.isfinite(prev_value):
            oi_value = _ffill(np.concatenate([[prev_value], oi_value]))[1:]
        else:
            oi_value = oi_base * close
        return cls(
            ts=ts,
            open=op,
            high=high,
            low=low,
            close=close,
            mark_high=mark_high,
            mark_low=mark_low,
            mark_close=_col(df, "mark_close"),
            oi_base=oi_base,
            oi_value=oi_value,
            taker_ratio=_col(df, "taker_ratio"),
            funding=_col(df, "funding_rate"),
        )
