"""The screener's "now" column (issue 24): each symbol's nowcast on the index, from
now/now.js (rewritten by every refresh): near-spot imbalance and price equal to SQL over the
provisional day's marts, "as of HH:MM UTC, provisional", a link to the symbol's now view,
"stale since ..." after a failed refresh, and nothing but a dash when no nowcast has run.
A real nowcast cycle (fake Binance REST on 127.0.0.1, pinned clock) on a copy of the shared
Binance build; the index in headless Chromium from file://."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from reports.notation import fmt_imbalance, fmt_price
from reports.pages.now import NOW_JS, NowSymbol, now_js
from tests.builds import BINANCE_DAYS
from tests.nowcast_helpers import Clock, dead_url, fake_binance
from tests.test_site_browser import CHROMIUM, Visit

pytestmark = pytest.mark.xdist_group("browser")

FIRST, LAST = BINANCE_DAYS
TODAY = LAST + timedelta(days=1)
SYMBOL = "BTCUSDT"
NEAR_SQL = """
SELECT shorts_at_risk_10pct, longs_at_risk_10pct, close_price FROM mart.daily_metrics
WHERE venue = 'all' AND symbol = ? AND day = ? AND scenario = 'base'
"""
CELL = f'td[data-now="{SYMBOL}"]'


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(TODAY.year, TODAY.month, TODAY.day, hh, mm, ss, tzinfo=UTC)


def _entry(**kw) -> NowSymbol:
    base = dict.fromkeys(
        ("price", "imbalance", "imbalance_all", "above", "below", "peak_above", "peak_below",
         "funding", "funding_next", "open_interest", "heat_caption"), "x",
    )  # fmt: skip
    return NowSymbol(symbol=kw.pop("symbol"), heat_url=None, **{**base, **kw})


def test_now_js_lists_only_symbols_with_a_nowcast():
    text = now_js(
        [
            _entry(symbol="BTCUSDT", day="2025-11-04", as_of="13:05 UTC", stale=None),
            _entry(symbol="ETHUSDT", day=None, as_of="no nowcast yet", stale=None),
        ]
    )
    assert text.startswith("/*") and "window.LIQMAP_NOW = " in text
    body = text.split("window.LIQMAP_NOW = ", 1)[1].rstrip().removesuffix(";")
    got = json.loads(body)["symbols"]
    assert list(got) == ["BTCUSDT"]
    assert got["BTCUSDT"]["href"] == "BTCUSDT/now/index.html"
    assert got["BTCUSDT"]["as_of"] == "13:05 UTC" and got["BTCUSDT"]["stale_since"] is None
    assert "symbols" in now_js([]) and json.loads(
        now_js([]).split(" = ", 1)[1].rstrip().removesuffix(";")
    ) == {"symbols": {}}


def _read(v: Visit) -> dict:
    return v.page.evaluate(
        """(sel) => {
          const td = document.querySelector(sel);
          const a = td.querySelector('a');
          return {text: td.textContent, href: a ? a.getAttribute('href') : null,
                  v: td.getAttribute('data-v')};
        }""",
        CELL,
    )


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_screener_now_column_follows_the_nowcast_and_its_staleness(
    binance_chain, tmp_path, browser
):
    from orchestration.nowcast import run_nowcast

    settings = binance_chain.copy_to(tmp_path)
    site = settings.output_site_dir
    index = site / "index.html"
    assert f'<script src="{NOW_JS}"></script>' in index.read_text()
    # before any nowcast: a dash, no error (the build wrote an empty now.js)
    v = Visit(browser, index.as_uri(), charts=False)
    try:
        assert _read(v) == {"text": "—", "href": None, "v": None}
        assert v.problems == [] and v.blocked == []
    finally:
        v.close()

    clock = Clock(at(13, 7, 30))
    with fake_binance((SYMBOL,), FIRST, TODAY, clock) as server:
        run = run_nowcast(settings, now=clock, binance_url=server.url, sleep=clock.sleep)
    assert run.refresh.ok, run.refresh.failures
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        s10, l10, close = conn.execute(NEAR_SQL, [SYMBOL, TODAY]).fetchone()
    finally:
        conn.close()
    want = f"{fmt_imbalance(s10, l10)} · {fmt_price(close)} as of 13:05 UTC, provisional"
    v = Visit(browser, index.as_uri(), charts=False)
    try:
        got = _read(v)
        assert got["text"] == want, got
        assert float(got["v"]) == pytest.approx(s10 / l10, rel=1e-12)
        assert got["href"] == f"{SYMBOL}/now/index.html"
        assert (site / got["href"]).is_file()
        v.page.click(f"{CELL} a")
        v.page.wait_for_url(f"**/{SYMBOL}/now/index.html")
        assert v.problems == [] and v.blocked == []
    finally:
        v.close()

    # the next refresh fails: the last good nowcast stays, marked stale since then
    clock.at(TODAY, 14, 7, 30)
    failed = run_nowcast(settings, now=clock, binance_url=dead_url(), sleep=clock.sleep)
    assert not failed.refresh.ok
    v = Visit(browser, index.as_uri(), charts=False)
    try:
        got = _read(v)
        assert got["text"] == f"{want} stale since 2025-11-04 14:07 UTC", got
        assert v.problems == [] and v.blocked == []
    finally:
        v.close()
