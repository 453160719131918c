"""The built site in headless Debian Chromium: offline, error-free, charts drawn, accessible.

Never a downloaded browser: the test uses /usr/bin/chromium and skips when it is absent.
Screenshots (light and dark, desktop and phone) go to test-artifacts/ for a human look.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import ARGS, CHROMIUM  # noqa: F401  (other browser modules import them here)
from tests.site_fixtures import SYMBOL

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin"),
    pytest.mark.xdist_group("browser"),
]

sync_api = pytest.importorskip("playwright.sync_api")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture(scope="module")
def site(fixture_site) -> tuple[Path, list]:
    """The shared fixture site (read-only): (site, days)."""
    return fixture_site.site, fixture_site.days


@pytest.fixture(scope="module")
def server(site) -> Iterator[str]:
    out, _ = site
    handler = functools.partial(_Quiet, directory=str(out))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# the charts outside hidden panels that are drawn: a canvas of at least 50 × 50 px that is not
# blank; with `strict`, an empty or blank one throws naming it, else the count is -1
CHARTS_DRAWN = """(strict) => {
  let n = 0;
  const bad = (why) => { if (strict) throw new Error(why); return -1; };
  for (const el of document.querySelectorAll('.chart')) {
    if (el.closest('[hidden]')) continue;
    const c = el.querySelector('canvas');
    if (!c || c.width < 50 || c.height < 50) return bad('empty chart ' + el.id);
    const blank = document.createElement('canvas');
    blank.width = c.width;
    blank.height = c.height;
    if (c.toDataURL() === blank.toDataURL()) return bad('blank ' + el.id);
    n++;
  }
  return n;
}"""

# the document, then every element not inside a box that scrolls sideways (a chart's fallback
# table: its <details>) or a hidden panel, that reaches past the viewport's right edge
WIDER_THAN_VIEWPORT = """() => {
  const vw = document.documentElement.clientWidth;
  const bad = [];
  if (document.documentElement.scrollWidth > vw) {
    bad.push('document ' + document.documentElement.scrollWidth + ' > ' + vw);
  }
  for (const el of document.querySelectorAll('body *')) {
    const scrolls = '.table-wrap, details.fallback, .vega-embed, pre, .prose table';
    if (el.closest(scrolls + ', [hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) {
      bad.push(el.tagName + '.' + el.className + ' ' + r.right);
    }
  }
  return bad.slice(0, 10);
}"""


class Visit:
    """One page in one context, with every console message and request recorded."""

    def __init__(
        self, browser, url: str, *, viewport=(1280, 800), scheme="light", charts=True
    ) -> None:
        self.problems: list[str] = []
        self.blocked: list[str] = []
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=scheme
        )
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on(
            "requestfailed", lambda r: self.problems.append(f"requestfailed: {r.url} {r.failure}")
        )
        self.page.goto(url)
        if not charts:
            self.page.wait_for_load_state("load")
            return
        self.page.wait_for_function(
            "window.__chartsReady === true || window.__chartsError !== undefined", timeout=30_000
        )

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "file://", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            self.problems.append(f"console {msg.type}: {msg.text}")

    def check_clean(self) -> None:
        assert self.page.evaluate("window.__chartsError") is None
        assert self.page.evaluate("window.__chartsReady") is True
        assert self.blocked == [], self.blocked
        # "requestfailed" from our own aborts would be listed above; anything else is a bug
        assert self.problems == [], self.problems

    def visible_charts_drawn(self) -> int:
        """How many charts outside hidden panels are drawn; raises naming an empty or blank one."""
        return self.page.evaluate(CHARTS_DRAWN, True)

    def wait_charts_drawn(self, minimum: int) -> int:
        """visible_charts_drawn once at least `minimum` charts are drawn and none is empty or
        blank: a tab switch resizes its charts and runs them again, asynchronously. Waits for
        the views' pending runs (Vega's runAsync: dataflow, then drawing), then for the count
        (a condition, not a pause; on a hang it still fails naming the chart)."""
        self.page.evaluate(
            "() => Promise.all(Object.values(window.__chartViews || {}).map((v) => v.runAsync()))"
            ".then(() => true)"
        )
        try:
            drawn = self.page.wait_for_function(
                f"(m) => {{ const n = ({CHARTS_DRAWN})(false); return n >= m ? n : false; }}",
                arg=minimum,
                polling=100,
            )
        except sync_api.TimeoutError:
            return self.visible_charts_drawn()  # raises naming the chart that never drew
        return drawn.json_value()

    def wider_than_viewport(self) -> list[str]:
        """The page, and the elements outside a box that scrolls sideways, that reach past the
        viewport's right edge (at most 10)."""
        return self.page.evaluate(WIDER_THAN_VIEWPORT)

    def axe_serious(self) -> list[str]:
        from axe_playwright_python.sync_playwright import Axe

        result = Axe().run(self.page)
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result.response["violations"]
            if v.get("impact") in ("serious", "critical")
        ]

    def close(self) -> None:
        self.context.close()


def _pages(site) -> dict[str, str]:
    _, days = site
    return {
        "index": f"{SYMBOL}/index.html",
        "day": f"{SYMBOL}/{days[-2].isoformat()}/index.html",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("which", ["index", "day"])
def test_page_renders_offline_and_accessible(site, server, browser, which, size, scheme):
    """Also no wider than the viewport (the check of test_site_layout_browser for the chart
    pages, here to load each page once: the desktop width there is 1400 px, here 1280 px,
    and the page's content sits in a 1,180 px column at both, so 1280 is the stricter)."""
    path = _pages(site)[which]
    v = Visit(browser, f"{server}/{path}", viewport=VIEWPORTS[size], scheme=scheme)
    try:
        v.check_clean()
        over = v.wider_than_viewport()
        assert over == [], over
        assert v.visible_charts_drawn() >= 5  # first heatmap tab + map, OI, funding, moves
        # every heatmap timeframe draws when its tab is shown
        tabs = v.page.locator('[role="tab"]')
        for i in range(tabs.count()):
            tabs.nth(i).click()
            assert tabs.nth(i).get_attribute("aria-selected") == "true"
            assert v.wait_charts_drawn(5) >= 5
        tabs.nth(0).click()
        v.wait_charts_drawn(5)
        ARTIFACTS.mkdir(exist_ok=True)
        v.page.screenshot(path=str(ARTIFACTS / f"site-{which}-{size}-{scheme}.png"), full_page=True)
        assert v.axe_serious() == []
        v.check_clean()
    finally:
        v.close()


def test_tabs_are_keyboard_operable(site, server, browser):
    v = Visit(browser, f"{server}/{SYMBOL}/index.html")
    try:
        # the tabs the page script built from the panels: one per timeframe, in order,
        # each controlling its panel and labelling it
        tabs = v.page.evaluate(
            """() => Array.from(document.querySelectorAll('[role="tablist"] [role="tab"]'), t => [
              t.id, t.textContent, t.getAttribute('aria-controls'), t.getAttribute('aria-selected'),
              document.getElementById(t.getAttribute('aria-controls')).getAttribute('role'),
              document.getElementById(t.getAttribute('aria-controls')).getAttribute('aria-labelledby')
            ])"""
        )
        keys = [t[1] for t in tabs]
        assert keys[:3] == ["24h", "1w", "1m"]
        assert [t[0] for t in tabs] == [f"tab-heat-{k}" for k in keys]
        assert all(t[2] == f"panel-heat-{t[1]}" and t[4:] == ["tabpanel", t[0]] for t in tabs)
        assert [t[3] for t in tabs] == ["true"] + ["false"] * (len(tabs) - 1)
        assert v.page.get_attribute('[role="tablist"]', "aria-label") == "Heatmap timeframe"
        first = v.page.locator('[role="tab"]').first
        first.focus()
        v.page.keyboard.press("ArrowRight")
        second = v.page.locator('[role="tab"]').nth(1)
        assert second.get_attribute("aria-selected") == "true"
        assert v.page.evaluate("document.activeElement.id") == second.get_attribute("id")
        panel = second.get_attribute("aria-controls")
        assert v.page.locator(f"#{panel}").is_visible()
        v.page.keyboard.press("End")
        v.page.keyboard.press("Home")
        assert first.get_attribute("aria-selected") == "true"
        v.check_clean()
    finally:
        v.close()


def test_opens_from_file_url(site, browser):
    out, days = site
    for path in (out / SYMBOL / days[-1].isoformat() / "index.html", out / SYMBOL / "index.html"):
        v = Visit(browser, path.as_uri())
        try:
            v.check_clean()
            assert v.visible_charts_drawn() >= 5
        finally:
            v.close()


def test_archive_and_methodology_pages(site, server, browser):
    for path in (
        "index.html",
        f"{SYMBOL}/archive/index.html",
        "archive/index.html",
        "methodology/index.html",
        "params/index.html",
    ):
        v = Visit(browser, f"{server}/{path}", charts=False)
        try:
            assert v.blocked == [] and v.problems == []
            assert v.axe_serious() == []
        finally:
            v.close()


def test_old_day_page_links_to_a_day_built_after_it(tmp_path, browser):
    """Day N was rendered while it was the latest ("Latest report →"); an incremental build
    of day N+1 rewrites that link, and a page it did not rewrite (as an older build left
    it) links to N+1 through assets/days.js, from file://."""
    from tests.test_site_hourly_nav import incremental_site

    out, days, before = incremental_site(tmp_path)
    ((page, (_, data)),) = before.items()
    page.write_bytes(data)  # the page as it was before the build that added N+1
    nxt = days[-1].isoformat()
    v = Visit(browser, page.as_uri())
    try:
        v.check_clean()
        link = v.page.locator('nav.daynav a[data-nav="next"]')
        assert link.get_attribute("href") == f"../{nxt}/index.html"
        assert link.get_attribute("rel") == "next"
        assert link.inner_text() == f"{nxt} →"
        link.click()
        v.page.wait_for_url(f"**/{nxt}/index.html")
        assert v.page.url == (out / SYMBOL / nxt / "index.html").as_uri()
        v.page.wait_for_function(
            "window.__chartsReady === true || window.__chartsError !== undefined",
            timeout=30_000,
        )
        v.check_clean()
        # the newest page keeps its fallback: there is nothing after it
        latest = v.page.locator('nav.daynav a[data-nav="next"]')
        assert latest.get_attribute("href") == "../index.html"
        assert "Latest report" in latest.inner_text()
    finally:
        v.close()


def test_heatmap_hover_shows_the_hourly_candle(site, server, browser):
    """Hovering a candle on the 24h tab shows that hour's time and its OHLC prices."""
    out, days = site
    d = days[-2].isoformat()
    v = Visit(browser, f"{server}/{SYMBOL}/{d}/index.html")
    try:
        v.check_clean()
        # the 14:00-15:00 candle's body, in page coordinates
        pt = v.page.evaluate(
            """(day) => {
              const spec = document.getElementById('heat-24h').__spec;
              const bars = spec.datasets.candles;
              const t = Date.parse(day + 'T14:00:00Z');
              const k = bars.find(q => q.x === t);
              const view = window.__chartViews['heat-24h'];
              view.container().scrollIntoView({block: 'center'});
              const box = view.container().querySelector('canvas').getBoundingClientRect();
              const [ox, oy] = view.origin();
              const pad = view.padding();
              return {x: box.left + pad.left + ox + view.scale('x')((k.x + k.x2) / 2),
                      y: box.top + pad.top + oy + view.scale('y')((k.o + k.c) / 2),
                      c: k.c, o: k.o};
            }""",
            d,
        )
        v.page.mouse.move(pt["x"] - 3, pt["y"])
        v.page.mouse.move(pt["x"], pt["y"])
        tip = v.page.locator("#vg-tooltip-element")
        tip.wait_for(state="visible", timeout=5_000)
        text = tip.inner_text()
        assert "14:00 UTC" in text, text
        assert f"C ${pt['c']:,.0f}" in text and f"O ${pt['o']:,.0f}" in text, text
        v.check_clean()
    finally:
        v.close()


def test_colour_threshold_lowers_the_top_and_the_hover_follows(site, browser):
    """The heatmap's colour threshold slider: at 50 % the legend's top is half the window's
    99th percentile and a hovered pixel states level / 255 × that top (from file://)."""
    out, days = site
    v = Visit(browser, (out / SYMBOL / days[-2].isoformat() / "index.html").as_uri())
    try:
        top = v.page.evaluate("window.__chartViews['heat-24h'].signal('vmax')")
        v.page.fill("#heat-threshold", "50")
        v.page.dispatch_event("#heat-threshold", "input")
        v.page.wait_for_function(
            "document.documentElement.getAttribute('data-heat-threshold') === '50'"
        )
        v.page.wait_for_timeout(200)
        half = v.page.evaluate("window.__chartViews['heat-24h'].signal('vmax')")
        assert half == pytest.approx(top / 2, rel=0.01)  # both at 3 significant digits
        meta = v.page.evaluate(
            "window.liqmapHeat.metaOf(document.getElementById('heat-24h')).layers['base/all']"
        )
        assert meta["vmax"] == half
        assert "50% of the 99th percentile" in v.page.inner_text("#heat-threshold-value")
        v.check_clean()
    finally:
        v.close()


def test_an_old_day_lists_only_the_swings_known_that_day(site, browser):
    """History as it was: an early day's page, opened from disk, draws its moves chart from
    the symbol's shared moves file, which also holds swings confirmed later: the page lists
    only those known by the end of its day, the rows Python resolves from the day file."""
    from tests.site_data import data_file, page_specs

    out, days = site
    rows = data_file(out, f"{SYMBOL}/all/moves")["moves"]["rows"]
    old = None
    for d in days:
        day = data_file(out, f"{SYMBOL}/all/day-{d.isoformat()}")
        if "moves" in day["charts"] and any(r[1] > d.isoformat() for r in rows):
            old = d
            break
    assert old is not None, "fixture needs a day with swings and a swing confirmed later"
    page = out / SYMBOL / old.isoformat() / "index.html"
    want = page_specs(out, page)["moves"]["datasets"]["rows"]
    known = {r[0] for r in rows if r[1] <= old.isoformat()}
    assert want and {r["start"] for r in want if "running" not in r["label"]} <= known
    v = Visit(browser, page.as_uri())
    try:
        v.check_clean()
        drawn = v.page.evaluate("document.getElementById('moves').__spec.datasets.rows")
        assert drawn == want
        later = {r[0] for r in rows if r[1] > old.isoformat()}
        assert later and not later & {r["start"] for r in drawn}
    finally:
        v.close()
