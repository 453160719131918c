"""The heatmap card: one tab per timeframe (24 hours to 1 year) ending with the day.

Each window's price range follows the closes in it; the white price line is hourly closes
(thinned to at most MAX_LINE_POINTS), preceded by daily closes where hourly prices do not
reach back far enough.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from reports import datafiles
from reports.cards.card import Table
from reports.charts.heatmap import HeatWindow, heat_window
from reports.charts.heatmap_spec import DESC, MARK_FIELDS
from reports.charts.raster import CANDLE_HOURS, candle_spans
from reports.charts.spec import text_ref
from reports.key_levels import DEFAULT_VIEW, marks_ref, zone_band
from reports.loaders import HOUR_MS, PriceHistory, Record, day_end_ms
from reports.notation import fmt_price, fmt_usd, ok
from reports.realized_data import RealizedSpan
from reports.realized_marks import heat_marks
from transforms.rules import view_window
from transforms.venues import AGGREGATE_VENUE

MAX_LINE_POINTS = 400  # heatmap price line: hourly closes, thinned to this many per window


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    hours: int
    rect: bool
    pad: float  # price range: closes in the window ± pad
    max_cols: int
    max_rows: int


WINDOWS = [
    Window("24h", "24 hours", 24, True, 0.12, 24, 160),
    Window("1w", "1 week", 24 * 7, False, 0.15, 168, 110),
    Window("1m", "1 month", 24 * 30, False, 0.2, 360, 220),
    Window("3m", "3 months", 24 * 91, False, 0.25, 364, 220),
    Window("1y", "1 year", 24 * 365, False, 0.3, 365, 220),
]
# timeframes with the leverage-layer switch (their views come from mart.liq_layer_heatmap)
LAYER_WINDOWS = ("24h", "1w")
# timeframes with realized liquidations as markers (hourly markers need hourly columns)
REALIZED_WINDOWS = ("24h", "1w")
REALIZED_DAYS = 7  # the longest of them in days: what the day page loads of mart.realized_*


@dataclass(frozen=True)
class HeatTab:
    """One timeframe tab: its window, its element id and a note on short history."""

    key: str
    label: str
    w: HeatWindow
    id: str
    note: str
    realized_note: str = ""  # which venues the realized markers show and what was not collected


@dataclass(frozen=True)
class HeatCard:
    windows: list[HeatTab]
    table: Table


def day_close_range(history: PriceHistory, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """Each UTC day's lowest and highest hourly close within [t0, t1] (ms)."""
    x, c = np.asarray(history.hour_x), np.asarray(history.hour_c, dtype=float)
    # hours ending inside the window: a slice, the hours in time order (price_line's too)
    i, j = np.searchsorted(x, t0, "right"), np.searchsorted(x, t1, "right")
    if i >= j:
        return np.zeros(0), np.zeros(0)
    day = (x[i:j] - 1) // (24 * HOUR_MS)  # an hour's close at its end belongs to its day
    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])  # each day's first hour
    # a day's closes reduced in its run (NaN skipped; all NaN: the infinity, as fmin.at from
    # an infinity gave)
    lo = np.fmin(np.fmin.reduceat(c[i:j], starts), np.inf)
    hi = np.fmax(np.fmax.reduceat(c[i:j], starts), -np.inf)
    return lo, hi


def price_line(
    history: PriceHistory, t0: int, t1: int
) -> tuple[tuple[list[int], list[float]], str]:
    """The heatmap's price line within [t0, t1], as its times and closes (in time order:
    the window picks its points by bisection, reports.charts.heatmap), and what it shows:
    hourly closes (the close of every n-th hour, aligned to t1, when there are more than
    MAX_LINE_POINTS), preceded by daily closes where `mart.price_hourly` has no rows yet."""
    x = history.hour_x
    i, j = np.searchsorted(x, t0, "left"), np.searchsorted(x, t1, "right")
    x, idx = x[i:j], np.arange(i, j)
    step = max(1, -(-len(x) // MAX_LINE_POINTS))
    if step > 1:
        group = (t1 - x) // (step * HOUR_MS)
        last = np.r_[group[:-1] != group[1:], True]  # the latest hour of each group
        x, idx = x[last], idx[last]
    daily_x, daily_c = history.closes_between(t0, int(x[0]) - 1 if len(x) else t1)
    closes = history.chart_closes()  # every hour's close rounded once, not once per window
    hourly = closes[i:j] if step == 1 else [closes[k] for k in idx.tolist()]
    line = (daily_x + x.tolist(), daily_c + hourly)
    if not len(x):
        what = "daily close"
    elif step == 1:
        what = "hourly close"
    else:
        what = f"close every {step} hours"
    if daily_x and len(x):
        what += " (daily before hourly prices begin)"
    return line, what


def path_ref(
    prefix: str, width: int | None, start: int, end: int, hourly_line: bool
) -> dict[str, Any] | None:
    """How the page rebuilds a window's price path from the heat months' hourly OHLC
    (reports.datafiles): `$candles` of `width` hours, or the thinned `$closes` line when it
    is hourly closes only; None when the path must stay in the page's values."""
    if width:
        return {"$candles": prefix, "w": width, "from": start, "to": end}
    if hourly_line:
        return {"$closes": prefix, "max": MAX_LINE_POINTS, "from": start, "to": end}
    return None


def heat_card(
    history: PriceHistory,
    cur: Record,
    symbol: str,
    d: date,
    realized: RealizedSpan | None = None,
    venue: str = AGGREGATE_VENUE,
    views: Mapping[str, Record] | None = None,
    range_pct: float | None = None,
) -> HeatCard | None:
    """The heatmap tabs for day `d` (base row `cur`); None without a cube or a close.
    `realized` (the REALIZED_DAYS up to `d`) puts the page `venue`'s realized liquidations on
    the REALIZED_WINDOWS as markers (for the aggregate, every collecting venue summed).
    `views`: each switch view's level row (reports.key_levels.views_of): the LAYER_WINDOWS
    draw every view's lines for the switch to pick; the others the base view's.
    `range_pct`: the model's `heatmap_range_pct`; each window's price rows then stay inside
    what every one of its days stores (transforms.rules.view_window), so no stored
    liquidity appears to vanish at the window's edge."""
    cube = history.cube
    spot = cur.get("close_price")
    views = dict(views or {DEFAULT_VIEW: cur})
    base_view = {DEFAULT_VIEW: views.get(DEFAULT_VIEW, cur)}
    views = {**base_view, **views}  # the levels of the day file (levels_of): base first
    day_key = datafiles.key(symbol, venue, f"day-{d}")
    if cube is None or not ok(spot):
        return None
    end = day_end_ms(d)
    first = cube.t0_ms
    windows: list[HeatTab] = []
    zone = zone_band(cur)  # the day's, the same in every window (each clips a copy)
    for w in WINDOWS:
        start = end - w.hours * HOUR_MS
        covered = start >= first
        closes, line_what = price_line(history, start, end)
        prices = closes[1] + [spot]
        lo, hi = min(prices) * (1 - w.pad), max(prices) * (1 + w.pad)
        clipped = ""
        if range_pct is not None:
            day_lo, day_hi = day_close_range(history, max(start, first), end)
            lo2, hi2 = view_window(lo, hi, day_lo, day_hi, range_pct)
            if (lo2, hi2) != (lo, hi):
                # why these rows: the methodology's "How to read" (read-heat)
                clipped = f"price rows {fmt_price(lo2)}–{fmt_price(hi2)}"
            lo, hi = lo2, hi2
        width = CANDLE_HOURS.get(w.key)
        # where the candles lie, not their prices: with any candle the window's path is the
        # `$candles` reference (path_ref), which the page fills from the heat months' OHLC
        bars = (
            candle_spans(history.ohlc.get("x", []), history.ohlc.get("c", []), width, start, end)
            if width and len(history.ohlc.get("x", []))
            else []
        )
        rmarks = None
        if realized is not None and w.key in REALIZED_WINDOWS:
            rmarks = heat_marks(realized, venue, max(start, first), end)
        path_what = f"{width}-hour candles" if width and bars else f"white line: {line_what}"
        if width == 24 and bars:
            path_what = "daily candles"
        hw = heat_window(
            cube,
            history.views if w.key in LAYER_WINDOWS else {},
            key=w.key,
            label=w.label,
            hours=w.hours,
            end_ms=end,
            price_lo=lo,
            price_hi=hi,
            price_path={"candles": bars, "closes": closes},
            path_ref=path_ref(
                datafiles.key(symbol, venue, ""),
                width if bars else None,
                start,
                end,
                hourly_line="daily" not in line_what and bool(closes[0]),
            ),
            marks=lambda a, b, lv=(w.key in LAYER_WINDOWS): marks_ref(
                day_key, list(views), list(views if lv else base_view), a, b, MARK_FIELDS
            ),
            zone=zone,
            desc=text_ref(
                DESC,
                symbol=symbol,
                window=w.label,
                day=str(d),
                path=path_what,
                spot=fmt_price(spot),
                note=f" {rmarks.note}" if rmarks else "",
            ),
            max_cols=w.max_cols,
            max_rows=w.max_rows,
            realized=rmarks.points if rmarks else None,
            realized_gaps=rmarks.gaps if rmarks else None,
            bands=not windows,  # the card's table: the first window's largest bands
        )
        if hw is None:
            continue
        windows.append(
            HeatTab(
                key=w.key,
                label=w.label,
                w=hw,
                id=f"heat-{w.key}",
                note="; ".join(
                    n
                    for n in ("" if covered else "history is shorter than this window", clipped)
                    if n
                ),
                realized_note=rmarks.note if rmarks else "",
            )
        )
        if not covered:
            break  # longer windows would show the same history
    if not windows:
        return None
    top = windows[0].w.top_bands
    return HeatCard(
        windows=windows,
        table=Table(
            caption=f"Largest liquidation bands, last {windows[0].w.label} (mean)",
            head=["Price band", "Longs", "Shorts"],
            rows=[
                (f"{fmt_price(lo)} to {fmt_price(hi)}", fmt_usd(lg), fmt_usd(sh))
                for lo, hi, lg, sh in top
            ],
        ),
    )
