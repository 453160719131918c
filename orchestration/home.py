"""A persistent DAGSTER_HOME inside the project, so run history survives restarts.

Dagster creates and migrates its SQLite storages on first use; two first runs on a fresh
home used to race into `sqlite3.OperationalError`. The first use therefore happens here,
under an exclusive file lock, and is marked done so later runs skip the lock.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from transforms.config import ConfigError, project_root
from transforms.file_lock import exclusive_lock

TEMPLATE = Path(__file__).with_name("dagster.yaml")
LOCK_NAME = ".liqmap-init.lock"
READY_NAME = ".liqmap-initialized"


def dagster_home_path() -> Path:
    """$DAGSTER_HOME or <project>/.dagster_home, without creating anything."""
    return Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()


def instance_settings() -> dict:
    """The instance settings liqmap gives DAGSTER_HOME (orchestration/dagster.yaml), for an
    instance made elsewhere (`dg.instance_for_test(overrides=...)` in the benchmarks) that
    should store events as `liqmap run` does."""
    import yaml

    return yaml.safe_load(TEMPLATE.read_text())


def ensure_dagster_home(initialize: bool = True) -> Path:
    """Use $DAGSTER_HOME or <project>/.dagster_home; create it with our dagster.yaml and
    (unless `initialize` is False) create its storages once, under a lock."""
    home = dagster_home_path()
    if home.exists() and not home.is_dir():
        raise ConfigError(
            f"DAGSTER_HOME={home} is a file: expected a folder (created when missing)"
        )
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"DAGSTER_HOME={home} cannot be created ({exc.strerror}): expected a writable folder"
        ) from None
    os.environ["DAGSTER_HOME"] = str(home)
    if (home / READY_NAME).exists() and (home / "dagster.yaml").exists():
        return home
    with exclusive_lock(home / LOCK_NAME):
        config = home / "dagster.yaml"
        if not config.exists():
            tmp = home / f".dagster.yaml.{os.getpid()}.tmp"
            shutil.copyfile(TEMPLATE, tmp)
            os.replace(tmp, config)
        if initialize and not (home / READY_NAME).exists():
            _create_storages()
            (home / READY_NAME).write_text("storages created\n")
    return home


def _create_storages() -> None:
    """Open the instance once: Dagster creates and migrates the SQLite storages."""
    import dagster as dg

    instance = dg.DagsterInstance.get()
    try:
        instance.get_runs(limit=1)
    finally:
        instance.dispose()
