"""The stored day before a window, where the key levels' hysteresis starts from.

A run over days [start, end) holds each day's nearest clusters against the day before
(transforms.model.stable_levels). Inside the window that is the previous target day; for
`start` it is the latest `mart.daily_metrics` row of the same market (venue, symbol) and
scenario before `start`. Reading it from the mart is what makes a range run equal the same
days run one by one.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from transforms.model.stable_levels import PrevLevels

PREV_LEVELS_SQL = """
SELECT scenario, close_price, nearest_cluster_above_price, nearest_cluster_below_price,
       peak_cluster_above_price, peak_cluster_below_price
FROM mart.daily_metrics
WHERE venue = $venue AND symbol = $symbol AND day < $start
QUALIFY row_number() OVER (PARTITION BY scenario ORDER BY day DESC) = 1
"""


def _num(x: float | None) -> float:
    return float("nan") if x is None or pd.isna(x) else float(x)


def read_prev_levels(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, start: date
) -> dict[str, PrevLevels]:
    """scenario -> the market's latest stored row before `start` (empty when none)."""
    rows = conn.execute(PREV_LEVELS_SQL, {"venue": venue, "symbol": symbol, "start": start})
    return {
        scenario: PrevLevels(*(_num(x) for x in values)) for scenario, *values in rows.fetchall()
    }


def prev_from_rows(rows: pd.DataFrame) -> dict[str, PrevLevels]:
    """scenario -> PrevLevels from `mart.daily_metrics` rows of one day (a frame the model
    just built: what `read_prev_levels` reads back once it is stored)."""
    cols = [
        "scenario",
        "close_price",
        "nearest_cluster_above_price",
        "nearest_cluster_below_price",
        "peak_cluster_above_price",
        "peak_cluster_below_price",
    ]
    # only the columns read: a daily_metrics row has over a hundred
    return {
        scenario: PrevLevels(*(_num(x) for x in values))
        for scenario, *values in rows[cols].itertuples(index=False, name=None)
    }
