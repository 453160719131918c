"""A persistent DAGSTER_HOME inside the project, so run history survives restarts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from transforms.config import ConfigError, project_root

TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home_path() -> Path:
    """$DAGSTER_HOME or <project>/.dagster_home, without creating anything."""
    return Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME or <project>/.dagster_home; create it with our dagster.yaml."""
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
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
