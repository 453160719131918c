"""The interactive heatmap in headless Chromium from file:// (issue 22): the wheel with Ctrl
held zooms (a plain wheel scrolls the page, never caught by the chart) and a drag pans the
time and price scales (the raster moves with them, a double click restores the window), and
a crosshair under the pointer reads the time, the price and the value of the heat cell
there, also after zooming.

Reuses the fixture site and browser of tests/test_site_browser.py.
"""

# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tests.site_fixtures import SYMBOL
from tests.test_site_browser import CHROMIUM, Visit, site  # noqa: F401
from tests.test_site_layout_browser import _png_levels

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin"),
    pytest.mark.xdist_group("browser"),
]

CHART = "heat-24h"

# the plot's box in page coordinates and the scales' domains, read from the Vega view
GEOMETRY = """(id) => {
  const view = window.__chartViews[id];
  view.container().scrollIntoView({block: 'center'});
  const box = view.container().querySelector('canvas').getBoundingClientRect();
  const [ox, oy] = view.origin();
  const pad = view.padding();
  return {left: box.left + pad.left + ox, top: box.top + pad.top + oy,
          w: view.width(), h: view.height(),
          x: view.scale('x').domain().map(Number), y: view.scale('y').domain().map(Number)};
}"""

# page coordinates of (time, price) under the view's current scales
AT = """([id, t, p]) => {
  const view = window.__chartViews[id];
  const box = view.container().querySelector('canvas').getBoundingClientRect();
  const [ox, oy] = view.origin();
  const pad = view.padding();
  return {x: box.left + pad.left + ox + view.scale('x')(t),
          y: box.top + pad.top + oy + view.scale('y')(p)};
}"""

# the text items the crosshair's tag draws (Vega renders to canvas: read its scenegraph)
TAG = """(id) => {
  let out = null;
  const walk = (n) => {
    if (!n) return;
    if (n.marktype === 'text') {
      for (const it of n.items || []) {
        if (Array.isArray(it.text) && /UTC$/.test(it.text[0]) && it.opacity === 1) {
          out = it.text.slice();
        }
      }
    }
    for (const it of n.items || []) { if (it && it.items) walk(it); }
  };
  walk(window.__chartViews[id].scenegraph().root);
  return out;
}"""

# the x extent (pixels) of the raster image item
IMAGE_X = """(id) => {
  let out = null;
  const walk = (n) => {
    if (!n) return;
    if (n.marktype === 'image') {
      for (const it of n.items || []) { out = [it.x, it.x + it.width]; }
    }
    for (const it of n.items || []) { if (it && it.items) walk(it); }
  };
  walk(window.__chartViews[id].scenegraph().root);
  return out;
}"""


def _open(browser, site) -> Visit:
    out, days = site
    return Visit(browser, (out / SYMBOL / days[-2].isoformat() / "index.html").as_uri())


def _ctrl_wheel(v: Visit, dy: float) -> None:
    """A mouse wheel turn with Ctrl held (what zooms the heatmap)."""
    v.page.keyboard.down("Control")
    try:
        v.page.mouse.wheel(0, dy)
    finally:
        v.page.keyboard.up("Control")


def test_plain_wheel_scrolls_the_page_not_the_heatmap(site, browser):
    v = _open(browser, site)
    try:
        g = v.page.evaluate(GEOMETRY, CHART)
        v.page.mouse.move(g["left"] + g["w"] / 2, g["top"] + g["h"] / 2)
        y_before = v.page.evaluate("() => window.scrollY")
        v.page.mouse.wheel(0, 300)  # no modifier: the page scrolls
        v.page.wait_for_function("(y) => window.scrollY > y", arg=y_before, timeout=5000)
        v.page.wait_for_timeout(150)
        after = v.page.evaluate(
            "(id) => [window.__chartViews[id].scale('x').domain().map(Number), "
            "window.__chartViews[id].scale('y').domain().map(Number)]",
            CHART,
        )
        assert after == [g["x"], g["y"]]  # the chart's scales did not move
        v.check_clean()
    finally:
        v.close()


def test_wheel_zooms_drag_pans_and_double_click_restores(site, browser):
    v = _open(browser, site)
    try:
        g = v.page.evaluate(GEOMETRY, CHART)
        x0, y0 = g["x"], g["y"]
        img0 = v.page.evaluate(IMAGE_X, CHART)
        cx, cy = g["left"] + g["w"] / 2, g["top"] + g["h"] / 2
        v.page.mouse.move(cx, cy)
        _ctrl_wheel(v, -400)  # zoom in around the pointer
        v.page.wait_for_function(
            "([id, w]) => window.__chartViews[id].scale('x').domain()[1] - "
            "window.__chartViews[id].scale('x').domain()[0] < w",
            arg=[CHART, x0[1] - x0[0]],
        )
        z = v.page.evaluate(GEOMETRY, CHART)
        assert x0[0] < z["x"][0] < z["x"][1] < x0[1], (x0, z["x"])
        assert y0[0] < z["y"][0] < z["y"][1] < y0[1], (y0, z["y"])
        # the view's state holds the zoom: the scale-bound selection's signal
        state = v.page.evaluate(
            "(id) => window.__chartViews[id]"
            ".getState({signals: () => true, data: () => false}).signals.zoom_x",
            CHART,
        )
        assert [float(s) for s in state] == pytest.approx(z["x"])
        # the raster is drawn in data coordinates: it grew with the zoom
        img = v.page.evaluate(IMAGE_X, CHART)
        grown = (x0[1] - x0[0]) / (z["x"][1] - z["x"][0])
        assert grown > 1.2
        assert img[1] - img[0] == pytest.approx(grown * (img0[1] - img0[0]), rel=1e-3)
        # a drag to the right moves the window back in time, by the dragged distance
        v.page.mouse.move(cx, cy)
        v.page.mouse.down()
        v.page.mouse.move(cx + 120, cy + 60, steps=6)
        v.page.mouse.up()
        v.page.wait_for_timeout(200)
        d = v.page.evaluate(GEOMETRY, CHART)
        ms_per_px = (z["x"][1] - z["x"][0]) / z["w"]
        assert d["x"][0] == pytest.approx(z["x"][0] - 120 * ms_per_px, rel=1e-6)
        assert d["x"][1] - d["x"][0] == pytest.approx(z["x"][1] - z["x"][0], rel=1e-9)
        usd_per_px = (z["y"][1] - z["y"][0]) / z["h"]
        assert d["y"][0] == pytest.approx(z["y"][0] + 60 * usd_per_px, rel=1e-6)
        # a double click restores the day's window
        v.page.mouse.dblclick(cx, cy)
        v.page.wait_for_timeout(200)
        back = v.page.evaluate(GEOMETRY, CHART)
        assert back["x"] == x0 and back["y"] == y0
        v.check_clean()
    finally:
        v.close()


def _expected_tag(t_ms: float, p: float) -> list[str]:
    when = datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%d %b %Y %H:%M")
    return [f"{when} UTC", f"Price ${p:,.0f}"]


def test_crosshair_reads_time_price_and_the_cells_value_also_zoomed(site, browser):
    v = _open(browser, site)
    try:
        meta = v.page.evaluate(
            "(id) => window.liqmapHeat.metaOf(document.getElementById(id))", CHART
        )
        layer = meta["layers"][meta["default"]]
        levels = _png_levels(layer["url"])  # rows from the top (highest price) × columns
        top, col = np.unravel_index(int(np.argmin(np.abs(levels.astype(int) - 128))), levels.shape)
        row = layer["rows"] - 1 - int(top)
        t = layer["t0"] + (int(col) + 0.5) * layer["tstep"]
        p = layer["p0"] + (row + 0.5) * layer["pstep"]
        want_value = int(levels[top, col]) / 255 * layer["vmax"]
        assert v.page.evaluate(TAG, CHART) is None  # no crosshair before the pointer comes
        g = v.page.evaluate(GEOMETRY, CHART)
        for zoomed in (False, True):
            if zoomed:  # around the target, so it stays in the plot
                pt = v.page.evaluate(AT, [CHART, t, p])
                v.page.mouse.move(pt["x"], pt["y"])
                _ctrl_wheel(v, -300)
                v.page.wait_for_timeout(200)
                z = v.page.evaluate(GEOMETRY, CHART)
                assert z["x"][1] - z["x"][0] < g["x"][1] - g["x"][0]
            pt = v.page.evaluate(AT, [CHART, t, p])
            v.page.mouse.move(pt["x"] - 3, pt["y"])
            v.page.mouse.move(pt["x"], pt["y"])
            v.page.wait_for_function(
                "(id) => window.__chartViews[id].signal('cross_v') !== ''", arg=CHART
            )
            v.page.wait_for_timeout(100)
            ct, cp = v.page.evaluate(
                "(id) => [window.__chartViews[id].signal('cross_t'), "
                "window.__chartViews[id].signal('cross_p')]",
                CHART,
            )
            # the pointer's time and price (within a pixel of the target)
            cur = v.page.evaluate(GEOMETRY, CHART)
            assert abs(ct - t) <= (cur["x"][1] - cur["x"][0]) / cur["w"]
            assert abs(cp - p) <= (cur["y"][1] - cur["y"][0]) / cur["h"]
            tag = v.page.evaluate(TAG, CHART)
            assert tag is not None, "crosshair tag not drawn"
            assert tag[:2] == _expected_tag(ct, cp), tag
            # the value: the pixel's, as the status line states it
            shown = float(
                v.page.get_attribute(f"#{CHART} ~ .heat-tip [data-heat-value]", "data-heat-value")
            )
            assert shown == pytest.approx(want_value, rel=1e-9)
            text = v.page.inner_text(f"#{CHART} ~ .heat-tip [data-heat-value]")
            # in the legend's unit ("Mean notional per $250 band": "... per $250 band")
            unit = meta["unit"].removeprefix("Mean notional ")
            assert unit.startswith("per ") and tag[2] == f"{text} {unit}", (tag, text)
        # the pointer leaves: the crosshair goes
        v.page.mouse.move(2, 2)
        v.page.wait_for_timeout(150)
        assert v.page.evaluate(TAG, CHART) is None
        v.check_clean()
    finally:
        v.close()
