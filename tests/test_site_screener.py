"""The index's screener: one row per symbol (expandable to venues) whose figures equal SQL
over mart.daily_metrics; sorting, filtering and expanding in headless Chromium from file://, and no
sideways scrolling on a 390 px phone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from reports.notation import fmt_imbalance
from tests.site_fixtures import SYMBOL, build_fixture_warehouse, site_from_warehouse
from tests.test_site_browser import CHROMIUM, Visit
from tests.test_site_symbols import add_scaled_symbol

pytestmark = pytest.mark.xdist_group("browser")  # Chromium: one browser at a time

SYMBOLS = (SYMBOL, "DOGEUSDT", "ETHUSDT")
SCALES = {"DOGEUSDT": 0.12 / 70_000.0, "ETHUSDT": 3_000.0 / 70_000.0}
NEAR_SQL = """
SELECT shorts_at_risk_5pct, longs_at_risk_5pct FROM mart.daily_metrics
WHERE venue = 'all' AND symbol = ? AND day = ? AND scenario = 'base'
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, Path, list[date]]:
    tmp = tmp_path_factory.mktemp("screener")
    db = tmp / "warehouse.duckdb"
    days = build_fixture_warehouse(db, 6)
    for sym, scale in SCALES.items():
        add_scaled_symbol(db, sym, scale)
    out = tmp / "site"
    site_from_warehouse(db, out, list(SYMBOLS))
    return out, db, days


def test_screener_rows_state_the_marts(site):
    out, db, days = site
    text = (out / "index.html").read_text()
    conn = duckdb.connect(str(db), read_only=True)
    try:
        for sym in SYMBOLS:
            shorts, longs = conn.execute(NEAR_SQL, [sym, days[-1]]).fetchone()
            body = text.split(f'<tbody data-symbol="{sym}"', 1)[1].split("</tbody>", 1)[0]
            cell = body.split('data-col="near5"', 1)[1].split(">", 1)[1].split("<", 1)[0]
            assert cell == fmt_imbalance(shorts, longs), sym
            assert f'href="{sym}/index.html"' in body
    finally:
        conn.close()


def _order(v: Visit) -> list[str]:
    return v.page.evaluate(
        "Array.from(document.querySelectorAll('#screener tbody'))"
        ".filter(b => !b.hidden).map(b => b.dataset.symbol)"
    )


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_screener_sorts_filters_and_fits_a_phone_from_file_url(site, browser):
    out, _, _ = site
    for width in (1280, 390):
        v = Visit(browser, (out / "index.html").as_uri(), viewport=(width, 844), charts=False)
        try:
            assert v.problems == [] and v.blocked == []
            v.page.click('button[data-sort="close"]')
            assert _order(v) == ["DOGEUSDT", "ETHUSDT", SYMBOL]
            assert (
                v.page.get_attribute('th:has(button[data-sort="close"])', "aria-sort")
                == "ascending"
            )
            v.page.click('button[data-sort="close"]')
            assert _order(v) == [SYMBOL, "ETHUSDT", "DOGEUSDT"]
            v.page.fill("#screener-filter", "eth")
            assert _order(v) == ["ETHUSDT"]
            v.page.fill("#screener-filter", "")
            side = v.page.get_attribute(f'tbody[data-symbol="{SYMBOL}"]', "data-side")
            other = {"shorts": "longs", "longs": "shorts"}.get(side, "shorts")
            v.page.select_option("#screener-side", other)
            assert _order(v) == []
            v.page.select_option("#screener-side", "")
            assert len(_order(v)) == 3
            # no sideways scrolling at any width
            assert v.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
                width
            )
            v.page.screenshot(path=str(out.parent / f"screener-{width}.png"), full_page=True)
            assert v.problems == []
        finally:
            v.close()
