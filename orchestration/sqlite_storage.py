"""What liqmap's Dagster storages (orchestration/event_log.py, orchestration/run_storage.py)
share: each one's folder defaults to where Dagster's own keeps
it, their kept connections commit without an fsync, and a storage's SQLite file is known set
up by the alembic revision it records.

Dagster's SQLite storages check a file by asking alembic for the recorded revision and the
head revision; naming the head parses every migration script (~50 ms), and a recorded
revision is all the check needs to do nothing (it creates the tables and stamps the head only
when none is recorded). Reading the one row takes well under a millisecond.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from dagster._core.errors import DagsterInvariantViolationError
from sqlalchemy.engine import Engine
from sqlalchemy.event import listen


def home_folder(base_dir: str | None, storage: str, *parts: str) -> str:
    """The storage's configured `base_dir`, else $DAGSTER_HOME/<parts> (Dagster's default)."""
    if base_dir:
        return base_dir
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise DagsterInvariantViolationError(
            f"{storage}: no base_dir and no DAGSTER_HOME; expected one of them to name its folder"
        )
    return os.path.join(home, *parts)


def _synchronous_normal(dbapi_connection, _record) -> None:
    """SQLite in WAL mode (Dagster's files are): commits append to the log unsynced, and only
    checkpoints sync. A SIGKILLed process loses nothing committed; a power cut may lose the
    last transactions, never the file's consistency (SQLite's guarantee for WAL + NORMAL)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def commit_without_fsync(engine: Engine) -> Engine:
    """The engine's connections commit with synchronous=NORMAL (see above)."""
    listen(engine, "connect", _synchronous_normal)
    return engine


def stamped(path: str | Path, tables: tuple[str, ...] = ()) -> bool:
    """The SQLite file exists, records one alembic revision and has `tables`: Dagster's own
    set-up check would do nothing to it. Read-only: nothing is created or checkpointed."""
    if not Path(path).is_file():
        return False
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return len(rows) == 1 and bool(rows[0][0]) and set(tables) <= names
