"""Dagster's SQLite event log, writing a batch of asset events in one transaction per shard.

A single-run backfill stores one ASSET_MATERIALIZATION_PLANNED and one ASSET_MATERIALIZATION
event per asset and partition (the demo year: ~14k events). Dagster's SQLite storage writes
each event on its own: a new engine, a connection, a commit and a WAL checkpoint on the run's
shard and again on the index shard, ~8 ms of CPU and more of waiting per event. Dagster hands
those events over as batches when DAGSTER_EVENT_BATCH_SIZE is set (one batch per output and
per run's plan), but the SQLite storage stores a batch event by event. This subclass stores a
batch of asset events in one transaction on the run shard and one on the index shard: the
same rows, in the same order, as event-by-event storage (partition status in the UI, asset
records and event tags are unchanged). A run's plan also names each asset check it will
evaluate (ASSET_CHECK_EVALUATION_PLANNED, in the same batch: a daily run plans 23 checks,
three transactions each one by one); those go in the same two transactions, with the check's
execution row. Any other event is stored by Dagster's own code.

It also keeps its SQLAlchemy engines and their connections: Dagster's storage builds a new
engine for every statement group (a 1-day `liqmap run` builds ~500: ~1 ms CPU each, and
`has_table` one more per call) and opens and closes the SQLite file each time, and closing the
last connection checkpoints the write-ahead log into the file (two fsyncs and a directory sync).
Here each shard's engine is made once and keeps its connection open (only the last few run
shards' engines are kept), and its connections commit with `synchronous=NORMAL`: in WAL mode a
commit then writes the log without an fsync, and only checkpoints sync (a one-day run made ~900
fsyncs in its run's shard before, a handful now). A SIGKILLed process loses nothing committed
(the log is in the OS's cache; the next opener recovers it); a power cut may lose the last
transactions, never the file's consistency (SQLite's documented guarantee for WAL + NORMAL).
The webserver streams a live run's events by watching its shard file's modification
(SqliteEventLogStorageWatchdog); commits to an open connection write the `-wal` file only, so
a transaction that wrote to a run's shard touches the shard file (its mtime) as the checkpoint
on close used to. A new run's shard is a copy of an empty one Dagster's own `_initdb` made once
per release (base_dir/.liqmap-templates), when the storage is made (with a new home's index):
creating the tables, indexes and alembic stamp in a fresh SQLite file took ~45 fsyncs and
journal files, 0.2-0.6 s of a daily run on a busy disk; the copy takes a millisecond and holds
the same schema. A process's first use of the index shard reads its alembic revision instead
of Dagster's check, which parses every migration script (~50 ms per run worker) to do nothing
when a revision is recorded.

Configured in orchestration/dagster.yaml (`event_log_storage`), so `liqmap run`, the daemon,
the webserver and every run worker use it; it sets DAGSTER_EVENT_BATCH_SIZE (unless set) for
the process that loads it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster._check as check
from dagster import Field, StringSource
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.event_api import EventLogEntry
from dagster._core.events import ASSET_EVENTS, DagsterEventType
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster.version import __version__ as DAGSTER_VERSION
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from orchestration.sqlite_storage import commit_without_fsync, home_folder, stamped

#: events per batch Dagster hands over (the rest of a batch follows in the next one)
BATCH_SIZE = "1000"
BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
#: run shards whose engines are kept (a run writes its own shard; the webserver reads many)
RUN_ENGINES_KEPT = 4
#: base_dir's folder holding the empty run shard new runs' shards are copied from
TEMPLATE_FOLDER = ".liqmap-templates"


#: Dagster's own (private) SqliteEventLogStorage methods the batched path calls; a Dagster
#: release without one of them gets Dagster's event-by-event storage instead of an error.
_DAGSTER_METHODS = (
    "prepare_insert_event",
    "run_connection",
    "index_transaction",
    "_store_asset_event_tags",
    "_has_asset_key_index_cols_on_connection",
    "_get_asset_entry_values",
    "_event_insert_timestamp",
)
#: what the cached-engine `_connect` relies on (Dagster's own `_connect` is used without them)
_CONNECT_ATTRIBUTES = ("_db_lock", "_initialized_dbs", "_initdb", "conn_string_for_shard")


def _touch(path: str) -> None:
    """Mark a run's shard modified for the webserver's watchdog (module doc)."""
    with contextlib.suppress(OSError):  # removed meanwhile (a deleted run): nobody watches it
        os.utime(path)


def _batchable(event: EventLogEntry) -> bool:
    """An asset event (materialization, observation, planned) that names its asset, or an
    asset check's planned evaluation (a run's plan holds one per check it will evaluate)."""
    dagster_event = event.dagster_event
    if dagster_event is None:
        return False
    if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
        return True
    return event.dagster_event_type in ASSET_EVENTS and dagster_event.asset_key is not None


class BatchedSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage (run-sharded, under `base_dir`, default
    $DAGSTER_HOME/history/runs like Dagster's own) whose `store_event_batch` stores a run of
    asset events in one transaction per shard instead of two per event."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        os.environ.setdefault(BATCH_ENV, BATCH_SIZE)
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._engines_pid = os.getpid()
        self._cache_engines = False  # Dagster's own `_connect` while the storage is set up
        super().__init__(base_dir, inst_data=inst_data)
        self._cache_engines = all(hasattr(self, name) for name in _CONNECT_ATTRIBUTES)
        if self._cache_engines:
            # made with the storage (a new home, or a Dagster release without one), not by the
            # first run that needs it
            with contextlib.suppress(OSError, SQLAlchemyError, sqlite3.Error):
                self._template()

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, made (and its database created/migrated, as Dagster's
        `_connect` does) on first use; it keeps its connection open. Called with `_db_lock`
        held, or for reads without it."""
        with self._engines_lock:
            if self._engines_pid != os.getpid():  # forked: the parent's connections are not ours
                self._engines = OrderedDict()
                self._engines_pid = os.getpid()
            engine = self._engines.get(shard)
            if engine is not None:
                self._engines.move_to_end(shard)
                return engine
            engine = create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            commit_without_fsync(engine)
            self._engines[shard] = engine
            runs = [key for key in self._engines if key != INDEX_SHARD_NAME]
            for old in runs[:-RUN_ENGINES_KEPT]:
                self._engines.pop(old).dispose()
        if shard not in self._initialized_dbs:
            if shard == INDEX_SHARD_NAME:
                if not stamped(self.path_for_shard(shard)):
                    self._initdb(engine)
            elif not self._from_template(shard):
                self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    def _from_template(self, shard: str) -> bool:
        """Make a new run's shard file as a copy of the template (module doc); False when the
        file exists already or no copy could be made (Dagster's `_initdb` then runs)."""
        path = self.path_for_shard(shard)
        if os.path.exists(path):
            return False
        try:
            template = self._template()
            part = f"{template}.{os.getpid()}.{threading.get_ident()}.part"
            shutil.copyfile(template, part)
            try:
                os.link(part, path)  # never over a shard another process made meanwhile
            finally:
                os.unlink(part)
        except (OSError, SQLAlchemyError, sqlite3.Error):
            return False
        return True

    def _template(self) -> str:
        """The empty run shard of this Dagster release, made once by Dagster's own `_initdb`
        (in a folder of base_dir, where Dagster's globs of `*.db` do not look)."""
        folder = os.path.join(self._base_dir, TEMPLATE_FOLDER)
        path = os.path.join(folder, f"run-shard-{DAGSTER_VERSION}.db")
        if os.path.exists(path):
            return path
        os.makedirs(folder, exist_ok=True)
        name = f"new-{os.getpid()}-{uuid.uuid4().hex}"
        engine = create_engine(
            create_db_conn_string(folder, name),
            poolclass=NullPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        try:
            self._initdb(engine)
        finally:
            engine.dispose()
        made = os.path.join(folder, f"{name}.db")
        if os.path.exists(f"{made}-wal"):  # every page must be in the file that is copied
            raise OSError(f"{made}: a write-ahead log stayed after closing")
        os.replace(made, path)
        return path

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """Dagster's `_connect` (one transaction on the shard, under the storage's lock) on
        the shard's kept engine."""
        if not self._cache_engines:
            with super()._connect(shard) as conn:
                yield conn
            return
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn:
                sqlite = conn.connection.dbapi_connection
                changes = sqlite.total_changes if shard != INDEX_SHARD_NAME else None
                with conn.begin():
                    yield conn
                if changes is not None and sqlite.total_changes != changes:
                    _touch(self.path_for_shard(shard))

    def has_table(self, table_name: str) -> bool:
        """Dagster's `has_table` (asked before many index reads) on the index's kept engine."""
        if not self._cache_engines:
            return super().has_table(table_name)
        engine = self._engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def dispose(self) -> None:
        super().dispose()
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> BatchedSqliteEventLogStorage:
        base_dir = home_folder(
            config_value.get("base_dir"), f"event_log_storage {cls.__name__}", "history", "runs"
        )
        return cls(base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Consecutive asset events of one run in one transaction per shard; any other event
        on its own, in order."""
        check.sequence_param(events, "events", EventLogEntry)
        if not all(hasattr(self, name) for name in _DAGSTER_METHODS):
            super().store_event_batch(events)
            return
        group: list[EventLogEntry] = []
        for event in events:
            if _batchable(event) and (not group or group[0].run_id == event.run_id):
                group.append(event)
                continue
            self._store_asset_events(group)
            group = []
            if _batchable(event):
                group.append(event)
            else:
                self.store_event(event)
        self._store_asset_events(group)

    def _store_asset_events(self, events: Sequence[EventLogEntry]) -> None:
        """What `store_event` does for each asset event, with one commit per shard: the event
        row in the run's shard, then in the index shard its row, its indexed tags and its
        asset's record, event after event."""
        if not events:
            return
        if len(events) == 1:
            self.store_event(events[0])
            return
        with self.run_connection(events[0].run_id) as conn:
            for event in events:
                conn.execute(self.prepare_insert_event(event))
        with self.index_transaction() as conn:
            event_ids = []
            for event in events:
                with db_result(conn, self.prepare_insert_event(event)) as result:
                    event_ids.append(result.inserted_primary_key[0])
            if any(event_id is None for event_id in event_ids):
                raise DagsterInvariantViolationError(
                    "Cannot store asset event tags for null event id."
                )
            assets = [i for i, e in enumerate(events) if e.dagster_event_type in ASSET_EVENTS]
            if assets:
                tagged = [events[i] for i in assets], [event_ids[i] for i in assets]
                self._store_asset_event_tags(conn, *tagged)
            index_cols = self._has_asset_key_index_cols_on_connection(conn)
            for event, event_id in zip(events, event_ids, strict=True):
                if event.dagster_event_type in ASSET_EVENTS:
                    self._store_asset_record(conn, event, event_id, index_cols)
                else:
                    self._store_check_planned(conn, event, event_id)

    def _store_check_planned(self, conn, event: EventLogEntry, event_id: int) -> None:
        """Dagster's `_store_asset_check_evaluation_planned` (the check's execution row, status
        PLANNED, one per partition of the run) on the batch's index transaction."""
        planned = event.get_dagster_event().asset_check_planned_data
        subset = planned.partitions_subset
        partition_keys = subset.get_partition_keys() if subset else [None]
        conn.execute(
            AssetCheckExecutionsTable.insert().values(
                [
                    dict(
                        asset_key=planned.asset_key.to_string(),
                        check_name=planned.check_name,
                        partition=partition_key,
                        run_id=event.run_id,
                        execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                        evaluation_event=serialize_value(event),
                        evaluation_event_timestamp=self._event_insert_timestamp(event),
                        evaluation_event_storage_id=event_id,
                    )
                    for partition_key in partition_keys
                ]
            )
        )

    def _store_asset_record(self, conn, event: EventLogEntry, event_id: int, index_cols: bool):
        """`_store_asset_event` with the schema probe done once per batch."""
        values = self._get_asset_entry_values(event, event_id, index_cols)
        if not values:
            return
        key = event.get_dagster_event().asset_key.to_string()
        updated = conn.execute(
            AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
        )
        if updated.rowcount == 0:
            conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))
