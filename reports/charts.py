"""Altair chart builders for the report: spec templates once per process, data per page.

Building and serialising an Altair chart costs ~20 ms; a year of pages with eight charts
each would spend a minute on that alone. So each chart is built once with Altair as a
*template* whose per-page values are placeholders, and a page fills them by plain text
substitution:

- ``"__P_name__"`` (a whole JSON value, quotes included) → any JSON value (data rows, a
  domain, a description string);
- ``__N_name__`` (inside an expression string) → a bare number.

The heatmap is drawn as ``mark_rect`` cells for short windows and as a colour-mapped PNG
(``mark_image``) under a coarse transparent tooltip grid for long ones, using Vega's own
viridis ramp so the legend and the raster agree.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
from PIL import Image

LONG = "#e4572e"  # longs: red-orange
SHORT = "#17a2a8"  # shorts: teal (distinct from LONG for red/green colour blindness)
LONG_CUM = "#ff9f80"
SHORT_CUM = "#6fd6d9"
PRICE_LINE = "#ffffff"
SPOT_RULE = "#ff4f79"
OI_COLOR = "#7b8fd1"
CLOSE_COLOR = "#f2a33a"
FUNDING_POS = "#4c9be8"
FUNDING_NEG = "#e4572e"

# Vega's "viridis" scheme (256 steps), so the PNG raster matches the Vega colour legend.
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
VIEW_FILL = "#" + VIRIDIS_HEX[:6]

USD_LABEL = "replace(format(datum.value, '$.2s'), 'G', 'B')"


def usd_expr(field: str) -> str:
    """A Vega expression formatting `field` as compact dollars ($1.2B, not $1.2G)."""
    return f"replace(format(datum.{field}, '$.3s'), 'G', 'B')"


def ph(name: str) -> str:
    return f"__P_{name}__"


def num(name: str) -> str:
    return f"__N_{name}__"


def _num_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    v = round(float(v), 6)
    return repr(float(v))


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def fill(self, values: dict[str, Any], numbers: dict[str, float] | None = None) -> str:
        """The page's spec JSON, safe to embed in a <script type="application/json">."""
        out = self.text
        for k, v in (numbers or {}).items():
            out = out.replace(num(k), _num_text(v))
        for k, v in values.items():
            out = out.replace(f'"{ph(k)}"', json.dumps(v, separators=(",", ":")))
        if "__P_" in out or "__N_" in out:
            raise ValueError(f"unfilled placeholder in chart {self.name}")
        return out.replace("</", "<\\/")


def _template(name: str, chart: alt.TopLevelMixin) -> Template:
    spec = chart.to_dict(validate=False)
    return Template(name, json.dumps(spec, separators=(",", ":")))


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


# ---------------------------------------------------------------- heatmap


def _time_axis(fmt: str | None = None) -> alt.Axis:
    return alt.Axis(title=None, format=fmt, labelOverlap=True, grid=False)


def _heat_x(field: str = "x") -> alt.X:
    return alt.X(
        f"{field}:T",
        scale=alt.Scale(
            type="utc",
            domainMin={"expr": num("xdomain0")},
            domainMax={"expr": num("xdomain1")},
            nice=False,
        ),
        axis=alt.Axis(
            title=None,
            format=ph("xformat"),
            tickCount={"expr": num("xticks")},
            labelOverlap=True,
            grid=False,
        ),
    )


def _heat_y(field: str = "y") -> alt.Y:
    return alt.Y(
        f"{field}:Q",
        scale=alt.Scale(
            domainMin={"expr": num("ydomain0")},
            domainMax={"expr": num("ydomain1")},
            zero=False,
            nice=False,
        ),
        axis=alt.Axis(title="Price (USDT)", format="$,.0f", grid=False),
    )


def _cells_layer(opacity: float) -> alt.Chart:
    data = alt.Data(
        values=ph("cells"),
        format=alt.DataFormat(
            type="csv", parse={"t": "number", "p": "number", "l": "number", "s": "number"}
        ),
    )
    return (
        alt.Chart(data)
        .mark_rect(opacity=opacity, aria=False)
        .transform_calculate(
            x=f"{num('t0')} + datum.t * {num('tstep')}",
            x2=f"datum.x + {num('tstep')}",
            y=f"{num('p0')} + datum.p * {num('pstep')}",
            y2=f"datum.y + {num('pstep')}",
            # drawn 3 % oversize so canvas anti-aliasing leaves no seams between cells
            xe=f"datum.x2 + 0.03 * {num('tstep')}",
            ye=f"datum.y2 + 0.03 * {num('pstep')}",
            v="datum.l + datum.s",
            when=(
                "utcFormat(datum.x, '%d %b %Y %H:%M') + ' to ' + "
                "utcFormat(datum.x2, '%d %b %H:%M') + ' UTC'"
            ),
            band="'$' + format(datum.y, ',.0f') + ' to $' + format(datum.y2, ',.0f')",
            total=usd_expr("v"),
            longs=usd_expr("l"),
            shorts=usd_expr("s"),
        )
        .encode(
            x=_heat_x(),
            x2="xe:T",
            y=_heat_y(),
            y2="ye:Q",
            color=alt.Color(
                "v:Q",
                scale=alt.Scale(
                    scheme="viridis", domain=[ph("vdomain0"), ph("vdomain1")], clamp=True
                ),
                legend=alt.Legend(
                    title=ph("legend"),
                    labelExpr=USD_LABEL,
                    orient="top",
                    direction="horizontal",
                    gradientLength=180,
                    titleOrient="left",
                ),
            ),
            tooltip=[
                alt.Tooltip("when:N", title="Time"),
                alt.Tooltip("band:N", title="Liquidation price"),
                alt.Tooltip("total:N", title=ph("tiptotal")),
                alt.Tooltip("longs:N", title="Longs"),
                alt.Tooltip("shorts:N", title="Shorts"),
            ],
        )
    )


def _price_layers() -> list[alt.Chart]:
    line = (
        alt.Chart(alt.Data(values=ph("closes")))
        .mark_line(
            color=PRICE_LINE,
            strokeWidth=1.5,
            # invisible points: hover targets for the tooltip (a line has one per point)
            point=alt.OverlayMarkDef(filled=True, fill="transparent", size=48),
        )
        .transform_calculate(
            when="utcFormat(datum.x, '%d %b %Y %H:%M') + ' UTC'",
            price="'$' + format(datum.c, ',.0f')",
        )
        .encode(
            x=_heat_x(),
            y=_heat_y("c"),
            tooltip=[alt.Tooltip("when:N", title="Time"), alt.Tooltip("price:N", title="Close")],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_rule(color=SPOT_RULE, strokeDash=[6, 4], strokeWidth=1.5)
        .encode(y=_heat_y("c"), tooltip=[alt.Tooltip("label:N", title="Current price")])
    )
    text = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_text(align="right", baseline="bottom", dx=-4, dy=-3, color="#ffffff", fontSize=11)
        .encode(y=_heat_y("c"), x=alt.value("width"), text="label:N")
    )
    return [line, rule, text]


def _heat_props(chart: alt.LayerChart) -> alt.LayerChart:
    return chart.properties(width="container", height=380, description=ph("desc")).configure_view(
        fill=VIEW_FILL, stroke=None
    )


@functools.cache
def heatmap_rect_template() -> Template:
    return _template("heatmap_rect", _heat_props(alt.layer(_cells_layer(1.0), *_price_layers())))


@functools.cache
def heatmap_raster_template() -> Template:
    image = (
        alt.Chart(alt.Data(values=ph("image")))
        .mark_image(aspect=False, smooth=False, aria=False)
        .encode(x=_heat_x(), x2="x2:T", y=_heat_y(), y2="y2:Q", url="url:N")
    )
    return _template(
        "heatmap_raster",
        _heat_props(alt.layer(image, _cells_layer(0.0), *_price_layers())),
    )


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
    cube: Any,
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
    band = f"${pstep:,.0f}"
    numbers: dict[str, float]
    if rect:
        csv, n = _cells_csv(lg, sh, vmax * 2e-3)
        numbers = {"t0": t0, "tstep": ft * hour, "p0": round(p0, 2), "pstep": pstep}
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
        numbers = {"t0": t0c, "tstep": gt * ft * hour, "p0": round(p0, 2), "pstep": gp * pstep}
        template = heatmap_raster_template()
        legend = f"Mean notional per {band} band"
        tiptotal = f"Mean per ${gp * pstep:,.0f} band"
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


# ---------------------------------------------------------------- liquidation map


@functools.cache
def liq_map_template() -> Template:
    x = alt.X(
        "lo:Q",
        scale=alt.Scale(
            domainMin={"expr": num("xdomain0")},
            domainMax={"expr": num("xdomain1")},
            zero=False,
            nice=False,
        ),
        axis=alt.Axis(title="Liquidation price (USDT)", format="$,.0f", labelOverlap=True),
    )
    color_scale = alt.Scale(
        domain=["Longs", "Shorts", "Longs, cumulative", "Shorts, cumulative"],
        range=[LONG, SHORT, LONG_CUM, SHORT_CUM],
    )
    base = alt.Chart(alt.Data(values=ph("map"))).transform_calculate(
        band="'$' + format(datum.lo, ',.0f') + ' to $' + format(datum.hi, ',.0f')",
        longs=usd_expr("l"),
        shorts=usd_expr("s"),
    )
    bars = (
        base.transform_fold(["l", "s"], as_=["k", "v"])
        .transform_filter("datum.v > 0")
        .transform_calculate(side="datum.k == 'l' ? 'Longs' : 'Shorts'")
        .mark_bar(aria=False)
        .encode(
            x=x,
            x2="hi:Q",
            y=alt.Y(
                "v:Q",
                stack=None,
                axis=alt.Axis(title="Notional per band", labelExpr=USD_LABEL),
            ),
            y2=alt.datum(0),
            color=alt.Color(
                "side:N",
                scale=color_scale,
                legend=alt.Legend(title=None, orient="top", direction="horizontal", columns=2),
            ),
            tooltip=[
                alt.Tooltip("band:N", title="Liquidation price"),
                alt.Tooltip("longs:N", title="Longs"),
                alt.Tooltip("shorts:N", title="Shorts"),
            ],
        )
    )
    cum = (
        base.transform_fold(["lc", "sc"], as_=["k", "cum"])
        .transform_filter("isValid(datum.cum) && datum.cum > 0")
        .transform_calculate(
            side="datum.k == 'lc' ? 'Longs, cumulative' : 'Shorts, cumulative'",
            cx="datum.k == 'lc' ? datum.lo : datum.hi",
            cumtxt=usd_expr("cum"),
            at="'$' + format(datum.k == 'lc' ? datum.lo : datum.hi, ',.0f')",
        )
        .mark_line(strokeWidth=2, interpolate="linear")
        .encode(
            x=alt.X("cx:Q"),
            y=alt.Y(
                "cum:Q",
                axis=alt.Axis(
                    title="Cumulative from spot", labelExpr=USD_LABEL, orient="right", grid=False
                ),
            ),
            color=alt.Color("side:N", scale=color_scale),
            detail="k:N",
            tooltip=[
                alt.Tooltip("side:N", title="Curve"),
                alt.Tooltip("at:N", title="If price reaches"),
                alt.Tooltip("cumtxt:N", title="Liquidated"),
            ],
        )
    )
    rule = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_rule(color=SPOT_RULE, strokeDash=[6, 4], strokeWidth=1.5)
        .encode(x=alt.X("c:Q"), tooltip=[alt.Tooltip("label:N", title="Current price")])
    )
    text = (
        alt.Chart(alt.Data(values=ph("spot")))
        .mark_text(align="left", baseline="top", dx=4, dy=2, color=SPOT_RULE, fontSize=11)
        .encode(x=alt.X("c:Q"), y=alt.value(0), text="label:N")
    )
    chart = (
        alt.layer(alt.layer(bars, rule, text), cum)
        .resolve_scale(y="independent")
        .properties(width="container", height=320, description=ph("desc"))
    )
    return _template("liq_map", chart)


# ---------------------------------------------------------------- daily series


def _daily_x() -> alt.X:
    return alt.X("x:T", scale=alt.Scale(type="utc"), axis=_time_axis("%d %b %y"))


@functools.cache
def oi_price_template() -> Template:
    base = alt.Chart(alt.Data(values=ph("daily"))).transform_calculate(
        day="utcFormat(datum.x, '%d %b %Y')",
        oitxt=usd_expr("oi"),
        closetxt="'$' + format(datum.c, ',.0f')",
    )
    tips = [
        alt.Tooltip("day:N", title="Day"),
        alt.Tooltip("oitxt:N", title="Open interest"),
        alt.Tooltip("closetxt:N", title="Close"),
    ]
    area = base.mark_area(color=OI_COLOR, opacity=0.45, line={"color": OI_COLOR}).encode(
        x=_daily_x(),
        y=alt.Y(
            "oi:Q",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(title="Open interest", labelExpr=USD_LABEL, titleColor=OI_COLOR),
        ),
        tooltip=tips,
    )
    line = base.mark_line(
        color=CLOSE_COLOR, strokeWidth=2, point=alt.OverlayMarkDef(size=10, color=CLOSE_COLOR)
    ).encode(
        x=_daily_x(),
        y=alt.Y(
            "c:Q",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(
                title="Close price", format="$,.0f", orient="right", titleColor=CLOSE_COLOR
            ),
        ),
        tooltip=tips,
    )
    chart = (
        alt.layer(area, line)
        .resolve_scale(y="independent")
        .properties(width="container", height=260, description=ph("desc"))
    )
    return _template("oi_price", chart)


@functools.cache
def funding_template() -> Template:
    base = alt.Chart(alt.Data(values=ph("daily"))).transform_calculate(
        fp="datum.f * 100",
        f7p="datum.f7 * 100",
        day="utcFormat(datum.x, '%d %b %Y')",
        ftxt="format(datum.f * 100, '.4f') + '%'",
        f7txt="format(datum.f7 * 100, '.4f') + '%'",
    )
    tips = [
        alt.Tooltip("day:N", title="Day"),
        alt.Tooltip("ftxt:N", title="Last rate"),
        alt.Tooltip("f7txt:N", title="7-day mean"),
    ]
    bars = base.mark_bar(opacity=0.8).encode(
        x=_daily_x(),
        y=alt.Y("fp:Q", axis=alt.Axis(title="Funding rate per settlement (%)", format=".3f")),
        color=alt.condition("datum.f >= 0", alt.value(FUNDING_POS), alt.value(FUNDING_NEG)),
        tooltip=tips,
    )
    line = base.mark_line(color=CLOSE_COLOR, strokeWidth=2).encode(
        x=_daily_x(), y="f7p:Q", tooltip=tips
    )
    zero = alt.Chart(alt.Data(values=[{"z": 0}])).mark_rule(color="#888888").encode(y="z:Q")
    chart = alt.layer(bars, line, zero).properties(
        width="container", height=220, description=ph("desc")
    )
    return _template("funding", chart)


@functools.cache
def moves_template() -> Template:
    chart = (
        alt.Chart(alt.Data(values=ph("moves")))
        .transform_calculate(vtxt=usd_expr("v"))
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N",
                sort=alt.EncodingSortField("order"),
                axis=alt.Axis(title=None, labelAngle=-35, labelLimit=140),
            ),
            xOffset=alt.XOffset("side:N", sort=["Longs liquidated", "Shorts liquidated"]),
            y=alt.Y("v:Q", axis=alt.Axis(title="Modelled liquidations", labelExpr=USD_LABEL)),
            color=alt.Color(
                "side:N",
                scale=alt.Scale(
                    domain=["Longs liquidated", "Shorts liquidated"], range=[LONG, SHORT]
                ),
                legend=alt.Legend(title=None, orient="top"),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Move"),
                alt.Tooltip("side:N", title="Side"),
                alt.Tooltip("vtxt:N", title="Modelled"),
            ],
        )
        .properties(width="container", height=260, description=ph("desc"))
    )
    return _template("moves", chart)


def all_templates() -> list[Template]:
    return [
        heatmap_rect_template(),
        heatmap_raster_template(),
        liq_map_template(),
        oi_price_template(),
        funding_template(),
        moves_template(),
    ]
