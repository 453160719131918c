"""The snapshot is patched, not copied: after every publication (copied whole the first time,
then patched partition by partition through the spare copy) each table of the published
file equals the warehouse's, withheld days aside; a spare that cannot be trusted (held open
by a reader, changed on disk, a killed patch, a changed schema) is replaced by a whole copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest

from transforms.changes import CHANGES_TABLE, note_days
from transforms.db import open_warehouse
from transforms.publish import publish_snapshot
from transforms.publish.fingerprint import catalog_tables, fingerprints, withheld_key
from transforms.publish.snapshot import adopt_copy, manifest_path, spare_path

ROOT = Path(__file__).resolve().parents[1]
D1, D2, D3, D4 = (date(2025, 11, d) for d in (1, 2, 3, 4))


def assert_snapshot_matches(
    conn: duckdb.DuckDBPyConnection, snapshot: Path, withheld: dict[str, list[date]] | None = None
) -> int:
    """Every table of `snapshot` holds exactly the rows of the warehouse open in `conn`
    (EXCEPT ALL both ways), except the `withheld` days of the named tables; returns the
    rows compared."""
    withheld = withheld or {}
    source = conn.execute("SELECT current_database()").fetchone()[0]
    conn.execute("ATTACH ? AS compared_snapshot (READ_ONLY)", [str(snapshot)])
    try:
        tables = catalog_tables(conn, source)
        assert [t.key for t in tables] == [t.key for t in catalog_tables(conn, "compared_snapshot")]
        total = 0
        for table in tables:
            w, s = table.qualified(source), table.qualified("compared_snapshot")
            days = withheld.get(table.key, [])
            kept = (
                f"(SELECT * FROM {w} WHERE NOT coalesce(list_contains($days, day), false))"
                if days
                else w
            )
            params = {"days": days} if days else {}
            for a, b in ((kept, s), (s, kept)):
                extra = conn.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})", params
                ).fetchone()[0]
                assert extra == 0, f"{table.key}: {extra} rows differ"
            total += conn.execute(f"SELECT count(*) FROM {s}").fetchone()[0]
        return total
    finally:
        conn.execute("DETACH compared_snapshot")


@pytest.fixture
def warehouse(tmp_path):
    """A warehouse (every real table) plus day-partitioned and whole test tables."""
    path = tmp_path / "w.duckdb"
    conn = open_warehouse(path)
    conn.execute("CREATE TABLE raw.t (day DATE, v DOUBLE, s VARCHAR)")
    conn.execute("CREATE TABLE ref.w (k INTEGER, v VARCHAR)")
    conn.execute(
        "INSERT INTO raw.t SELECT DATE '2025-11-01' + (i % 3)::INTEGER, i / 7, 'r' || i "
        "FROM range(3000) r(i)"
    )
    conn.execute("INSERT INTO raw.t VALUES (NULL, 1.5, 'no day')")
    conn.execute("INSERT INTO ref.w VALUES (1, 'a'), (2, 'b')")
    conn.execute(
        "INSERT INTO mart.model_state (venue, symbol, day, scenario, params_hash, cohorts, inputs, "
        "state, content_hash) VALUES ('binance', 'BTCUSDT', DATE '2025-11-01', 'base', 'h', 0, "
        "'{}', '\\x01\\x02'::BLOB, 'c1')"
    )
    yield path, conn
    conn.close()


def _exports(tmp_path) -> dict[str, int]:
    root = tmp_path / "parquet"
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.parquet")}


def _export_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def _publish(conn, tmp_path, withheld=()):
    return publish_snapshot(
        conn, tmp_path / "snap" / "warehouse.duckdb", withheld, exports_dir=tmp_path / "parquet"
    )


@pytest.mark.slow  # about 10 s of CPU: scheduled first, not last (docs/testing.md)
def test_patched_publications_equal_the_warehouse(warehouse, tmp_path):
    path, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    first = _publish(conn, tmp_path)
    assert first.mode == "full" and first.why == "no spare copy recorded"
    assert spare_path(snap).is_file() and manifest_path(snap).is_file()
    assert_snapshot_matches(conn, snap)
    exported = _exports(tmp_path)
    # an empty mart's folder still holds its columns (a file without rows)
    assert "daily_metrics/undated.parquet" in exported and "model_params/all.parquet" in exported

    # a new day, a changed row, a deleted day, NULL-day rows, a whole table, the state
    conn.execute("INSERT INTO raw.t VALUES (DATE '2025-11-04', 9.0, 'new')")
    conn.execute("UPDATE raw.t SET v = -1 WHERE s = 'r4'")
    conn.execute("DELETE FROM raw.t WHERE day = DATE '2025-11-03'")
    conn.execute("UPDATE raw.t SET s = 'still no day' WHERE day IS NULL")
    conn.execute("INSERT INTO ref.w VALUES (3, 'c')")
    conn.execute("UPDATE mart.model_state SET state = '\\x03'::BLOB, content_hash = 'c2'")
    second = _publish(conn, tmp_path)
    assert second.mode == "incremental", second.why
    assert set(second.tables) == {"raw.t", "ref.w", "mart.model_state"}
    # days 2025-11-02 (r4), 03 (deleted), 04 (new), NULL; ref.w and model_state whole
    assert second.partitions == 6
    assert_snapshot_matches(conn, snap)
    # marts unchanged: their Parquet files are not rewritten
    assert second.exported == []
    assert _exports(tmp_path) == exported

    # the spare is two generations behind now: both runs' changes reach it
    conn.execute("DELETE FROM ref.w WHERE k = 1")
    conn.execute(
        "INSERT INTO mart.liq_map (symbol, day, price_low, price_high, long_notional, "
        "short_notional, long_cum_from_spot, short_cum_from_spot, spot_price, params_hash, venue) "
        "VALUES ('BTCUSDT', DATE '2025-11-02', 1, 2, 3, 4, 5, 6, 7, 'h', 'binance')"
    )
    third = _publish(conn, tmp_path)
    assert third.mode == "incremental", third.why
    assert "raw.t" in third.tables  # the second run's change, applied to the older spare
    assert third.exported == ["liq_map/2025-11.parquet"]  # one month file of one mart
    assert_snapshot_matches(conn, snap)
    rows = duckdb.connect()
    try:
        got = rows.execute(
            "SELECT count(*) FROM read_parquet(?)",
            [str(tmp_path / "parquet" / "liq_map" / "*.parquet")],
        )
        assert got.fetchone()[0] == 1
    finally:
        rows.close()

    # nothing changed: the spare (a generation behind) takes the third run's changes, then
    # nothing is replaced
    fourth = _publish(conn, tmp_path)
    assert fourth.mode == "incremental" and set(fourth.tables) == {"ref.w", "mart.liq_map"}
    assert_snapshot_matches(conn, snap)
    fifth = _publish(conn, tmp_path)
    assert fifth.mode == "incremental" and fifth.tables == [] and fifth.partitions == 0
    assert_snapshot_matches(conn, snap)
    # the exports kept and rewritten over five publications (two files at a time) are the
    # files a fresh publication writes, byte for byte
    fresh = tmp_path / "fresh"
    assert _publish(conn, fresh).mode == "full"
    assert _export_bytes(tmp_path / "parquet") == _export_bytes(fresh / "parquet")


def test_exports_are_one_file_per_month_rewritten_when_their_days_change(warehouse, tmp_path):
    _, conn = warehouse
    legacy = tmp_path / "parquet" / "liq_map.parquet"  # the earlier one-file layout
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"PAR1 stale")
    insert = (
        "INSERT INTO mart.liq_map (symbol, day, price_low, price_high, long_notional, "
        "short_notional, long_cum_from_spot, short_cum_from_spot, spot_price, params_hash, venue) "
        "VALUES ('BTCUSDT', $day, 1, 2, 3, 4, 5, 6, 7, 'h', 'binance')"
    )
    for day in (date(2025, 10, 31), D1, D2):
        conn.execute(insert, {"day": day})
    first = _publish(conn, tmp_path)
    assert not legacy.exists()
    assert {"liq_map/2025-10.parquet", "liq_map/2025-11.parquet"} <= set(first.exported)
    before = _exports(tmp_path)
    conn.execute(insert, {"day": D3})
    conn.execute("DELETE FROM mart.liq_map WHERE day = DATE '2025-10-31'")
    second = _publish(conn, tmp_path)
    assert second.exported == ["liq_map/2025-11.parquet"]
    after = _exports(tmp_path)
    assert "liq_map/2025-10.parquet" not in after  # the month has no row left
    assert {k: v for k, v in after.items() if k != "liq_map/2025-11.parquet"} == {
        k: v
        for k, v in before.items()
        if k not in ("liq_map/2025-10.parquet", "liq_map/2025-11.parquet")
    }
    got = duckdb.connect().execute(
        "SELECT day FROM read_parquet(?) ORDER BY day",
        [str(tmp_path / "parquet" / "liq_map" / "*.parquet")],
    )
    assert [r[0] for r in got.fetchall()] == [D1, D2, D3]


HEAT_ROWS = (
    "INSERT INTO mart.liq_heatmap (symbol, day, ts, price_low, price_high, long_notional, "
    "short_notional, params_hash, venue) SELECT 'BTCUSDT', $day, $day + to_seconds(i % 86400), "
    "i, i + 1, i * 0.5, random(), 'h', 'binance' FROM range($n) r(i)"
)


def test_exports_are_written_one_thread_each_largest_first(warehouse, tmp_path, monkeypatch):
    """Each export file is written by one DuckDB thread (a file's row groups then do not
    depend on how threads raced: the same rows give the same bytes), the largest files
    first; the connection's own thread count is put back after."""
    from transforms.publish import snapshot

    _, conn = warehouse
    # a month of several Parquet row groups (DuckDB's are 122,880 rows) in a mart that comes
    # after the heat map in the registry, and two smaller months of the heat map
    conn.execute(LIQ_MAP_ROW, {"day": D1, "n": 300_000})
    conn.execute(HEAT_ROWS, {"day": date(2025, 10, 31), "n": 20_000})
    conn.execute(HEAT_ROWS, {"day": D1, "n": 5_000})
    (threads_before,) = conn.execute("SELECT current_setting('threads')").fetchone()
    written: list[tuple[str, int]] = []
    write = snapshot._export_file
    # the two writers' first files are both recorded before either is written, however the
    # threads are scheduled (a loaded machine could otherwise finish one before the other began)
    both_begun = threading.Barrier(snapshot.EXPORT_WORKERS, timeout=120)

    def recorded(c, table, path):
        with c.cursor() as own:  # the writers run at once: each asks on its own cursor
            (threads,) = own.execute("SELECT current_setting('threads')").fetchone()
        written.append((f"{path.parent.name}/{path.name}", threads))
        if len(written) <= snapshot.EXPORT_WORKERS:
            both_begun.wait()
        return write(c, table, path)

    monkeypatch.setattr(snapshot, "_export_file", recorded)
    first = _publish(conn, tmp_path / "a")
    assert {threads for _, threads in written} == {1}
    names = [name for name, _ in written]
    # the two largest go first (begun at once by the two writers: in either order)
    assert set(names[:2]) == {"liq_map/2025-11.parquet", "liq_heatmap/2025-10.parquet"}
    assert sorted(first.exported) == sorted(names)  # every file written once, recorded
    assert conn.execute("SELECT current_setting('threads')").fetchone() == (threads_before,)
    # the month's rows in the warehouse's order, and the same bytes from a second publication
    rows = duckdb.connect()
    try:
        got = rows.execute(
            "SELECT count(*), count(DISTINCT price_low) FROM read_parquet(?)",
            [str(tmp_path / "a" / "parquet" / "liq_map" / "2025-11.parquet")],
        ).fetchone()
        assert got == (300_000, 300_000)
    finally:
        rows.close()
    monkeypatch.setattr(snapshot, "_export_file", write)
    _publish(conn, tmp_path / "b")
    a, b = _export_bytes(tmp_path / "a" / "parquet"), _export_bytes(tmp_path / "b" / "parquet")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_withheld_days_leave_and_return(warehouse, tmp_path):
    path, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    # a logged raw table (transforms.changes): its withheld day is hashed again when it
    # leaves and when it returns, though no writer noted it
    conn.execute(
        "INSERT INTO raw.klines_1m (symbol, day, open_time, close, venue) "
        "SELECT 'BTCUSDT', d::DATE, d + to_minutes(i), i, 'binance' "
        "FROM unnest($days) AS t(d), range(5) AS r(i)",
        {"days": [D1, D2, D3]},
    )
    note_days(conn, ["raw.klines_1m"], [D1, D2, D3])
    _publish(conn, tmp_path)
    held = _publish(conn, tmp_path, withheld=[D2])
    assert held.mode == "incremental"
    assert_snapshot_matches(conn, snap, withheld={"raw.t": [D2], "raw.klines_1m": [D2]})
    market = _publish(conn, tmp_path, withheld={("binance", "BTCUSDT"): [D3]})
    assert market.mode == "incremental"
    assert_snapshot_matches(conn, snap, withheld={"raw.klines_1m": [D3]})
    tables = catalog_tables(conn, "w")
    keys = {t.key: [withheld_key(D3, "binance", "BTCUSDT")] for t in tables if t.schema == "raw"}
    assert _published_fingerprints(snap) == fingerprints(conn, "w", tables, keys)
    back = _publish(conn, tmp_path)
    assert back.mode == "incremental"
    assert_snapshot_matches(conn, snap)
    assert _published_fingerprints(snap) == fingerprints(conn, "w", tables)


def test_a_reader_holding_the_spare_gets_a_whole_copy(warehouse, tmp_path):
    path, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    _publish(conn, tmp_path)
    _publish(conn, tmp_path)  # the first snapshot is the spare now
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('SELECT count(*) FROM raw.t').fetchone()[0], flush=True); "
            "time.sleep(60)",
            str(spare_path(snap)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "3001"
        conn.execute("INSERT INTO raw.t VALUES (DATE '2025-11-05', 1, 'x')")
        copied = _publish(conn, tmp_path)
    finally:
        reader.kill()
        reader.wait()
    assert copied.mode == "full" and "in use" in copied.why
    assert_snapshot_matches(conn, snap)
    assert _publish(conn, tmp_path).mode == "incremental"
    assert_snapshot_matches(conn, snap)


def test_a_changed_spare_or_schema_is_copied_whole(warehouse, tmp_path):
    path, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    _publish(conn, tmp_path)
    spare = spare_path(snap)
    os.utime(spare, ns=(1, 1))  # as if written by someone else since
    changed = _publish(conn, tmp_path)
    assert changed.mode == "full" and "changed since" in changed.why
    conn.execute("ALTER TABLE ref.w ADD COLUMN extra INTEGER")
    reshaped = _publish(conn, tmp_path)
    assert reshaped.mode == "full" and "shape" in reshaped.why
    assert_snapshot_matches(conn, snap)


LIQ_MAP_ROW = (
    "INSERT INTO mart.liq_map (symbol, day, price_low, price_high, long_notional, "
    "short_notional, long_cum_from_spot, short_cum_from_spot, spot_price, params_hash, venue) "
    "SELECT 'BTCUSDT', $day, i, i + 1, 3, 4, 5, 6, 7, 'h', 'binance' FROM range($n) r(i)"
)


def _published_fingerprints(snap: Path) -> dict:
    return json.loads(manifest_path(snap).read_text())["published"]["tables"]


def test_logged_tables_are_hashed_again_on_noted_days_only(warehouse, tmp_path):
    """mart.liq_map is logged (transforms.changes): a publication hashes again the days noted
    since the last one and any day whose row count moved, and keeps the others' recorded
    fingerprints; they equal a full hash of the warehouse as long as writers note their days."""
    _, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    for day in (D1, D2, D3):
        conn.execute(LIQ_MAP_ROW, {"day": day, "n": 50})
    note_days(conn, ["mart.liq_map"], [D1, D2, D3])
    assert _publish(conn, tmp_path).mode == "full"

    def full() -> dict:
        return fingerprints(conn, "w", catalog_tables(conn, "w"))

    assert _published_fingerprints(snap) == full()
    first = full()["mart.liq_map"]
    # a same-count rewrite of a noted day, and a day whose count moved without a note
    note_days(conn, ["mart.liq_map"], [D2])
    conn.execute("UPDATE mart.liq_map SET long_notional = -1 WHERE day = $day", {"day": D2})
    conn.execute(LIQ_MAP_ROW, {"day": D3, "n": 1})
    second = _publish(conn, tmp_path)
    assert second.mode == "incremental" and "mart.liq_map" in second.tables
    assert second.exported == ["liq_map/2025-11.parquet"]
    assert_snapshot_matches(conn, snap)
    assert _published_fingerprints(snap) == full()
    # a same-count rewrite nobody noted keeps the day's recorded fingerprint: the writers'
    # rule is what makes the logged path exact (and proves it was taken)
    conn.execute("UPDATE mart.liq_map SET short_notional = -1 WHERE day = $day", {"day": D1})
    assert _publish(conn, tmp_path).mode == "incremental"
    missed = _published_fingerprints(snap)["mart.liq_map"]
    assert missed != full()["mart.liq_map"] and missed["2025-11-01"] == first["2025-11-01"]
    # a log emptied and begun again (a rebuilt warehouse) is not trusted: every row hashed
    conn.execute(f"DELETE FROM {CHANGES_TABLE}")
    note_days(conn, ["mart.liq_map"], [D3])
    rebuilt = _publish(conn, tmp_path)
    assert "mart.liq_map" in rebuilt.tables
    assert _published_fingerprints(snap) == full()
    assert_snapshot_matches(conn, snap)


def test_a_folder_copied_whole_is_adopted_not_copied_again(warehouse, tmp_path):
    """A build folder copied byte for byte (benchmarks/pipeline.py --from-kept) has new
    inodes: without adopt_copy its spare is copied whole and every export rewritten."""
    path, conn = warehouse
    _publish(conn, tmp_path)
    conn.close()
    for name in ("plain", "adopted"):
        copy = tmp_path / name
        copy.mkdir()
        for part in ("w.duckdb", "snap", "parquet"):
            subprocess.run(["cp", "-a", str(tmp_path / part), str(copy)], check=True)
        if name == "adopted":
            assert adopt_copy(copy / "snap" / "warehouse.duckdb", copy / "parquet") > 2
        with duckdb.connect(str(copy / "w.duckdb")) as again:
            again.execute("INSERT INTO raw.t VALUES (DATE '2025-11-05', 1, 'x')")
            pub = _publish(again, copy)
            assert_snapshot_matches(again, copy / "snap" / "warehouse.duckdb")
        if name == "plain":
            assert pub.mode == "full" and "changed since" in pub.why and pub.exported
        else:
            assert pub.mode == "incremental" and pub.exported == [], pub.why


KILLED_PATCH = """
import sys
from transforms.db import open_warehouse
from transforms.publish import publish_snapshot
conn = open_warehouse(sys.argv[1])
conn.execute("INSERT INTO raw.t VALUES (DATE '2025-11-06', 6, 'killed')")
publish_snapshot(conn, sys.argv[2])
"""


def test_a_publication_killed_mid_patch_leaves_the_snapshot_and_copies_whole(warehouse, tmp_path):
    path, conn = warehouse
    snap = tmp_path / "snap" / "warehouse.duckdb"
    _publish(conn, tmp_path)
    before = snap.read_bytes()
    conn.close()
    env = {**os.environ, "LIQMAP_FAILPOINT": "snapshot-patch", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_PATCH, str(path), str(snap)], env=env, timeout=120
    )
    assert proc.returncode == -9
    assert snap.read_bytes() == before  # readers still see the previous publication
    conn = open_warehouse(path)
    try:
        again = _publish(conn, tmp_path)
        assert again.mode == "full"
        assert again.why == "no spare copy recorded"
        assert_snapshot_matches(conn, snap)
    finally:
        conn.close()


def test_a_warehouse_without_a_file_is_copied_table_by_table(tmp_path):
    """An in-memory warehouse has no file to copy: the first publication rewrites every table
    (COPY FROM DATABASE), later ones patch the spare as usual."""
    conn = duckdb.connect()
    try:
        conn.execute("CREATE SCHEMA raw")
        conn.execute(
            "CREATE TABLE raw.t AS "
            "SELECT DATE '2025-11-01' + (i % 4)::INTEGER AS day, i FROM range(100) r(i)"
        )
        snap = tmp_path / "snap" / "warehouse.duckdb"
        first = _publish(conn, tmp_path, withheld=[D2])
        assert first.mode == "full"
        assert_snapshot_matches(conn, snap, withheld={"raw.t": [D2]})
        conn.execute("DELETE FROM raw.t WHERE day = DATE '2025-11-04'")
        second = _publish(conn, tmp_path)
        assert second.mode == "incremental" and second.tables == ["raw.t"]
        assert_snapshot_matches(conn, snap)
    finally:
        conn.close()
