"""The heatmap's two Vega-Lite templates: ``mark_rect`` cells for short windows, a
colour-mapped PNG (``mark_image``) under a transparent tooltip grid for long ones.

The PNG uses Vega's own viridis ramp (VIRIDIS), so the legend and the raster agree.
"""

from __future__ import annotations

import functools

import altair as alt
import numpy as np

from reports.charts.spec import (
    PRICE_LINE,
    SPOT_RULE,
    USD_LABEL,
    Template,
    build_template,
    num,
    ph,
    usd_expr,
)

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
    return build_template(
        "heatmap_rect", _heat_props(alt.layer(_cells_layer(1.0), *_price_layers()))
    )


@functools.cache
def heatmap_raster_template() -> Template:
    image = (
        alt.Chart(alt.Data(values=ph("image")))
        .mark_image(aspect=False, smooth=False, aria=False)
        .encode(x=_heat_x(), x2="x2:T", y=_heat_y(), y2="y2:Q", url="url:N")
    )
    return build_template(
        "heatmap_raster",
        _heat_props(alt.layer(image, _cells_layer(0.0), *_price_layers())),
    )
