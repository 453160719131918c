"""liqmap's Dagster event log (orchestration/event_log.py, configured in
orchestration/dagster.yaml) stores the asset events of a range run a batch per transaction:
what Dagster's own SQLite event log stores, event for event, in far fewer commits; and the
real chain's range run leaves every partition of every asset materialized, as the UI reads it.
(No `from __future__ import annotations`: Dagster reads the toy model's config annotation.)"""

import sqlite3
import threading
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value
from sqlalchemy import event
from sqlalchemy.engine import Engine

from orchestration.definitions import ALL_ASSETS
from orchestration.event_log import BATCH_ENV, TEMPLATE_FOLDER, BatchedSqliteEventLogStorage
from orchestration.home import instance_settings
from tests.pipeline_helpers import run_chain, temp_settings

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC")
MARTS = ("m0", "m1", "m2")


class Toy(dg.Config):
    fail: bool = False


@dg.multi_asset(
    specs=[dg.AssetSpec(name) for name in MARTS],
    check_specs=[dg.AssetCheckSpec("rows_positive", asset="m0", blocking=True)],
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def toy_model(context: dg.AssetExecutionContext, config: Toy):
    """Three marts of one pass over a range, with a blocking check (like liquidation_model)."""
    if config.fail:
        raise dg.Failure("the toy model fails this range")
    for name in MARTS:
        yield dg.MaterializeResult(asset_key=name, metadata={"rows": 5})
    yield dg.AssetCheckResult(check_name="rows_positive", asset_key="m0", passed=True)


def _range(instance: dg.DagsterInstance, first: str, last: str, fail: bool = False) -> str:
    result = dg.materialize(
        [toy_model],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        run_config={"ops": {"toy_model": {"config": {"fail": fail}}}},
        raise_on_error=False,
    )
    assert result.success is not fail
    return result.run_id


def _days(first: str, n: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def _status(instance: dg.DagsterInstance, key: str) -> tuple[list, list, list]:
    """Materialized, failed and in-progress partitions, the way the UI computes them."""
    value = get_and_update_asset_status_cache_value(instance, dg.AssetKey(key), DAYS)
    return (
        sorted(value.deserialize_materialized_partition_subsets(DAYS).get_partition_keys()),
        sorted(value.deserialize_failed_partition_subsets(DAYS).get_partition_keys()),
        sorted(value.deserialize_in_progress_partition_subsets(DAYS).get_partition_keys()),
    )


def _stored(instance: dg.DagsterInstance, runs: list[str]) -> dict:
    """Everything the UI reads of these runs: each run's events in order (type, asset,
    partition), the cross-run asset index, partition status, latest materializations, checks."""
    seen: dict = {"runs": [], "index": {}, "status": {}, "latest": {}}
    for run_id in runs:
        seen["runs"].append(
            [
                (e.dagster_event_type, e.dagster_event.asset_key, e.dagster_event.partition)
                for e in instance.all_logs(run_id)
                if e.dagster_event is not None
            ]
        )
    for name in MARTS:
        key = dg.AssetKey(name)
        for kind in (
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        ):
            records = instance.get_event_records(
                dg.EventRecordsFilter(event_type=kind, asset_key=key), ascending=True
            )
            seen["index"][(name, kind)] = [(r.run_id == runs[-1], r.partition_key) for r in records]
        seen["status"][name] = _status(instance, name)
        latest = instance.get_latest_materialization_event(key)
        seen["latest"][name] = (latest.run_id == runs[0], latest.dagster_event.partition)
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("m0"), "rows_positive")]
    )
    seen["check"] = [(r.status, r.run_id == runs[0]) for r in check.values()]
    # every check execution row (planned, then evaluated), in order, with the event it points at
    with instance.event_log_storage.index_connection() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT asset_key, check_name, partition, run_id, execution_status, "
                "evaluation_event_storage_id, evaluation_event IS NOT NULL "
                "FROM asset_check_executions ORDER BY id"
            )
        ).fetchall()
    seen["check_rows"] = [(*r[:3], runs.index(r[3]), *r[4:]) for r in rows]
    return seen


def _commits() -> tuple[list[int], object]:
    count = [0]

    def on_commit(_conn) -> None:
        count[0] += 1

    event.listen(Engine, "commit", on_commit)
    return count, on_commit


def _toy_runs(batched: bool) -> tuple[dict, int, str]:
    """A range run, then a failing run over an overlapping range; what was stored, how many
    commits it took and the event log storage's class."""
    overrides = instance_settings() if batched else {}
    count, hook = _commits()
    try:
        with dg.instance_for_test(overrides=overrides) as instance:
            runs = [_range(instance, "2025-01-01", "2025-01-30")]
            runs.append(_range(instance, "2025-01-25", "2025-02-02", fail=True))
            commits = count[0]
            return _stored(instance, runs), commits, type(instance.event_log_storage).__name__
    finally:
        event.remove(Engine, "commit", hook)


@pytest.mark.slow  # about 10 s of CPU: scheduled first, not last (docs/testing.md)
def test_batched_event_log_stores_what_dagster_stores(monkeypatch):
    monkeypatch.delenv(BATCH_ENV, raising=False)  # Dagster as it comes: one event at a time
    stock, stock_commits, stock_class = _toy_runs(batched=False)
    batched, batched_commits, batched_class = _toy_runs(batched=True)
    assert (stock_class, batched_class) == ("SqliteEventLogStorage", "BatchedSqliteEventLogStorage")
    # the failed run's days are failed (those materialized before stay so too), as Dagster's
    # own log has it
    assert stock["status"]["m0"] == (_days("2025-01-01", 30), _days("2025-01-25", 9), [])
    # the check planned in both runs (batched with the plan's asset events here), evaluated in
    # the first only
    assert len(stock["check_rows"]) >= 2, stock["check_rows"]
    assert batched == stock
    # 3 assets x 30 days planned and materialized, 3 x 9 planned again: two commits per event
    # one by one (and about 80 for the rest of the two runs), one per shard and batch here
    assert stock_commits > 2 * 207
    assert batched_commits < stock_commits / 3, (batched_commits, stock_commits)


@pytest.mark.slow  # the real chain, three days
def test_range_run_records_every_partition_of_every_asset(tmp_path):
    first, last = date(2025, 11, 1), date(2025, 11, 3)
    days = [(first + timedelta(days=i)).isoformat() for i in range(3)]
    settings = temp_settings(tmp_path, first.isoformat(), (last + timedelta(days=2)).isoformat())
    with dg.instance_for_test(overrides=instance_settings()) as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)
        result = run_chain(settings, first, last, instance=instance)
        assert result.success
        logs = instance.all_logs(result.run_id)
        kinds = Counter(e.dagster_event_type for e in logs if e.dagster_event is not None)
        partitioned = [
            (key, assets.partitions_def)
            for assets in ALL_ASSETS
            for key in assets.keys
            if assets.partitions_def is not None
        ]
        assert len(partitioned) >= 19
        for key, partitions_def in partitioned:
            value = get_and_update_asset_status_cache_value(instance, key, partitions_def)
            done = value.deserialize_materialized_partition_subsets(partitions_def)
            assert sorted(done.get_partition_keys()) == days, key
            assert not value.deserialize_failed_partition_subsets(partitions_def)
            assert not value.deserialize_in_progress_partition_subsets(partitions_def)
        # one event per asset and partition, planned and materialized; every check evaluated
        assert kinds[dg.DagsterEventType.ASSET_MATERIALIZATION] == 3 * len(partitioned)
        assert kinds[dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED] == 3 * len(partitioned)
        checks = [key for assets in ALL_ASSETS for key in assets.check_keys]
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
        assert len(checks) > 0 and set(latest) == set(checks)
        assert all(r.run_id == result.run_id for r in latest.values())


def test_live_run_events_reach_a_watcher():
    """The webserver streams a live run's events by watching its shard file (Dagster's
    SqliteEventLogStorageWatchdog): an event stored through the kept, unsynced connection
    reaches a watcher, and the storage's own connection reads it back at once."""
    seen: list[str] = []
    arrived = threading.Event()

    def on_event(entry, _cursor) -> None:
        seen.append(entry.message)
        if entry.message == "a live event":
            arrived.set()

    with dg.instance_for_test(overrides=instance_settings()) as instance:
        run_id = _range(instance, "2025-01-01", "2025-01-02")
        storage = instance.event_log_storage
        assert isinstance(storage, BatchedSqliteEventLogStorage)
        storage.watch(run_id, None, on_event)
        try:
            instance.report_engine_event("a live event", instance.get_run_by_id(run_id))
            assert arrived.wait(timeout=30), seen
        finally:
            storage.end_watch(run_id, on_event)
        assert instance.all_logs(run_id)[-1].message == "a live event"


def _shard_schema(path) -> tuple:
    """A SQLite shard's tables, indexes, journal mode and alembic revision."""
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
            ).fetchall(),
            conn.execute("PRAGMA journal_mode").fetchone(),
            conn.execute("SELECT version_num FROM alembic_version").fetchall(),
        )
    finally:
        conn.close()


def test_new_run_shards_are_what_dagster_creates(tmp_path):
    """A new run's shard is copied from an empty one Dagster's own `_initdb` made once:
    the same tables, indexes, WAL journal and alembic revision as Dagster's storage creates."""
    ours = BatchedSqliteEventLogStorage(str(tmp_path / "ours"))
    stock = SqliteEventLogStorage(str(tmp_path / "stock"))
    # made with the storage, before any run needs it
    assert list((tmp_path / "ours" / TEMPLATE_FOLDER).glob("run-shard-*.db"))
    try:
        for storage in (ours, stock):
            for run_id in ("run-a", "run-b"):
                with storage.run_connection(run_id):
                    pass
    finally:
        ours.dispose()
        stock.dispose()
    assert list((tmp_path / "ours" / TEMPLATE_FOLDER).glob("run-shard-*.db"))
    want = _shard_schema(str(tmp_path / "stock" / "run-a.db"))
    assert want[0] and want[1] == ("wal",)
    for run_id in ("run-a", "run-b"):
        assert _shard_schema(str(tmp_path / "ours" / f"{run_id}.db")) == want


def _counted(initdb, calls: list[bool]):
    def counted(engine, **kwargs) -> None:
        calls.append(True)
        initdb(engine, **kwargs)

    return counted


def test_index_shard_is_checked_by_its_revision(tmp_path):
    """A new process's first use of the index shard runs Dagster's `_initdb` only when the
    shard records no alembic revision (what `_initdb` itself checks, without parsing every
    migration script)."""
    BatchedSqliteEventLogStorage(str(tmp_path)).dispose()  # a new home: index made, stamped
    for stamped in (True, False):
        if not stamped:
            conn = sqlite3.connect(tmp_path / "index.db")
            with conn:
                conn.execute("DELETE FROM alembic_version")
            conn.close()
        storage = BatchedSqliteEventLogStorage(str(tmp_path))
        calls: list[bool] = []
        storage._initdb = _counted(storage._initdb, calls)
        try:
            with storage.index_connection() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            storage.dispose()
        assert calls == ([] if stamped else [True])
    assert _shard_schema(str(tmp_path / "index.db"))[2]  # `_initdb` stamped it again


def test_run_storage_reopens_a_home_without_alembic(tmp_path, monkeypatch):
    """The run storage (orchestration/run_storage.py) keeps its engine and, opening a home
    already set up, reads its alembic revision instead of Dagster's check; the runs it
    stored are the ones Dagster's own storage reads back."""
    from dagster._core.storage.runs.sqlite import sqlite_run_storage
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

    from orchestration.run_storage import KeptSqliteRunStorage

    with dg.instance_for_test(overrides=instance_settings(), temp_dir=str(tmp_path)) as instance:
        assert isinstance(instance.run_storage, KeptSqliteRunStorage)
        run_id = _range(instance, "2025-01-01", "2025-01-02")

    def no_check(*_args):
        raise AssertionError("alembic's revision check on a home set up already")

    history = str(tmp_path / "history")
    with monkeypatch.context() as patched:
        patched.setattr(sqlite_run_storage, "check_alembic_revision", no_check)
        kept = KeptSqliteRunStorage.from_local(history)
    stock = SqliteRunStorage.from_local(history)
    try:
        ours, theirs = (s.get_runs(filters=dg.RunsFilter(run_ids=[run_id])) for s in (kept, stock))
        assert [r.status for r in ours] == [dg.DagsterRunStatus.SUCCESS]
        assert ours == theirs
    finally:
        kept.dispose()
        stock.dispose()
