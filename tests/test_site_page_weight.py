"""A day page's own HTML, lighter with nothing a reader loses (issue 22): the chart fallback
tables scroll in their own <details> (no wrapper per table), every table omits the end tags
HTML lets it omit, a figure printed in a fallback table is not printed again in the chart's
caption, the metrics table and the map's caption do not restate the headline, the key figures
or the levels table, one link a page leads to the methodology's "How to read", and the footer
does not repeat the source and venues the page's header prints.

Static checks on the fixture site, then headless Chromium (the fixture site, server and
browser of tests/test_site_browser.py): at a phone's width, with every fallback opened, the
page never scrolls sideways, each fallback that is wider than the screen scrolls in its
<details> (whose summary takes the keyboard focus), and every body row of every table has one
cell per column head, as the browser builds it from the omitted end tags."""

# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
from __future__ import annotations

import html
import re

import pytest

from tests.site_fixtures import SYMBOL
from tests.test_site_browser import CHROMIUM, Visit, server, site  # noqa: F401

pytestmark = pytest.mark.xdist_group("browser")


def _day_pages(site):
    out, days = site
    return [out / SYMBOL / d.isoformat() / "index.html" for d in days]


def _figcaption(page: str, chart: str) -> str:
    m = re.search(
        rf'id="{chart}"[^>]*></div>\n<figcaption data-printed-caption>(.*?)</figcaption>',
        page,
        re.S,
    )
    assert m, chart
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))


def _tbody(page: str, rows: str) -> str:
    m = re.search(rf'<tbody data-printed-rows="{rows}">(.*?)</tbody>', page, re.S)
    assert m, rows
    return m.group(1)


def test_day_pages_print_each_figure_once_and_omit_what_html_implies(site):
    maps = 0
    for path in _day_pages(site):
        page = path.read_text(encoding="utf-8")
        assert "<table" in page, path
        for implied in ("</td>", "</th>", "</tr>", 'scope="row"', 'scope="col"'):
            assert implied not in page, (path, implied)
        fallbacks = re.findall(r'<details class="fallback">(.*?)</details>', page, re.S)
        assert fallbacks and not [f for f in fallbacks if "table-wrap" in f], path
        # the two history charts: each caption its own figures, not one text twice
        if 'class="chart" id="history-risk"' in page:
            risk, levels = _figcaption(page, "history-risk"), _figcaption(page, "history-levels")
            assert risk != levels
            assert "shorts" in risk and "shorts" not in levels
        # each figure printed once (issue 22): the metrics table does not repeat the headline's
        # imbalance nor the levels table's levels, the map's caption neither the key figures'
        # totals nor the levels; one link to the methodology's "How to read" a page
        levels = _tbody(page, "levels")
        cells = re.findall(r"<td>([^<]*)", levels)
        assert len(cells) == 8, path
        metrics = html.unescape(_tbody(page, "metrics"))
        caption = _figcaption(page, "liqmap") if 'id="liqmap"' in page else ""
        for text in (metrics, caption):
            for cell in cells:
                for figure in html.unescape(cell).split(" · "):
                    if figure.startswith("$"):
                        assert figure not in text, (path, figure, text)
        assert "Imbalance within" not in metrics
        assert "at risk $" not in caption and "Lines:" not in caption, caption
        assert not caption or caption.endswith("with cumulative curves from spot."), caption
        maps += bool(caption)
        assert page.count(">How to read") == 1 and "#read-" not in page, path
        # the header names the source; the footer does not repeat it
        footer = page.split('<footer class="site-footer">', 1)[1].split("</footer>", 1)[0]
        header = page.split('<header class="day-header">', 1)[1].split("</header>", 1)[0]
        assert "Source:" not in footer and "source: " in header
    assert maps, "no day page has a liquidation map: its caption was not checked"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_fallback_tables_scroll_in_their_details_at_phone_width(site, server, browser):
    out, days = site
    v = Visit(browser, f"{server}/{SYMBOL}/{days[-2].isoformat()}/index.html", viewport=(390, 844))
    try:
        got = v.page.evaluate(
            """() => {
              for (const d of document.querySelectorAll('details.fallback')) d.open = true;
              const vw = document.documentElement.clientWidth;
              const wide = [];
              for (const d of document.querySelectorAll('details.fallback')) {
                const t = d.querySelector('table');
                if (t.getBoundingClientRect().width > d.clientWidth + 1) {
                  const s = d.querySelector('summary');
                  s.focus();
                  wide.push({
                    scrolls: getComputedStyle(d).overflowX === 'auto'
                      && d.scrollWidth > d.clientWidth,
                    inside: d.getBoundingClientRect().right <= vw + 1,
                    focused: document.activeElement === s,
                  });
                }
              }
              const rows = [];
              for (const t of document.querySelectorAll('main table')) {
                const heads = t.tHead ? t.tHead.rows[0].cells.length : null;
                // one cell per column, none nested, none with a stray newline of the markup
                for (const b of t.tBodies) for (const r of b.rows) rows.push([heads, r.cells.length,
                  r.cells[0].tagName, Array.from(r.cells).every(
                    c => !c.querySelector('td, th') && c.textContent === c.textContent.trim())]);
              }
              return {docWide: document.documentElement.scrollWidth > vw, wide, rows};
            }"""
        )
        assert got["docWide"] is False
        assert got["wide"], "no fallback table is wider than a phone: nothing was checked"
        assert all(w == {"scrolls": True, "inside": True, "focused": True} for w in got["wide"])
        assert len(got["rows"]) > 20
        for heads, cells, first, flat in got["rows"]:
            assert cells == heads and first == "TH" and flat, (heads, cells, first, flat)
        v.check_clean()
    finally:
        v.close()
