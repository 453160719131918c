"""One timeframe of the heatmap: slice the cubes, re-bin them and fill the template.

Every timeframe is a raster (reports.charts.raster): one PNG for the base model with all
leverage, plus, where the timeframe offers the layer switch, one per other view
(scenario × leverage layer) from `mart.liq_layer_heatmap`. The spec carries the price path
(candles or a close line), the zone and the key levels; the raster description (images,
geometry, legend unit) goes into its own JSON block for the page script.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from reports.charts.heatmap_spec import DEFAULT_VIEW, heatmap_quiet_template, heatmap_template
from reports.charts.raster import raster_geometry, shared_grid
from reports.charts.spec import json_text
from reports.notation import fmt_step

if TYPE_CHECKING:
    from reports.queries import HeatCube, ViewGrid

HOUR = 3_600_000


@dataclass
class HeatWindow:
    """One timeframe of the heatmap, ready for the page."""

    key: str
    label: str
    spec: str
    raster: str  # JSON for reports/static/heatlayers.js
    t0_ms: int
    t1_ms: int
    unit: str  # the legend's title = the hover's unit
    # (low, high, longs, shorts) mean of the largest bands; only when asked for (`bands`)
    top_bands: list[tuple[float, float, float, float]]


def _reduce(arr: np.ndarray, ft: int, fp: int) -> np.ndarray:
    """Mean over `ft` time steps (notional is a stock, not a flow), sum over `fp` bins."""
    nt = arr.shape[0] // ft
    arr = arr[arr.shape[0] - nt * ft :]
    pad = (-arr.shape[1]) % fp
    if pad:
        arr = np.pad(arr, ((0, 0), (0, pad)))
    return arr.reshape(nt, ft, arr.shape[1] // fp, fp).mean(axis=1).sum(axis=2)


def _top_bands(
    cube: HeatCube, h0: int, h1: int, b0: int, b1: int, ft: int, fp: int
) -> list[tuple[float, float, float, float]]:
    """The window's eight largest price bands by mean notional over its time (longs and
    shorts), highest price first, those holding anything."""
    lg = _reduce(cube.held("long", h0, h1)[:, b0:b1], ft, fp)
    sh = _reduce(cube.held("short", h0, h1)[:, b0:b1], ft, fp)
    p0, pstep = cube.p0 + b0 * cube.pw, fp * cube.pw
    band_l, band_s = lg.mean(axis=0), sh.mean(axis=0)
    order = np.argsort(band_l + band_s)[::-1][:8]
    return [
        (p0 + i * pstep, p0 + (i + 1) * pstep, float(band_l[i]), float(band_s[i]))
        for i in sorted(order.tolist(), reverse=True)
        if band_l[i] + band_s[i] > 0
    ]


def _view_columns(
    vc: HeatCube | ViewGrid, t1: int, width_ms: int, n_cols: int, pstep: float
) -> tuple[int, int] | None:
    """Where a view cube's layer of the window lies, on `width_ms` columns ending at t1: (t0,
    columns), None when the view has no rows in the window. Only its geometry is written
    (the page composes the layer from the shared heat tiles), so its grid is not built."""
    if width_ms % vc.step_ms or not math.isclose(pstep / vc.pw, round(pstep / vc.pw)):
        return None
    g = width_ms // vc.step_ms
    i1 = min(vc.hours, (t1 - vc.t0_ms) // vc.step_ms)
    cols = min(n_cols, i1 // g)
    if cols <= 0:
        return None
    return t1 - cols * width_ms, cols


def heat_window(
    cube: HeatCube,
    views: Mapping[str, HeatCube | ViewGrid],
    *,
    key: str,
    label: str,
    hours: int,
    end_ms: int,
    price_lo: float,
    price_hi: float,
    price_path: dict[str, Any],  # {"candles": [...], "closes": (times, closes) in time order}
    path_ref: dict[str, Any] | None = None,  # how the page rebuilds the path (cards.heatmap)
    marks: Any,  # callable(lo, hi) -> the level marks value (key_levels.marks_ref) of the window
    zone: list[dict[str, Any]],
    desc: str | dict[str, Any],  # the text, or a reference to it (spec.text_ref)
    max_cols: int,
    max_rows: int,
    realized: list[dict[str, Any]] | None = None,
    realized_gaps: list[dict[str, Any]] | None = None,
    bands: bool = False,
) -> HeatWindow | None:
    """Slice the cubes for one timeframe and fill the heatmap template. `realized`: markers
    (reports.realized_marks), `realized_gaps`: bands over days not fully collected. The
    window's values are composed in the page from the heat tiles (reports.heat_tiles): only
    its geometry is read from the cube, and with `bands` its largest bands (`top_bands`,
    the one window whose hours are read)."""
    h1 = min(cube.hours, (end_ms - cube.t0_ms) // HOUR)
    h0 = max(0, h1 - hours)
    if h1 - h0 <= 0:
        return None
    b0 = max(0, int(math.floor((price_lo - cube.p0) / cube.pw)))
    b1 = min(cube.bins, int(math.ceil((price_hi - cube.p0) / cube.pw)))
    if b1 - b0 <= 0:
        return None
    ft = max(1, math.ceil((h1 - h0) / max_cols))
    h0 = h1 - ((h1 - h0) // ft) * ft  # whole groups, aligned to the window's end
    fp = max(1, math.ceil((b1 - b0) / max_rows))
    t0 = cube.t0_ms + h0 * HOUR
    t1 = cube.t0_ms + h1 * HOUR
    p0 = cube.p0 + b0 * cube.pw
    pstep = fp * cube.pw
    rows = -(-(b1 - b0) // fp)  # the last band padded
    p1 = p0 + rows * pstep
    top = _top_bands(cube, h0, h1, b0, b1, ft, fp) if bands else []
    layers = {
        DEFAULT_VIEW: raster_geometry(
            (h1 - h0) // ft, rows, t0=t0, tstep=ft * HOUR, p0=p0, pstep=pstep
        )
    }
    for name, vc in views.items():
        width = max(ft * HOUR, vc.step_ms)
        width -= width % vc.step_ms
        got = _view_columns(vc, t1, width, (t1 - t0) // width, pstep)
        if got is not None:
            vt0, cols = got
            layers[name] = raster_geometry(cols, rows, t0=vt0, tstep=width, p0=p0, pstep=pstep)
    unit = f"Mean notional per {fmt_step(pstep)} band"
    xs, cs = price_path.get("closes", ([], []))
    i, j = bisect_left(xs, t0), bisect_right(xs, t1)  # the closes in the window
    candles = [c for c in price_path.get("candles", []) if c["x2"] > t0 and c["x"] < t1]
    # every layer on the time axis keeps a row (an empty one would give Vega an infinite
    # extent): a window drawn with candles gets a one-point line, one without a flat candle
    last = {"x": xs[j - 1], "c": cs[j - 1]} if j > i else {"x": t1, "c": (p0 + p1) / 2}
    # the page rebuilds a line of hourly closes from the shared hourly OHLC (no rows here)
    closes_ref = path_ref is not None and "$closes" in path_ref and not candles and j > i

    def line(k: int) -> list[dict[str, float]]:
        """The closes in the window up to index k, as rows (else the last point)."""
        return [{"x": xs[m], "c": cs[m]} for m in range(i, k)] or [last]

    flat = {"x": last["x"], "x2": last["x"], "o": last["c"], "h": last["c"], "l": last["c"]}
    values: dict[str, Any] = {
        "xformat": "%H:%M" if hours <= 24 else "%d %b" if hours <= 24 * 95 else "%b %Y",
        "legend": unit,
        "desc": desc,
        # with candles, the line only covers what comes before them (daily closes where
        # hourly prices have not begun)
        "closes": line(bisect_right(xs, candles[0]["x"], i, j))
        if candles
        else (None if closes_ref else line(j)),
        "candles": candles or [{**flat, "c": last["c"]}],
        "marks": marks(p0, p1),
        "zone": [
            {**z, "lo": max(z["lo"], p0), "hi": min(z["hi"], p1)}
            for z in zone
            if z["hi"] > p0 and z["lo"] < p1
        ],
        # as above, a row that draws nothing (zero width) when there is none; without
        # realized markers the quiet template has its own such row
        **({"realized": realized} if realized else {}),
        "rgaps": realized_gaps or [{"x": t1, "x2": t1, "label": ""}],
    }
    if path_ref is not None:
        # the page rebuilds the long lists from the shared hourly OHLC, cut to the raster
        if "$candles" in path_ref and candles:
            values["candles"] = {**path_ref, "lo": t0, "hi": t1}
        elif closes_ref:
            values["closes"] = {**path_ref, "lo": t0, "hi": t1}
    template = heatmap_template() if realized else heatmap_quiet_template()
    spec = template.fill(
        values,
        {
            "xdomain0": t0,
            "xdomain1": t1,
            "ydomain0": p0,
            "ydomain1": p1,
            "xticks": 8 if hours <= 24 * 7 else 10,
        },
    )
    raster = json_text({"unit": unit, "default": DEFAULT_VIEW, **shared_grid(layers)})
    return HeatWindow(
        key=key,
        label=label,
        spec=spec,
        raster=raster,
        t0_ms=t0,
        t1_ms=t1,
        unit=unit,
        top_bands=top,
    )
