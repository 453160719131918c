"""Model vs realized, measured continuously: one calibration row per market and day.

Each row covers every *fully collected* day up to and including its `as_of` day, so a day
page shows the calibration as it stood that day and old pages stay true. Partial days are
left out (a half-received day would read as a model overestimate) and counted; days without
collection are counted too. Daily totals are longs + shorts liquidated. Pure numpy/pandas.
"""

from __future__ import annotations

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


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of the average ranks (ties share their mean rank)."""
    if len(x) < MIN_CORRELATION_DAYS:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    return _pearson(rx, ry)


def _as_of_row(days: pd.DataFrame, has_model: bool) -> dict[str, object]:
    """The calibration over `days` (a market's realized_daily rows up to the as-of day)."""
    used_mask = days["collected"].eq("complete")
    if has_model:
        used_mask &= days["model"].eq("base")
    used = days[used_mask]
    realized = (used["realized_long"] + used["realized_short"]).to_numpy(dtype=float)
    row: dict[str, object] = {
        "days_used": len(used),
        "days_partial": int(days["collected"].eq("partial").sum()),
        "days_not_collected": int(days["collected"].eq("not collected").sum()),
        "first_day": used["day"].min() if len(used) else None,
        "last_day": used["day"].max() if len(used) else None,
        "realized_total": float(realized.sum()) if len(used) else None,
        "modelled_total": None,
        "modelled_per_realized": None,
        "pearson": None,
        "spearman": None,
        "side_agreement": None,
    }
    if not has_model or not len(used):
        return row
    modelled = (used["modelled_long"] + used["modelled_short"]).to_numpy(dtype=float)
    model_side = np.sign(used["modelled_long"].to_numpy(float) - used["modelled_short"])
    real_side = np.sign(used["realized_long"].to_numpy(float) - used["realized_short"])
    row["modelled_total"] = float(modelled.sum())
    if realized.sum() > 0:
        row["modelled_per_realized"] = float(modelled.sum() / realized.sum())
    row["pearson"] = _pearson(modelled, realized)
    row["spearman"] = _spearman(modelled, realized)
    row["side_agreement"] = float(np.mean(model_side == real_side))
    return row


def calibration_frame(daily: pd.DataFrame) -> pd.DataFrame:
    """Calibration rows (columns of mart.realized_calibration) from mart.realized_daily rows:
    one per venue, symbol and day present, over that market's days up to the day."""
    rows = []
    for (venue, symbol), market in daily.groupby(["venue", "symbol"], sort=True):
        market = market.sort_values("day").reset_index(drop=True)
        has_model = not market["model"].eq(NO_MODEL).all()
        for i in range(len(market)):
            rows.append(
                {
                    "venue": venue,
                    "symbol": symbol,
                    "as_of": market["day"].iloc[i],
                    "completeness": market["completeness"].iloc[i],
                    "model": "base" if has_model else NO_MODEL,
                    **_as_of_row(market.iloc[: i + 1], has_model),
                }
            )
    return pd.DataFrame(rows, columns=REALIZED_CALIBRATION_COLUMNS)
