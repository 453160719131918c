"""The site with two venues (issue 13): a real two-venue warehouse (tests/venue_helpers.py,
Binance and the fake Bybit server through the real chain; the session fixture
`two_venue_chain`) through the real site build.

The aggregate pages name the venues they add up, print at-risk figures that are the sum of
the venues' rows, split them (and the liquidation map) by venue with each venue's share and
its share of open interest, and say so beside the headline on a day one venue is missing.
Each venue has a full page of its own latest day with its own figures and downloads. A
single-venue site (the pipeline's own build, before the second venue is added) names its
venue and shows no split.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import threading
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from reports.cards.liq_map import MAP_SPAN
from reports.day_packs import pack_key
from reports.notation import fmt_share, fmt_usd, row_sides
from reports.site import build_site
from tests.site_data import data_file, html_specs
from tests.site_fixtures import GENERATED_AT
from tests.test_site_browser import CHROMIUM, Visit, _Quiet
from tests.test_site_build import html_pages, parse, resolve
from tests.venue_helpers import SYMBOL, TwoVenueWarehouse
from transforms.raw.venues.bybit.feed import DEMO_OI_SHARE
from transforms.raw.venues.bybit.market import SHARE_RANGE

pytestmark = pytest.mark.xdist_group("browser")

Row = dict


@pytest.fixture(scope="module")
def built(two_venue_site, binance_chain) -> tuple[Path, Path, TwoVenueWarehouse]:
    """(two-venue site, the pipeline's single-venue site, the warehouse): Bybit lacks the
    last day, so that day's aggregate is Binance alone. Both sites are shared session builds
    (read-only): `two_venue_site` and the Binance build's."""
    out, wh = two_venue_site
    return out, binance_chain.settings.output_site_dir, wh


def base_rows(wh: TwoVenueWarehouse) -> dict[tuple[date, str], Row]:
    """(day, venue) -> the base row of mart.daily_metrics."""
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        cur = conn.execute("SELECT * FROM mart.daily_metrics WHERE scenario = 'base'")
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()
    return {(r["day"], r["venue"]): r for r in rows}


def map_rows(wh: TwoVenueWarehouse, d: date, venue: str) -> list[Row]:
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        cur = conn.execute(
            "SELECT * FROM mart.liq_map WHERE symbol = ? AND day = ? AND venue = ?",
            [SYMBOL, d, venue],
        )
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        conn.close()


def metric(page: str, key: str) -> str:
    m = re.search(rf'data-metric="{key}">([^<]*)<', page)
    assert m, key
    return html.unescape(m.group(1))


def section(page: str, heading_id: str) -> str:
    start = page.index(f'aria-labelledby="{heading_id}"')
    return page[start : page.index("</section>", start)]


def table_rows(fragment: str) -> dict[str, list[str]]:
    """First cell -> the other cells, of every body row in `fragment`."""
    out = {}
    # the cells' and rows' end tags are omitted (valid HTML, see _table.html.j2)
    for tr in fragment.split("<tr>")[1:]:
        tr = re.split(r"</t|\n", tr, maxsplit=1)[0]
        if "<td" not in tr:
            continue  # a head row: its cells are all <th>
        cells = re.findall(r">([^<>]*)", tr)
        out[html.unescape(cells[0])] = [html.unescape(c) for c in cells[1:]]
    return out


def spec(out: Path, page: str, chart_id: str) -> dict:
    """A chart's whole spec, built from the page's day data file as the browser does."""
    specs = html_specs(out, page)
    assert chart_id in specs, chart_id
    return specs[chart_id]


def spec_values(s: dict) -> list[dict]:
    """Every inline data row of a (layered) spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict) and isinstance(node["data"].get("values"), list):
                found.extend(node["data"]["values"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(s)
    return found


def test_aggregate_at_risk_is_the_sum_of_the_venue_rows_as_printed(built):
    out, _, wh = built
    rows = base_rows(wh)
    d = wh.second_venue_last  # both venues have this day
    page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
    b, y, agg = rows[(d, "binance")], rows[(d, "bybit")], rows[(d, "all")]
    for key in ("shorts_at_risk", "longs_at_risk"):
        assert agg[key] == pytest.approx(b[key] + y[key], rel=1e-9)
        assert metric(page, key) == fmt_usd(b[key] + y[key])
    assert agg["oi_value"] == pytest.approx(b["oi_value"] + y["oi_value"], rel=1e-9)
    # the split: each venue's own figures, its share of all venues, its share of open interest
    split = table_rows(section(page, "h-venue-risk"))
    assert list(split) == ["Binance", "Bybit", "All venues"]
    for label, r in (("Binance", b), ("Bybit", y)):
        assert split[label] == [
            fmt_usd(r["shorts_at_risk"]),
            fmt_share(r["shorts_at_risk"], agg["shorts_at_risk"]),
            fmt_usd(r["longs_at_risk"]),
            fmt_share(r["longs_at_risk"], agg["longs_at_risk"]),
            fmt_usd(r["oi_value"]),
            fmt_share(r["oi_value"], agg["oi_value"]),
        ]
    printed = [metric(page, "shorts_at_risk"), metric(page, "longs_at_risk")]
    assert split["All venues"][::2] == [*printed, fmt_usd(agg["oi_value"])]
    # beneath each side's key figure: each venue's part and share
    for key, side in (("shorts_at_risk", "shorts"), ("longs_at_risk", "longs")):
        note = re.search(rf'data-venue-split="{key}">([^<]*)<', page)
        assert note, key
        assert html.unescape(note.group(1)) == " · ".join(
            f"{label} {fmt_usd(r[key])} ({fmt_share(r[key], agg[key])})"
            for label, r in (("Binance", b), ("Bybit", y))
        ), side
    # the demo Bybit carries around DEMO_OI_SHARE of Binance's open interest, its log-share
    # moving day to day within SHARE_RANGE (plus its own small 5-minute flow: 0.1 covers it)
    bybit_share = y["oi_value"] / agg["oi_value"]
    lo, hi = (DEMO_OI_SHARE * np.exp(k * (SHARE_RANGE + 0.1)) for k in (-1, 1))
    assert lo / (1 + lo) < bybit_share < hi / (1 + hi)
    assert split["Bybit"][5] == fmt_share(y["oi_value"], agg["oi_value"])
    # the chart draws the same numbers, stacked by venue
    bars = spec_values(spec(out, page, "venue-risk"))
    oi = {r["venue"]: r for r in bars if r["m"] == "Open interest"}
    assert set(oi) == {"Binance", "Bybit"}
    assert oi["Bybit"]["txt"] == f"{fmt_usd(y['oi_value'])} ({split['Bybit'][5]})"
    assert sum(r["x"] for r in oi.values()) == pytest.approx(agg["oi_value"], rel=1e-3)


def test_map_split_stacks_both_venues_to_the_aggregate_map(built):
    out, _, wh = built
    d = wh.second_venue_last
    page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
    card = section(page, "h-liqmap")
    assert 'id="liqmap-venues"' in card  # inside the liquidation map card
    venue_bands = [r for r in spec_values(spec(out, page, "liqmap-venues")) if "s" in r]
    series = {f"{v} {side}" for v in ("Binance", "Bybit") for side in ("longs", "shorts")}
    assert {r["s"] for r in venue_bands} == series
    agg_bands = [
        r for r in spec_values(spec(out, page, "liqmap")) if r.get("k") == "base/all" and "l" in r
    ]  # the bands (level marks carry their view too)
    # each band's stack tops out at the aggregate map's band (which the map chart rounds to
    # 3 significant digits: within 0.5 %)
    for side, key in (("longs", "l"), ("shorts", "s")):
        top: dict[float, float] = {}
        for r in venue_bands:
            if r["s"].endswith(side):
                top[r["lo"]] = max(top.get(r["lo"], 0.0), r["v1"])
        agg = {r["lo"]: r[key] for r in agg_bands if r[key] > 0}
        assert set(top) == set(agg), side
        for lo, v in agg.items():
            assert top[lo] == pytest.approx(v, rel=6e-3), (side, lo)
    # the day file holds the tops only ($stack): each segment starts exactly on the top of
    # the one below it (Binance first), the first on zero
    day = data_file(out, f"{SYMBOL}/all/day-{d.isoformat()}")
    raw = json.dumps(day["charts"]["liqmap-venues"]["v"]["bands"])
    assert raw.startswith('{"$stack"') and '"v0"' not in raw
    stacks: dict[tuple, list[dict]] = {}
    for r in venue_bands:
        stacks.setdefault((r["lo"], r["s"].split()[-1]), []).append(r)
    for segs in stacks.values():
        assert [r["s"].split()[0] for r in segs] == sorted(
            (r["s"].split()[0] for r in segs), key=["Binance", "Bybit"].index
        )
        assert [r["v0"] for r in segs] == [0, *(r["v1"] for r in segs[:-1])]
        assert all(r["v1"] > r["v0"] for r in segs)
    # the table: each venue's notional within the window, from its own mart rows
    spot = map_rows(wh, d, "all")[0]["spot_price"]
    lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
    split = table_rows(card[card.index('id="liqmap-venues"') :])
    for venue, label in (("binance", "Binance"), ("bybit", "Bybit")):
        rows = map_rows(wh, d, venue)
        inside = [r for r in rows if r["price_high"] > lo_edge and r["price_low"] < hi_edge]
        assert split[label][0] == fmt_usd(sum(r["long_notional"] for r in inside))
        assert split[label][2] == fmt_usd(sum(r["short_notional"] for r in inside))


def test_every_page_names_the_venues_it_adds_up(built):
    out, _, wh = built
    for d in wh.days[:-1]:
        page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
        assert '<p class="venues" data-venues="all">All venues: Binance + Bybit</p>' in page
    overview = (out / "index.html").read_text()
    assert "All venues: Binance (Bybit missing)" in overview  # the latest day lacks Bybit
    for page in html_pages(out):
        text = page.read_text()
        if 'http-equiv="refresh"' in text:
            continue  # a redirect from a pre-symbol address
        if 'data-day-data="' in text:  # a day page names them in its header, once
            assert "data-site-venues" not in text, page
            assert re.search(r'<p class="venues" data-venues="\w+">[^<]+</p>', text), page
            continue
        assert "data-site-venues>Figures are for all venues (Binance + Bybit)" in text, page


def test_a_day_missing_a_venue_says_so_beside_the_headline(built):
    out, _, wh = built
    last = wh.days[-1]
    assert base_rows(wh)[(last, "all")]["venues_missing"] == "bybit"
    for rel in (f"{SYMBOL}/index.html", f"{SYMBOL}/{last.isoformat()}/index.html"):
        page = (out / rel).read_text()
        notice = re.search(r'data-notice="venues-missing">(.*?)</p>', page, re.S)
        assert notice, rel
        assert "Bybit has no data for this day" in notice.group(1)
        assert "adds up Binance only" in notice.group(1)
        # before the headline and its figures
        assert page.index('data-notice="venues-missing"') < page.index('data-metric="headline"')
        assert "All venues: Binance (Bybit missing)" in page
    for d in wh.days[:-1]:
        page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
        assert 'data-notice="venues-missing"' not in page


def test_each_venue_has_a_page_of_its_own_latest_day(built):
    out, _, wh = built
    rows = base_rows(wh)
    for venue, label, d in (
        ("binance", "Binance", wh.days[-1]),
        ("bybit", "Bybit", wh.second_venue_last),
    ):
        folder = out / SYMBOL / venue
        page = (folder / "index.html").read_text()
        own = rows[(d, venue)]
        assert f"<title>{SYMBOL} {label} liquidation report {d.isoformat()}" in page
        assert f'data-venues="{venue}">{label} only' in page
        for key in ("shorts_at_risk", "longs_at_risk"):
            assert metric(page, key) == fmt_usd(own[key])
        assert 'id="venue-risk"' not in page and 'id="liqmap-venues"' not in page
        assert 'data-notice="venues-missing"' not in page
        # the switch: the aggregate of that day and the other venue
        assert f'href="../{d.isoformat()}/index.html"' in page
        assert f'href="../{venue}/index.html" aria-current="page"' in page
        # every heatmap window is in the page: the symbol's shared ones are the aggregate's
        assert "heat-long.js" not in page and "data-shared-spec" not in page
        # its rows are in its month's files (every venue's, by a `venue` column), linked
        month = out / SYMBOL / "downloads" / d.isoformat()[:7]
        assert f'href="../downloads/{d.isoformat()[:7]}/scenarios.parquet"' in page
        scen = pq.read_table(month / "scenarios.parquet").to_pylist()
        mine = [r for r in scen if r["day"] == d and r["venue"] == venue]
        assert {r["scenario"] for r in mine} >= {"base"}
        daily = pacsv.read_csv(month / "daily.csv").to_pylist()
        mine = [r for r in daily if str(r["day"]) == d.isoformat() and r["venue"] == venue]
        assert len(mine) == 1
        assert mine[0]["longs_at_risk"] == pytest.approx(own["longs_at_risk"])
    # Bybit's page is of its last day, which the aggregate switch names
    latest = (out / SYMBOL / "index.html").read_text()
    assert f"Bybit (its latest day, {wh.second_venue_last.isoformat()})" in latest
    assert '<a href="binance/index.html">Binance</a>' in latest


def test_month_daily_csvs_hold_every_venue_and_day(built):
    """The month downloads' daily.csv files together hold every venue's figures of every day
    (what a symbol-wide venues.csv repeated), and no symbol-wide CSV is written."""
    out, _, wh = built
    rows = base_rows(wh)
    table = [
        r
        for f in sorted((out / SYMBOL / "downloads").glob("*/daily.csv"))
        for r in pacsv.read_csv(f).to_pylist()
    ]
    got = {(r["day"], r["venue"]): r for r in table}
    assert len(got) == len(table)  # each day and venue once
    assert set(got) == set(rows)
    assert all(r["synthetic_data"] for r in table)
    for k in rows:
        assert got[k]["shorts_at_risk"] == pytest.approx(rows[k]["shorts_at_risk"])
    d0 = wh.days[0]
    first = [r for r in table if r["day"] == d0]
    assert [r["venue"] for r in first] == ["all", "binance", "bybit"]
    assert not (out / SYMBOL / "daily.csv").exists()
    assert not (out / SYMBOL / "venues.csv").exists()
    assert "daily.csv" not in (out / "archive" / "index.html").read_text()


def test_links_resolve_on_the_two_venue_site(built):
    out, _, _ = built
    checked = 0
    for page in html_pages(out):
        refs = parse(page)
        for _tag, _attr, url in refs.refs:
            if url.startswith(("http:", "https:", "//", "mailto:", "data:")):
                continue
            if url.startswith("#"):
                assert url[1:] in refs.ids, (page, url)
                continue
            assert resolve(page, url, out).is_file(), (page, url)
            checked += 1
    assert checked > 100


def test_single_venue_site_names_the_venue_and_has_no_split(built, binance_chain):
    _, single, _ = built
    assert not (single / SYMBOL / "binance").exists() and not (single / SYMBOL / "bybit").exists()
    assert not (single / SYMBOL / "venues.csv").exists()
    for d in binance_chain.days:
        page = (single / SYMBOL / d.isoformat() / "index.html").read_text()
        assert '<p class="venues" data-venues="all">Venue: Binance</p>' in page
        absent_marks = ('id="venue-risk"', 'id="liqmap-venues"', "venue-switch", "venues-missing",
                        "data-venue-split")  # fmt: skip
        for absent in absent_marks:
            assert absent not in page, (d, absent)
        month = single / SYMBOL / "downloads" / d.isoformat()[:7]
        daily = pacsv.read_csv(month / "daily.csv").to_pylist()  # the aggregate only
        assert {r["venue"] for r in daily} == {"all"} and not (month / "venues.csv").exists()
    assert "data-site-venues>Venue: Binance." in (single / "index.html").read_text()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
@pytest.mark.parametrize("which", ["aggregate", "bybit"])
def test_split_and_venue_pages_draw_offline_and_accessible(built, which, browser):
    handler = functools.partial(_Quiet, directory=str(built[0]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        _visit(built, which, f"http://127.0.0.1:{httpd.server_address[1]}", browser)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _visit(built, which: str, server: str, browser) -> None:
    """In headless Chromium (served on 127.0.0.1: axe reads the CSS): every chart draws,
    nothing is fetched from outside, no console error, no serious accessibility finding;
    the split charts hold both venues."""
    out, _, wh = built
    rel = {
        "aggregate": f"{SYMBOL}/{wh.second_venue_last.isoformat()}/index.html",
        "bybit": f"{SYMBOL}/bybit/index.html",
    }[which]
    v = Visit(browser, f"{server}/{rel}")
    try:
        v.check_clean()
        drawn = v.visible_charts_drawn()
        ids = v.page.evaluate("Object.keys(window.__chartViews)")
        if which == "aggregate":
            assert {"venue-risk", "liqmap-venues"} <= set(ids)
            venues = v.page.evaluate("window.__chartViews['venue-risk'].scale('color').domain()")
            assert venues == ["Binance", "Bybit"]
            assert drawn >= 7  # heatmap, map + split, at-risk split, history, OI, funding
        else:
            assert not {"venue-risk", "liqmap-venues"} & set(ids)
            assert drawn >= 5
        assert v.axe_serious() == []
        v.check_clean()
    finally:
        v.close()


def test_feed_names_the_venues_and_a_missing_one(built):
    out, _, wh = built
    feed = html.unescape((out / "feed.xml").read_text())
    last, full = wh.days[-1].isoformat(), wh.days[0].isoformat()
    entries = dict(re.findall(r"<id>urn:liqmap:BTCUSDT:([\d-]+)</id>(.*?)</entry>", feed, re.S))
    assert "Venues: Binance + Bybit" in entries[full] and "Missing" not in entries[full]
    assert "Venues: Binance</li>" in entries[last]
    assert "Missing: Bybit (no data that day; the figures add up Binance only)" in entries[last]


def test_an_incremental_build_rewrites_the_venue_pages_and_drops_stale_downloads(built, tmp_path):
    out_src, _, wh = built
    out = tmp_path / "site"
    shutil.copytree(out_src, out)
    stale = out / SYMBOL / "bybit" / "moves.csv"  # as if Bybit's previous latest day had swings
    stale.write_text("day\n")
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        swings = conn.execute(
            "SELECT count(*) FROM mart.moves WHERE venue = 'bybit' AND day = ?",
            [wh.second_venue_last],
        ).fetchone()[0]
        assert swings == 0  # so the day has no moves download of its own
        res = build_site(
            conn, out, SYMBOL, [wh.days[-1]], source="synthetic", methodology_md=None,
            generated_at=GENERATED_AT,
        )  # fmt: skip
    finally:
        conn.close()
    written = {p.relative_to(out).as_posix() for p in res.pages_written}
    assert {f"{SYMBOL}/binance/index.html", f"{SYMBOL}/bybit/index.html"} <= written
    assert f"{SYMBOL}/{wh.days[0].isoformat()}/index.html" not in written
    assert not stale.exists()  # the page's folder holds no download: the month's files do
    month = wh.second_venue_last.isoformat()[:7]
    scen = pq.read_table(out / SYMBOL / "downloads" / month / "scenarios.parquet")
    assert "bybit" in scen.column("venue").to_pylist()


# the map split's bars as drawn: (lo, hi, side, band text, notional text, notional)
SPLIT_TIPS = """() => {
  const out = [];
  const walk = (n) => {
    if (!n) return;
    if (n.marktype === 'rect') {
      for (const it of n.items || []) {
        const d = it.datum;
        if (d && d.txt !== undefined) out.push([d.lo, d.hi, d.side, d.band, d.txt, d.val]);
      }
    }
    for (const it of n.items || []) { if (it && it.items) walk(it); }
  };
  walk(window.__chartViews['liqmap-venues'].scenegraph().root);
  return out;
}"""
_UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}


def _check_split_tooltips(bars: list) -> None:
    """The split's tooltip texts, built in the page from each bar's numbers: the band's
    edges, the segment's notional (3 significant digits) and its share of the band's side."""
    assert bars
    shares: dict[tuple, int] = {}
    for lo, hi, side, band, txt, val in bars:
        assert band == f"${lo:,.0f} to ${hi:,.0f}", band
        m = re.fullmatch(r"\$([\d.]+)([kMB]?) \((\d+)%\)", txt)
        assert m, txt
        assert float(m.group(1)) * _UNITS[m.group(2)] == pytest.approx(val, rel=5e-3), txt
        shares[(lo, side)] = shares.get((lo, side), 0) + int(m.group(3))
    assert all(99 <= s <= 101 for s in shares.values()), shares


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_venue_switch_redraws_a_day_page_from_that_venues_data_from_file_url(built, browser):
    """Every venue, every day: on a dated page (not the latest), opened from disk, the
    venue switch redraws every chart from that venue's day data file, and back."""
    out, _, wh = built
    d = wh.second_venue_last
    page = out / SYMBOL / d.isoformat() / "index.html"
    text = page.read_text()
    assert 'data-venue="bybit"' in text and 'data-venue="binance"' in text
    want = html_specs(out, text, "bybit")["liqmap"]["layer"][1]["data"]["values"]
    agg = html_specs(out, text)["liqmap"]["layer"][1]["data"]["values"]
    assert want != agg
    v = Visit(browser, page.as_uri())
    try:
        v.check_clean()
        _check_split_tooltips(v.page.evaluate(SPLIT_TIPS))
        # the split's bands as the page rebuilt them (bottoms from the tops) are
        # the rows Python resolves from the day file
        drawn = v.page.evaluate("document.getElementById('liqmap-venues').__spec.datasets.bands")
        assert drawn == html_specs(out, text)["liqmap-venues"]["datasets"]["bands"]
        v.page.click('button[data-venue="bybit"]')
        v.page.wait_for_function("window.__chartsReady === true")
        v.check_clean()
        shown = v.page.evaluate("document.getElementById('liqmap').__spec.datasets.map.length")
        assert shown == len(want)
        assert v.page.get_attribute("[data-day-data]", "data-venue-shown") == "bybit"
        # the venue's own heatmap, composed from its own heat months
        assert v.visible_charts_drawn() >= 5
        assert v.page.is_hidden("#venue-risk")  # a split has no meaning for one venue
        v.page.click('button[data-venue="all"]')
        v.page.wait_for_function("window.__chartsReady === true")
        shown = v.page.evaluate("document.getElementById('liqmap').__spec.datasets.map.length")
        assert shown == len(agg)
        v.check_clean()
    finally:
        v.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_screener_row_expands_to_each_venue(built, browser):
    out, _, _ = built
    text = (out / "index.html").read_text()
    body = text.split(f'<tbody data-symbol="{SYMBOL}"', 1)[1].split("</tbody>", 1)[0]
    assert 'data-venue="binance" hidden' in body and 'data-venue="bybit" hidden' in body
    assert f'href="{SYMBOL}/bybit/index.html"' in body
    v = Visit(browser, (out / "index.html").as_uri(), charts=False)
    try:
        assert v.page.is_hidden('tr[data-venue="bybit"]')
        v.page.click("button.expand")
        assert v.page.is_visible('tr[data-venue="bybit"]')
        assert v.page.is_visible('tr[data-venue="binance"]')
        assert v.problems == []
    finally:
        v.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_archive_venue_switch_shows_each_venues_days_and_opens_its_charts(built, browser):
    out, _, wh = built
    rows = base_rows(wh)
    archive = out / SYMBOL / "archive" / "index.html"
    text = archive.read_text()
    assert "does not change, except its links to the days before and after it" in text
    d, last = wh.second_venue_last, wh.days[-1]
    v = Visit(browser, archive.as_uri(), charts=False)
    try:
        v.page.click('#archive-venues button[data-venue="bybit"]')
        v.page.wait_for_function(
            "document.getElementById('archive-venues').dataset.shown === 'bybit'"
        )
        cell = f'tr[data-day="{d.isoformat()}"] td[data-col="S"]'
        # the archive's S column is the headline's window (within ±10 % of price)
        shorts, _ = row_sides(rows[(d, "bybit")])
        want = fmt_usd(float(f"{shorts:.4g}"))
        assert v.page.inner_text(cell) == want
        missing = f'tr[data-day="{last.isoformat()}"] td[data-col="S"]'
        assert v.page.inner_text(missing) == "—"  # Bybit lacks the last day
        v.page.click(f'tr[data-day="{d.isoformat()}"] a')
        v.page.wait_for_function("window.__chartsReady === true")
        assert v.page.url.endswith("#venue=bybit")
        shown = v.page.get_attribute("[data-day-data]", "data-venue-shown")
        assert shown == "bybit"
        assert v.page.get_attribute('button[data-venue="bybit"]', "aria-pressed") == "true"
        v.check_clean()
    finally:
        v.close()


def test_a_venue_page_from_the_dated_pages_context_equals_one_built_alone(built, tmp_path):
    """The full build reuses each venue's latest dated-page context for its venue page; an
    incremental build of an older day builds that page alone: the same bytes."""
    out_src, _, wh = built
    out = tmp_path / "site"
    shutil.copytree(out_src, out)
    files = [f"{SYMBOL}/{v}/index.html" for v in ("binance", "bybit")]
    # the month files holding the venues' latest days (reports.day_packs)
    files += [f"data/{pack_key(f'{SYMBOL}/binance/day-{wh.days[-1].isoformat()}')}.js"]
    files += [f"data/{pack_key(f'{SYMBOL}/bybit/day-{wh.second_venue_last.isoformat()}')}.js"]
    before = {f: (out / f).read_bytes() for f in files}
    for f in files[:2]:
        (out / f).unlink()
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        build_site(
            conn, out, SYMBOL, [wh.days[0]], source="synthetic", methodology_md=None,
            generated_at=GENERATED_AT,
        )  # fmt: skip
    finally:
        conn.close()
    assert {f: (out / f).read_bytes() for f in files} == before
