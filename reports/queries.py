"""Every query the report site runs. It reads `mart.*` only, always with bound parameters.

The site never recomputes the model: these return the mart rows as they are, and the Python
side only slices, re-bins and formats them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
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

# the times as they are (epoch_ms of every row in SQL cost a third of the query):
# `epoch_ms_of` makes them epoch milliseconds
HEATMAP_RANGE = """
SELECT ts AS t, price_low, price_high, long_notional, short_notional
FROM mart.liq_heatmap
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to
"""

PRICE_HOURLY_RANGE = """
SELECT epoch_ms(ts) + 3600000 AS x, close AS c
FROM mart.price_hourly
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to AND close IS NOT NULL
ORDER BY ts
"""

# each view of `$views` (its place in the list, 1-based) in one row: what its grid is built
# from (HeatCube._of_rows: the rows' extent and bin widths), without reading the rows. Grouped
# by scenario and layer first, so a view's name is made once per view, not once per row
# (epoch_ms of the earliest time is the earliest epoch_ms: the same numbers)
LAYER_HEATMAP_GRIDS = """
SELECT list_position($views, scenario || '/' || layer) AS view,
       epoch_ms(min(ts)) AS t_min, epoch_ms(max(ts)) AS t_max,
       min(price_low) AS p_min, max(price_high) AS p_max,
       min(price_high - price_low) AS w_min, max(price_high - price_low) AS w_max
FROM mart.liq_layer_heatmap
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to
GROUP BY scenario, layer
HAVING list_contains($views, scenario || '/' || layer)
"""

# the views of `$views` ("scenario/layer") at once, each row with its view's place in the
# list (1-based: HeatCube.load_views splits them), NULL for a row of another view (left out
# there: a filter in SQL made each row's name twice and cost a third of the query); the
# times as they are (`epoch_ms_of`)
LAYER_HEATMAP_RANGE = """
SELECT list_position($views, scenario || '/' || layer) AS view, ts AS t,
       price_low, price_high, long_notional, short_notional
FROM mart.liq_layer_heatmap
WHERE venue = $venue AND symbol = $symbol AND ts >= $t_from AND ts < $t_to
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


def bin_width(lo: np.ndarray, hi: np.ndarray) -> float:
    """The rows' bin width: the median of `hi - lo`, as np.median gives it; at once when
    every bin has one width (the mart's bins: then the median is that width exactly; a
    page asks for it a dozen times)."""
    w = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    if w.size and w.min() == w.max():
        return float(w[0])
    return float(np.median(w))


class DayRows:
    """The rows of a query ordered by day first, held as columns; `of(d)` gives day `d`'s rows
    as `rows` gives them (dicts, the day left out), each day made once when first asked
    for; `arrays_of(d)` its columns (the layer map: no dict at all). A month of map rows as
    records took most of their reading (a dict and a float object per value, at once); as
    columns it is a few lists, and a day's records are a slice."""

    def __init__(self, res: dict[str, np.ndarray]) -> None:
        days = np.asarray(res.pop("day")).astype("datetime64[D]")
        if len(days) and not (days[1:] >= days[:-1]).all():
            raise ValueError("DayRows: the query must order its rows by day first")
        self.names = list(res)
        self.arrays = res
        self.columns: list[list[Any]] | None = None  # as Python values, on the first `of`
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]]) if len(days) else []
        bounds = [*np.asarray(starts).tolist(), len(days)]
        self.spans = {days[i].item(): (i, j) for i, j in zip(bounds[:-1], bounds[1:], strict=True)}
        self.made: dict[date, list[dict[str, Any]]] = {}

    def of(self, d: date) -> list[dict[str, Any]]:
        if d not in self.made:
            if self.columns is None:
                self.columns = [self.arrays[n].tolist() for n in self.names]
            i, j = self.spans.get(d, (0, 0))
            names = self.names
            self.made[d] = [
                dict(zip(names, r, strict=True))
                for r in zip(*(c[i:j] for c in self.columns), strict=True)
            ]
        return self.made[d]

    def arrays_of(self, d: date) -> dict[str, np.ndarray]:
        """Day `d`'s rows as columns (views of the query's arrays, the day left out): what
        `of(d)` holds, without a dict and a float object per value."""
        i, j = self.spans.get(d, (0, 0))
        return {n: self.arrays[n][i:j] for n in self.names}


def rows_by_day(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> DayRows:
    """Run `sql` (its rows ordered by day first, every column non-null) with named
    parameters; its rows by day (DayRows)."""
    return DayRows(conn.execute(sql, params).fetchnumpy())


def arrow(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> pa.Table:
    """Run `sql` with named parameters and return an Arrow table (for downloads)."""
    return conn.sql(sql, params=params).to_arrow_table()


def days(conn: duckdb.DuckDBPyConnection, symbol: str, venue: str = AGGREGATE_VENUE) -> list[date]:
    return [r["day"] for r in rows(conn, DAYS, symbol=symbol, venue=venue)]


def _window(symbol: str, t_from: datetime, t_to: datetime, venue: str) -> dict[str, object]:
    """The parameters of a range query over one market's [t_from, t_to)."""
    return {"venue": venue, "symbol": symbol, "t_from": t_from, "t_to": t_to}


def _executed(
    conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]
) -> duckdb.DuckDBPyConnection | None:
    """`sql` run with `params`, ready to fetch; None when the warehouse predates a mart it
    reads (a site over an older warehouse draws without it)."""
    try:
        return conn.execute(sql, params)
    except duckdb.CatalogException:
        return None


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
    done = _executed(conn, PRICE_HOURLY_RANGE, _window(symbol, t_from, t_to, venue))
    if done is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    res = done.fetchnumpy()
    return np.asarray(res["x"], dtype=np.int64), np.asarray(res["c"], dtype=np.float64)


# each venue's (the aggregate's too) rows' extent: one scan of the symbol's rows
HEATMAP_EXTENTS = """
SELECT venue, count(*) AS n, min(ts) AS t_min, max(ts) AS t_max,
       min(price_low) AS p_min, max(price_high) AS p_max,
       min(price_high - price_low) AS w_min, max(price_high - price_low) AS w_max
FROM mart.liq_heatmap
WHERE symbol = $symbol AND ts >= $t_from AND ts < $t_to
GROUP BY venue
"""

Extent = tuple[int, int, int, float, float, float, float]  # n, t_min, t_max, p_min, ...


def heat_extents(
    conn: duckdb.DuckDBPyConnection, symbol: str, t_from: datetime, t_to: datetime
) -> dict[str, Extent]:
    """Venue -> (rows, first and last time (epoch ms), lowest and highest price, narrowest
    and widest bin) of the symbol's `mart.liq_heatmap` rows in [t_from, t_to)."""
    done = _executed(conn, HEATMAP_EXTENTS, {"symbol": symbol, "t_from": t_from, "t_to": t_to})
    if done is None:
        return {}
    rows = done.fetchall()
    # the times as epoch ms here: epoch_ms() of every row in SQL doubled the scan's cost
    return {v: (n, _ms(t0), _ms(t1), *rest) for v, n, t0, t1, *rest in rows}


def epoch_ms_of(ts: np.ndarray) -> np.ndarray:
    """Naive UTC timestamps (a fetched TIMESTAMP column) as epoch milliseconds, as DuckDB's
    epoch_ms gives them (microseconds divided by 1000, toward zero); numbers are taken as
    epoch milliseconds already."""
    a = np.asarray(ts)
    if not np.issubdtype(a.dtype, np.datetime64):
        return a.astype(np.int64)
    us = a.astype("datetime64[us]").astype(np.int64)
    return np.where(us >= 0, us // 1000, -(-us // 1000))


def _ms(t: datetime) -> int:
    """A naive UTC timestamp as epoch milliseconds (DuckDB's epoch_ms)."""
    return (t - datetime(1970, 1, 1)) // timedelta(milliseconds=1)


HOUR_MS = 3_600_000
MAX_BINS = 1200  # a cube's price bins at most (HeatCube.load)


class NotHeld(LookupError):
    """A cube's steps before those it holds were asked for, and it cannot load them."""


@dataclass(frozen=True)
class _Grid:
    """A cube's steps and price bins, from its rows' extent (`_grid`)."""

    t0_ms: int
    steps: int
    p0: float
    pw: float
    bins: int


def _grid(
    t_min: int, t_max: int, p_min: float, p_max: float, width: float, max_bins: int, step: int
) -> _Grid:
    """The grid of rows from t_min to t_max (epoch ms) priced p_min..p_max in bins of `width`
    (merged by an integer factor when more than `max_bins` would be needed)."""
    if not width > 0:
        width = 1.0
    factor = max(1, int(np.ceil((p_max - p_min) / width / max_bins)))
    pw = width * factor
    p0 = np.floor(p_min / pw) * pw
    t0 = int(t_min // step * step)
    return _Grid(
        t0_ms=t0,
        steps=int((t_max - t0) // step) + 1,
        p0=float(p0),
        pw=float(pw),
        bins=int(np.ceil((p_max - p0) / pw)) + 1,
    )


@dataclass(frozen=True)
class ViewGrid:
    """A view cube's grid alone (HeatCube.load_view_grids): where its steps lie and its bin
    width, what a heatmap window reads of a layer view (its values come from the shared
    heat tiles in the page)."""

    t0_ms: int
    pw: float
    step_ms: int
    hours: int  # steps

    @classmethod
    def of(cls, cube: HeatCube) -> ViewGrid:
        return cls(cube.t0_ms, cube.pw, cube.step_ms, cube.hours)


@dataclass
class HeatCube:
    """The heatmap as dense arrays on a uniform price grid: [time step, price bin] (hourly for
    `mart.liq_heatmap`, every 4 hours for a view of `mart.liq_layer_heatmap`).

    Built once per site build, so each page slices numpy arrays instead of re-querying
    a year of rows per timeframe. Price bins are the mart's bins, merged by an integer
    factor when the price range would otherwise need more than `max_bins` columns.
    A cube may hold only its last steps (`load_recent`: from step `held_from` on, the
    arrays' row 0): its grid is still that of every step, and `held` loads the rest on
    first need.
    """

    t0_ms: int  # start of step 0
    p0: float  # lower edge of bin 0
    pw: float  # bin width
    long: np.ndarray  # float32 [steps held, bins]
    short: np.ndarray
    step_ms: int = 3_600_000  # one row per hour (or per `step_ms`)
    held_from: int = 0  # the first step the arrays hold
    # loads the whole cube (its every step) when a step before `held_from` is asked for
    whole: Callable[[], HeatCube | None] | None = field(default=None, repr=False, compare=False)

    @property
    def hours(self) -> int:
        """Steps of the cube (held or not)."""
        return self.held_from + self.long.shape[0]

    @property
    def bins(self) -> int:
        return self.long.shape[1]

    def held(self, side: str, h0: int, h1: int) -> np.ndarray:
        """Steps h0..h1 of `side` ('long' or 'short'), every bin; the cube's earlier steps
        are loaded first when h0 is before those it holds (`whole`)."""
        if h0 < self.held_from:
            full = self.whole() if self.whole is not None else None
            if full is None or (full.t0_ms, full.p0, full.pw, full.hours, full.bins) != (
                self.t0_ms, self.p0, self.pw, self.hours, self.bins
            ):  # fmt: skip
                raise NotHeld(f"steps from {h0} of a cube holding them from {self.held_from}")
            self.long, self.short, self.held_from = full.long, full.short, 0
        return getattr(self, side)[h0 - self.held_from : h1 - self.held_from]

    @classmethod
    def load(
        cls,
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        t_from: datetime,
        t_to: datetime,
        max_bins: int = MAX_BINS,
        venue: str = AGGREGATE_VENUE,
    ) -> HeatCube | None:
        """The base/all hourly heatmap (None when there are no rows or no such mart)."""
        done = _executed(conn, HEATMAP_RANGE, _window(symbol, t_from, t_to, venue))
        return None if done is None else cls._of_rows(done.fetchnumpy(), max_bins, HOUR_MS)

    @classmethod
    def load_views(
        cls,
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        t_from: datetime,
        t_to: datetime,
        views: Iterable[str],
        max_bins: int = MAX_BINS,
        step_ms: int = 3_600_000,
        venue: str = AGGREGATE_VENUE,
    ) -> dict[str, HeatCube]:
        """Each of `views` ("scenario/layer") of `mart.liq_layer_heatmap` as a cube on
        `step_ms` steps, from one query: a view's rows are those its own query would give,
        in the same order. Views without rows are left out (all of them when the warehouse
        predates the layer mart)."""
        views = list(views)
        params = {**_window(symbol, t_from, t_to, venue), "views": views}
        done = _executed(conn, LAYER_HEATMAP_RANGE, params)
        if done is None:
            return {}
        res = done.fetchnumpy()
        place = res.pop("view")
        if np.ma.isMaskedArray(place) and np.ma.getmaskarray(place).any():
            keep = ~np.ma.getmaskarray(place)  # rows of other views (NULL places) left out
            res = {k: np.asarray(c)[keep] for k, c in res.items()}
            place = np.ma.getdata(place)[keep]
        place = np.asarray(place, dtype=np.int64)
        # each view's rows side by side, in their order (a stable sort by view)
        order = np.argsort(place, kind="stable")
        bounds = np.searchsorted(place[order], np.arange(1, len(views) + 2))
        out = {}
        for i, v in enumerate(views):
            rows = order[bounds[i] : bounds[i + 1]]
            cube = cls._of_rows({k: c[rows] for k, c in res.items()}, max_bins, step_ms)
            if cube is not None:
                out[v] = cube
        return out

    @classmethod
    def load_view_grids(
        cls,
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        t_from: datetime,
        t_to: datetime,
        views: Iterable[str],
        max_bins: int = MAX_BINS,
        step_ms: int = 3_600_000,
        venue: str = AGGREGATE_VENUE,
    ) -> dict[str, ViewGrid]:
        """The grid of each view `load_views` would load (`ViewGrid`), from one row per view
        (LAYER_HEATMAP_GRIDS): the same grid when every row of the view has one bin width
        (then it is the widths' median); else the view's cube is loaded as before."""
        views = list(views)
        params = {**_window(symbol, t_from, t_to, venue), "views": views}
        done = _executed(conn, LAYER_HEATMAP_GRIDS, params)
        if done is None:
            return {}
        rows = done.fetchall()
        out: dict[str, ViewGrid] = {}
        mixed = []  # views whose bins differ in width: their median needs the rows
        for i, t_min, t_max, p_min, p_max, w_min, w_max in sorted(rows):
            if w_min != w_max:
                mixed.append(views[i - 1])
                continue
            g = _grid(
                int(t_min), int(t_max), float(p_min), float(p_max), float(w_min), max_bins, step_ms
            )
            out[views[i - 1]] = ViewGrid(g.t0_ms, g.pw, step_ms, g.steps)
        if mixed:
            cubes = cls.load_views(conn, symbol, t_from, t_to, mixed, max_bins, step_ms, venue)
            out.update({v: ViewGrid.of(c) for v, c in cubes.items()})
        return {v: out[v] for v in views if v in out}

    @classmethod
    def _of_rows(cls, res: dict[str, np.ndarray], max_bins: int, step_ms: int) -> HeatCube | None:
        """The cube of every row of `res` (t, price_low, price_high and the notionals), on
        a grid of their extent; None without rows."""
        t = epoch_ms_of(res["t"])
        if t.size == 0:
            return None
        lo = np.asarray(res["price_low"], dtype=np.float64)
        hi = np.asarray(res["price_high"], dtype=np.float64)
        g = _grid(
            int(t.min()),
            int(t.max()),
            float(lo.min()),
            float(hi.max()),
            bin_width(lo, hi),
            max_bins,
            step_ms,
        )
        return cls._filled(g, res, t, lo, hi, 0, step_ms)

    @classmethod
    def load_recent(
        cls,
        conn: duckdb.DuckDBPyConnection,
        symbol: str,
        t_from: datetime,
        t_to: datetime,
        recent_from: datetime,
        venue: str = AGGREGATE_VENUE,
        extents: Mapping[str, Extent] | None = None,
    ) -> HeatCube | None:
        """`load(conn, symbol, t_from, t_to, venue=venue)` holding only the hours from
        `recent_from` on (`held_from`): the grid from the rows' extent (`extents`, the
        symbol's `heat_extents` of the same span, read when not given), the values from the
        recent rows alone, each cell the same float32 (the same rows summed in the same
        order). Bins of more than one width (the grid then takes their median): every row
        is read, as `load` does."""
        whole = partial(cls.load, conn, symbol, t_from, t_to, venue=venue)
        params = {"venue": venue, "symbol": symbol, "t_from": t_from, "t_to": t_to}
        if extents is None:
            extents = heat_extents(conn, symbol, t_from, t_to)
        if venue not in extents:
            return None
        _, t_min, t_max, p_min, p_max, w_min, w_max = extents[venue]
        if w_min != w_max or recent_from <= t_from:
            return whole()
        g = _grid(t_min, t_max, p_min, p_max, w_min, MAX_BINS, HOUR_MS)
        held_from = max(0, (_ms(recent_from) - g.t0_ms) // HOUR_MS)
        res = conn.execute(HEATMAP_RANGE, {**params, "t_from": recent_from}).fetchnumpy()
        t = epoch_ms_of(res["t"])
        lo = np.asarray(res["price_low"], dtype=np.float64)
        hi = np.asarray(res["price_high"], dtype=np.float64)
        cube = cls._filled(g, res, t, lo, hi, min(held_from, g.steps), HOUR_MS)
        cube.whole = whole
        return cube

    @classmethod
    def _filled(
        cls,
        g: _Grid,
        res: dict[str, np.ndarray],
        t: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        held_from: int,
        step_ms: int,
    ) -> HeatCube:
        """The cube of grid `g` holding steps from `held_from` on, from rows `res` (every
        row of those steps, times `t`, bin edges `lo`, `hi`)."""
        hi_idx = ((t - g.t0_ms) // step_ms).astype(np.int64) - held_from
        # centre of each mart bin decides which working bin it lands in
        bi = np.clip(((lo + hi) / 2 - g.p0) // g.pw, 0, g.bins - 1).astype(np.int64)
        flat = hi_idx * g.bins + bi
        n_steps = g.steps - held_from
        size = n_steps * g.bins
        # each side summed in doubles, then kept as float32 before the other is summed (a
        # year's double grid is some 80 MB: one at a time, not both)
        longs, shorts = (
            np.bincount(flat, weights=np.asarray(res[side]), minlength=size)
            .reshape(n_steps, g.bins)
            .astype(np.float32)
            for side in ("long_notional", "short_notional")
        )
        return cls(
            t0_ms=g.t0_ms,
            p0=g.p0,
            pw=g.pw,
            long=longs,
            short=shorts,
            step_ms=step_ms,
            held_from=held_from,
        )


def hourly_ohlc(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    t_from: datetime,
    t_to: datetime,
    venue: str = AGGREGATE_VENUE,
) -> dict[str, np.ndarray]:
    """Hourly OHLC (x = hour start, epoch ms) for candles; empty arrays without the mart."""
    done = _executed(conn, PRICE_HOURLY_OHLC_RANGE, _window(symbol, t_from, t_to, venue))
    if done is None:
        return {k: np.empty(0) for k in ("x", "o", "h", "l", "c")}
    res = done.fetchnumpy()
    return {k: np.asarray(res[k], dtype=np.int64 if k == "x" else np.float64) for k in res}


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def day_end(d: date) -> datetime:
    return day_start(d) + timedelta(days=1)
