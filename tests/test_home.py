"""Concurrent first runs on a fresh DAGSTER_HOME: storages are created once, under a lock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIRST_RUN = """
from orchestration.home import ensure_dagster_home
ensure_dagster_home()
import dagster as dg
instance = dg.DagsterInstance.get()
print(len(instance.get_runs(limit=1)))
"""


@pytest.mark.slow  # about 10 s of CPU: scheduled first, not last (docs/testing.md)
def test_concurrent_first_runs_do_not_race(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_RUN],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert out.strip() == "0"
        assert "OperationalError" not in err
    assert (home / "dagster.yaml").is_file()
    assert (home / ".liqmap-initialized").is_file()
