"""The report site built from a fixture warehouse: pages, links, feed, numbers, increments."""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
import time
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as ET

import duckdb
import pytest
import vl_convert as vlc

from reports import headline as hl
from reports import notation as fmt
from reports.honesty import AT_RISK_CAVEAT, LIQUIDATED_CAVEAT
from reports.page_inputs import MANIFEST
from reports.site import build_site
from reports.writer import write_atomic
from tests.site_data import data_file, page_rasters, page_specs
from tests.site_fixtures import GENERATED_AT, SYMBOL, build_fixture_warehouse

pytestmark = pytest.mark.xdist_group("fixture_site")

MAX_PAGE_BYTES = 2 * 1024 * 1024
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def built(fixture_site) -> tuple[Path, Path, list[date]]:
    """The shared fixture site (read-only): (site, warehouse, days)."""
    return fixture_site.site, fixture_site.warehouse, fixture_site.days


@pytest.fixture(scope="module")
def base_rows(built) -> dict[date, dict]:
    _, db, _ = built
    conn = duckdb.connect(str(db), read_only=True)
    try:
        cur = conn.execute(
            "SELECT * FROM mart.daily_metrics WHERE venue = 'all' ORDER BY day, scenario"
        )
        names = [d[0] for d in cur.description]
        out: dict[date, dict] = {}
        for r in cur.fetchall():
            row = dict(zip(names, r, strict=True))
            out.setdefault(row["day"], {})[row["scenario"]] = row
        return out
    finally:
        conn.close()


class _Refs(HTMLParser):
    """Collect (tag, attribute, url) references and the JSON chart specs of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.specs: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for attr in ("href", "src"):
            if a.get(attr) is not None:
                self.refs.append((tag, attr, a[attr]))
        self._in_json = (
            tag == "script"
            and a.get("type") == "application/json"
            and a.get("id", "").startswith("spec-")
        )

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_json = False

    def handle_data(self, data):
        if self._in_json:
            self.specs.append(data)


def parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def resolve(page: Path, url: str, out: Path) -> Path:
    parts = urlsplit(url)
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    assert out.resolve() in target.parents or target == out.resolve(), (page, url)
    return target


def test_every_page_exists(built):
    out, _, days = built
    for d in days:
        assert (out / SYMBOL / d.isoformat() / "index.html").is_file()
        # the downloads are the month's (reports.downloads), none beside the page
        month = out / SYMBOL / "downloads" / d.isoformat()[:7]
        assert sorted(p.name for p in (out / SYMBOL / d.isoformat()).iterdir()) == ["index.html"]
        assert (month / "daily.csv").is_file() and not (month / "daily.parquet").exists()
        # the scenario rows: Parquet only; the heatmap and the maps are in the data API's
        # shared heat month and day files, not repeated
        assert (month / "scenarios.parquet").is_file()
        assert not (month / "scenarios.csv").exists()
        for name in ("heatmap", "liq_map"):
            assert not (month / f"{name}.parquet").exists()
        assert (out / "data" / SYMBOL / "all" / f"heat-{d.isoformat()[:7]}.js").is_file()
        # the old address of a BTC day page forwards to its permalink
        redirect = (out / d.isoformat() / "index.html").read_text()
        assert f'url=../{SYMBOL}/{d.isoformat()}/index.html"' in redirect
    for rel in (
        "index.html",
        f"{SYMBOL}/index.html",
        f"{SYMBOL}/archive/index.html",
        f"{SYMBOL}/days.js",
        "archive/index.html",
        "methodology/index.html",
        "params/index.html",
        "feed.xml",
        "assets/vega-bundle.js",
        "assets/charts.js",
        "assets/site.css",
    ):
        assert (out / rel).is_file(), rel
    assert not [p for p in out.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"]


def test_links_and_assets_resolve(built):
    out, _, _ = built
    checked = 0
    for page in html_pages(out):
        refs = parse(page)
        for tag, attr, url in refs.refs:
            if url.startswith(("data:", "mailto:")):
                continue
            if url.startswith("#"):
                assert url[1:] in refs.ids, (page, url)
                continue
            if url.startswith(("http://", "https://", "//")):
                # only plain links may point off-site; nothing the page loads may
                assert tag == "a", (page, tag, attr, url)
                continue
            target = resolve(page, url, out)
            assert target.is_file(), f"{page.relative_to(out)}: {tag} {attr}={url}"
            checked += 1
    assert checked > 100


def test_no_remote_sources(built):
    out, _, _ = built
    remote = re.compile(r"^\s*(https?:)?//", re.I)
    for page in html_pages(out):
        for tag, _attr, url in parse(page).refs:
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio"):
                assert not remote.match(url), (page, tag, url)
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", text.replace("<a ", "")), page
    for asset in ("charts.js", "site.css"):
        assert "http://" not in (out / "assets" / asset).read_text()
        assert "https://" not in (out / "assets" / asset).read_text()


def test_feed_has_one_entry_per_day(built, base_rows):
    out, _, days = built
    root = ET.parse(out / "feed.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(days)
    seen = set()
    for e in entries:
        link = e.find(f"{ATOM}link").get("href")
        assert (out / link).is_file()
        assert link.split("/")[0] == SYMBOL
        day = date.fromisoformat(link.split("/")[1])
        seen.add(day)
        cur = base_rows[day]["base"]
        summary = e.find(f"{ATOM}summary").text
        assert fmt.fmt_usd(cur["shorts_at_risk"]) in summary
        assert fmt.fmt_usd(cur["longs_at_risk"]) in summary
        content = e.find(f"{ATOM}content").text
        # the near-spot imbalance leads (title and first item); the whole map is context
        ratio = fmt.fmt_imbalance(cur["shorts_at_risk_10pct"], cur["longs_at_risk_10pct"])
        assert fmt.RATIO_PATTERN.match(ratio) or ratio in fmt.RATIO_SPECIAL
        assert f"Imbalance within ±10%: {ratio}" in content
        whole = fmt.fmt_imbalance(cur["shorts_at_risk"], cur["longs_at_risk"])
        assert f"Imbalance over the whole map (context): {whole}" in content
        # the source is synthetic: a feed reader, which shows no banner, must say so
        title = e.find(f"{ATOM}title").text
        assert title.startswith("[SYNTHETIC DATA] ") and f": {ratio} within ±10%" in title
        assert summary.startswith("[SYNTHETIC DATA] ") and "SYNTHETIC DATA" in content
    assert root.find(f"{ATOM}title").text.startswith("[SYNTHETIC DATA]")
    assert seen == set(days)
    # every page advertises the feed
    for page in html_pages(out):
        assert 'rel="alternate" type="application/atom+xml"' in page.read_text()


def _text(page: Path) -> str:
    return html.unescape(page.read_text(encoding="utf-8"))


def test_numbers_on_the_page_equal_the_mart(built, base_rows):
    out, _, days = built
    for d in days:
        scen = base_rows[d]
        cur = scen["base"]
        text = _text(out / SYMBOL / d.isoformat() / "index.html")
        shown = {
            "shorts_at_risk": fmt.fmt_usd(cur["shorts_at_risk"]),
            "longs_at_risk": fmt.fmt_usd(cur["longs_at_risk"]),
        }
        for key, value in shown.items():
            assert f'data-metric="{key}">{value}<' in text, (d, key, value)
        assert hl.headline(cur, scen) in text
        # independent of the formatter: the headline figures are the mart values rounded
        s = cur["shorts_at_risk"]
        assert s > cur["longs_at_risk"] and 1e9 <= s < 99.95e9  # the fixture's regime
        close = math.floor(cur["close_price"] / 100 + 0.5) * 100
        assert f"Within ±10% of ${close:,.0f} the model puts" in text
        ratio = cur["shorts_at_risk"] / cur["longs_at_risk"]
        expected_ratio = f"{ratio:.0f}:1" if ratio >= 9.95 else f"{ratio:.1f}:1"
        assert f"whole map, for context: {expected_ratio} shorts (${s / 1e9:.1f}B shorts" in text
        assert f'data-metric="imbalance_whole_map">{expected_ratio} shorts<' in text
        near = hl.ratio_of(cur)
        assert f'data-metric="imbalance">{near}<' in text and f"longs below: {near}" in text
        for side in ("above", "below"):  # both sides' 90 % points, always
            q = math.floor(cur[f"p90_{side}_price"] / 100 + 0.5) * 100
            assert f"${q:,.0f}" in text
        for key, row in scen.items():
            # the cells' and rows' end tags are omitted (valid HTML, see _table.html.j2)
            m = re.search(rf'<tr[^>]*data-scenario="{key}"[^>]*>(.*?)(?:<tr|</t|\n)', text)
            assert m, (d, key)
            cells = re.findall(r"<t[dh][^>]*>([^<]*)", m.group(1))
            assert cells[1] == fmt.fmt_usd(row["longs_at_risk"])
            assert cells[2] == fmt.fmt_usd(row["shorts_at_risk"])
        # the fixture's history is shorter than the lookback: every page says so
        assert f"The model has seen {cur['history_days']} of 365 days of history" in text
        assert 'data-notice="warmup"' in text
        # each page names its as-of time, source and model parameter set
        assert f"{d.isoformat()} 24:00 UTC" in text
        assert cur["params_hash"] in text
        assert "Synthetic demo data" in text
        # its values are on the site's one parameter sets page, not in every day page
        assert f'params/index.html#p-{cur["params_hash"]}"' in text
        assert "bin_width_usd" not in text
    params = _text(out / "params" / "index.html")
    for h in {base_rows[d]["base"]["params_hash"] for d in days}:
        assert f'id="p-{h}"' in params
    assert "bin_width_usd" in params


def test_symbol_index_shows_the_latest_day(built, base_rows):
    out, _, days = built
    text = _text(out / SYMBOL / "index.html")
    latest = days[-1]
    assert hl.headline(base_rows[latest]["base"], base_rows[latest]) in text
    assert f'href="{latest.isoformat()}/index.html"' in text


def test_overview_links_to_the_symbol(built, base_rows):
    out, _, days = built
    text = _text(out / "index.html")
    latest = days[-1]
    assert f'href="{SYMBOL}/index.html"' in text
    assert f'href="{SYMBOL}/{latest.isoformat()}/index.html"' in text
    assert hl.ratio_of(base_rows[latest]["base"]) in text
    assert '<svg class="small-map"' in text


def test_prev_next_links(built):
    out, _, days = built
    for i, d in enumerate(days):
        text = (out / SYMBOL / d.isoformat() / "index.html").read_text()
        if i:
            assert f'rel="prev" href="../{days[i - 1].isoformat()}/index.html"' in text
        else:
            assert 'rel="prev"' not in text
        if i + 1 < len(days):
            assert f'rel="next" href="../{days[i + 1].isoformat()}/index.html"' in text
        else:
            assert 'href="../index.html">Latest report' in text


def test_archive_lists_every_day_by_month(built):
    out, _, days = built
    text = (out / SYMBOL / "archive" / "index.html").read_text()
    for d in days:
        assert f'href="../{d.isoformat()}/index.html"' in text
    assert "February 2026" in text


def test_methodology_rendered_from_markdown(built):
    out, _, _ = built
    text = (out / "methodology" / "index.html").read_text()
    assert "<h1" in text and "Methodology" in text
    assert "<table>" in text  # markdown tables extension


def test_how_to_read_is_on_the_methodology_page_not_on_every_day(built):
    """What every day page would repeat (how to read each figure, the model caveats) is
    written once, in the methodology page's "How to read a day page"; each day page links
    to it once and keeps only its own one-line captions."""
    out, _, days = built
    method = out / "methodology" / "index.html"
    ids = parse(method).ids
    text = html.unescape(method.read_text(encoding="utf-8"))
    assert "how-to-read" in ids
    for moved in (
        "Colour is clamped at the window's 99th percentile",
        "a double click restores the window",
        "The 1m, 3m and 1y heatmaps do not take the switch",
        "The base model closes positions pro-rata as open interest falls",
        "the price by which 90 % of the side would be liquidated",
        "Curves: how much would be liquidated in total if price moved from spot",
        "positive means longs pay shorts",
        AT_RISK_CAVEAT.long,
        LIQUIDATED_CAVEAT.long,
    ):
        assert moved in text, moved
    for d in days:
        page = out / SYMBOL / d.isoformat() / "index.html"
        day_text = html.unescape(page.read_text(encoding="utf-8"))
        assert "Colour is clamped" not in day_text and AT_RISK_CAVEAT.long not in day_text
        anchors = [
            urlsplit(url).fragment
            for tag, _attr, url in parse(page).refs
            if tag == "a" and urlsplit(url).path.endswith("methodology/index.html")
        ]
        # one link a page, to the whole section (issue 22), not one per figure
        assert [a for a in anchors if a] == ["how-to-read"], anchors


def test_pages_under_two_megabytes(built):
    out, _, _ = built
    for page in html_pages(out):
        assert page.stat().st_size < MAX_PAGE_BYTES, page


def test_chart_specs_compile(built):
    out, _, days = built
    page = out / SYMBOL / days[-1].isoformat() / "index.html"
    assert parse(page).specs == []  # no chart data inline: the page is a shell
    specs = page_specs(out, page)
    assert len(specs) >= 7  # 3 heatmap timeframes (10 days of history) + 4 charts
    for spec in specs.values():
        assert spec.get("description")
        vega = vlc.vegalite_to_vega(spec)
        assert vega["marks"]


def test_heatmap_modes(built):
    out, _, days = built
    text = (out / SYMBOL / days[-1].isoformat() / "index.html").read_text()
    # the tabs are built by the page script from the panels (checked in the browser,
    # test_site_browser.test_tabs_are_keyboard_operable): the page names them
    assert 'data-tabs="Heatmap timeframe"' in text and 'role="tab"' not in text
    for key in ("24h", "1w", "1m"):
        assert f'id="panel-heat-{key}" data-tab="{key}"' in text
    page = out / SYMBOL / days[-1].isoformat() / "index.html"
    specs = page_specs(out, page)
    # every timeframe is a raster, composed in the page from the shared heat tiles
    assert all('"type": "image"' in json.dumps(specs[f"heat-{k}"]) for k in ("24h", "1w", "1m"))
    rasters = page_rasters(out, page)
    # the short timeframes offer the layer views
    for key in ("24h", "1w"):
        meta = rasters[f"heat-{key}"]
        assert set(meta["layers"]) == {
            f"{sc}/{layer}"
            for sc in ("base", "never_close")
            for layer in ("all", "high", "mid", "low")
        }


def test_incremental_build_touches_only_the_given_day(tmp_path, built):
    out_src, db, days = built
    out = tmp_path / "site"
    shutil.copytree(out_src, out, copy_function=shutil.copy2)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    time.sleep(0.05)
    target = days[-1]
    conn = duckdb.connect(str(db), read_only=True)
    try:
        res = build_site(
            conn,
            out,
            SYMBOL,
            [target],
            source="synthetic",
            methodology_md=None,
            generated_at=GENERATED_AT,
        )
    finally:
        conn.close()
    assert res.days == [target]
    written = {p.relative_to(out).as_posix() for p in res.pages_written}
    assert written == {
        f"{SYMBOL}/{target.isoformat()}/index.html",
        f"{SYMBOL}/index.html",
        f"{SYMBOL}/archive/index.html",
        "index.html",
        "archive/index.html",
        "methodology/index.html",
        "params/index.html",
        "feed.xml",
    }
    for p, (mtime, data) in before.items():
        rel = p.relative_to(out).as_posix()
        if {d.isoformat() for d in days[:-1]} & set(rel.split("/")):
            assert p.stat().st_mtime_ns == mtime, rel
            assert p.read_bytes() == data, rel
    bundle = out / "assets" / "vega-bundle.js"
    assert bundle.stat().st_mtime_ns == before[bundle][0]  # identical bundle not rewritten
    assert (out / SYMBOL / target.isoformat() / "index.html").stat().st_mtime_ns != before[
        out / SYMBOL / target.isoformat() / "index.html"
    ][0]


def test_non_synthetic_source_has_no_banner(tmp_path, built):
    _, db, days = built
    out = tmp_path / "site"
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(conn, out, SYMBOL, [days[-1]], source="mirror", methodology_md=None)
    finally:
        conn.close()
    text = (out / SYMBOL / "index.html").read_text()
    assert "Synthetic demo data" not in text
    assert "Local mirror" in text
    # without a methodology file the page still exists and says so
    assert "not available" in (out / "methodology" / "index.html").read_text()


def test_unknown_day_is_an_error(tmp_path, built):
    _, db, _ = built
    conn = duckdb.connect(str(db), read_only=True)
    try:
        with pytest.raises(ValueError, match="no mart.daily_metrics rows"):
            build_site(
                conn, tmp_path, SYMBOL, [date(2020, 1, 1)], source="synthetic", methodology_md=None
            )
    finally:
        conn.close()


def test_write_atomic_never_leaves_half_a_file(tmp_path, monkeypatch):
    target = tmp_path / "page.html"
    write_atomic(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_stale_temp_files_from_a_killed_build_are_removed(tmp_path, built):
    out_src, db, days = built
    out = tmp_path / "site"
    shutil.copytree(out_src, out)
    stale = out / SYMBOL / days[0].isoformat() / ".index.html.abc123.tmp"
    stale.write_text("<html><body>half a pa")
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(conn, out, SYMBOL, [days[-1]], source="synthetic", methodology_md=None)
    finally:
        conn.close()
    assert not stale.exists()
    # no temp file left (the one dot file is the pages' input manifest, reports.page_inputs)
    left = [p for p in out.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert [p.name for p in left] == [MANIFEST]


def test_site_page_failpoint_fires_between_temp_write_and_rename(tmp_path, monkeypatch):
    import transforms.atomic as writer_mod

    hits = []

    def fake_failpoint(name):
        hits.append(name)
        raise KeyboardInterrupt  # stands in for SIGKILL

    monkeypatch.setattr(writer_mod, "failpoint", fake_failpoint)
    target = tmp_path / "p.html"
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"<html></html>", crash_point="site-page")
    assert hits == ["site-page"] and not target.exists()


def test_moves_shown_only_once_confirmed(built):
    """A day page lists a swing as finished only from the day its confirming reversal came,
    not from the day of its extreme; the running swing appears once, on the latest day. The
    month's moves.csv holds each confirmed swing once, in the month it was confirmed, and
    never the running one (the next day's run replaces it)."""
    import csv

    from reports.cards.moves import day_moves
    from reports.loaders import load_mart_data

    out, db, days = built
    conn = duckdb.connect(str(db), read_only=True)
    try:
        mv = conn.execute(
            "SELECT start_ts, end_ts, confirmed_ts, confirmed FROM mart.moves WHERE venue = 'all' "
            "ORDER BY start_ts"
        ).fetchall()
        data = load_mart_data(conn, SYMBOL)
    finally:
        conn.close()
    late = [m for m in mv if m[3] and m[2].date() > m[1].date()]
    assert late, "fixture needs a swing confirmed after the day of its extreme"
    assert sum(1 for m in mv if not m[3]) == 1

    for start, end, conf_ts, _ in late:
        for d in days:
            shown = [m for m in day_moves(data, d) if m["start_ts"] == start]
            finished = [m for m in shown if m["confirmed"]]
            if d < conf_ts.date():
                assert not finished, (d, start, end, conf_ts)
            elif d >= conf_ts.date():
                assert len(finished) == 1, (d, start)
    assert sum(not m["confirmed"] for m in day_moves(data, days[-1])) == 1
    assert all(m["confirmed"] for d in days[:-1] for m in day_moves(data, d))

    listed: list[tuple[str, str]] = []  # (month folder, swing start) of every month file row
    for path in sorted((out / SYMBOL / "downloads").glob("*/moves.csv")):
        for r in csv.DictReader(path.open()):
            listed.append((path.parent.name, r["start_ts"][:16]))
    confirmed = sorted(
        (max(conf_ts.date(), days[0]).isoformat()[:7], start.isoformat(" ")[:16])
        for start, _, conf_ts, ok in mv
        if ok
    )
    assert sorted(listed) == confirmed  # each confirmed swing once, the running one never


def test_feed_keeps_each_symbols_last_60_days(tmp_path):
    from reports.loaders import load_mart_data
    from reports.pages.feed import FEED_DAYS, feed_xml

    days = build_fixture_warehouse(tmp_path / "w.duckdb", FEED_DAYS + 2)
    conn = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        data = load_mart_data(conn, SYMBOL)
    finally:
        conn.close()
    root = ET.fromstring(feed_xml([(data, days)], GENERATED_AT, True))
    links = [e.find(f"{ATOM}link").get("href") for e in root.findall(f"{ATOM}entry")]
    assert len(links) == FEED_DAYS == 60
    assert links[0] == f"{SYMBOL}/{days[-1].isoformat()}/index.html"
    assert links[-1] == f"{SYMBOL}/{days[2].isoformat()}/index.html"


def test_moves_charts_read_the_shared_swings_as_known_that_day(built):
    """Every day file's moves chart is a `$moves` reference to the symbol's shared moves
    file (no swing written into it but the running one) and stands for exactly the rows
    the card drew from that day's swings: the last ones confirmed by the end of the day,
    never one confirmed later."""
    from reports.cards.moves import day_moves, moves_chart_rows, realized_by_start
    from reports.datafiles import resolve
    from reports.loaders import load_mart_data
    from reports.realized_data import load_realized_day

    out, db, days = built
    shared = data_file(out, f"{SYMBOL}/all/moves")
    assert shared["kind"] == "moves" and shared["moves"]["rows"]

    def load(k):
        return data_file(out, k)

    conn = duckdb.connect(str(db), read_only=True)
    try:
        data = load_mart_data(conn, SYMBOL)
        later = 0
        for d in days:
            mv = day_moves(data, d)
            day = data_file(out, f"{SYMBOL}/all/day-{d.isoformat()}")
            if not mv:
                assert "moves" not in day["charts"]
                continue
            value = day["charts"]["moves"]["v"]["rows"]
            assert value["$moves"] == f"{SYMBOL}/all/moves"
            assert len(value["run"]) == sum(not m["confirmed"] for m in mv)
            realized = load_realized_day(conn, SYMBOL, d, [m["start_ts"] for m in mv]).moves
            want = moves_chart_rows(mv, realized_by_start(realized, "all"))
            assert resolve(value, load) == json.loads(json.dumps(want)), d
            # the description: its fixed wording in assets/specs.js, the text the page prints
            desc = day["charts"]["moves"]["v"]["desc"]
            assert desc["$text"] == "moves_desc"
            text = resolve(desc, load)
            assert text.startswith(
                f"Modelled and realized liquidations per price swing, {SYMBOL}: the last "
                f"{len(mv)} swings beyond the zigzag threshold up to {d}, longs and shorts "
                "liquidated in each, realized (every collecting venue summed) beside modelled. "
                "Latest: "
            ) and text.endswith(".")
            page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
            caption = (
                f'id="moves"></div>\n<figcaption data-printed-caption>{html.escape(text, False)}<'
            )
            assert caption in page
            later += sum(r[1] > d.isoformat() for r in shared["moves"]["rows"])
    finally:
        conn.close()
    assert later  # some day's page leaves out swings the shared file holds
