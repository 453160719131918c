"""The heatmap's hourly price line (from `mart.price_hourly`) and the days.js list that lets
immutable day pages link to days published after them."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from reports.cards import heatmap as heat_card_mod
from reports.site import build_site
from tests.site_data import page_specs
from tests.site_fixtures import (
    GENERATED_AT,
    SYMBOL,
    build_fixture_warehouse,
    drop_days_after,
)

pytestmark = pytest.mark.xdist_group("fixture_site")

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def built(fixture_site) -> tuple[Path, Path, list[date]]:
    """The shared fixture site (read-only): (site, warehouse, days)."""
    return fixture_site.site, fixture_site.warehouse, fixture_site.days


def specs(page: Path) -> dict[str, dict]:
    """Every chart's whole spec, built from the page's day data file as the browser does."""
    return page_specs(None, page)


def price_line(spec: dict) -> list[dict]:
    """The heatmap layer whose inline data are {x, c} points: the price line."""
    for layer in spec["layer"]:
        values = layer.get("data", {}).get("values")
        if layer.get("mark", {}).get("type") == "line" and isinstance(values, list):
            return values
    raise AssertionError("no price line layer")


def candle_bars(spec: dict) -> list[dict]:
    """The heatmap layer whose inline data are OHLC candles {x, x2, o, h, l, c}."""
    for layer in spec["layer"]:
        values = layer.get("data", {}).get("values")
        if layer.get("mark", {}).get("type") == "bar" and isinstance(values, list):
            return values
    raise AssertionError("no candle layer")


def hourly(db: Path, t_from: datetime, t_to: datetime) -> dict[int, float]:
    """{close time in ms: close} of the hours starting in [t_from, t_to)."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        rows = conn.execute(
            "SELECT epoch_ms(ts) + 3600000, close FROM mart.price_hourly "
            "WHERE venue = 'all' AND symbol = ? AND ts >= ? AND ts < ? ORDER BY ts",
            [SYMBOL, t_from, t_to],
        ).fetchall()
    finally:
        conn.close()
    return {int(x): round(c, 2) for x, c in rows}


def day_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def test_fixture_hourly_mart_matches_the_daily_close(built):
    _, db, days = built
    conn = duckdb.connect(str(db), read_only=True)
    try:
        per_day = conn.execute(
            "SELECT day, count(*), arg_max(close, ts) FROM mart.price_hourly "
            "WHERE venue = 'all' GROUP BY day"
        ).fetchall()
        closes = dict(
            conn.execute(
                "SELECT day, close_price FROM mart.daily_metrics "
                "WHERE scenario = 'base' AND venue = 'all'"
            ).fetchall()
        )
    finally:
        conn.close()
    assert sorted(d for d, _, _ in per_day) == days
    for d, n, last in per_day:
        assert n == 24
        assert last == pytest.approx(closes[d])


def test_day_page_candles_are_that_days_hourly_bars(built):
    out, db, days = built
    for d in days:
        s = specs(out / SYMBOL / d.isoformat() / "index.html")
        bars = candle_bars(s["heat-24h"])
        t0 = datetime(d.year, d.month, d.day)
        want = hourly(db, t0, t0 + timedelta(days=1))  # {close time: close}
        assert len(want) == 24 and len(bars) == 24
        got = {b["x2"]: b["c"] for b in bars}
        assert got == want, d  # one candle per hour, closing at the mart's hourly close
        assert all(b["x2"] - b["x"] == HOUR_MS for b in bars)
        assert bars[0]["x"] == day_ms(d) and bars[-1]["x2"] == day_ms(d) + 24 * HOUR_MS
        assert "Price: 1-hour candles." in s["heat-24h"]["description"]
        # the week tab has 4-hour candles, each closing at the close of its last hour
        week = candle_bars(s["heat-1w"])
        assert {b["x2"] - b["x"] for b in week} == {4 * HOUR_MS}
        closes = hourly(db, datetime(2000, 1, 1), datetime(2100, 1, 1))
        assert all(closes[b["x2"]] == b["c"] for b in week)


def test_long_windows_are_thinned_to_every_nth_hour(tmp_path, built, monkeypatch):
    _, db, days = built
    monkeypatch.setattr(heat_card_mod, "MAX_LINE_POINTS", 50)
    monkeypatch.setattr(heat_card_mod, "CANDLE_HOURS", {})  # the close line, as for a year
    out = tmp_path / "site"
    d = days[-1]
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(conn, out, SYMBOL, [d], source="synthetic", methodology_md=None)
    finally:
        conn.close()
    s = specs(out / SYMBOL / d.isoformat() / "index.html")
    assert len(price_line(s["heat-24h"])) == 25  # under the cap: every hour
    week = price_line(s["heat-1w"])
    step = 4 * HOUR_MS  # 169 hourly points (7 days + the hour before) / 50, rounded up
    assert len(week) <= 50
    assert week[-1]["x"] == day_ms(d) + 24 * HOUR_MS  # aligned to the window's end
    assert {b["x"] - a["x"] for a, b in zip(week, week[1:], strict=False)} == {step}
    closes = hourly(db, datetime(2000, 1, 1), datetime(2100, 1, 1))
    assert all(closes[p["x"]] == p["c"] for p in week)  # real closes, not averages
    assert "white line: close every 4 hours." in s["heat-1w"]["description"]


def test_daily_closes_fill_in_where_the_hourly_mart_is_empty(tmp_path, built, monkeypatch):
    """(the week drawn as a close line, as the year is: candles need hourly prices)"""
    monkeypatch.setattr(heat_card_mod, "CANDLE_HOURS", {})
    _, db_src, days = built
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(db_src, db)
    d, cut = days[-1], days[-3]
    conn = duckdb.connect(str(db))
    try:
        conn.execute("DELETE FROM mart.price_hourly WHERE day < ?", [cut])
    finally:
        conn.close()

    def week_line(out: Path) -> tuple[list[dict], str]:
        conn = duckdb.connect(str(db), read_only=True)
        try:
            build_site(conn, out, SYMBOL, [d], source="synthetic", methodology_md=None)
        finally:
            conn.close()
        spec = specs(out / SYMBOL / d.isoformat() / "index.html")["heat-1w"]
        return price_line(spec), spec["description"]

    line, desc = week_line(tmp_path / "partial")
    xs = [p["x"] for p in line]
    assert xs == sorted(xs)
    first_hour = day_ms(cut) + HOUR_MS
    before = [x for x in xs if x < first_hour]
    assert before and all(x % (24 * HOUR_MS) == 0 for x in before)  # daily, at day ends
    assert len([x for x in xs if x >= first_hour]) == 3 * 24
    assert "hourly close (daily before hourly prices begin)" in desc

    conn = duckdb.connect(str(db))
    try:
        conn.execute("DROP TABLE mart.price_hourly")  # a warehouse from before the mart
    finally:
        conn.close()
    line, desc = week_line(tmp_path / "legacy")
    assert [p["x"] % (24 * HOUR_MS) for p in line] == [0] * len(line)
    assert "white line: daily close." in desc


def test_days_js_lists_the_published_days(built):
    out, _, days = built
    text = (out / SYMBOL / "days.js").read_text()
    m = re.fullmatch(r"/\*[^*]*\*/\nwindow\.LIQMAP_DAYS = (\[.*\]);\n", text)
    assert m, text
    assert json.loads(m.group(1)) == [d.isoformat() for d in days]
    for asset in (f"{SYMBOL}/days.js", "assets/daynav.js"):
        body = (out / asset).read_text()
        assert "http://" not in body and "https://" not in body
    scripts = re.compile(r'<script src="([^"]+)"></script>')
    for d in days:
        page = (out / SYMBOL / d.isoformat() / "index.html").read_text()
        assert scripts.findall(page)[:2] == ["../days.js", "../../assets/daynav.js"]
        assert f'data-day="{d.isoformat()}" data-root="../"' in page
    index = (out / SYMBOL / "index.html").read_text()
    assert "days.js" not in index and "data-day=" not in index


def incremental_site(tmp: Path) -> tuple[Path, list[date], dict[Path, tuple[int, bytes]]]:
    """A site built while day N was the latest, then day N+1 built incrementally.

    Returns (site dir, days, {day N page: (mtime_ns, bytes) before the second build})."""
    db_full = tmp / "full.duckdb"
    days = build_fixture_warehouse(db_full, 6)
    db_old = tmp / "old.duckdb"
    shutil.copy(db_full, db_old)
    drop_days_after(db_old, days[-2])
    out = tmp / "site"
    conn = duckdb.connect(str(db_old), read_only=True)
    try:
        build_site(
            conn, out, SYMBOL, None, source="synthetic", methodology_md=None, generated_at=None
        )
    finally:
        conn.close()
    page = out / SYMBOL / days[-2].isoformat() / "index.html"
    before = {page: (page.stat().st_mtime_ns, page.read_bytes())}
    time.sleep(0.05)
    conn = duckdb.connect(str(db_full), read_only=True)
    try:
        res = build_site(
            conn,
            out,
            SYMBOL,
            [days[-1]],
            source="synthetic",
            methodology_md=None,
            generated_at=GENERATED_AT,
        )
    finally:
        conn.close()
    assert res.days == [days[-1]]
    return out, days, before


def test_incremental_build_extends_days_js_and_links_the_previous_page(tmp_path):
    """The page of the day before gets its "next" link (as a build from scratch writes it)
    and no other change; days.js lists the new day."""
    out, days, before = incremental_site(tmp_path)
    ((page, (mtime, data)),) = before.items()
    text = data.decode()
    assert 'rel="next"' not in text  # rendered while it was the latest day: the fallback
    fallback = '<a data-nav="next" href="../index.html">Latest report →</a>'
    assert fallback in text
    nxt = days[-1].isoformat()
    link = f'<a rel="next" href="../{nxt}/index.html" data-nav="next">{nxt} →</a>'
    assert page.stat().st_mtime_ns != mtime
    assert page.read_text() == text.replace(fallback, link)
    listed = re.search(r"LIQMAP_DAYS = (\[.*\]);", (out / SYMBOL / "days.js").read_text())
    assert json.loads(listed.group(1)) == [d.isoformat() for d in days]
