"""The marts one site build reads, loaded once into typed holders.

`MartData` holds the small marts (daily metrics per scenario, swings, model parameters);
`PriceHistory` the hourly heatmap cube and price series the heatmap windows slice. The
pages and cards below only read these; every query is in `reports.queries`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from reports import queries
from reports.notation import chart_price, chart_price_decimals, ok
from reports.scenarios import scenario_order
from transforms.model.layers import LAYER_VIEWS
from transforms.venues import AGGREGATE_VENUE

Record = dict[str, Any]  # one mart row, column name → value

HOUR_MS = 3_600_000
HISTORY_DAYS = 365  # the longest timeframe (heatmap 1y, daily series)
LAYER_HISTORY_DAYS = 7  # the longest heatmap timeframe with a layer switch (1w)
LAYER_STEP_MS = 4 * HOUR_MS  # mart.liq_layer_heatmap: one snapshot per 4 hours
# the heatmap cube's hours held before the first day rendered: those of the longest window
# with layer views (a card's largest bands are its first window's; longer windows read only
# the cube's grid, their values are the heat tiles')
HELD_DAYS = LAYER_HISTORY_DAYS


def epoch_ms(d: datetime) -> int:
    """A naive UTC datetime as epoch milliseconds."""
    return int(d.replace(tzinfo=UTC).timestamp() * 1000)


def day_end_ms(d: date) -> int:
    return epoch_ms(queries.day_end(d))


@dataclass(frozen=True)
class MartData:
    """`mart.daily_metrics`, `mart.moves` and `mart.model_params` for one symbol."""

    symbol: str
    metrics: dict[date, dict[str, Record]]  # day → scenario → row
    days: list[date]  # days with a base-scenario row, ascending
    moves: list[Record]
    params: dict[str, Record]  # params_hash → row
    venue: str = AGGREGATE_VENUE  # 'all' (the aggregate across venues) or one venue
    # the day's map rows (map_rows_of): with "bulk" set, every day in one query on first use
    maps: dict[str, Any] = field(default_factory=dict, compare=False)

    def base(self, d: date) -> Record:
        return self.metrics[d]["base"]

    def prev_day(self, d: date) -> date | None:
        i = self.days.index(d)
        return self.days[i - 1] if i else None

    def scenario_rows(self, d: date) -> list[Record]:
        """The day's rows, one per scenario, in the report's scenario order."""
        return [self.metrics[d][k] for k in sorted(self.metrics[d], key=scenario_order)]

    def daily_rows(self, d: date) -> list[Record]:
        """Base rows of the HISTORY_DAYS days up to and including `d`."""
        start = d - timedelta(days=HISTORY_DAYS - 1)
        return [self.metrics[x]["base"] for x in self.days if start <= x <= d]


def load_mart_data(
    conn: duckdb.DuckDBPyConnection, symbol: str, venue: str = AGGREGATE_VENUE
) -> MartData:
    metrics: dict[date, dict[str, Record]] = {}
    for r in queries.rows(conn, queries.DAILY_METRICS, symbol=symbol, venue=venue):
        metrics.setdefault(r["day"], {})[r["scenario"]] = r
    return MartData(
        symbol=symbol,
        metrics=metrics,
        days=sorted(d for d, s in metrics.items() if "base" in s),
        moves=queries.rows(conn, queries.MOVES, symbol=symbol, venue=venue),
        params={r["params_hash"]: r for r in queries.rows(conn, queries.MODEL_PARAMS)},
        venue=venue,
    )


BULK_DAYS = 8  # a build of more days than this reads the maps a month at a time


def _month_held(
    conn: duckdb.DuckDBPyConnection, data: MartData, d: date, kind: str, sql: str
) -> queries.DayRows:
    """The rows of `sql` (LIQ_MAP_RANGE or LAYER_MAP_RANGE) of d's whole month from one
    query (queries.DayRows, by day), kept in `data.maps[kind]` until a day of another month
    is asked for: one query per month, not per day (per-day queries cost a large part of
    each page), and not one for the whole history either (a year of map rows as records
    took gigabytes)."""
    first = d.replace(day=1)
    held = data.maps.get(kind)
    if held is None or held[0] != first:
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        data.maps[kind] = None  # the previous month is dropped before the next is read
        rows = queries.rows_by_day(
            conn, sql, symbol=data.symbol, venue=data.venue, day_from=first, day_to=last
        )
        held = data.maps[kind] = (first, rows)
    return held[1]


def _day_rows(data: MartData, key: tuple[str, date], read: Callable[[], list[Record]]):
    """The rows `read` gives, read once per build of a few days (`data.maps["days"]`): the
    latest day's map is asked for by its page, the latest file and the overview."""
    held = data.maps.setdefault("days", {})
    if key not in held:
        held[key] = read()
    return held[key]


def map_rows_of(conn: duckdb.DuckDBPyConnection, data: MartData, d: date) -> list[Record]:
    """`liq_map_rows` of the symbol and venue of `data`; when the build renders many days
    (`data.maps["bulk"]`), from one query for the month of `d` (`_month_held`), else one
    query for the day."""
    if not data.maps.get("bulk"):
        return _day_rows(data, ("map", d), lambda: liq_map_rows(conn, data.symbol, d, data.venue))
    return _month_held(conn, data, d, "map", queries.LIQ_MAP_RANGE).of(d)


def layer_rows_of(conn: duckdb.DuckDBPyConnection, data: MartData, d: date) -> list[Record]:
    """`layer_map_rows` of the symbol and venue of `data`, one query for the month of `d`
    when the build renders many days (`_month_held`)."""
    if not data.maps.get("bulk"):
        return _day_rows(
            data, ("layers", d), lambda: layer_map_rows(conn, data.symbol, d, data.venue)
        )
    held = _month_layers(conn, data, d)
    return held.of(d) if held is not None else []


def _month_layers(
    conn: duckdb.DuckDBPyConnection, data: MartData, d: date
) -> queries.DayRows | None:
    """The month's layer rows of `d` (`_month_held`); None when the warehouse predates
    `mart.liq_layer_map`."""
    try:
        return _month_held(conn, data, d, "layers", queries.LAYER_MAP_RANGE)
    except duckdb.CatalogException:
        data.maps["layers"] = (d.replace(day=1), None)
        return None


# a day's `mart.liq_layer_map` rows by switch view ('scenario/layer'), each view's rows as
# columns (price_low ascending): what the layer switch's levels and map bands read
ViewColumns = dict[str, dict[str, np.ndarray]]
LAYER_VALUES = (
    "price_low",
    "price_high",
    "long_notional",
    "short_notional",
    "long_cum_from_spot",
    "short_cum_from_spot",
)


def layer_views_of(conn: duckdb.DuckDBPyConnection, data: MartData, d: date) -> ViewColumns:
    """`layer_rows_of` by view, as columns (`ViewColumns`): a build of many days slices the
    month's arrays (no dict and no float object per value: a day has some 1300 layer rows),
    one of a few days groups the day's rows (`view_columns`)."""
    if not data.maps.get("bulk"):
        return view_columns(layer_rows_of(conn, data, d))
    held = _month_layers(conn, data, d)
    if held is None:
        return {}
    cols = held.arrays_of(d)
    n = len(cols["price_low"])
    if not n:
        return {}
    sc, ly = cols["scenario"], cols["layer"]
    cuts = np.flatnonzero((sc[1:] != sc[:-1]) | (ly[1:] != ly[:-1])) + 1
    bounds = [0, *cuts.tolist(), n]
    out: ViewColumns = {}
    for i, j in zip(bounds[:-1], bounds[1:], strict=True):
        view = f"{sc[i]}/{ly[i]}"
        if view in out:  # the query orders by scenario and layer: never split
            raise ValueError(f"layer rows of {view} on {d} are not together")
        out[view] = {c: np.asarray(cols[c][i:j], dtype=np.float64) for c in LAYER_VALUES}
    return out


def view_columns(rows: list[Record]) -> ViewColumns:
    """Layer rows (records, in their order) by view as columns (`ViewColumns`)."""
    by_view: dict[str, list[Record]] = {}
    for r in rows:
        by_view.setdefault(f"{r['scenario']}/{r['layer']}", []).append(r)
    return {
        v: {c: np.array([r[c] for r in vrows], dtype=np.float64) for c in LAYER_VALUES}
        for v, vrows in by_view.items()
    }


def drop_month_rows(data: MartData) -> None:
    """Forget the month of map rows `map_rows_of`/`layer_rows_of` hold and the build's
    realized rows (a symbol done)."""
    for kind in ("map", "layers", "realized", "days", "extents"):
        data.maps.pop(kind, None)


def liq_map_rows(
    conn: duckdb.DuckDBPyConnection, symbol: str, d: date, venue: str = AGGREGATE_VENUE
) -> list[Record]:
    """`mart.liq_map` for one day, by price."""
    return queries.rows(conn, queries.LIQ_MAP_DAY, symbol=symbol, day=d, venue=venue)


def layer_map_rows(
    conn: duckdb.DuckDBPyConnection, symbol: str, d: date, venue: str = AGGREGATE_VENUE
) -> list[Record]:
    """`mart.liq_layer_map` for one day (every view), empty for an older warehouse."""
    try:
        return queries.rows(conn, queries.LAYER_MAP_DAY, symbol=symbol, day=d, venue=venue)
    except duckdb.CatalogException:
        return []


@dataclass(frozen=True)
class PriceHistory:
    """The heatmap cube and price series covering every window of the pages being built.

    `hour_x`/`hour_c`: close time (hour start + 1 h, epoch ms) and close of every hour in
    `mart.price_hourly`; `daily_x`/`daily_c`: end of day (epoch ms) and close from the base
    metrics, for days before hourly prices begin."""

    cube: queries.HeatCube | None
    hour_x: np.ndarray
    hour_c: np.ndarray
    daily_x: list[int]
    daily_c: list[float]
    # the other heatmap views ("scenario/layer" -> 4-hourly cube) and hourly OHLC for candles
    views: dict[str, queries.ViewGrid] = field(default_factory=dict)
    ohlc: dict[str, np.ndarray] = field(default_factory=dict)

    # chart_closes: decimals -> every hourly close as chart_price rounds it
    rounded: dict[int, list[float]] = field(default_factory=dict, compare=False, repr=False)

    def chart_closes(self) -> list[float]:
        """`chart_price` of every close in `hour_c` under the current price scale, rounded
        once for every window of every day page that draws them."""
        nd = chart_price_decimals()
        if nd not in self.rounded:
            self.rounded[nd] = [round(c, nd) for c in self.hour_c.tolist()]
        return self.rounded[nd]

    def closes_between(self, t0: int, t1: int) -> tuple[list[int], list[float]]:
        """Daily closes, placed at the end of their day, within [t0, t1]: (ends, closes)."""
        i, j = bisect_left(self.daily_x, t0), bisect_right(self.daily_x, t1)
        return self.daily_x[i:j], self.daily_c[i:j]


def load_price_history(
    conn: duckdb.DuckDBPyConnection, data: MartData, days: Sequence[date]
) -> PriceHistory:
    """What the heatmaps of `days` need: HISTORY_DAYS before the first to the last (the
    heatmap cube's grid; its hours from HELD_DAYS before the first day)."""
    t_from = queries.day_start(min(days) - timedelta(days=HISTORY_DAYS))
    t_to = queries.day_end(max(days))
    held_from = queries.day_start(min(days) - timedelta(days=HELD_DAYS))
    # the extents of every venue of the symbol, read once for all of them when the build
    # shares a dict between them (`data.maps["extents"]`)
    shared = data.maps.get("extents")
    if shared is None:
        shared = {}
    if (t_from, t_to) not in shared:
        shared[(t_from, t_to)] = queries.heat_extents(conn, data.symbol, t_from, t_to)
    cube = queries.HeatCube.load_recent(
        conn, data.symbol, t_from, t_to, held_from, data.venue, shared[(t_from, t_to)]
    )
    # one hour more, so a window's line starts at its left edge
    hour_x, hour_c = queries.hourly_closes(
        conn, data.symbol, t_from - timedelta(hours=1), t_to, data.venue
    )
    closed = [d for d in data.days if ok(data.base(d).get("close_price"))]
    # layer views: only as far back as the longest timeframe that offers them
    v_from = queries.day_start(min(days) - timedelta(days=LAYER_HISTORY_DAYS))
    # their grids alone: a window places a view's layer, the page fills it from the tiles
    views = queries.HeatCube.load_view_grids(
        conn,
        data.symbol,
        v_from,
        t_to,
        [f"{sc}/{layer}" for sc, layer in LAYER_VIEWS if (sc, layer) != ("base", "all")],
        max_bins=600,
        step_ms=LAYER_STEP_MS,
        venue=data.venue,
    )
    return PriceHistory(
        cube=cube,
        hour_x=hour_x,
        hour_c=hour_c,
        daily_x=[day_end_ms(d) for d in closed],
        daily_c=[chart_price(data.base(d)["close_price"]) for d in closed],
        views=views,
        ohlc=queries.hourly_ohlc(
            conn,
            data.symbol,
            queries.day_start(min(days) - timedelta(days=91)),
            t_to,
            data.venue,
        ),
    )
