"""A full build's fast paths give the site the plain paths give, byte for byte: the map rows
read a month at a time (`reports.loaders._month_rows`) against one query per day, the column
coder's memory of recent codings and its early stop against coding every column afresh
trying every shift. Compared file by file with scripts/compare_sites.py, on a two-venue
warehouse whose days cross a month's end."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import duckdb
import pytest

from reports import loaders
from reports.charts import spec
from tests.site_fixtures import SYMBOL, add_venue, build_fixture_warehouse, site_from_warehouse

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_sites", ROOT / "scripts/compare_sites.py")
compare_sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_sites)

N_DAYS = 26  # 2026-02-05 .. 2026-03-02: more than BULK_DAYS, two months


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, list[date]]:
    db = tmp_path_factory.mktemp("paths") / "warehouse.duckdb"
    days = build_fixture_warehouse(db, N_DAYS)
    add_venue(db, "bybit", 0.6)
    return db, days


def _build(db: Path, out: Path) -> None:
    site_from_warehouse(db, out)


def test_fast_build_equals_the_plain_paths(tmp_path, warehouse, monkeypatch) -> None:
    db, days = warehouse
    assert {d.month for d in days} == {2, 3}
    spec._CODED.clear()
    _build(db, tmp_path / "fast")
    # the plain paths: a query per day, every column coded afresh, every $sig shift tried
    monkeypatch.setattr("reports.site.BULK_DAYS", 10**6)
    monkeypatch.setattr(spec, "CODED_KEEP", 0)
    monkeypatch.setattr(spec, "_fails_every_shift", lambda *a: False)
    spec._CODED.clear()
    _build(db, tmp_path / "plain")
    assert not spec._CODED  # nothing was remembered: every column was coded
    pages = list((tmp_path / "fast" / SYMBOL).glob("2026-0*/index.html"))
    assert len(pages) == N_DAYS
    assert compare_sites.compare(tmp_path / "plain", tmp_path / "fast") == []


def test_month_rows_hold_one_month(warehouse) -> None:
    """A full build holds the map rows of one month per venue, not of every day."""
    db, days = warehouse
    conn = duckdb.connect(str(db), read_only=True)
    try:
        data = loaders.load_mart_data(conn, SYMBOL, "bybit")
        data.maps["bulk"] = True
        feb, mar = days[0], days[-1]
        per_day = loaders.liq_map_rows(conn, SYMBOL, feb, "bybit")
        assert loaders.map_rows_of(conn, data, feb) == per_day and per_day
        assert loaders.layer_rows_of(conn, data, feb) == loaders.layer_map_rows(
            conn, SYMBOL, feb, "bybit"
        )
        assert loaders.map_rows_of(conn, data, mar) == loaders.liq_map_rows(
            conn, SYMBOL, mar, "bybit"
        )
        month, held = data.maps["map"]
        assert month == date(2026, 3, 1) and set(held) == {d for d in days if d.month == 3}
        loaders.drop_month_rows(data)
        assert "map" not in data.maps and "layers" not in data.maps
    finally:
        conn.close()
