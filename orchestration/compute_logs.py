"""Dagster's local compute logs (each run's stdout and stderr in files the UI shows), mirrored
to the terminal by a `tail` per stream watched by a shell loop instead of a Python process.

Dagster's LocalComputeLogManager redirects the run's stdout and stderr into files under
$DAGSTER_HOME/storage and mirrors each file back to the terminal with `tail -F`; beside each
tail it starts a second Python interpreter whose only job is to kill that tail once the run's
process is gone (its parent pid changes), and at the end it waits for the four processes by
polling. That is ~0.06-0.08 s of a run's wall clock and ~0.03 s of CPU on the other core, for
every run. Here the watcher is a POSIX shell loop reading its parent pid from /proc (started
in a millisecond) and the end waits on each process directly. (`tail --pid` alone is not
enough: a SIGKILLed run stays a zombie until its parent reaps it, tail takes a zombie for
alive, and a parent that reads the run's output to its end before reaping it would wait for
ever.) The files, their names and what the terminal shows are Dagster's; without /proc (not
Linux), Dagster's own way is used.

Configured in orchestration/dagster.yaml (`compute_logs`), like the storages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from dagster import Field, Float, StringSource
from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._serdes import ConfigurableClassData
from dagster._utils import ensure_file, touch_file

from orchestration.sqlite_storage import home_folder

#: Dagster's knob: seconds to let tail catch up before it is stopped (default none)
TAIL_WAIT_ENV = "DAGSTER_COMPUTE_LOG_TAIL_WAIT_AFTER_FINISH"


def _fileno(stream: TextIO) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # pytest's capture, a closed stream
        return None
    return fd if isinstance(fd, int) else None


#: the watcher: kill the tail ($2) once this shell's parent is no longer the run ($1)
WATCHER = """
while read -r _ _ _ ppid _ < /proc/$$/stat && [ "$ppid" = "$1" ]; do sleep 1; done
kill "$2" 2>/dev/null
"""


@contextmanager
def _mirrored(stream: TextIO, path: str) -> Iterator[None]:
    """`stream` written to `path` while a tail shows the file on the stream's old target."""
    ensure_file(path)
    target = stream if _fileno(stream) is not None else None
    tail = subprocess.Popen(["tail", "-F", "-c", "+0", path], stdout=target)
    watcher = subprocess.Popen(  # holding none of the run's streams
        ["sh", "-c", WATCHER, "liqmap-tail-watcher", str(os.getpid()), str(tail.pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with redirect_to_file(stream, path):
            yield
    finally:
        time.sleep(float(os.getenv(TAIL_WAIT_ENV, "0")))
        for process in (tail, watcher):
            process.terminate()
            process.wait()


class TailComputeLogManager(LocalComputeLogManager):
    """LocalComputeLogManager (`base_dir`, default $DAGSTER_HOME/storage like Dagster's own)
    whose tails are watched by a shell loop (module doc)."""

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {
            "base_dir": Field(StringSource, is_required=False),
            "polling_timeout": Field(Float, is_required=False),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> TailComputeLogManager:
        values = dict(config_value)
        values["base_dir"] = home_folder(
            values.get("base_dir"), f"compute_logs {cls.__name__}", "storage"
        )
        return cls(inst_data=inst_data, **values)

    @contextmanager
    def capture_logs(self, log_key) -> Iterator[CapturedLogContext]:  # type: ignore[override]
        if not os.path.exists(f"/proc/{os.getpid()}/stat"):  # the watcher reads it
            with super().capture_logs(log_key) as context:
                yield context
            return
        out = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        err = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        with _mirrored(sys.stdout, out), _mirrored(sys.stderr, err):
            yield CapturedLogContext(log_key)
        # leave the artifact that says the capture is complete, as Dagster's does
        touch_file(self.complete_artifact_path(log_key))
