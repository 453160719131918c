"""Adding a day to the site (reports.site, reports.page_inputs): the incremental build gives
the site a build from scratch gives, byte for byte, touching only what changed.

A daily run adds a day and rewrites the day before (its last bar is refreshed by the next
day's first snapshot): the site built day by day must still equal the site built at once
from the final warehouse, with the previous page's "next" link and the venue switch of
every old page as a build from scratch writes them. An incremental build reads only the
last hours of the heatmap (reports.loaders.HELD_DAYS; the cube's grid from its rows'
extent): the tests below hold fewer days than the fixture has, so that path is compared
too, and its fallback to every hour.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from reports import day_packs, loaders, queries
from reports.datafiles import as_json
from reports.page_inputs import MANIFEST
from reports.site import SiteBuildResult, build_site
from tests.site_fixtures import (
    GENERATED_AT,
    SYMBOL,
    add_venue,
    build_fixture_warehouse,
    drop_days_after,
)

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_sites", ROOT / "scripts/compare_sites.py")
compare_sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_sites)

DAYS = 6


def _build(db: Path, out: Path, days: list[date] | None) -> SiteBuildResult:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return build_site(
            conn, out, SYMBOL, days, source="synthetic", methodology_md=None,
            generated_at=GENERATED_AT,
        )  # fmt: skip
    finally:
        conn.close()


def _same_bytes(a: Path, b: Path) -> list[str]:
    """Every file of both sites, byte for byte (the build time is the same in both)."""
    fa = {p.relative_to(a).as_posix(): p for p in a.rglob("*") if p.is_file()}
    fb = {p.relative_to(b).as_posix(): p for p in b.rglob("*") if p.is_file()}
    out = [f"only in one site: {rel}" for rel in sorted(fa.keys() ^ fb.keys())]
    out += [
        rel for rel in sorted(fa.keys() & fb.keys()) if fa[rel].read_bytes() != fb[rel].read_bytes()
    ]
    return out


def _day_docs(out: Path) -> dict[str, str]:
    """Day key -> JSON text of every day document in the site's month files."""
    out_docs = {}
    for f in (out / "data").rglob(f"{day_packs.KIND}-*.js"):
        prefix = f.parent.relative_to(out / "data").as_posix()
        for d, doc in day_packs.read_days(f).items():
            out_docs[f"{prefix}/day-{d}"] = as_json(doc)
    return out_docs


def _stamps(out: Path) -> dict[str, int]:
    return {
        p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def two_venues(tmp_path_factory) -> tuple[Path, list[date], Path]:
    """(warehouse with two venues, its days, the site built from scratch from it)."""
    tmp = tmp_path_factory.mktemp("incremental")
    db = tmp / "warehouse.duckdb"
    days = build_fixture_warehouse(db, DAYS)
    add_venue(db, "bybit", 0.6)
    scratch = tmp / "scratch"
    _build(db, scratch, None)
    return db, days, scratch


def _whole_cubes(monkeypatch, held_days: int) -> list[int]:
    """Hold the heatmap cube's hours from `held_days` before the first day rendered; the
    list returned counts the reads of every hour of a page's cube (HeatCube.load)."""
    monkeypatch.setattr(loaders, "HELD_DAYS", held_days)
    load, calls = queries.HeatCube.load.__func__, []

    def counted(cls, *args, **kw):
        if kw.get("max_bins", queries.MAX_BINS) == queries.MAX_BINS:
            calls.append(1)
        return load(cls, *args, **kw)

    monkeypatch.setattr(queries.HeatCube, "load", classmethod(counted))
    return calls


def _before(tmp_path: Path, db: Path, last: date) -> Path:
    before = tmp_path / "before.duckdb"
    shutil.copy(db, before)
    drop_days_after(before, last)
    return before


def test_adding_a_day_that_rewrote_the_day_before_equals_a_build_from_scratch(
    tmp_path, two_venues, monkeypatch
):
    db, days, scratch = two_venues
    before = _before(tmp_path, db, days[-2])
    # the day before as it was before the new day's run refreshed its last bar
    conn = duckdb.connect(str(before))
    try:
        conn.execute(
            "UPDATE mart.daily_metrics SET oi_value = oi_value * 1.01 WHERE day = ?", [days[-2]]
        )
        conn.execute(
            "UPDATE mart.liq_heatmap SET long_notional = long_notional * 1.01 WHERE day = ?",
            [days[-2]],
        )
    finally:
        conn.close()
    out = tmp_path / "site"
    _build(before, out, None)
    old, old_docs = _stamps(out), _day_docs(out)
    time.sleep(0.05)
    whole = _whole_cubes(monkeypatch, 1)  # the cubes hold the hours from days[-3] on
    res = _build(db, out, [days[-1]])
    assert not whole  # no page's cube read every hour
    assert _same_bytes(scratch, out) == []
    assert compare_sites.compare(scratch, out) == []
    # the changed day was rendered again, the days before it were not touched: their pages
    # kept, their documents in the rewritten month file the same bytes
    assert res.days == days[-2:]
    now, docs = _stamps(out), _day_docs(out)
    for d in days[:-2]:
        assert now[f"{SYMBOL}/{d}/index.html"] == old[f"{SYMBOL}/{d}/index.html"], d
        for venue in ("all", "binance", "bybit"):
            k = f"{SYMBOL}/{venue}/day-{d}"
            assert docs[k] == old_docs[k], k


def test_adding_a_day_rewrites_only_the_previous_pages_next_link(tmp_path, two_venues, monkeypatch):
    db, days, scratch = two_venues
    before = _before(tmp_path, db, days[-2])
    out = tmp_path / "site"
    _build(before, out, None)
    prev_page = out / SYMBOL / days[-2].isoformat() / "index.html"
    assert "Latest report →" in prev_page.read_text()
    old, old_docs = _stamps(out), _day_docs(out)
    time.sleep(0.05)
    # the cubes hold no hour (from the day after the new one): its largest bands read them all
    whole = _whole_cubes(monkeypatch, -1)
    res = _build(db, out, [days[-1]])
    assert whole
    assert res.days == [days[-1]]  # the day before is not rendered again: its inputs are the same
    assert _same_bytes(scratch, out) == []
    page = prev_page.read_text()
    assert f'<a rel="next" href="../{days[-1]}/index.html" data-nav="next">' in page
    assert "Latest report →" not in page
    now, docs = _stamps(out), _day_docs(out)
    assert now[f"{SYMBOL}/{days[-2]}/index.html"] != old[f"{SYMBOL}/{days[-2]}/index.html"]
    # the month file holding the day before is rewritten (the new day joins it); every
    # earlier day's document in it is the same bytes
    for venue in ("all", "binance", "bybit"):
        for d in days[:-1]:
            k = f"{SYMBOL}/{venue}/day-{d}"
            assert docs[k] == old_docs[k], k
        assert f"{SYMBOL}/{venue}/day-{days[-1]}" in docs
    # every older page: untouched, and still what a build from scratch writes (the venue
    # switch of a dated page does not name the venues' latest day)
    for d in days[:-2]:
        rel = f"{SYMBOL}/{d}/index.html"
        assert now[rel] == old[rel]
        assert "Bybit (its latest day)</a>" in (out / rel).read_text()


def test_days_added_one_by_one_equal_a_build_from_scratch(tmp_path, two_venues):
    db, days, scratch = two_venues
    out = tmp_path / "site"
    _build(_before(tmp_path, db, days[1]), out, None)
    for i in range(2, len(days)):
        step = tmp_path / f"day{i}.duckdb"
        shutil.copy(db, step)
        drop_days_after(step, days[i])
        _build(step, out, [days[i]])
    assert _same_bytes(scratch, out) == []


def test_a_day_filled_in_between_links_both_neighbours(tmp_path, two_venues):
    """A missing day rendered late (a backfilled gap): the page after it is rendered again
    (its "previous" link), the page before it gets its "next" link."""
    db, days, scratch = two_venues
    out = tmp_path / "site"
    shutil.copytree(scratch, out)
    gap = days[2]
    shutil.rmtree(out / SYMBOL / gap.isoformat())
    (out / SYMBOL / days[1].isoformat() / "index.html").write_text(
        (scratch / SYMBOL / days[1].isoformat() / "index.html")
        .read_text()
        .replace(f'<a rel="next" href="../{gap}/index.html" data-nav="next">{gap} →</a>', "x")
    )  # a page its next link cannot be found in: rendered again
    res = _build(db, out, [gap])
    assert res.days == [days[1], gap, days[3]]
    assert _same_bytes(scratch, out) == []


def test_a_site_without_a_manifest_starts_one(tmp_path, two_venues):
    """A site built before the manifest existed: its pages are taken as current (nothing to
    compare with), and the build records what they are built from."""
    db, days, scratch = two_venues
    out = tmp_path / "site"
    shutil.copytree(scratch, out)
    (out / MANIFEST).unlink()
    res = _build(db, out, [days[-1]])
    assert res.days == [days[-1]]
    assert (out / MANIFEST).read_bytes() == (scratch / MANIFEST).read_bytes()
