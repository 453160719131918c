"""Heatmap windows as rasters with pixel-true hover values, and candles for the price path.

Every timeframe of the heatmap is one viridis PNG per model/leverage layer (one pixel per
time step × price band, highest price on top; each layer with its own geometry) plus a small
JSON description the browser reads (reports/static/heatlayers.js). The colour of a pixel is
`level / 255 × vmax` in the legend's unit, and the hover reads the same pixel, so tooltip
and colour always state the same number in the same unit at every timeframe. Drawn as one
image, the grid has no seams.

Candles aggregate hourly OHLC into the timeframe's candle width (one candle per hour for a
day, four hours for a week, a day for one or three months); the year keeps a close line.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

from reports.notation import chart_price, chart_price_decimals

# Vega's "viridis" scheme (256 steps), so the PNG raster matches the Vega colour legend
# (reports.charts.heatmap_spec); here, without Altair, for the now page's raster too.
VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668"
    "48176948186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979"
    "472a7a472c7a472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84"
    "433d84433e85423f854240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a"
    "3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d"
    "355e8d355f8d34608d34618d33628d33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e"
    "2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e"
    "297b8e287c8e287d8e277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e"
    "23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c1f948c1f958b1f968b"
    "1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f881fa0881fa1881fa1871fa28720a38620a486"
    "21a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d"
    "2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf70"
    "46c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc8635ec96260ca6063cb5f"
    "65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d84d44b86d549"
    "89d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30"
    "b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723"
    "fde725"
)
VIRIDIS = np.frombuffer(bytes.fromhex(VIRIDIS_HEX), dtype=np.uint8).reshape(256, 3)

HOUR_MS = 3_600_000
# candle width per timeframe (hours); timeframes not listed draw a close line
CANDLE_HOURS = {"24h": 1, "1w": 4, "1m": 24, "3m": 24}
LEVELS = 255  # the top palette index: values >= vmax (the window's 99th percentile)
#: zlib level of every raster PNG (heat tiles too): on the demo's tiles 7 encodes ~6x faster
#: than 9 for ~5 % more bytes, a tenth of a year site's build CPU for ~0.25 MB
PNG_COMPRESS_LEVEL = 7


def png_data_url(levels: np.ndarray, palette: np.ndarray) -> str:
    """`levels` uint8 [time, price] → an indexed PNG with `palette` (256 × 3), highest price
    on top, as a data URL."""
    idx = np.ascontiguousarray(levels.T[::-1])
    img = Image.frombytes("P", idx.shape[::-1], idx.tobytes())
    img.putpalette(np.asarray(palette, dtype=np.uint8).tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def quantize(values: np.ndarray, vmax: float) -> np.ndarray:
    """Palette levels 0..255 of `values` on a linear scale from 0 to `vmax` (clamped)."""
    if not vmax > 0:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint(np.clip(values / vmax, 0.0, 1.0) * LEVELS).astype(np.uint8)


def level_value(level: int | np.ndarray, vmax: float) -> float | np.ndarray:
    """The value a palette level stands for: what the colour (and the hover) states."""
    return np.asarray(level, dtype=float) / LEVELS * vmax


def window_vmax(total: np.ndarray) -> float:
    """The colour scale's top: the 99th percentile of the non-empty cells, at 3 significant
    digits (so the legend's printed maximum is the exact top)."""
    nz = total[total > 0]
    v = float(np.percentile(nz, 99)) if nz.size else 1.0
    return float(f"{v:.3g}")


def raster_layer(
    grid: np.ndarray, *, t0: int, tstep: int, p0: float, pstep: float, palette: np.ndarray
) -> dict:
    """One layer of a heatmap window: a value grid [time, price] as a PNG with its geometry
    and colour scale top, as the page script reads it."""
    vmax = window_vmax(grid)
    cols, rows = grid.shape
    return {
        "url": png_data_url(quantize(grid, vmax), palette),
        "vmax": vmax,
        "t0": int(t0),
        "tstep": int(tstep),
        "cols": int(cols),
        "p0": chart_price(float(p0)),
        "pstep": float(pstep),
        "rows": int(rows),
    }


def raster_geometry(cols: int, rows: int, *, t0: int, tstep: int, p0: float, pstep: float) -> dict:
    """One layer of a heatmap window as the page composes it from the shared heat tiles
    (reports.heat_tiles): `cols` columns of `tstep` ms from t0, `rows` rows of pstep from p0
    (the page computes the values and their colour scale from the tiles)."""
    return {
        "t0": int(t0),
        "tstep": int(tstep),
        "cols": int(cols),
        "p0": chart_price(float(p0)),
        "pstep": float(pstep),
        "rows": int(rows),
    }


GRID_FIELDS = ("t0", "tstep", "cols", "p0", "pstep", "rows")


def _most_common(values: list) -> Any:
    """The most common of `values`, the first seen of equally common ones (as
    `Counter.most_common(1)`, without building a Counter: usually all are equal)."""
    first = values[0]
    if values.count(first) == len(values):
        return first
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return max(counts, key=counts.__getitem__)


def shared_grid(layers: dict[str, dict]) -> dict:
    """A window's raster description with the geometry its layers share written once:
    `grid` holds each field's most common value, a layer only what differs from it (eight
    layer views mostly share one grid). The page script merges them back
    (reports/static/liqdata.js `compose`); `full_layers` does the same in Python."""
    grid = {f: _most_common([g[f] for g in layers.values()]) for f in GRID_FIELDS}
    own = {
        k: {f: v for f, v in g.items() if f not in grid or grid[f] != v} for k, g in layers.items()
    }
    return {"grid": grid, "layers": own}


def full_layers(raster: dict) -> dict[str, dict]:
    """Each layer of a raster description with the shared `grid` merged in (a file written
    before the grid was shared has whole layers and no `grid`)."""
    grid = raster.get("grid", {})
    return {k: {**grid, **g} for k, g in raster["layers"].items()}


def candle_spans(x_ms: np.ndarray, c: np.ndarray, hours: int, t0: int, t1: int) -> list[dict]:
    """Where `candles` (the same hours, closes and window) puts its candles, oldest first,
    each {"x", "x2"} without its prices: all a heatmap window reads of them when the page
    builds them from the shared hourly OHLC (reports.cards.heatmap, `$candles`), so their
    prices are not rounded into dicts for nothing."""
    x_ms = np.asarray(x_ms, dtype=np.int64)
    sel = (x_ms >= t0) & (x_ms < t1) & np.isfinite(c)
    if not sel.any():
        return []
    width = hours * HOUR_MS
    group = np.unique((t1 - 1 - x_ms[sel]) // width)[::-1]  # 0 = the candle ending at t1
    return [{"x": left, "x2": left + width} for left in (t1 - (group + 1) * width).tolist()]


def candles(
    x_ms: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    hours: int,
    t0: int,
    t1: int,
) -> list[dict]:
    """Hourly OHLC (x = hour *start*, ms) merged into `hours`-wide candles aligned to `t1`,
    keeping only candles inside [t0, t1): {"x", "x2", "o", "h", "l", "c"} (prices rounded to
    cents). A candle's open is its first hour's open, close its last hour's close."""
    x_ms = np.asarray(x_ms, dtype=np.int64)
    sel = (x_ms >= t0) & (x_ms < t1) & np.isfinite(c)
    if not sel.any():
        return []
    x, o, h, lo, c = x_ms[sel], o[sel], h[sel], lo[sel], c[sel]
    width = hours * HOUR_MS
    group = (t1 - 1 - x) // width  # 0 = the candle ending at t1
    order = np.argsort(-group, kind="stable")  # oldest candle first, hours in time order
    x, o, h, lo, c, group = x[order], o[order], h[order], lo[order], c[order], group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    ends = np.r_[starts[1:], len(group)]
    # every candle at once: fmax/fmin skip NaNs as nanmax/nanmin of each candle's hours do
    # (the same values); prices rounded as chart_price does, its decimals looked up once
    nd = chart_price_decimals()
    lefts = (t1 - (group[starts] + 1) * width).tolist()
    opens, closes = o[starts].tolist(), c[ends - 1].tolist()
    highs = np.fmax.reduceat(h, starts).tolist()
    lows = np.fmin.reduceat(lo, starts).tolist()
    return [
        {
            "x": left,
            "x2": left + width,
            "o": round(op, nd),
            "h": round(hi, nd),
            "l": round(lw, nd),
            "c": round(cl, nd),
        }
        for left, op, hi, lw, cl in zip(lefts, opens, highs, lows, closes, strict=True)
    ]
