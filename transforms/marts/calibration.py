"""Model vs realized, measured continuously: one calibration row per market and day.

Each row covers every *fully collected* day up to and including its `as_of` day, so a day
page shows the calibration as it stood that day and old pages stay true. Partial days are
left out (a half-received day would read as a model overestimate) and counted; days without
collection are counted too. Daily totals are longs + shorts liquidated. Pure numpy/pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.marts.registry import REALIZED_CALIBRATION_COLUMNS

#: fewer fully collected days than this and the correlations are NULL
MIN_CORRELATION_DAYS = 3
NO_MODEL = "no model for this venue"


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < MIN_CORRELATION_DAYS or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (as scipy's rankdata 'average')."""
    ranks = np.empty(len(a))
    ranks[np.argsort(a, kind="mergesort")] = np.arange(1, len(a) + 1)
    _, inverse = np.unique(a, return_inverse=True)
    return (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of the average ranks."""
    if len(x) < MIN_CORRELATION_DAYS:
        return None
    return _pearson(_average_ranks(x), _average_ranks(y))


@dataclass(frozen=True)
class _Market:
    """One market's realized_daily rows as arrays, in day order."""

    day: np.ndarray
    used: np.ndarray  # fully collected (and modelled, where the venue has a model)
    partial: np.ndarray
    not_collected: np.ndarray
    realized: np.ndarray  # longs + shorts
    modelled: np.ndarray
    model_side: np.ndarray  # sign(longs - shorts): which side was liquidated more
    real_side: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame, has_model: bool) -> _Market:
        def col(name: str) -> np.ndarray:
            return rows[name].to_numpy(dtype=float, na_value=np.nan)

        used = rows["collected"].eq("complete").to_numpy().copy()
        if has_model:
            used &= rows["model"].eq("base").to_numpy()
        rl, rs, ml, ms = (col(c) for c in ("realized_long", "realized_short",
                                           "modelled_long", "modelled_short"))  # fmt: skip
        return cls(
            day=rows["day"].to_numpy(),
            used=used,
            partial=rows["collected"].eq("partial").to_numpy(),
            not_collected=rows["collected"].eq("not collected").to_numpy(),
            realized=rl + rs,
            modelled=ml + ms,
            model_side=np.sign(ml - ms),
            real_side=np.sign(rl - rs),
        )


def _as_of_row(m: _Market, end: int, has_model: bool) -> dict[str, object]:
    """The calibration over the market's days [0, end)."""
    used = np.flatnonzero(m.used[:end])
    realized = m.realized[used]
    row: dict[str, object] = {
        "days_used": len(used),
        "days_partial": int(m.partial[:end].sum()),
        "days_not_collected": int(m.not_collected[:end].sum()),
        "first_day": m.day[used[0]] if len(used) else None,
        "last_day": m.day[used[-1]] if len(used) else None,
        "realized_total": float(realized.sum()) if len(used) else None,
        "modelled_total": None,
        "modelled_per_realized": None,
        "pearson": None,
        "spearman": None,
        "side_agreement": None,
    }
    if not has_model or not len(used):
        return row
    modelled = m.modelled[used]
    row["modelled_total"] = float(modelled.sum())
    if realized.sum() > 0:
        row["modelled_per_realized"] = float(modelled.sum() / realized.sum())
    row["pearson"] = _pearson(modelled, realized)
    row["spearman"] = _spearman(modelled, realized)
    row["side_agreement"] = float(np.mean(m.model_side[used] == m.real_side[used]))
    return row


def calibration_frame(daily: pd.DataFrame) -> pd.DataFrame:
    """Calibration rows (columns of mart.realized_calibration) from mart.realized_daily rows:
    one per venue, symbol and day present, over that market's days up to the day."""
    rows = []
    for (venue, symbol), market in daily.groupby(["venue", "symbol"], sort=True):
        market = market.sort_values("day").reset_index(drop=True)
        has_model = not market["model"].eq(NO_MODEL).all()
        arrays = _Market.of(market, has_model)
        completeness = market["completeness"].to_numpy()
        for i in range(len(market)):
            rows.append(
                {
                    "venue": venue,
                    "symbol": symbol,
                    "as_of": arrays.day[i],
                    "completeness": completeness[i],
                    "model": "base" if has_model else NO_MODEL,
                    **_as_of_row(arrays, i + 1, has_model),
                }
            )
    return pd.DataFrame(rows, columns=REALIZED_CALIBRATION_COLUMNS)
