"""One timeframe of the heatmap: slice the hourly cube, re-bin it and fill a template."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from reports.charts.heatmap_spec import VIRIDIS, heatmap_raster_template, heatmap_rect_template
from reports.formats import chart_price, fmt_step

if TYPE_CHECKING:
    from reports.queries import HeatCube


def compact(values: np.ndarray) -> list[str]:
    """Non-negative numbers to 3 significant figures in short text: 1234567 → '123e4'."""
    v = np.asarray(values, dtype=np.float64)
    out = np.zeros(v.shape, dtype=np.int64)
    exp = np.zeros(v.shape, dtype=np.int64)
    pos = v > 0
    e = np.floor(np.log10(v[pos])).astype(np.int64) - 2
    m = np.rint(v[pos] / 10.0**e).astype(np.int64)
    big = m >= 1000
    m[big] //= 10
    e[big] += 1
    for _ in range(2):  # 120e4 → 12e5 → ...
        z = (m % 10 == 0) & (m > 0)
        m[z] //= 10
        e[z] += 1
    out[pos], exp[pos] = m, e
    return [
        f"{a}e{b}" if b > 0 else (str(a) if b == 0 else repr(round(a * 10.0**b, -b)))
        for a, b in zip(out.tolist(), exp.tolist(), strict=True)
    ]


@dataclass
class HeatWindow:
    """One timeframe of the heatmap, ready to fill a template."""

    key: str
    label: str
    mode: str  # "rect" | "raster"
    spec: str
    cells: int
    t0_ms: int
    t1_ms: int
    vmax: float
    top_bands: list[tuple[float, float, float, float]]  # (low, high, longs, shorts) mean


def _reduce(arr: np.ndarray, ft: int, fp: int) -> np.ndarray:
    """Mean over `ft` hours (notional is a stock, not a flow), sum over `fp` price bins."""
    nt = arr.shape[0] // ft
    arr = arr[arr.shape[0] - nt * ft :]
    pad = (-arr.shape[1]) % fp
    if pad:
        arr = np.pad(arr, ((0, 0), (0, pad)))
    return arr.reshape(nt, ft, arr.shape[1] // fp, fp).mean(axis=1).sum(axis=2)


def _cells_csv(long_: np.ndarray, short: np.ndarray, floor: float) -> tuple[str, int]:
    total = long_ + short
    ti, pi = np.nonzero(total > floor)
    lines = ["t,p,l,s"]
    ls, ss = compact(long_[ti, pi]), compact(short[ti, pi])
    lines += [
        f"{a},{b},{c},{d}" for a, b, c, d in zip(ti.tolist(), pi.tolist(), ls, ss, strict=True)
    ]
    return "\n".join(lines), len(ti)


def png_data_url(norm: np.ndarray) -> str:
    """`norm` in [0, 1], shaped [time, price] → a viridis PNG, highest price on top."""
    idx = np.rint(np.clip(norm, 0, 1) * 255).astype(np.uint8).T[::-1]
    img = Image.frombytes("P", idx.shape[::-1], idx.tobytes())
    img.putpalette(VIRIDIS.tobytes())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def heat_window(
    cube: HeatCube,
    *,
    key: str,
    label: str,
    hours: int,
    end_ms: int,
    price_lo: float,
    price_hi: float,
    rect: bool,
    closes: list[dict[str, float]],  # the price line: {"x": close time (ms), "c": price}
    spot: float,
    spot_label: str,
    desc: str,
    max_cols: int,
    max_rows: int,
    tip_cols: int = 48,
    tip_rows: int = 32,
) -> HeatWindow | None:
    """Slice the cube for one timeframe and fill the rect or raster heatmap template."""
    hour = 3_600_000
    h1 = min(cube.hours, (end_ms - cube.t0_ms) // hour)
    h0 = max(0, h1 - hours)
    if h1 - h0 <= 0:
        return None
    b0 = max(0, int(math.floor((price_lo - cube.p0) / cube.pw)))
    b1 = min(cube.long.shape[1], int(math.ceil((price_hi - cube.p0) / cube.pw)))
    if b1 - b0 <= 0:
        return None
    ft = max(1, math.ceil((h1 - h0) / max_cols))
    h0 = h1 - ((h1 - h0) // ft) * ft  # whole groups, aligned to the window's end
    fp = max(1, math.ceil((b1 - b0) / max_rows))
    lg = _reduce(cube.long[h0:h1, b0:b1], ft, fp)
    sh = _reduce(cube.short[h0:h1, b0:b1], ft, fp)
    total = lg + sh
    nz = total[total > 0]
    vmax = float(np.percentile(nz, 99)) if nz.size else 1.0
    t0 = cube.t0_ms + h0 * hour
    t1 = cube.t0_ms + h1 * hour
    p0 = cube.p0 + b0 * cube.pw
    pstep = fp * cube.pw
    p1 = p0 + lg.shape[1] * pstep
    # the largest bands (mean over the window) for the table fallback
    band_l, band_s = lg.mean(axis=0), sh.mean(axis=0)
    order = np.argsort(band_l + band_s)[::-1][:8]
    top = [
        (p0 + i * pstep, p0 + (i + 1) * pstep, float(band_l[i]), float(band_s[i]))
        for i in sorted(order.tolist(), reverse=True)
        if band_l[i] + band_s[i] > 0
    ]
    band = fmt_step(pstep)
    numbers: dict[str, float]
    if rect:
        csv, n = _cells_csv(lg, sh, vmax * 2e-3)
        numbers = {"t0": t0, "tstep": ft * hour, "p0": chart_price(p0), "pstep": pstep}
        template = heatmap_rect_template()
        image: list[dict[str, Any]] = []
        legend = f"Notional per {band} band"
        tiptotal = "Alive notional"
    else:
        norm = total / vmax if vmax > 0 else total
        image = [{"url": png_data_url(norm), "x": t0, "x2": t1, "y": p0, "y2": p1}]
        # coarse transparent cells carry the tooltips
        gt = max(1, math.ceil(lg.shape[0] / tip_cols))
        gp = max(1, math.ceil(lg.shape[1] / tip_rows))
        cl, cs = _reduce(lg, gt, gp), _reduce(sh, gt, gp)
        t0c = t1 - cl.shape[0] * gt * ft * hour
        csv, n = _cells_csv(cl, cs, 0.0)
        numbers = {"t0": t0c, "tstep": gt * ft * hour, "p0": chart_price(p0), "pstep": gp * pstep}
        template = heatmap_raster_template()
        legend = f"Mean notional per {band} band"
        tiptotal = f"Mean per {fmt_step(gp * pstep)} band"
        n = int(total.size)
    values: dict[str, Any] = {
        "xformat": "%H:%M" if hours <= 24 else "%d %b" if hours <= 24 * 95 else "%b %Y",
        "vdomain0": 0,
        "vdomain1": float(f"{vmax:.3g}"),
        "legend": legend,
        "tiptotal": tiptotal,
        "desc": desc,
        "closes": [p for p in closes if t0 <= p["x"] <= t1],
        "spot": [{"c": spot, "label": spot_label}],
        "image": image,
        "cells": csv,
    }
    return HeatWindow(
        key=key,
        label=label,
        mode="rect" if rect else "raster",
        spec=template.fill(
            values,
            {
                **numbers,
                "xdomain0": t0,
                "xdomain1": t1,
                "ydomain0": p0,
                "ydomain1": p1,
                "xticks": 8 if hours <= 24 * 7 else 10,
            },
        ),
        cells=n,
        t0_ms=t0,
        t1_ms=t1,
        vmax=vmax,
        top_bands=top,
    )
