"""Where the suite's wall time goes, test by test (optional: `LIQMAP_TEST_TIMES=1`).

For each test phase (setup, call, teardown) one JSON line: the worker, when it started and
ended (seconds since the epoch, so the workers' lines share one timeline), its wall time and
the CPU time of the pytest process (all its threads) and of its descendants in that phase
(`liqmap` subprocesses, Dagster daemons, Chromium: those waited for, from getrusage, and those
still running, from /proc). A phase whose wall time is far above its CPU time waits: on a
sleep, a poll, a timeout, or on the other worker's load. scripts/test_times.py summarizes.

Written to test-artifacts/test-times/<worker>.jsonl (one file per pytest-xdist worker, so the
workers never write one file). Off by default: a phase's accounting costs a few milliseconds
(getrusage, one pass over /proc), and a suite run should not write files nobody asked for.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "LIQMAP_TEST_TIMES"
OUT_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "test-times"


TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The children of `pid`: /proc/PID/task/TID/children of each of its threads."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _live_descendants_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each live descendant of `pid` (its own and its waited children's), from
    /proc: a Chromium or a Dagster daemon still running when a phase ends counts too."""
    found: dict[int, float] = {}
    todo = _children(pid)
    while todo:
        child = todo.pop()
        try:
            with open(f"/proc/{child}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        found[child] = sum(int(x) for x in fields[11:15]) / TICK
        todo.extend(_children(child))
    return found


def _cpu() -> tuple[float, float, dict[int, float], float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = _live_descendants_cpu(os.getpid())
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime, live, me.ru_stime


class TestTimes:
    """The pytest plugin: one JSON line per phase of every test run by this process."""

    def __init__(self, worker: str) -> None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self._started = time.time()
        self._out = (OUT_DIR / f"{worker}.jsonl").open("w", encoding="utf-8")

    def _phase(self, item: pytest.Item, phase: str) -> Iterator[None]:
        start, before = time.time(), _cpu()
        try:
            return (yield)
        finally:
            self._write(item, phase, start, before)

    def _write(self, item: pytest.Item, phase: str, start: float, before: tuple) -> None:
        end, (cpu1, kids1, live1, sys1) = time.time(), _cpu()
        cpu0, kids0, live0, sys0 = before
        # live descendants: what they used in the phase (all of it for those started in it);
        # one that ended moved its whole CPU time into its waiting parent's (counted above,
        # or in a live descendant's), so what it had used before the phase comes off
        live = sum(t - live0.get(pid, 0.0) for pid, t in live1.items())
        # (those this process waited for are in kids1 - kids0; Chromium's renderers, reaped
        # by no one who tells, are not: they count up to the moment they were last seen)
        live -= min(sum(t for pid, t in live0.items() if pid not in live1), kids1 - kids0)
        row = {
            "test": item.nodeid,
            "phase": phase,
            "worker": self.worker,
            "start": round(start, 3),
            "end": round(end, 3),
            "wall": round(end - start, 3),
            "cpu": round(cpu1 - cpu0, 3),
            "sys": round(sys1 - sys0, 3),  # of which in the kernel (fork, page faults, I/O)
            "children": round(kids1 - kids0 + live, 3),
            "load1": round(os.getloadavg()[0], 2),
            # threads left running by earlier tests keep using this process's CPU
            "threads": sorted(t.name for t in threading.enumerate()),
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
