"""A persistent DAGSTER_HOME inside the project, so run history survives restarts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from transforms.config import project_root

TEMPLATE = Path(__file__).with_name("dagster.yaml")


def ensure_dagster_home() -> Path:
    """Use $DAGSTER_HOME or <project>/.dagster_home; create it with our dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
