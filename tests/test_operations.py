"""Operating liqmap: a held DuckDB lock gives a clear error after retries, and analysts
reading the published snapshot never block (or get blocked by) a running backfill."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import duckdb
import pytest

from orchestration.resources import WarehouseLockedError, WarehouseResource
from tests.pipeline_helpers import run_range, temp_settings

HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""

READ_LOOP = """
import os, sys, time, duckdb
path, stop_file = sys.argv[1], sys.argv[2]
ok = failed = 0
first = True
while first or not os.path.exists(stop_file):
    try:
        con = duckdb.connect(path, read_only=True)
        con.execute("SELECT count(*), sum(longs_at_risk) FROM mart.daily_metrics").fetchall()
        con.close()
        ok += 1
    except Exception as exc:
        failed += 1
        print("ERROR", exc, flush=True)
    if first:
        print("reading", flush=True)  # the test starts the backfill only now
        first = False
    time.sleep(0.02)
print("ok", ok, "failed", failed, flush=True)
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_held_lock_gives_a_clear_error_not_a_corrupt_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with WarehouseResource(path=str(path)).connect() as conn:
        conn.execute("INSERT INTO mart.model_params VALUES ('h', 'base', '{}', now())")
    holder = _hold_lock(path, 30)
    try:
        resource = WarehouseResource(path=str(path), lock_retries=3, lock_wait_seconds=0.1)
        expected = pytest.raises(WarehouseLockedError, match="locked by another process after 3")
        with expected, resource.connect():
            pass
    finally:
        holder.kill()
        holder.wait()
    with WarehouseResource(path=str(path)).connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM mart.model_params").fetchone()[0] == 1


def test_lock_released_during_retries_is_waited_for(tmp_path):
    path = tmp_path / "w.duckdb"
    with WarehouseResource(path=str(path)).connect():
        pass
    holder = _hold_lock(path, 1.0)
    try:
        resource = WarehouseResource(path=str(path), lock_retries=8, lock_wait_seconds=0.2)
        with resource.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        holder.wait(timeout=30)


@pytest.mark.slow
def test_snapshot_readers_and_a_backfill_never_block_each_other(tmp_path):
    settings = temp_settings(tmp_path, "2025-11-01", "2025-11-08")
    assert run_range(settings, date(2025, 11, 1), date(2025, 11, 1)).success
    assert settings.snapshot_path.is_file()

    stop_file = tmp_path / "stop-reading"
    # The reader loops until told to stop, so it overlaps the whole backfill however long
    # the backfill takes on a loaded machine; the backfill starts once it has read (however
    # long the reader's start takes).
    reader = subprocess.Popen(
        [sys.executable, "-c", READ_LOOP, str(settings.snapshot_path), str(stop_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "reading"
        result = run_range(settings, date(2025, 11, 1), date(2025, 11, 4))
    finally:
        stop_file.touch()
    out, _ = reader.communicate(timeout=120)

    assert result.success
    assert "ERROR" not in out, out
    ok = int(out.split()[1])
    assert ok > 1, out  # reads succeeded while the backfill ran (none failed, above)
    conn = duckdb.connect(str(settings.snapshot_path), read_only=True)
    try:
        days = conn.execute("SELECT count(DISTINCT day) FROM mart.daily_metrics").fetchone()[0]
    finally:
        conn.close()
    assert days == 4  # the snapshot now holds the backfilled range


OPENS_READ_WRITE = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).close()
except duckdb.IOException:
    sys.exit(3)
"""


def _another_process_opens(path) -> bool:
    return subprocess.run([sys.executable, "-c", OPENS_READ_WRITE, str(path)]).returncode == 0


def test_a_run_keeps_one_connection_and_frees_the_file_when_it_ends(tmp_path):
    """In a run every step gets the same read-write connection (one open, one checkpoint);
    a step that fails gives it up, a step asking read-only gets its own, and once the run
    is over another process opens the file (the UI, `liqmap query`, the next run). While the
    run goes the heap imported before it is frozen (orchestration.heap), after it as before."""
    import gc

    import dagster as dg

    path = tmp_path / "w.duckdb"
    seen: list[duckdb.DuckDBPyConnection] = []
    frozen_before = gc.get_freeze_count()
    frozen: list[int] = []

    @dg.asset
    def first(warehouse: WarehouseResource) -> None:
        frozen.append(gc.get_freeze_count())
        with warehouse.connect() as conn:
            conn.execute("CREATE TABLE main.t AS SELECT 1 AS x")
            seen.append(conn)

    @dg.asset(deps=[first])
    def second(warehouse: WarehouseResource) -> None:
        with warehouse.connect() as conn:
            seen.append(conn)
            assert not _another_process_opens(path)  # the run holds it
        with pytest.raises(duckdb.CatalogException), warehouse.connect() as conn:
            conn.execute("SELECT * FROM main.missing")
        with warehouse.connect() as conn:  # a new connection after the failure
            seen.append(conn)
            assert conn.execute("SELECT x FROM main.t").fetchall() == [(1,)]
        with warehouse.connect(read_only=True) as conn:
            assert conn.execute("SELECT x FROM main.t").fetchall() == [(1,)]
            assert _another_process_opens(path) is False  # readers only, not writers

    result = dg.materialize(
        [first, second], resources={"warehouse": WarehouseResource(path=str(path))}
    )
    assert result.success
    assert seen[0] is seen[1] and seen[2] is not seen[1]
    assert _another_process_opens(path)
    assert frozen[0] > 1000 and gc.get_freeze_count() == frozen_before
