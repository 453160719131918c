"""Dagster's SQLite run storage on one kept engine, committing without an fsync.

Dagster's SqliteRunStorage builds a new engine for every statement group, opens the file,
commits with synchronous=FULL and closes it; closing the last connection to a WAL file
checkpoints it (fsyncs). A daily run does that ~20 times (adding the run and its snapshots,
each status change, reading the run back), 0.05-0.25 s of its wall clock on a busy disk.
Here the engine is made once per process and keeps its connections, which commit with
synchronous=NORMAL (orchestration/sqlite_storage.py: nothing committed is lost to a SIGKILL).
Opening the instance (each run worker, `liqmap run`) reads the file's alembic revision instead
of Dagster's check, which parses every migration script to do nothing when one is recorded.
The same tables and rows as Dagster's own: only how the file is opened differs.

Configured in orchestration/dagster.yaml (`run_storage`), like the event log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from orchestration.sqlite_storage import commit_without_fsync, home_folder, stamped

#: what Dagster's `from_local` makes besides the alembic stamp
_TABLES = ("runs", "instance_info")


class KeptSqliteRunStorage(SqliteRunStorage):
    """SqliteRunStorage (`base_dir`, default $DAGSTER_HOME/history like Dagster's own) whose
    engine is made once and kept."""

    def __init__(self, conn_string: str, inst_data: ConfigurableClassData | None = None):
        self._engine: Engine | None = None
        self._engine_pid = os.getpid()
        self._engine_lock = threading.Lock()
        super().__init__(conn_string, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> KeptSqliteRunStorage:
        base_dir = home_folder(
            config_value.get("base_dir"), f"run_storage {cls.__name__}", "history"
        )
        return cls.from_local(base_dir, inst_data=inst_data)

    @classmethod
    def from_local(cls, base_dir: str, inst_data: ConfigurableClassData | None = None):
        """Dagster's `from_local` (create, stamp, migrate) unless the file is set up already."""
        if stamped(os.path.join(base_dir, "runs.db"), _TABLES):
            return cls(create_db_conn_string(base_dir, "runs"), inst_data)
        return super().from_local(base_dir, inst_data=inst_data)

    def _kept_engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None or self._engine_pid != os.getpid():
                # forked: the parent's connections are not this process's to use
                self._engine = commit_without_fsync(create_engine(self._conn_string))
                self._engine_pid = os.getpid()
            return self._engine

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """Dagster's `connect` (one transaction) on the kept engine."""
        engine = self._kept_engine()
        with engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._engine_lock:
            engine, self._engine = self._engine, None
        if engine is not None and self._engine_pid == os.getpid():
            engine.dispose()
