"""Readable at a phone's width and without pixel-exact hovering (issue 21), in headless
Chromium on the fixture site: the heatmap keeps its whole colour scale at 390 px, the
methodology's tables wrap at spaces and never split a number into letters, a line chart's
tooltip answers a pointer that is only near a day, and the venue and move charts are set to
wrap or thin their labels instead of cutting or stacking them.

Reuses the fixture site, server and browser of tests/test_site_browser.py."""

# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from tests.site_fixtures import SYMBOL
from tests.test_site_browser import CHROMIUM, Visit, _Quiet, server, site  # noqa: F401

DOC = Path(__file__).resolve().parent.parent / "docs" / "methodology.md"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin"),
    pytest.mark.xdist_group("browser"),
]

# absolute boxes (canvas px) of the text items a chart draws whose text matches `pattern`
TEXT_BOXES = """([id, pattern]) => {
  const view = window.__chartViews[id];
  const re = new RegExp(pattern);
  const out = [];
  const [ox0, oy0] = view.origin();
  const walk = (mark, ox, oy) => {
    for (const it of mark.items || []) {
      if (mark.marktype === 'group') {
        for (const child of it.items || []) walk(child, ox + (it.x || 0), oy + (it.y || 0));
      } else if (mark.marktype === 'text' && re.test(String(it.text || ''))) {
        out.push({text: String(it.text), x1: ox + it.bounds.x1, x2: ox + it.bounds.x2});
      }
    }
  };
  walk(view.scenegraph().root, ox0, oy0);
  const canvas = document.querySelector('#' + id + ' canvas');
  return {boxes: out, width: canvas.getBoundingClientRect().width};
}"""


def _day(site) -> str:
    _, days = site
    return f"{SYMBOL}/{days[-2].isoformat()}/index.html"


def test_heatmap_keeps_its_colour_scale_at_390px(site, server, browser):
    v = Visit(browser, f"{server}/{_day(site)}", viewport=(390, 844))
    try:
        got = v.page.evaluate(TEXT_BOXES, ["heat-24h", "notional per"])
        assert got["boxes"], "no colour-scale title drawn"
        for box in got["boxes"] + v.page.evaluate(TEXT_BOXES, ["heat-24h", r"^\\$"])["boxes"]:
            assert box["x1"] >= 0 and box["x2"] <= got["width"] + 0.5, (box, got["width"])
        v.check_clean()
    finally:
        v.close()


@pytest.fixture(scope="module")
def methodology_server(tmp_path_factory):
    """The fixture warehouse's site with the project's own docs/methodology.md (its tables of
    parameters and figures), served on a free port."""
    import duckdb

    from reports.site import build_site
    from tests.site_fixtures import GENERATED_AT, build_fixture_warehouse

    tmp = tmp_path_factory.mktemp("methodology_site")
    db = tmp / "warehouse.duckdb"
    build_fixture_warehouse(db, 2)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(conn, tmp / "site", SYMBOL, None, source="synthetic",
                   methodology_md=DOC, generated_at=GENERATED_AT)  # fmt: skip
    finally:
        conn.close()
    handler = functools.partial(_Quiet, directory=str(tmp / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_methodology_tables_never_split_a_number(methodology_server, browser):
    url = f"{methodology_server}/methodology/index.html"
    v = Visit(browser, url, viewport=(390, 844), charts=False)
    try:
        split = v.page.evaluate(
            """() => {
              const bad = [];
              for (const td of document.querySelectorAll('.prose table td')) {
                const t = td.textContent.trim();
                if (!/^[−+$-]?[0-9][0-9.,]*(%|x|×|[kMB])?$/.test(t)) continue;
                const r = document.createRange();
                r.selectNodeContents(td);
                const lines = new Set(Array.from(r.getClientRects(), (b) => Math.round(b.top)));
                if (lines.size > 1) bad.push(t);
              }
              return bad;
            }"""
        )
        assert split == [], split
        checked = v.page.evaluate("document.querySelectorAll('.prose table td').length")
        assert checked > 50
    finally:
        v.close()


def test_a_line_chart_tooltip_answers_a_pointer_near_a_day(site, server, browser):
    v = Visit(browser, f"{server}/{_day(site)}", viewport=(1280, 900))
    try:
        chart = v.page.locator("#history-risk canvas")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        # a point in the middle of the plot, far from any line's pixels vertically
        v.page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.9)
        v.page.wait_for_function(
            "() => !!document.querySelector('#vg-tooltip-element.visible')", polling=50
        )
        tip = v.page.locator("#vg-tooltip-element")
        assert tip.count() == 1 and "visible" in (tip.get_attribute("class") or "")
        assert "Day" in tip.inner_text() and "Imbalance" in tip.inner_text()
        v.check_clean()
    finally:
        v.close()


def test_venue_legends_wrap_and_move_labels_thin() -> None:
    from reports.charts.moves import moves_template
    from reports.charts.venue_split import venue_map_template, venue_risk_template

    for template, columns in ((venue_risk_template(), 3), (venue_map_template(), 2)):
        text = template.text
        assert f'"columns":{columns}' in text.replace(" ", ""), template.name
        assert '"labelLimit":0' in text.replace(" ", ""), template.name
    spec = json.loads(moves_template().text.replace('"__P_', '"P_'))
    assert '"labelOverlap": "greedy"' in json.dumps(spec)
