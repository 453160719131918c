"""Monthly downloads (issue 22): one set of files per symbol and month, every venue and the
aggregate in each (a `venue` column), linked from the day pages and the archive. Each file
holds exactly the mart rows of its month, none twice. Adding a day rewrites only its own
month's files, and the files an incremental build leaves are byte for byte those of a build
from scratch."""

from __future__ import annotations

import math
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports.datafiles import whatif_bands
from reports.downloads import SCENARIOS_DERIVED
from reports.site import build_site
from tests.site_data import data_file
from tests.site_fixtures import GENERATED_AT, SYMBOL, build_fixture_warehouse, drop_days_after

START = date(2026, 1, 27)  # six days: January's last five and February's first


def _build(db: Path, out: Path, days) -> None:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        build_site(
            conn, out, SYMBOL, days, source="synthetic", methodology_md=None,
            generated_at=GENERATED_AT,
        )  # fmt: skip
    finally:
        conn.close()


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_month_files_hold_the_months_days_and_only_a_changed_month_is_rewritten(tmp_path):
    db = tmp_path / "w.duckdb"
    days = build_fixture_warehouse(db, 6, start=START)
    assert [d.month for d in days] == [1, 1, 1, 1, 1, 2]
    before = tmp_path / "before.duckdb"
    shutil.copy(db, before)
    drop_days_after(before, days[-2])  # the warehouse before February's first day ran
    out = tmp_path / "site"
    _build(before, out, None)
    jan = out / SYMBOL / "downloads" / "2026-01"
    daily = pacsv.read_csv(jan / "daily.csv").to_pylist()
    assert [str(r["day"]) for r in daily] == [d.isoformat() for d in days[:-1]]
    assert all(r["synthetic_data"] for r in daily)
    assert not (jan / "liq_map.parquet").exists()  # the maps: the data API's day files
    scen = pq.read_table(jan / "scenarios.parquet").to_pylist()
    assert sorted({str(r["day"]) for r in scen}) == [d.isoformat() for d in days[:-1]]
    assert all(r["synthetic_data"] for r in scen)
    # nothing beside the day pages: their links go to the month's files
    page = (out / SYMBOL / days[0].isoformat() / "index.html").read_text()
    assert 'href="../downloads/2026-01/scenarios.parquet"' in page
    assert sorted(p.name for p in (out / SYMBOL / days[0].isoformat()).iterdir()) == ["index.html"]
    archive = (out / SYMBOL / "archive" / "index.html").read_text()
    assert 'href="../downloads/2026-01/daily.csv"' in archive

    stamps = {p: p.stat().st_mtime_ns for p in jan.iterdir()}
    # per-day files as an older build left them beside two pages
    old_kept = out / SYMBOL / days[0].isoformat() / "daily.csv"
    old_kept.write_text("day\n")
    (out / SYMBOL / days[-1].isoformat()).mkdir()
    old_dropped = out / SYMBOL / days[-1].isoformat() / "scenarios.parquet"
    old_dropped.write_bytes(b"PAR1")
    time.sleep(0.05)
    _build(db, out, [days[-1]])  # adding February's first day
    assert old_kept.exists() and not old_dropped.exists()  # only the page rendered again
    old_kept.unlink()
    assert {p: p.stat().st_mtime_ns for p in jan.iterdir()} == stamps  # January untouched
    feb = out / SYMBOL / "downloads" / "2026-02"
    assert [str(r["day"]) for r in pacsv.read_csv(feb / "daily.csv").to_pylist()] == [
        days[-1].isoformat()
    ]
    archive = (out / SYMBOL / "archive" / "index.html").read_text()
    assert 'href="../downloads/2026-02/daily.csv"' in archive

    # the incremental build's downloads are a build from scratch's
    scratch = tmp_path / "scratch"
    _build(db, scratch, None)
    sub = Path(SYMBOL) / "downloads"
    assert _files(out / sub) == _files(scratch / sub)


# what each month file must hold, straight from the marts: every venue of the site
# (the aggregate and each venue alone), days of the month (the first month also from before).
# The Parquet file is read through its documented query (docs/api/scenarios.sql), which adds
# back what the file leaves out: the scenario rows' ratios and distances (1e-9 relative: a
# log in another library).
MART_ROWS = {
    "scenarios.parquet": """
        SELECT * FROM mart.daily_metrics WHERE symbol = $symbol AND day >= $lo AND day < $hi""",
    "moves.csv": """
        SELECT venue, day, start_ts, end_ts, direction, from_price, to_price, pct_change,
               long_liquidated, short_liquidated, oi_change, confirmed_ts, params_hash
        FROM mart.moves WHERE symbol = $symbol AND confirmed AND day >= $lo AND day < $hi""",
    "daily.csv": """
        SELECT venue, day, close_price, oi_value, longs_at_risk, shorts_at_risk
        FROM mart.daily_metrics
        WHERE symbol = $symbol AND scenario = 'base' AND day >= $lo AND day < $hi""",
}
API_SQL = Path(__file__).resolve().parents[1] / "docs" / "api"
# a Parquet download's documented query, and the columns its file itself leaves out
DOCUMENTED = {
    "scenarios.parquet": (API_SQL / "scenarios.sql", set(SCENARIOS_DERIVED)),
}


MART_BANDS = """
    SELECT venue, day, (price_low + price_high) / 2, long_notional, short_notional, spot_price
    FROM mart.liq_map WHERE symbol = $symbol AND (long_notional > 0 OR short_notional > 0)
    ORDER BY venue, day, price_low"""


def _same(got: tuple, want: tuple) -> bool:
    """Equal rows, floats within 1e-9 relative."""
    return all(
        abs(a - b) <= 1e-9 * max(abs(b), 1.0)
        if isinstance(a, float) and isinstance(b, float) and not (math.isnan(a) or math.isnan(b))
        else a == b
        for a, b in zip(got, want, strict=True)
    )


def _by_key(rows: list[tuple], venue: int) -> list[tuple]:
    """Rows by venue, then their first columns (day, price band or scenario)."""
    return sorted(rows, key=lambda r: repr((r[venue], r[:4])))


def _read(conn: duckdb.DuckDBPyConnection, path: Path, names: list[str]) -> list[tuple]:
    """The file's rows of `names`: a Parquet download through its documented query."""
    if path.name in DOCUMENTED:
        sql, left_out = DOCUMENTED[path.name]
        in_file = {
            c[0]
            for c in conn.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        }
        assert left_out and not left_out & in_file, path
        conn.execute("SET VARIABLE path = ?", [str(path)])
        source = f"({sql.read_text().strip().rstrip(';')})"
    else:
        source = f"read_csv('{path}')"
    return conn.execute(f"SELECT {', '.join(names)} FROM {source}").fetchall()


def test_each_month_file_holds_exactly_the_months_mart_rows_of_every_venue(two_venue_site):
    out, wh = two_venue_site
    root = out / SYMBOL / "downloads"
    months = sorted(p.name for p in root.iterdir())
    assert months == sorted({d.isoformat()[:7] for d in wh.days})
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        assert conn.execute("SELECT count(*) FROM mart.provisional_days").fetchone()[0] == 0
        for i, month in enumerate(months):
            lo = date.fromisoformat(f"{month}-01") if i else date.min
            hi = date.fromisoformat(f"{months[i + 1]}-01") if i + 1 < len(months) else date.max
            for name, sql in MART_ROWS.items():
                path = root / month / name
                want = conn.execute(sql, {"symbol": SYMBOL, "lo": lo, "hi": hi}).fetchall()
                if name == "moves.csv" and not want:
                    assert not path.exists()
                    continue
                names = [c[0] for c in conn.description]
                got = _read(conn, path, names)
                assert len(set(got)) == len(got), (month, name)  # no row twice
                assert len(got) == len(want), (month, name)
                venue = names.index("venue")
                for g, w in zip(_by_key(got, venue), _by_key(want, venue), strict=True):
                    assert _same(g, w), (month, name, g, w)
                every = {"all", "binance"} if name == "moves.csv" else {"all", "binance", "bybit"}
                assert {r[venue] for r in got} >= every, (month, name)
            # every row is marked synthetic; no map file (below)
            marks = conn.execute(
                "SELECT DISTINCT synthetic_data FROM read_parquet(?)",
                [str(root / month / "scenarios.parquet")],
            ).fetchall()
            assert marks == [(True,)]
            assert not (root / month / "liq_map.parquet").exists()
        # the maps are the data API's: every day's bands of each venue and of the aggregate,
        # exact, in its day files (`whatif`, as the page's what-if reads them)
        bands = conn.execute(MART_BANDS, {"symbol": SYMBOL}).fetchall()
    finally:
        conn.close()
    want: dict[tuple, dict] = {}
    for venue, d, mid, lv, sv, spot in bands:
        w = want.setdefault((venue, d), {"spot": spot, "mid": [], "l": [], "s": []})
        for k, v in (("mid", mid), ("l", lv), ("s", sv)):
            w[k].append(v)
    assert {v for v, _ in want} == {"all", "binance", "bybit"}
    for (venue, d), w in want.items():
        day = data_file(out, f"{SYMBOL}/{venue}/day-{d.isoformat()}")
        assert whatif_bands(day, lambda k: data_file(out, k)) == w, (venue, d)
    # the venue split's figures live in the month's daily.csv: no per-venue copy
    assert not (root / months[0] / "venues.csv").exists()


def test_a_full_build_drops_an_older_builds_per_venue_month_folders(tmp_path):
    """Pages of an older build link `downloads/<venue>/YYYY-MM/` and a month's
    `liq_map.parquet` (retired: the data API's day files hold the maps): a build that renders
    some days keeps them (the pages not rendered still link them) and links none of them
    from the pages it renders; one that renders every day removes them, and no page links
    them any more."""
    db = tmp_path / "w.duckdb"
    days = build_fixture_warehouse(db, 3, start=START)
    out = tmp_path / "site"
    _build(db, out, None)
    old = out / SYMBOL / "downloads" / "all" / "2026-01"
    old.mkdir(parents=True)
    (old / "daily.csv").write_text("day\n")
    (old / "liq_map.parquet").write_bytes(b"PAR1")
    retired = out / SYMBOL / "downloads" / "2026-01" / "liq_map.parquet"
    retired.write_bytes(b"PAR1")
    _build(db, out, [days[-1]])
    assert (old / "daily.csv").is_file() and retired.is_file()
    for page in (days[-1].isoformat(), "archive"):
        assert "liq_map.parquet" not in (out / SYMBOL / page / "index.html").read_text()
    _build(db, out, None)
    assert not (out / SYMBOL / "downloads" / "all").exists() and not retired.exists()
    assert sorted(p.name for p in (out / SYMBOL / "downloads").iterdir()) == ["2026-01"]
    pages = [p.read_text() for p in out.rglob("*.html")]
    assert not [p for p in pages if "downloads/all/" in p or "liq_map.parquet" in p]


def test_a_build_drops_an_older_builds_symbol_wide_csvs(tmp_path):
    """An older build wrote `<SYMBOL>/daily.csv` and `venues.csv` (every day, rewritten by
    every build; only the symbols' archive linked daily.csv): a build, even of one day,
    deletes them, and no page links them."""
    db = tmp_path / "w.duckdb"
    days = build_fixture_warehouse(db, 2, start=START)
    out = tmp_path / "site"
    _build(db, out, None)
    for name in ("daily.csv", "venues.csv"):
        assert not (out / SYMBOL / name).exists()
        (out / SYMBOL / name).write_text("day\n")
    _build(db, out, [days[-1]])
    assert not (out / SYMBOL / "daily.csv").exists()
    assert not (out / SYMBOL / "venues.csv").exists()
    pages = [p.read_text() for p in out.rglob("*.html")]
    assert not [p for p in pages if f"{SYMBOL}/daily.csv" in p or "/venues.csv" in p]
