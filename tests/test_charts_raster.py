"""Heatmap rasters: the pixel's palette level is the value the hover states; candles."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from reports.charts.heatmap_spec import VIRIDIS
from reports.charts.raster import (
    HOUR_MS,
    LEVELS,
    candle_spans,
    candles,
    level_value,
    quantize,
    raster_layer,
    window_vmax,
)


def _decode(url: str) -> np.ndarray:
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.mode == "P"
    return np.asarray(img)


def test_png_pixels_are_the_quantized_values_highest_price_on_top() -> None:
    grid = np.zeros((3, 4))  # 3 time steps × 4 price bands
    grid[0, 3] = 100.0  # first hour, top band
    grid[2, 0] = 50.0  # last hour, bottom band
    grid[1, 1] = 1000.0  # clamped at vmax
    layer = raster_layer(grid, t0=0, tstep=HOUR_MS, p0=100.0, pstep=10.0, palette=VIRIDIS)
    assert (layer["cols"], layer["rows"], layer["t0"], layer["p0"]) == (3, 4, 0, 100.0)
    vmax = layer["vmax"]
    assert vmax == window_vmax(grid)
    px = _decode(layer["url"])
    assert px.shape == (4, 3)  # rows (price, top first) × columns (time)
    assert px[0, 0] == quantize(np.array(100.0), vmax)  # top row = highest price band
    assert px[3, 2] == quantize(np.array(50.0), vmax)
    assert px[2, 1] == LEVELS  # the 1000 cell, clamped
    # what the hover states for a pixel is within half a palette step of the cell's value
    assert abs(level_value(px[3, 2], vmax) - 50.0) <= vmax / LEVELS / 2


def test_candles_merge_hours_aligned_to_the_window_end() -> None:
    x = np.arange(8) * HOUR_MS  # hours 0..7
    o = np.arange(8) + 100.0
    c = o + 0.5
    h, lo = o + 2.0, o - 2.0
    h[5] = 200.0
    out = candles(x, o, h, lo, c, hours=4, t0=0, t1=8 * HOUR_MS)
    assert out == [
        {"x": 0, "x2": 4 * HOUR_MS, "o": 100.0, "h": 105.0, "l": 98.0, "c": 103.5},
        {"x": 4 * HOUR_MS, "x2": 8 * HOUR_MS, "o": 104.0, "h": 200.0, "l": 102.0, "c": 107.5},
    ]
    # the window cuts hours before t0; a partial first candle keeps its own hours only
    part = candles(x, o, h, lo, c, hours=4, t0=2 * HOUR_MS, t1=8 * HOUR_MS)
    assert part[0]["o"] == 102.0 and part[0]["x"] == 0
    assert candles(x, o, h, lo, c, hours=1, t0=9 * HOUR_MS, t1=10 * HOUR_MS) == []
    # where the candles lie, as the heatmap windows read them (their prices left out)
    c[6] = np.nan  # an hour without a close is in no candle
    for hours, t0, t1 in ((4, 0, 8), (4, 2, 8), (1, 9, 10), (3, 1, 7), (1, 0, 8)):
        spans = candle_spans(x, c, hours, t0 * HOUR_MS, t1 * HOUR_MS)
        full = candles(x, o, h, lo, c, hours=hours, t0=t0 * HOUR_MS, t1=t1 * HOUR_MS)
        assert spans == [{"x": b["x"], "x2": b["x2"]} for b in full]
