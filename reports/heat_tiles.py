"""The heatmap's shared tiles: one month of one symbol and venue, hourly, on the mart's own
price bins, as a log-coded greyscale PNG (the heat month files of reports.datafiles).

Every day page's heatmap windows are composed from these tiles in the browser
(reports/static/liqdata.js), so a window of a year ending on any day costs no bytes of its
own: a day adds one day of columns to its month. Grey level L (1..255) of a pixel stands for
`top × 10^((L − 255) × LOG_DECADES / 254)` (0: nothing); `top` is the month's largest value.
The 4-hourly layer views (mart.liq_layer_heatmap) are tiles of their own in the same file.
"""

from __future__ import annotations

import base64
import io
from datetime import date, datetime, timedelta

import duckdb
import numpy as np
from PIL import Image

from reports import queries
from reports.charts.raster import PNG_COMPRESS_LEVEL
from reports.charts.spec import code_column
from reports.loaders import LAYER_STEP_MS
from reports.notation import chart_price_decimals
from transforms.model.layers import LAYER_VIEWS

LOG_DECADES = 5.0  # values below top / 10^5 are drawn as nothing
NATIVE_BINS = 1_000_000  # never merge the mart's bins in a tile


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_id(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def encode_log8(values: np.ndarray, top: float) -> np.ndarray:
    """Grey levels of `values` (>= 0) on the log scale below `top`."""
    out = np.zeros(values.shape, dtype=np.uint8)
    if not top > 0:
        return out
    floor = top * 10.0**-LOG_DECADES
    nz = values > floor
    lv = 255.0 + np.log10(values[nz] / top) * 254.0 / LOG_DECADES
    out[nz] = np.clip(np.rint(lv), 1, 255).astype(np.uint8)
    return out


def decode_log8(levels: np.ndarray, top: float) -> np.ndarray:
    """The values grey levels stand for (what the page script computes)."""
    lv = np.asarray(levels, dtype=np.float64)
    v = top * 10.0 ** ((lv - 255.0) * LOG_DECADES / 254.0)
    return np.where(lv > 0, v, 0.0)


def grey_png_url(levels: np.ndarray) -> str:
    """`levels` uint8 [time, bin] as a greyscale PNG, highest price on top, as a data URL."""
    img = np.ascontiguousarray(levels.T[::-1])
    im = Image.frombytes("L", img.shape[::-1], img.tobytes())
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _tile(cube: queries.HeatCube) -> dict | None:
    """One cube as a tile: rows cropped to the bins that hold anything."""
    total = cube.long.astype(np.float64) + cube.short.astype(np.float64)
    used = np.flatnonzero(total.sum(axis=0) > 0)
    if not used.size:
        return None
    b0, b1 = int(used[0]), int(used[-1]) + 1
    grid = total[:, b0:b1]
    top = float(f"{float(grid.max()):.6g}")
    return {
        "t0": int(cube.t0_ms),
        "step": int(cube.step_ms),
        "cols": int(grid.shape[0]),
        "p0": float(cube.p0 + b0 * cube.pw),
        "pw": float(cube.pw),
        "rows": int(b1 - b0),
        "top": top,
        "png": grey_png_url(encode_log8(grid, top)),
    }


def empty_month(month: date) -> dict:
    """A month without heatmap rows: the file exists, so a page never asks for a missing one."""
    return {"month": month_id(month), "base": None, "views": {}, "ohlc": {k: [] for k in "xohlc"}}


def heat_months(first: date, d: date, days_back: int) -> list[str]:
    """The heat months a page of day `d` may read: from `days_back` days before it (not
    before the symbol's first day) to its own month."""
    m = month_start(max(first, d - timedelta(days=days_back)))
    out = []
    while m <= d:
        out.append(month_id(m))
        m = next_month(m)
    return out


def month_tiles(
    conn: duckdb.DuckDBPyConnection, symbol: str, venue: str, month: date
) -> dict | None:
    """The month's heat file body: `base` (hourly base model, all leverage), `views`
    (scenario/layer -> 4-hourly tile) and `ohlc` (hourly, x = hour start, each list in its
    column coding, `code_column`: hours as a sequence, prices as delta-coded cents); None when the
    month has no heatmap rows. Prices are written as the charts write them (chart_price,
    under the symbol's price scale), so candles built from them in the page are the site
    build's own."""
    a = datetime(month.year, month.month, 1)
    nm = next_month(month)
    b = datetime(nm.year, nm.month, 1)
    cube = queries.HeatCube.load(conn, symbol, a, b, max_bins=NATIVE_BINS, venue=venue)
    base = _tile(cube) if cube is not None else None
    if base is None:
        return None
    views: dict[str, dict] = {}
    names = [f"{sc}/{layer}" for sc, layer in LAYER_VIEWS if (sc, layer) != ("base", "all")]
    cubes = queries.HeatCube.load_views(
        conn, symbol, a, b, names, max_bins=NATIVE_BINS, step_ms=LAYER_STEP_MS, venue=venue
    )
    for name, vc in cubes.items():
        t = _tile(vc)
        if t is not None:
            views[name] = t
    ohlc = queries.hourly_ohlc(conn, symbol, a, b, venue)
    nd = chart_price_decimals()  # chart_price, its decimals looked up once
    return {
        "month": month_id(month),
        "base": base,
        "views": views,
        "ohlc": {
            "x": code_column([int(x) for x in ohlc["x"].tolist()]),
            **{
                k: code_column([round(v, nd) for v in ohlc[k].tolist()])
                for k in ("o", "h", "l", "c")
            },
        },
    }
