"""Where the suite's wall time goes, test by test (optional: `LIQMAP_TEST_TIMES=1`).

For each test phase (setup, call, teardown) one JSON line: the worker, when it started and
ended (seconds since the epoch, so the workers' lines share one timeline), its wall time and
the CPU time of the pytest process (all its threads) and of its children that ended and were
waited for in that phase (`liqmap` subprocesses, Dagster daemons, Chromium). A phase whose wall
time is far above its CPU time waits: on a sleep, a poll, a timeout, or on the other worker's
load. scripts/test_times.py summarizes the files.

Written to test-artifacts/test-times/<worker>.jsonl (one file per pytest-xdist worker, so the
workers never write one file). Off by default: two getrusage calls per phase are cheap, but a
suite run should not write files nobody asked for.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "LIQMAP_TEST_TIMES"
OUT_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "test-times"


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


class TestTimes:
    """The pytest plugin: one JSON line per phase of every test run by this process."""

    def __init__(self, worker: str) -> None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self._started = time.time()
        self._out = (OUT_DIR / f"{worker}.jsonl").open("w", encoding="utf-8")

    def _phase(self, item: pytest.Item, phase: str) -> Iterator[None]:
        start, (cpu0, kids0) = time.time(), _cpu()
        try:
            return (yield)
        finally:
            self._write(item, phase, start, cpu0, kids0)

    def _write(
        self, item: pytest.Item, phase: str, start: float, cpu0: float, kids0: float
    ) -> None:
        end, (cpu1, kids1) = time.time(), _cpu()
        row = {
            "test": item.nodeid,
            "phase": phase,
            "worker": self.worker,
            "start": round(start, 3),
            "end": round(end, 3),
            "wall": round(end - start, 3),
            "cpu": round(cpu1 - cpu0, 3),
            "children": round(kids1 - kids0, 3),
            "load1": round(os.getloadavg()[0], 2),
        }
        self._out.write(json.dumps(row) + "\n")
        self._out.flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item, "call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        return (yield from self._phase(item, "teardown"))

    def pytest_collection_finish(self) -> None:
        """A `collect` row: from this process's configure to its collection's end."""
        end = time.time()
        row = {"test": "", "phase": "collect", "worker": self.worker, "start": self._started}
        row |= {"end": end, "wall": end - self._started, "load1": os.getloadavg()[0]}
        self._out.write(json.dumps(row) + "\n")

    def pytest_unconfigure(self) -> None:
        self._out.close()


def register(config: pytest.Config) -> None:
    """Register the plugin when LIQMAP_TEST_TIMES is set, on the processes that run tests
    (each xdist worker, or the single process without xdist)."""
    if not os.environ.get(ENV) or config.pluginmanager.has_plugin("liqmap-test-times"):
        return
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no test
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    config.pluginmanager.register(TestTimes(worker), "liqmap-test-times")
