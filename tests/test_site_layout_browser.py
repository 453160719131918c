"""The site in headless Chromium at phone and desktop widths, light and dark: no page is wider
than the viewport; hovering a heatmap pixel states that pixel's value in the legend's unit;
the leverage-layer switch changes what the heatmap and the map show.

Reuses the fixture site, server and browser of tests/test_site_browser.py.
"""

# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
from __future__ import annotations

import base64
import io
import json

import duckdb
import numpy as np
import pytest
from PIL import Image

from reports.charts.heatmap_spec import VIRIDIS
from reports.loaders import load_mart_data, load_price_history
from reports.notation import price_scale
from reports.pages.day import day_context
from tests.site_fixtures import SYMBOL
from tests.test_site_browser import CHROMIUM, Visit, server, site  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin"),
    pytest.mark.xdist_group("browser"),
]

WIDTHS = {"phone": (390, 844), "desktop": (1400, 900)}


def _paths(site) -> dict[str, str]:
    _, days = site
    return {
        "day": f"{SYMBOL}/{days[-2].isoformat()}/index.html",
        "index": f"{SYMBOL}/index.html",
        "archive": f"{SYMBOL}/archive/index.html",
        "overview": "index.html",
        "methodology": "methodology/index.html",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(WIDTHS))
@pytest.mark.parametrize("which", ["archive", "overview", "methodology"])
def test_no_page_is_wider_than_the_viewport(site, server, browser, which, size, scheme):
    """The pages without charts; the day page and the symbol's index are checked where they
    are loaded at both widths and schemes already (test_site_browser's
    test_page_renders_offline_and_accessible)."""
    v = Visit(
        browser,
        f"{server}/{_paths(site)[which]}",
        viewport=WIDTHS[size],
        scheme=scheme,
        charts=False,
    )
    try:
        over = v.wider_than_viewport()
        assert over == [], over
    finally:
        v.close()


def _png_levels(url: str) -> np.ndarray:
    """Palette levels of a heatmap layer's PNG (the page composes it in RGBA: each colour is
    one step of the viridis palette)."""
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    if img.ndim == 2:
        return img
    key = (VIRIDIS.astype(np.int64) @ [65536, 256, 1]).tolist()
    lut = {k: i for i, k in enumerate(key)}
    rgb = img[..., :3].astype(np.int64) @ [65536, 256, 1]
    return np.vectorize(lut.__getitem__)(rgb).astype(np.uint8)


def _hover_pixel(v: Visit, chart_id: str) -> tuple[dict, float]:
    """Hover the centre of the brightest pixel of a heatmap window; return its meta and the
    value the page shows for it."""
    meta = v.page.evaluate(
        "(id) => window.liqmapHeat.metaOf(document.getElementById(id))", chart_id
    )
    layer = meta["layers"][meta["default"]]
    levels = _png_levels(layer["url"])  # rows from the top (highest price) × columns
    # a mid-bright pixel, away from the rules and labels drawn over the raster
    target = np.abs(levels.astype(int) - 128)
    top, col = np.unravel_index(int(np.argmin(target)), levels.shape)
    row = layer["rows"] - 1 - int(top)
    t = layer["t0"] + (int(col) + 0.5) * layer["tstep"]
    p = layer["p0"] + (row + 0.5) * layer["pstep"]
    pt = v.page.evaluate(
        """([id, t, p]) => {
          const view = window.__chartViews[id];
          view.container().scrollIntoView({block: 'center'});
          const box = view.container().querySelector('canvas').getBoundingClientRect();
          const [ox, oy] = view.origin();
          const pad = view.padding();
          return {x: box.left + pad.left + ox + view.scale('x')(t),
                  y: box.top + pad.top + oy + view.scale('y')(p)};
        }""",
        [chart_id, t, p],
    )
    v.page.mouse.move(pt["x"] - 3, pt["y"])
    v.page.mouse.move(pt["x"], pt["y"])
    value = v.page.locator(f"#{chart_id} ~ .heat-tip [data-heat-value]")
    value.wait_for(state="attached", timeout=5_000)
    v.page.wait_for_function(
        "(id) => !document.querySelector('#' + id + ' ~ .heat-tip').hidden", arg=chart_id
    )
    shown = float(value.get_attribute("data-heat-value"))
    return meta, shown, int(levels[top, col]), layer["vmax"]


def test_heatmap_hover_states_the_pixel_value_in_the_legend_unit(site, server, browser):
    _, days = site
    v = Visit(browser, f"{server}/{SYMBOL}/{days[-2].isoformat()}/index.html")
    try:
        tabs = v.page.locator('[role="tab"]')
        assert tabs.count() >= 2
        for i in range(tabs.count()):
            tabs.nth(i).click()
            v.page.wait_for_timeout(200)
            panel = v.page.locator(f"#{tabs.nth(i).get_attribute('aria-controls')}")
            chart_id = panel.locator(".chart-heat").get_attribute("id")
            meta, shown, level, vmax = _hover_pixel(v, chart_id)
            assert level > 0
            assert shown == pytest.approx(level / 255 * vmax, rel=1e-9)
            spec = v.page.evaluate(f"document.getElementById('{chart_id}').__spec")
            assert meta["unit"] in json.dumps(spec)  # the legend's title is the tooltip's unit
            tip = v.page.locator(f"#{chart_id} ~ .heat-tip").inner_text()
            assert meta["unit"] in tip
        v.check_clean()
    finally:
        v.close()


# the text marks a chart draws (Vega renders to canvas: read its scenegraph)
LEVEL_TEXTS = """(id) => {
  const out = [];
  const walk = (n) => {
    if (!n) return;
    if (n.marktype === 'text') {
      for (const it of n.items || []) {
        const t = String(it.text || '');
        if (/^(Now|Nearest|90%|↑|↓)/.test(t)) out.push(t);
      }
    }
    for (const it of n.items || []) { if (it && it.items) walk(it); }
  };
  walk(window.__chartViews[id].scenegraph().root);
  return out.sort();
}"""
VISIBLE_NOTE = """(id) => Array.from(
    document.querySelectorAll('#' + id + ' ~ figcaption [data-layer-note]'))
  .filter((n) => !n.hidden)
  .map((n) => n.getAttribute('data-layer-note') + ': ' + n.textContent)"""


def test_layer_switch_moves_bars_lines_labels_and_caption(site, server, browser):
    _, days = site
    v = Visit(browser, f"{server}/{SYMBOL}/{days[-2].isoformat()}/index.html")
    try:
        first = v.page.locator(".chart-heat").first
        assert first.get_attribute("data-layer") == "base/all"
        map_before = v.page.evaluate(LEVEL_TEXTS, "liqmap")
        heat_before = v.page.evaluate(LEVEL_TEXTS, "heat-24h")
        note_before = v.page.evaluate(VISIBLE_NOTE, "liqmap")
        assert len(note_before) == 1 and note_before[0].startswith("base/all: ")
        assert any(t.startswith("Now") for t in map_before), map_before
        v.page.locator('form.layer-switch input[name="layer"][value="high"]').check()
        v.page.locator('form.layer-switch input[name="scenario"][value="never_close"]').check()
        v.page.wait_for_timeout(400)
        assert first.get_attribute("data-layer") == "never_close/high"
        assert v.page.evaluate("window.__chartViews['liqmap'].signal('layer')") == (
            "never_close/high"
        )
        # the lines and their labels moved with the bars, on the map and the 24 h heatmap
        map_after = v.page.evaluate(LEVEL_TEXTS, "liqmap")
        heat_after = v.page.evaluate(LEVEL_TEXTS, "heat-24h")
        assert map_after and map_after != map_before, (map_before, map_after)
        assert heat_after and heat_after != heat_before, (heat_before, heat_after)
        assert any("in window" in t for t in map_after), map_after  # a layer's 90 % points
        # one caption, the selected view's
        note_after = v.page.evaluate(VISIBLE_NOTE, "liqmap")
        assert len(note_after) == 1 and note_after[0].startswith("never_close/high: ")
        assert "High (≥ 50x)" in note_after[0]
        # the 1m heatmap does not take the switch, and the page says so
        assert "1m, 3m and 1y heatmaps do not take the switch" in v.page.content()
        v.check_clean()
    finally:
        v.close()


LAYER_NOTES = """() => Object.fromEntries(Array.from(document.querySelectorAll(
    '#liqmap + figcaption [data-layer-note]'))
  .map((n) => [n.getAttribute('data-layer-note'), n.textContent]))"""


def test_the_page_builds_each_views_caption_as_the_build_words_it(fixture_site, server, browser):
    """The page's HTML prints the default view's map caption only; the page script builds
    every other view's from the day data (its fields and level marks) with the same text."""
    d = fixture_site.days[-2]
    conn = duckdb.connect(str(fixture_site.warehouse), read_only=True)
    try:
        data = load_mart_data(conn, SYMBOL)
        with price_scale(data.base(data.days[-1]).get("close_price")):
            ctx = day_context(conn, data, load_price_history(conn, data, [d]), d)
    finally:
        conn.close()
    want = next(c for c in ctx.charts if c.id == "liqmap").view_descs
    assert len(want) == 8
    page = fixture_site.site / SYMBOL / d.isoformat() / "index.html"
    assert page.read_text().count("data-layer-note=") == 1
    v = Visit(browser, f"{server}/{SYMBOL}/{d.isoformat()}/index.html")
    try:
        assert v.page.evaluate(LAYER_NOTES) == want
        v.check_clean()
    finally:
        v.close()
