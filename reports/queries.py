"""Every query the report site runs. It reads `mart.*` only, always with bound parameters.

The site never recomputes the model: these return the mart rows as they are, and the Python
side only slices, re-bins and formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from transforms.venues import AGGREGATE_VENUE

# The daily site leaves out the nowcast's days in progress (mart.provisional_days): they are
# shown by the "now" view only, and replaced by the daily run once their archive lands.
NOT_PROVISIONAL = """
  AND day NOT IN (
    SELECT p.day FROM mart.provisional_days AS p WHERE p.venue = $venue AND p.symbol = $symbol
  )"""

DAYS = f"""
SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = $venue AND symbol = $symbol
{NOT_PROVISIONAL}
ORDER BY day
"""

SYMBOL_VENUES = """
SELECT DISTINCT venue FROM mart.daily_metrics
WHERE symbol = $symbol AND venue <> $aggregate AND scenario = 'base'
"""

DAILY_METRICS = f"""
SELECT * FROM mart.daily_metrics WHERE venue = $venue AND symbol = $symbol
{NOT_PROVISIONAL}
ORDER BY day, scenario
"""

MODEL_PARAMS = """
SELECT params_hash, scenario, params_json, recorded_at
FROM mart.model_params
ORDER BY recorded_at, params_hash
"""

MOVES = f"""
SELECT day, start_ts, end_ts, direction, from_price, to_price, pct_change,
       long_liquidated, short_liquidated, oi_change, confirmed, confirmed_ts, params_hash
FROM mart.moves
WHERE venue = $venue AND symbol = $symbol
{NOT_PROVISIONAL}
ORDER BY day, start_ts
"""

HEATMAP_RANGE = """
SELECT epoch_ms(ts) AS t, price_low, price_high, long_notional, short_notional
FROM mart.liq_heatmap
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to
"""

PRICE_HOURLY_RANGE = """
SELECT epoch_ms(ts) + 3600000 AS x, close AS c
FROM mart.price_hourly
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to AND close IS NOT NULL
ORDER BY ts
"""

LAYER_HEATMAP_RANGE = """
SELECT epoch_ms(ts) AS t, price_low, price_high, long_notional, short_notional
FROM mart.liq_layer_heatmap
WHERE venue = $venue AND symbol = $symbol AND scenario = $scenario AND layer = $layer
  AND ts >= $t_from AND ts < $t_to
"""

LAYER_MAP_DAY = """
SELECT scenario, layer, price_low, price_high, long_notional, short_notional,
       long_cum_from_spot, short_cum_from_spot, spot_price
FROM mart.liq_layer_map
WHERE venue = $venue AND symbol = $symbol AND day = $day
ORDER BY scenario, layer, price_low
"""

# the days of one month of one symbol and venue (a full build reads a month at a time, so
# its memory does not grow with the year: reports.loaders.map_rows_of)
LIQ_MAP_RANGE = """
SELECT day, price_low, price_high, long_notional, short_notional,
       long_cum_from_spot, short_cum_from_spot, spot_price, params_hash
FROM mart.liq_map
WHERE venue = $venue AND symbol = $symbol AND day >= $day_from AND day <= $day_to
ORDER BY day, price_low
"""

# The month downloads (reports.downloads): every venue of `$venues` (the aggregate first, in
# that order) in one table, days from $day_from to before $day_to, no nowcast day in progress.
NOT_PROVISIONAL_M = """
  AND NOT EXISTS (
    SELECT 1 FROM mart.provisional_days AS p
    WHERE p.venue = m.venue AND p.symbol = m.symbol AND p.day = m.day
  )"""

SCENARIOS_MONTH = f"""
SELECT * FROM mart.daily_metrics AS m
WHERE symbol = $symbol AND list_contains($venues, venue)
  AND day >= $day_from AND day < $day_to
{NOT_PROVISIONAL_M}
ORDER BY list_position($venues, venue), day, scenario
"""

# confirmed swings only, each once, in the month of the day that confirmed it: the running
# swing is replaced by the next day's run, so a finished month never holds it
MOVES_MONTH = f"""
SELECT venue, day, start_ts, end_ts, direction, from_price, to_price, pct_change,
       long_liquidated, short_liquidated, oi_change, confirmed_ts, params_hash
FROM mart.moves AS m
WHERE symbol = $symbol AND list_contains($venues, venue) AND confirmed
  AND day >= $day_from AND day < $day_to
{NOT_PROVISIONAL_M}
ORDER BY list_position($venues, venue), day, start_ts
"""

# as LIQ_MAP_RANGE, every switch view's rows
LAYER_MAP_RANGE = """
SELECT day, scenario, layer, price_low, price_high, long_notional, short_notional,
       long_cum_from_spot, short_cum_from_spot, spot_price
FROM mart.liq_layer_map
WHERE venue = $venue AND symbol = $symbol AND day >= $day_from AND day <= $day_to
ORDER BY day, scenario, layer, price_low
"""

PRICE_HOURLY_OHLC_RANGE = """
SELECT epoch_ms(ts) AS x, open AS o, high AS h, low AS l, close AS c
FROM mart.price_hourly
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to AND close IS NOT NULL
ORDER BY ts
"""

LIQ_MAP_DAY = """
SELECT price_low, price_high, long_notional, short_notional,
       long_cum_from_spot, short_cum_from_spot, spot_price, params_hash
FROM mart.liq_map
WHERE venue = $venue AND symbol = $symbol AND day = $day
ORDER BY price_low
"""


def rows(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run `sql` with named parameters and return the rows as dicts."""
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class DayRows:
    """The rows of a query ordered by day first, held as columns; `of(d)` gives day `d`'s rows
    as `rows` gives them (dicts, the day left out), each day made once when first asked
    for. A month of map rows as records took most of their reading (a dict and a float object
    per value, at once); as columns it is a few lists, and a day's records are a slice."""

    def __init__(self, res: dict[str, np.ndarray]) -> None:
        days = np.asarray(res.pop("day")).astype("datetime64[D]")
        if len(days) and not (days[1:] >= days[:-1]).all():
            raise ValueError("DayRows: the query must order its rows by day first")
        self.names = list(res)
        self.columns = [res[n].tolist() for n in self.names]
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]]) if len(days) else []
        bounds = [*np.asarray(starts).tolist(), len(days)]
        self.spans = {days[i].item(): (i, j) for i, j in zip(bounds[:-1], bounds[1:], strict=True)}
        self.made: dict[date, list[dict[str, Any]]] = {}

    def of(self, d: date) -> list[dict[str, Any]]:
        if d not in self.made:
            i, j = self.spans.get(d, (0, 0))
            names = self.names
            self.made[d] = [
                dict(zip(names, r, strict=True))
                for r in zip(*(c[i:j] for c in self.columns), strict=True)
            ]
        return self.made[d]


def rows_by_day(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> DayRows:
    """Run `sql` (its rows ordered by day first, every column non-null) with named
    parameters; its rows by day (DayRows)."""
    return DayRows(conn.execute(sql, params).fetchnumpy())


def arrow(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> pa.Table:
    """Run `sql` with named parameters and return an Arrow table (for downloads)."""
    return conn.sql(sql, params=params).to_arrow_table()


def days(conn: duckdb.DuckDBPyConnection, symbol: str, venue: str = AGGREGATE_VENUE) -> list[date]:
    return [r["day"] for r in rows(conn, DAYS, symbol=symbol, venue=venue)]


def hourly_closes(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    t_from: datetime,
    t_to: datetime,
    venue: str = AGGREGATE_VENUE,
) -> tuple[np.ndarray, np.ndarray]:
    """(close time in epoch ms, close) of every hour starting in [t_from, t_to), by time.

    Empty when the warehouse predates `mart.price_hourly` (the site then draws daily closes).
    """
    try:
        res = conn.execute(
            PRICE_HOURLY_RANGE,
            {"venue": venue, "symbol": symbol, "t_from": t_from, "t_to": t_to},
        ).fetchnumpy()
    except duckdb.CatalogException:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    return np.asarray(res["x"], dtype=np.int64), np.asarray(res["c"], dtype=np.float64)


# groupings whose means a cube keeps: each side of the windows grouping hours (1m, 3m, 1y).
# A window reaching before the cube's first hour groups fewer hours, a grouping that changes
# every few days over a symbol's first year: the oldest is then dropped, not kept for a year.
GROUP_MEANS_KEPT = 8


@dataclass
class HeatCube:
    """The heatmap as dense arrays on a uniform price grid: [time step, price bin] (hourly for
    `mart.liq_heatmap`, every 4 hours for a view of `mart.liq_layer_heatmap`).

    Built once per site build, so each page slices numpy arrays instead of re-querying
    a year of rows per timeframe. Price bins are the mart's bins, merged by an integer
    factor when the price range would otherwise need more than `max_bins` columns.
    """

    t0_ms: int  # start of step 0
    p0: float  # lower edge of bin 0
    pw: float  # bin width
    long: np.ndarray  # float32 [steps, bins]
    short: np.ndarray
    step_ms: int = 3_600_000  # one row per hour (or per `step_ms`)
    # time means of whole groups of steps over every bin, by (side, steps per group, first
    # step of the first group): what every window of that grouping slices (`group_means`)
    means: dict[tuple[str, int, int], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def hours(self) -> int:
        return self.long.shape[0]

    def group_means(self, side: str, ft: int, phase: int) -> np.ndarray:
        """Mean of each group of `ft` steps (starting at step `phase`) of `side` ('long' or
        'short') in every bin, [group, bin], computed once per cube: the heatmap windows of
        a year of pages slice it instead of averaging their own hours again (the same
        float32 sums, step by step in order, charts.heatmap._reduce)."""
        key = (side, ft, phase)
        if key not in self.means:
            arr = getattr(self, side)
            n = (arr.shape[0] - phase) // ft
            if len(self.means) >= GROUP_MEANS_KEPT:
                del self.means[next(iter(self.means))]  # the oldest grouping
            self.means[key] = arr[phase : phase + n * ft].reshape(n, ft, arr.shape[1]).mean(axis=1)
        return self.means[key]

    @classmethod
    def load(
        cls,
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        t_from: datetime,
        t_to: datetime,
        max_bins: int = 1200,
        view: tuple[str, str] | None = None,
        step_ms: int = 3_600_000,
        venue: str = AGGREGATE_VENUE,
    ) -> HeatCube | None:
        """The base/all hourly heatmap, or with `view` = (scenario, layer) that view's rows of
        `mart.liq_layer_heatmap` on `step_ms` steps (None when there are no rows, or the
        warehouse predates the layer mart)."""
        params: dict[str, Any] = {
            "venue": venue,
            "symbol": symbol,
            "t_from": t_from,
            "t_to": t_to,
        }
        sql = HEATMAP_RANGE
        if view is not None:
            sql = LAYER_HEATMAP_RANGE
            params.update(scenario=view[0], layer=view[1])
        try:
            res = conn.execute(sql, params).fetchnumpy()
        except duckdb.CatalogException:
            return None
        t = np.asarray(res["t"], dtype=np.int64)
        if t.size == 0:
            return None
        lo = np.asarray(res["price_low"], dtype=np.float64)
        hi = np.asarray(res["price_high"], dtype=np.float64)
        width = float(np.median(hi - lo))
        if not width > 0:
            width = 1.0
        pmin, pmax = float(lo.min()), float(hi.max())
        factor = max(1, int(np.ceil((pmax - pmin) / width / max_bins)))
        pw = width * factor
        p0 = np.floor(pmin / pw) * pw
        n_bins = int(np.ceil((pmax - p0) / pw)) + 1
        hour = step_ms
        t0 = int(t.min() // hour * hour)
        n_hours = int((t.max() - t0) // hour) + 1
        hi_idx = ((t - t0) // hour).astype(np.int64)
        # centre of each mart bin decides which working bin it lands in
        bi = np.clip(((lo + hi) / 2 - p0) // pw, 0, n_bins - 1).astype(np.int64)
        flat = hi_idx * n_bins + bi
        size = n_hours * n_bins
        # each side summed in doubles, then kept as float32 before the other is summed (a
        # year's double grid is some 80 MB: one at a time, not both)
        longs, shorts = (
            np.bincount(flat, weights=np.asarray(res[side]), minlength=size)
            .reshape(n_hours, n_bins)
            .astype(np.float32)
            for side in ("long_notional", "short_notional")
        )
        return cls(t0_ms=t0, p0=float(p0), pw=float(pw), long=longs, short=shorts, step_ms=step_ms)


def hourly_ohlc(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    t_from: datetime,
    t_to: datetime,
    venue: str = AGGREGATE_VENUE,
) -> dict[str, np.ndarray]:
    """Hourly OHLC (x = hour start, epoch ms) for candles; empty arrays without the mart."""
    try:
        res = conn.execute(
            PRICE_HOURLY_OHLC_RANGE,
            {"venue": venue, "symbol": symbol, "t_from": t_from, "t_to": t_to},
        ).fetchnumpy()
    except duckdb.CatalogException:
        return {k: np.empty(0) for k in ("x", "o", "h", "l", "c")}
    return {k: np.asarray(res[k], dtype=np.int64 if k == "x" else np.float64) for k in res}


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def day_end(d: date) -> datetime:
    return day_start(d) + timedelta(days=1)
