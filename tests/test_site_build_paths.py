"""A full build's fast paths give the site the plain paths give, byte for byte: the map rows
read a month at a time (`reports.loaders._month_rows`) and the realized marts read once for
every day (`reports.realized_data.RealizedRange`) against queries per day, the column
coder's memory of recent codings and its early stop against coding every column afresh
trying every shift, the symbols built side by side in worker processes
(`reports.site_pool`) against one after the other in the build's own process; and a heatmap
cube holding only its last hours (`HeatCube.load_recent`) against the whole cube. Compared
file by file with scripts/compare_sites.py, on a two-venue, two-symbol warehouse whose days
cross a month's end."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from reports import loaders, queries, realized_data, site, site_pool
from reports.charts import spec
from tests.site_fixtures import (
    DAY_MARTS,
    SYMBOL,
    add_venue,
    build_fixture_warehouse,
    site_from_warehouse,
)
from tests.test_site_symbols import add_scaled_symbol

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_sites", ROOT / "scripts/compare_sites.py")
compare_sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_sites)

N_DAYS = 26  # 2026-02-05 .. 2026-03-02: more than BULK_DAYS, two months
# more symbols, BTC's rows scaled, of its last OTHER_DAYS days only (cheap): two workers build
# one each, and the third in two parts (a month each, reports.site._Part)
OTHER, THIRD = "ETHUSDT", "SOLUSDT"
OTHER_DAYS = 6  # 2026-02-25 .. 2026-03-02


def add_realized(db: Path, days: list[date]) -> None:
    """Realized rows on every day, each day's and venue's figures its own (a slice that took
    a neighbour's rows would differ): a day's collection, a few hours of events (its first one
    filed under the day before on some days, as a late hour might be), the calibration as of
    the day, and
    each swing's realized rows."""
    conn = duckdb.connect(str(db))
    try:
        for i, d in enumerate(days):
            for j, venue in enumerate(("binance", "bybit")):
                k = 1000.0 * i + 10.0 * j
                conn.execute(
                    "INSERT INTO mart.realized_daily VALUES "
                    "(?, ?, ?, ?, ?, 'complete', ?, ?, ?, 'base', ?, ?, 'h')",
                    [venue, SYMBOL, d, "complete" if i % 3 else "partial", 0.5 + i / 100,
                     i + j, 1e6 + k, 2e6 + k, 3e6 + k, 4e6 + k],
                )  # fmt: skip
                for h in (2, 9, 17, 23):
                    ts = datetime(d.year, d.month, d.day, h)
                    filed = d - timedelta(days=1) if h == 2 and i % 4 == 1 else d
                    conn.execute(
                        "INSERT INTO mart.realized_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [venue, SYMBOL, filed, ts, h + i, k + h, k - h, 7e4 + k, 7.1e4 + k],
                    )
                conn.execute(
                    "INSERT INTO mart.realized_calibration VALUES "
                    "(?, ?, ?, 'complete', 'base', ?, 1, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [venue, SYMBOL, d, i + 1, days[0], d, k + 1, k + 2, 1.1 + i / 50,
                     0.5, 0.4, 0.6],
                )  # fmt: skip
        conn.execute(
            "INSERT INTO mart.realized_moves SELECT v.venue, m.symbol, m.day, m.start_ts, "
            "m.end_ts, m.confirmed, 'complete', 'complete', 3, 1e6 * v.f, 2e6 * v.f, "
            "m.long_liquidated, m.short_liquidated FROM mart.moves AS m, "
            "(VALUES ('binance', 1.0), ('bybit', 0.5), ('all', 1.5)) AS v(venue, f) "
            "WHERE m.venue = v.venue OR (v.venue = 'all' AND m.venue = 'all')"
        )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> tuple[Path, list[date]]:
    db = tmp_path_factory.mktemp("paths") / "warehouse.duckdb"
    days = build_fixture_warehouse(db, N_DAYS)
    add_venue(db, "bybit", 0.6)
    add_realized(db, days)
    add_scaled_symbol(db, OTHER, 0.05)
    add_scaled_symbol(db, THIRD, 0.002)
    conn = duckdb.connect(str(db))
    try:
        for table in DAY_MARTS:
            conn.execute(
                f"DELETE FROM mart.{table} WHERE symbol IN (?, ?) AND day < ?",
                [OTHER, THIRD, days[-OTHER_DAYS]],
            )
    finally:
        conn.close()
    return db, days


def _build(db: Path, out: Path, symbols: tuple[str, ...] = (SYMBOL, OTHER, THIRD)) -> None:
    site_from_warehouse(db, out, list(symbols))


def test_fast_build_equals_the_plain_paths(tmp_path, warehouse, monkeypatch) -> None:
    db, days = warehouse
    assert {d.month for d in days} == {2, 3}
    spec._CODED.clear()
    # the fast build: the symbols in two worker processes (even on one core)
    monkeypatch.setattr(site_pool.os, "cpu_count", lambda: 2)
    conn = duckdb.connect(str(db), read_only=True)
    assert site_pool.worker_count(conn, 3) == 2
    conn.close()
    plan, jobs = site._plan, []
    monkeypatch.setattr(site, "_plan", lambda *a, **k: jobs.extend(plan(*a, **k)) or jobs)
    _build(db, tmp_path / "fast")
    monkeypatch.setattr(site, "_plan", plan)
    parts = [(p.index, sorted(p.months)) for _, p in jobs if p is not None]
    assert [k for k, _ in jobs] == [0, 1, 2, 2]
    assert parts == [(0, [date(2026, 2, 1)]), (1, [date(2026, 3, 1)])]
    # the plain paths: a query per day, every column coded afresh, every $sig shift tried,
    # the symbols one after the other in this process
    monkeypatch.setenv(site_pool.WORKERS_ENV, "1")
    monkeypatch.setattr("reports.site.BULK_DAYS", 10**6)
    monkeypatch.setattr(spec, "CODED_KEEP", 0)
    monkeypatch.setattr(spec, "_fails_every_shift", lambda *a: False)
    spec._CODED.clear()
    _build(db, tmp_path / "plain")
    assert not spec._CODED  # nothing was remembered: every column was coded
    for symbol, n in ((SYMBOL, N_DAYS), (OTHER, OTHER_DAYS), (THIRD, OTHER_DAYS)):
        assert len(list((tmp_path / "fast" / symbol).glob("2026-0*/index.html"))) == n
    assert compare_sites.compare(tmp_path / "plain", tmp_path / "fast") == []


def test_a_workers_error_names_its_symbol(tmp_path, warehouse, monkeypatch) -> None:
    """A symbol failing in its worker fails the build with its name; the manifest, written
    last, is not written (the next build renders every page again)."""
    db, _ = warehouse
    monkeypatch.setattr(site_pool.os, "cpu_count", lambda: 2)

    def build_symbol(conn, writer, env, data, *args, **kwargs):
        if data.symbol == OTHER:
            raise ZeroDivisionError("no price")
        return None, []  # the other symbol: nothing, at once

    def killed(conn, writer, env, data, *args, **kwargs):
        if data.symbol == OTHER:
            os.kill(os.getpid(), signal.SIGKILL)
        return None, []

    monkeypatch.setattr(site, "_build_symbol", build_symbol)
    with pytest.raises(RuntimeError, match=f"site build of {OTHER} failed: ZeroDivisionError"):
        _build(db, tmp_path / "site", (SYMBOL, OTHER))
    assert not (tmp_path / "site" / site.MANIFEST).exists()
    # its worker killed (out of memory, say): the build fails naming the symbol not built
    monkeypatch.setattr(site, "_build_symbol", killed)
    # (the other symbol too when the pool broke before its worker was done)
    died = f"a worker process died .*; not built: ({SYMBOL}, )?{OTHER}$"
    with pytest.raises(RuntimeError, match=died):
        _build(db, tmp_path / "site", (SYMBOL, OTHER))
    assert not (tmp_path / "site" / site.MANIFEST).exists()
    monkeypatch.setenv(site_pool.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="LIQMAP_SITE_WORKERS='two': expected a whole number"):
        _build(db, tmp_path / "site", (SYMBOL, OTHER))


def test_month_rows_hold_one_month(warehouse) -> None:
    """A full build holds the map rows of one month per venue, not of every day."""
    db, days = warehouse
    conn = duckdb.connect(str(db), read_only=True)
    try:
        data = loaders.load_mart_data(conn, SYMBOL, "bybit")
        data.maps["bulk"] = True
        mar = days[-1]
        for d in days:  # every day its own rows, with the same keys and value types
            for got, own in (
                (
                    loaders.map_rows_of(conn, data, d),
                    loaders.liq_map_rows(conn, SYMBOL, d, "bybit"),
                ),
                (
                    loaders.layer_rows_of(conn, data, d),
                    loaders.layer_map_rows(conn, SYMBOL, d, "bybit"),
                ),
            ):
                assert got == own and own
                assert [[(k, type(v)) for k, v in r.items()] for r in got] == [
                    [(k, type(v)) for k, v in r.items()] for r in own
                ]
            # the layer rows as columns by view: the month's arrays sliced, as the day's own
            cols = loaders.layer_views_of(conn, data, d)
            own_cols = loaders.view_columns(loaders.layer_map_rows(conn, SYMBOL, d, "bybit"))
            assert list(cols) == list(own_cols) and len(cols) > 1
            for view, c in cols.items():
                assert list(c) == list(loaders.LAYER_VALUES)
                for k, values in c.items():
                    assert values.dtype == np.float64
                    assert np.array_equal(values, own_cols[view][k]), (d, view, k)
        assert loaders.map_rows_of(conn, data, mar) == loaders.liq_map_rows(
            conn, SYMBOL, mar, "bybit"
        )
        # the layer views' grids from one row per view: those of their cubes
        t_from, t_to = datetime(2026, 1, 1), datetime(2026, 4, 1)
        views = ["base/high", "never_close/all", "never_close/low", "nothing/here"]
        grids = queries.HeatCube.load_view_grids(
            conn, SYMBOL, t_from, t_to, views, max_bins=600, step_ms=loaders.LAYER_STEP_MS,
            venue="bybit",
        )  # fmt: skip
        cubes = queries.HeatCube.load_views(
            conn, SYMBOL, t_from, t_to, views, max_bins=600, step_ms=loaders.LAYER_STEP_MS,
            venue="bybit",
        )  # fmt: skip
        assert len(grids) == 3 and grids == {v: queries.ViewGrid.of(c) for v, c in cubes.items()}
        month, held = data.maps["map"]
        assert month == date(2026, 3, 1) and set(held.spans) == {d for d in days if d.month == 3}
        loaders.drop_month_rows(data)
        assert "map" not in data.maps and "layers" not in data.maps
    finally:
        conn.close()


def test_realized_range_gives_each_days_own_rows(warehouse) -> None:
    """The realized rows read once for a range give every day (and every span of days)
    exactly the rows its own queries give, in their order: no day takes a neighbour's."""
    db, days = warehouse
    conn = duckdb.connect(str(db), read_only=True)
    try:
        held = realized_data.load_realized_range(conn, SYMBOL, days[0], days[-1])
        assert held.hourly and held.daily and held.calibration and held.moves
        assert any(r["_day"] != r["ts"].date() for r in held.hourly)  # late hours are there
        starts = sorted({r["start_ts"] for r in held.moves})
        # the hours sliced by day (their days ascend by time), then found by scanning
        for sliced in (True, False):
            assert ("hourly" in held._days) == sliced
            seen = 0
            for i, d in enumerate(days):
                mine = starts[i % 3 :: 4]
                own = realized_data.load_realized_day(conn, SYMBOL, d, mine)
                assert held.day(d, mine) == own
                assert own.daily and own.hourly and own.calibration
                seen += len(own.moves)
                first = max(days[0], d - timedelta(days=6))
                span = realized_data.load_realized_span(conn, SYMBOL, first, d)
                assert held.span(first, d) == span
            assert seen
            held._days.pop("hourly", None)
        assert held.day(days[3], []) == realized_data.load_realized_day(conn, SYMBOL, days[3], [])
    finally:
        conn.close()


def test_a_cube_holding_its_last_hours_is_the_whole_cube(warehouse, tmp_path) -> None:
    """A heatmap cube loaded from its rows' extent and its last hours only has the whole
    cube's grid and the very float32 bits of its hours; asked for an earlier hour, it loads
    the rest and is then the whole cube. Bins of two widths: every row is read. The layer
    views read in one query are each the cube of the view's own query."""
    db, days = warehouse
    t_from = queries.day_start(days[0] - timedelta(days=3))
    t_to = queries.day_end(days[-1])
    conn = duckdb.connect(str(db), read_only=True)
    try:
        for venue, recent in (("all", days[-1]), ("bybit", days[-9]), ("all", days[0])):
            whole = queries.HeatCube.load(conn, SYMBOL, t_from, t_to, venue=venue)
            part = queries.HeatCube.load_recent(
                conn, SYMBOL, t_from, t_to, queries.day_start(recent), venue
            )
            grid = (whole.t0_ms, whole.p0, whole.pw, whole.hours, whole.bins)
            assert (part.t0_ms, part.p0, part.pw, part.hours, part.bins) == grid
            assert part.held_from == (recent - days[0]).days * 24
            for side in ("long", "short"):
                mine = part.held(side, part.held_from, part.hours)
                assert mine.dtype == np.float32 and mine.any()
                assert mine.tobytes() == getattr(whole, side)[part.held_from :].tobytes()
            earlier = part.held("short", 0, 30)  # every hour loaded
            assert part.held_from == 0 and earlier.tobytes() == whole.short[:30].tobytes()
            assert part.long.tobytes() == whole.long.tobytes()
        # the layer views read at once: each the cube of its own rows
        views = queries.HeatCube.load_views(
            conn, SYMBOL, t_from, t_to, ["never_close/all", "base/high", "x/y"], 600, 4 * 3600_000
        )
        assert list(views) == ["never_close/all", "base/high"]
        for name, cube in views.items():
            sc, layer = name.split("/")
            own = conn.execute(
                "SELECT epoch_ms(ts) AS t, price_low, price_high, long_notional, short_notional "
                "FROM mart.liq_layer_heatmap WHERE venue = 'all' AND symbol = ? "
                "AND scenario = ? AND layer = ? AND ts >= ? AND ts < ?",
                [SYMBOL, sc, layer, t_from, t_to],
            ).fetchnumpy()
            mine = queries.HeatCube._of_rows(own, 600, 4 * 3600_000)
            assert (cube.t0_ms, cube.p0, cube.pw, cube.hours, cube.step_ms) == (
                mine.t0_ms, mine.p0, mine.pw, mine.hours, mine.step_ms
            )  # fmt: skip
            assert cube.long.tobytes() == mine.long.tobytes() and cube.long.any()
            assert cube.short.tobytes() == mine.short.tobytes()
    finally:
        conn.close()
    mixed = tmp_path / "mixed.duckdb"
    shutil.copy(db, mixed)
    conn = duckdb.connect(str(mixed))
    try:
        conn.execute(
            "UPDATE mart.liq_heatmap SET price_high = price_high + (price_high - price_low) "
            "WHERE ts = (SELECT min(ts) FROM mart.liq_heatmap)"
        )
        whole = queries.HeatCube.load(conn, SYMBOL, t_from, t_to)
        part = queries.HeatCube.load_recent(conn, SYMBOL, t_from, t_to, t_to - timedelta(days=1))
        assert part.held_from == 0 and part.long.tobytes() == whole.long.tobytes()
        assert (part.p0, part.pw, part.hours, part.bins) == (
            whole.p0, whole.pw, whole.hours, whole.bins
        )  # fmt: skip
    finally:
        conn.close()


ORPHAN = """
import os, sys, time
import duckdb
from reports import site_pool
conn = duckdb.connect(sys.argv[1], read_only=True)
def build(c, i):
    (site_pool.Path(sys.argv[2]) / str(os.getpid())).write_text("started")
    time.sleep(120)
site_pool.run(conn, ["a", "b"], build, 2, {"threads": "1"})
"""


def test_workers_die_with_a_killed_build(tmp_path, warehouse) -> None:
    """A build killed (SIGKILL) leaves no worker behind writing pages or holding the
    warehouse open against the next run."""
    db, _ = warehouse
    pids, temp = tmp_path / "pids", tmp_path / "tmp"  # temp: the killed build's leftovers
    pids.mkdir()
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(db), str(pids)],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _running(w)]


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
