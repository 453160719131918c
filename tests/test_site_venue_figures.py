"""Every venue, every day, beyond the charts (issue 22): on a dated day page, the venue switch
also sets the headline, the close, the key figures and the key levels, metrics, scenarios
and largest-bands tables to the chosen venue's, each equal to the figures of that venue's
rows in the marts, and back to the aggregate's. In headless Chromium from file://, on the
two-venue site of tests/test_site_venues.py.
"""

# ruff: noqa: F811  (the shared fixture is imported by name and used as an argument)
from __future__ import annotations

import duckdb
import pytest

from reports.cards.liq_map import liq_map_card
from reports.headline import headline
from reports.key_levels import levels_table
from reports.metrics_table import metrics_table
from reports.notation import fmt_price, fmt_usd
from reports.pages.kpis import kpis
from reports.scenarios import scenario_table
from tests.test_site_browser import CHROMIUM, Visit
from tests.test_site_venues import SYMBOL, built  # noqa: F401  (the two-venue site)

pytestmark = pytest.mark.xdist_group("browser")

# the page's printed figures as a reader sees them
READ = """() => {
  const rows = (name) => Array.from(
      document.querySelectorAll('[data-printed-rows="' + name + '"] tr'))
    .map((tr) => Array.from(tr.querySelectorAll('th, td')).map((c) => c.textContent));
  const kpi = (key) => document.querySelector('[data-metric="' + key + '"]').textContent;
  return {
    headline: document.querySelector('[data-printed="headline"]').textContent,
    spot: document.querySelector('[data-printed="spot"]').textContent,
    label: document.querySelector('p.venues[data-venues]').textContent,
    shorts: kpi('shorts_at_risk'), longs: kpi('longs_at_risk'),
    splits: document.querySelectorAll('[data-venue-split]').length,
    notice: Array.from(document.querySelectorAll('[data-notice="venues-missing"]'))
      .some((n) => !n.hidden),
    levels: rows('levels'), metrics: rows('metrics'), scenarios: rows('scenarios'),
    bands: rows('bands').length, liqmap: rows('liqmap'),
    caption: document.querySelector('#liqmap + figcaption').textContent,
    notes: Array.from(document.querySelectorAll(
        '#liqmap + figcaption [data-layer-note]'))
      .map((n) => [n.getAttribute('data-layer-note'), n.textContent, n.hidden]),
    heatData: document.querySelector('a[data-venue-href]').getAttribute('href'),
    aggregateOnly: Array.from(document.querySelectorAll('[data-aggregate-only]'))
      .map((n) => n.closest('[hidden]') === null),
  };
}"""


def _rows(path, venue: str, days) -> dict:
    """{day: {scenario: row}} of mart.daily_metrics for `venue` on `days` (SQL over the mart)."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        cur = conn.execute(
            "SELECT * FROM mart.daily_metrics WHERE symbol = ? AND venue = ? AND day IN ?",
            [SYMBOL, venue, list(days)],
        )
        names = [c[0] for c in cur.description]
        out: dict = {}
        for r in cur.fetchall():
            row = dict(zip(names, r, strict=True))
            out.setdefault(row["day"], {})[row["scenario"]] = row
        return out
    finally:
        conn.close()


def _map_rows(path, venue: str, d) -> list[dict]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        cur = conn.execute(
            "SELECT * FROM mart.liq_map WHERE symbol = ? AND venue = ? AND day = ? "
            "ORDER BY price_low",
            [SYMBOL, venue, d],
        )
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


def _want(path, venue: str, d, prev) -> dict:
    """What the page must print for `venue` on day `d`, from the mart's rows."""
    rows = _rows(path, venue, [d, prev])
    scen, before = rows[d], rows[prev]["base"]
    cur = scen["base"]
    return {
        "headline": headline(cur, scen),
        "spot": fmt_price(cur["close_price"]),
        "shorts": fmt_usd(cur["shorts_at_risk"]),
        "longs": fmt_usd(cur["longs_at_risk"]),
        "levels": [[r.side, r.nearest, r.peak, r.p90, r.change] for r in levels_table(cur, before)],
        "metrics": [[m.metric, m.status, m.impact, m.change] for m in metrics_table(cur, before)],
        "scenarios": [
            [s.label, s.longs, s.shorts, s.ratio, s.p90_below, s.p90_above]
            for s in scenario_table(scen)
        ],
        "kpis": {k.key: k.value for k in kpis(scen, before)},
        # the map's largest bands, from the venue's mart.liq_map rows
        "liqmap": [
            list(r) for r in liq_map_card(_map_rows(path, venue, d), cur, SYMBOL, d).table.rows
        ],
        # the map's base caption: what it shows and its window, not the key figures'
        # totals nor the levels table's lines (issue 22)
        "caption": f"Liquidation map, {SYMBOL}, end of {d} UTC (Base model, All leverage)",
    }


def _check(got: dict, want: dict) -> None:
    for key in ("headline", "spot", "shorts", "longs", "levels", "metrics", "scenarios", "liqmap"):
        assert got[key] == want[key], key
    base = dict((n[0], n[1]) for n in got["notes"])["base/all"]  # the base view's caption
    assert base.startswith(want["caption"]), base
    assert "at risk $" not in base and "Lines:" not in base, base


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_venue_switch_sets_every_printed_figure_to_that_venues_marts(built, browser):
    out, _, wh = built
    d = wh.second_venue_last
    prev = wh.days[wh.days.index(d) - 1]
    bybit, agg = _want(wh.path, "bybit", d, prev), _want(wh.path, "all", d, prev)
    assert bybit["shorts"] != agg["shorts"] and bybit["levels"] != agg["levels"]
    page = out / SYMBOL / d.isoformat() / "index.html"
    # Bybit's own page: its captions as its page script builds them
    v = Visit(browser, (out / SYMBOL / "bybit" / "index.html").as_uri())
    try:
        own = [n[:2] for n in v.page.evaluate(READ)["notes"]]
    finally:
        v.close()
    v = Visit(browser, page.as_uri())
    try:
        first = v.page.evaluate(READ)
        _check(first, agg)
        assert first["splits"] == 2  # each side's split by venue, under its figure
        assert first["aggregateOnly"] and all(first["aggregateOnly"])
        v.page.click('button[data-venue="bybit"]')
        v.page.wait_for_function("window.__chartsReady === true")
        got = v.page.evaluate(READ)
        _check(got, bybit)
        # the map's caption of every switch view is Bybit's (as its own page shows
        # them), the selected view's shown; the heatmap's data link is Bybit's file
        assert [n[:2] for n in got["notes"]] == own
        assert len(own) > 1
        assert [n[2] for n in got["notes"]] == [n[2] for n in first["notes"]]
        assert got["notes"] != first["notes"]
        assert got["heatData"].endswith(f"/bybit/heat-{d.isoformat()[:7]}.js")
        assert first["heatData"].endswith(f"/all/heat-{d.isoformat()[:7]}.js")
        assert got["label"].startswith("Bybit only")
        assert got["splits"] == 0  # one venue has no split
        assert not any(got["aggregateOnly"])  # nor the split cards
        assert got["bands"] > 0
        v.page.click('button[data-venue="all"]')
        v.page.wait_for_function("window.__chartsReady === true")
        back = v.page.evaluate(READ)
        assert back == first
        v.check_clean()
    finally:
        v.close()


def test_a_venues_day_file_prints_what_its_own_page_prints(built):
    """The venue's latest page and its day data file's printed figures agree (one source)."""
    import html
    import re

    from reports.datafiles import table_rows
    from tests.site_data import data_file

    out, _, wh = built
    d = wh.second_venue_last  # Bybit's latest day
    page = (out / SYMBOL / "bybit" / "index.html").read_text()
    obj = data_file(out, f"{SYMBOL}/bybit/day-{d.isoformat()}")
    printed = obj["printed"]
    for key, value, *_ in printed["kpis"]:
        m = re.search(rf'data-metric="{key}">([^<]*)<', page)
        assert m and html.unescape(m.group(1)) == value, key
    head = re.search(r'data-printed="headline">([^<]*)<', page)
    assert head and html.unescape(head.group(1)) == printed["headline"]
    want = _want(wh.path, "bybit", d, wh.days[wh.days.index(d) - 1])
    assert table_rows(printed["rows"]["levels"]) == want["levels"]
    assert {k: v for k, v, *_ in printed["kpis"]} == want["kpis"]
    # the aggregate's page prints its own: its day file does not repeat them
    agg = data_file(out, f"{SYMBOL}/all/day-{d.isoformat()}")
    assert "printed" not in agg
