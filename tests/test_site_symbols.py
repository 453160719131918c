"""A two-symbol site: BTCUSDT and a DOGE-scale copy of it (prices x ~1.7e-6).

The overview links every symbol, every page's links resolve inside the site, DOGE prices
render with enough decimals (in text and in chart data), and the DOGE day page draws its
charts offline in Chromium like a BTC page.
"""

from __future__ import annotations

import html
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from reports.site import build_site
from tests.site_data import page_rasters, page_specs
from tests.site_fixtures import GENERATED_AT, SYMBOL, build_fixture_warehouse, site_from_warehouse
from tests.test_site_build import html_pages, parse, resolve

pytestmark = pytest.mark.xdist_group("browser")

DOGE = "DOGEUSDT"
SCALE = 0.12 / 70_000.0  # the fixture's BTC path starts at 70,000
# every price column of the marts the site reads (notional columns stay in USDT)
PRICE_COLUMNS = {
    "mart.liq_heatmap": ("price_low", "price_high"),
    "mart.liq_map": ("price_low", "price_high", "spot_price"),
    "mart.daily_metrics": (
        "close_price",
        "mark_price",
        "squeeze_ceiling",
        "flush_floor",
        "peak_cluster_long",
        "peak_cluster_short",
        "nearest_cluster_above_price",
        "nearest_cluster_below_price",
        "peak_cluster_above_price",
        "peak_cluster_below_price",
        "p90_above_price",
        "p90_below_price",
        "zone_low",
        "zone_high",
    ),
    "mart.liq_layer_map": ("price_low", "price_high", "spot_price"),
    "mart.liq_layer_heatmap": ("price_low", "price_high"),
    "mart.moves": ("from_price", "to_price"),
    "mart.price_hourly": ("open", "high", "low", "close", "mark_close"),
}


def add_scaled_symbol(db: Path, symbol: str, scale: float) -> None:
    """Copy every BTC mart row as `symbol` with prices multiplied by `scale`."""
    conn = duckdb.connect(str(db))
    try:
        for table, cols in PRICE_COLUMNS.items():
            conn.execute(f"CREATE TEMP TABLE t AS SELECT * FROM {table} WHERE symbol = ?", [SYMBOL])
            sets = ", ".join(f"{c} = {c} * ?" for c in cols)
            conn.execute(f"UPDATE t SET symbol = ?, {sets}", [symbol, *([scale] * len(cols))])
            conn.execute(f"INSERT INTO {table} SELECT * FROM t")
            conn.execute("DROP TABLE t")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def two_symbol_site(tmp_path_factory) -> tuple[Path, list[date]]:
    tmp = tmp_path_factory.mktemp("site_symbols")
    db = tmp / "warehouse.duckdb"
    days = build_fixture_warehouse(db, 6)
    add_scaled_symbol(db, DOGE, SCALE)
    out = tmp / "site"
    res = site_from_warehouse(db, out, [SYMBOL, DOGE])
    assert res.symbols == [SYMBOL, DOGE] and res.skipped == {}
    return out, days


def test_overview_links_every_symbol_to_its_latest_day(two_symbol_site):
    out, days = two_symbol_site
    text = (out / "index.html").read_text()
    for symbol in (SYMBOL, DOGE):
        assert f'href="{symbol}/index.html"' in text
        assert f'href="{symbol}/{days[-1].isoformat()}/index.html"' in text
        assert (out / symbol / "archive" / "index.html").is_file()
    assert text.count('<svg class="small-map"') == 2
    # one feed entry per symbol and day
    feed = (out / "feed.xml").read_text()
    assert feed.count("<entry>") == 2 * len(days)
    # only BTC pages had old addresses
    assert (
        f"{SYMBOL}/{days[0].isoformat()}" in (out / days[0].isoformat() / "index.html").read_text()
    )
    assert DOGE not in (out / days[0].isoformat() / "index.html").read_text()


def test_every_link_resolves(two_symbol_site):
    out, _ = two_symbol_site
    checked = 0
    for page in html_pages(out):
        refs = parse(page)
        for _tag, _attr, url in refs.refs:
            if url.startswith(("data:", "mailto:", "#", "http://", "https://")):
                continue
            assert resolve(page, url, out).is_file(), (page.relative_to(out), url)
            checked += 1
    assert checked > 200


def test_doge_prices_have_sensible_decimals(two_symbol_site):
    out, days = two_symbol_site
    page = html.unescape((out / DOGE / days[-1].isoformat() / "index.html").read_text())
    levels = [p for p in re.findall(r"\$0\.\d+", page) if float(p[1:]) >= 0.01]
    assert len(levels) > 10, "no DOGE price levels on the page"
    # price levels at DOGE's scale: five decimals (bins.price_decimals(0.12) == 5)
    assert all(len(p) == len("$0.12345") for p in levels), sorted(set(levels))[:10]
    assert "$0.12 " not in page and "$0 " not in page
    # the chart data keeps the precision: the heatmap candles are not flattened to cents
    spec = page_specs(out, out / DOGE / days[-1].isoformat() / "index.html")["heat-24h"]
    closes = {
        p[k]
        for layer in spec["layer"]
        if isinstance(layer.get("data", {}).get("values"), list)
        for p in layer["data"]["values"]
        for k in ("o", "h", "l", "c")
        if k in p
    }
    assert len(closes) > 10 and all(0.05 < c < 0.3 for c in closes)
    overview = html.unescape((out / "index.html").read_text())
    assert re.search(r"close \$0\.\d{5}\b", overview)


@pytest.mark.browser
def test_doge_page_draws_offline_in_chromium(two_symbol_site, tmp_path, browser):
    from tests.test_site_browser import CHROMIUM, Visit

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin")

    out, days = two_symbol_site
    site = tmp_path / "copy"
    shutil.copytree(out, site)
    for rel in (f"{DOGE}/{days[-1].isoformat()}/index.html", "index.html"):
        charts = rel != "index.html"
        v = Visit(browser, (site / rel).as_uri(), charts=charts)
        try:
            assert v.blocked == [] and v.problems == []
            if charts:
                v.check_clean()
                assert v.visible_charts_drawn() >= 5
            assert v.axe_serious() == []
        finally:
            v.close()
    # the old BTC address forwards to the permalink from file://
    v = Visit(browser, (site / days[0].isoformat() / "index.html").as_uri())
    try:
        v.check_clean()
        assert v.page.url.endswith(f"/{SYMBOL}/{days[0].isoformat()}/index.html")
    finally:
        v.close()


@pytest.fixture(scope="module")
def long_history_site(tmp_path_factory) -> tuple[Path, list[date]]:
    """100 days of history (the 3m window is covered), the last two days rendered."""
    tmp = tmp_path_factory.mktemp("site_long")
    db = tmp / "warehouse.duckdb"
    days = build_fixture_warehouse(db, 100)
    out = tmp / "site"
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(
            conn,
            out,
            SYMBOL,
            days[-2:],
            source="synthetic",
            methodology_md=None,
            generated_at=GENERATED_AT,
        )
    finally:
        conn.close()
    return out, days


def _day_end_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) + 86_400_000


def test_every_heatmap_window_ends_on_its_own_day(long_history_site):
    """History as it was: each page's windows (the 3-month one too) end with the page's own
    day, never later; the page holds no heatmap, the shared heat months do."""
    out, days = long_history_site
    assert not (out / SYMBOL / "heat-long.js").exists()
    for d in days[-2:]:
        page = out / SYMBOL / d.isoformat() / "index.html"
        assert "data:image/png" not in page.read_text()
        rasters = page_rasters(out, page)
        assert {"heat-24h", "heat-1w", "heat-1m", "heat-3m"} <= set(rasters)
        for wid, meta in rasters.items():
            for g in meta["layers"].values():
                assert g["t0"] + g["cols"] * g["tstep"] == _day_end_ms(d), (d, wid)
        xscale = page_specs(out, page)["heat-3m"]["layer"][0]["encoding"]["x"]["scale"]
        assert xscale["domainMax"]["expr"] == str(_day_end_ms(d))
    # the months the 3-month windows reach back to are shared files, one per month
    months = sorted(p.name for p in (out / "data" / SYMBOL / "all").glob("heat-*.js"))
    assert months[0] <= f"heat-{(days[-2] - timedelta(days=91)).strftime('%Y-%m')}.js"


@pytest.mark.browser
def test_three_month_heatmap_draws_its_own_day_from_file_url(long_history_site, browser):
    from tests.test_site_browser import CHROMIUM, Visit

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed at /usr/bin")
    out, days = long_history_site
    v = Visit(browser, (out / SYMBOL / days[-2].isoformat() / "index.html").as_uri())
    try:
        v.check_clean()
        v.page.locator("#tab-heat-3m").click()
        assert v.wait_charts_drawn(5) >= 5  # the tab's chart draws after the switch
        assert v.page.evaluate("!!window.__chartViews['heat-3m']")
        end = v.page.evaluate(
            "(() => { const g = document.getElementById('heat-3m')"
            ".__rasterMeta.layers['base/all']; return g.t0 + g.cols * g.tstep; })()"
        )
        assert end == _day_end_ms(days[-2])
        v.check_clean()
    finally:
        v.close()
