"""Concurrent first runs on a fresh DAGSTER_HOME: storages are created once, under a lock;
a run's stdout and stderr are kept for the UI and shown on the terminal."""

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


PRINTING_RUN = """
import sys
from orchestration.home import ensure_dagster_home
ensure_dagster_home()
import dagster as dg

@dg.asset
def talker() -> None:
    print("to stdout from the step", flush=True)
    print("to stderr from the step", file=sys.stderr, flush=True)

instance = dg.DagsterInstance.get()
print(type(instance.compute_log_manager).__name__, file=sys.stderr)
assert dg.materialize([talker], instance=instance).success
"""


def test_a_runs_output_is_kept_and_mirrored(tmp_path: Path) -> None:
    """The compute log manager (orchestration/compute_logs.py) writes the step's stdout and
    stderr to the files the UI reads and mirrors them to the process's own streams."""
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", PRINTING_RUN],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "TailComputeLogManager" in done.stderr
    assert "to stdout from the step" in done.stdout  # mirrored by tail
    assert "to stderr from the step" in done.stderr
    kept = {p.suffix: p.read_text() for ext in ("out", "err") for p in home.rglob(f"*.{ext}")}
    assert "to stdout from the step" in kept[".out"]
    assert "to stderr from the step" in kept[".err"]
    assert list((home / "storage").rglob("*.complete"))  # the capture ended


KILLED_IN_CAPTURE = """
import os, signal, sys, tempfile
from orchestration.compute_logs import TailComputeLogManager
with TailComputeLogManager(tempfile.mkdtemp()).capture_logs(["run", "step"]):
    print("captured", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_runs_mirror_ends_with_it() -> None:
    """A run SIGKILLed while its output is captured leaves no tail holding its streams: a
    parent reading them to their end (then reaping the run) is not kept waiting."""
    done = subprocess.run(
        [sys.executable, "-c", KILLED_IN_CAPTURE],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -9
    assert "captured" in done.stdout
