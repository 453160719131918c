"""`liqmap dev` (real webserver, daemon and code server) stops on SIGTERM and SIGINT within
10 s, its children included."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

from orchestration.devserver import descendants

# both tests' `liqmap dev` processes start together in one module fixture: their start-ups
# (Dagster's imports, then its code server, webserver and daemon waiting on each other)
# overlap instead of running one after the other
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dev_signals")]

LIQMAP = str(Path(sys.executable).with_name("liqmap"))
STOP_DEADLINE_S = 10.0
SIGNALS = [signal.SIGTERM, signal.SIGINT]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Dev:
    """One `liqmap dev` process, its log and its settled process family."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    log: IO[str]
    family: list[int] = field(default_factory=list)

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:]


def _start(root: Path) -> Dev:
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(root / "home"),
        "LIQMAP_DATA_DIR": str(root / "data"),
        "LIQMAP_SITE_DIR": str(root / "site"),
        "LIQMAP_SOURCE": "synthetic",
        # an old window: the sensor has nothing to build, so no run competes for the CPU
        "LIQMAP_START_DATE": "2025-11-01",
        "LIQMAP_END_DATE": "2025-11-03",
    }
    log_path = root / "dev.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [LIQMAP, "dev", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    return Dev(proc, port, log_path, log)


def _wait_up(devs: list[Dev], limit_s: float = 180.0) -> None:
    """Until each webserver answers /server_info (a process that exits fails at once)."""
    deadline = time.monotonic() + limit_s
    waiting = list(devs)
    while waiting and time.monotonic() < deadline:
        for dev in list(waiting):
            assert dev.proc.poll() is None, dev.tail()
            try:
                if httpx.get(f"http://127.0.0.1:{dev.port}/server_info", timeout=2).is_success:
                    waiting.remove(dev)
            except httpx.HTTPError:
                pass
        if waiting:
            time.sleep(0.25)
    if waiting:
        pytest.fail("webserver never came up:\n" + waiting[0].tail())


def _settle(devs: list[Dev], quiet_s: float = 3.0, limit_s: float = 120.0) -> None:
    """Each dev's descendants once they are at least three and none has come or gone for
    `quiet_s` (a condition, not a guess at how long start-up takes on a busy machine)."""
    deadline = time.monotonic() + limit_s
    families = {id(d): (sorted(descendants(d.proc.pid)), time.monotonic()) for d in devs}
    while time.monotonic() < deadline:
        time.sleep(0.2)
        settled = True
        for dev in devs:
            family, since = families[id(dev)]
            now = sorted(descendants(dev.proc.pid))
            if now != family:
                families[id(dev)] = (now, time.monotonic())
                settled = False
            elif len(family) < 3 or time.monotonic() - since < quiet_s:
                settled = False
        if settled:
            for dev in devs:
                dev.family = families[id(dev)][0]
            return
    pytest.fail(f"the process family of `liqmap dev` never settled: {families}")


@pytest.fixture(scope="module")
def devs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[signal.Signals, Dev]]:
    """A running, settled `liqmap dev` for each signal, started together."""
    started: dict[signal.Signals, Dev] = {}
    try:
        for sig in SIGNALS:
            started[sig] = _start(tmp_path_factory.mktemp(f"dev-{sig.name}"))
        _wait_up(list(started.values()))
        _settle(list(started.values()))  # the daemon's threads and code server started
        yield started
    finally:
        for dev in started.values():
            left = descendants(dev.proc.pid)
            if dev.proc.poll() is None:
                dev.proc.kill()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            dev.proc.wait()
            dev.log.close()


@pytest.mark.parametrize("sig", SIGNALS)
def test_dev_stops_with_its_children(sig, devs):
    dev = devs[sig]
    proc, family = dev.proc, dev.family
    assert len(family) >= 3, family  # dg dev, webserver, daemon, code server(s)
    assert proc.poll() is None, dev.tail()
    sent = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=STOP_DEADLINE_S)
    while any(_alive(pid) for pid in family) and time.monotonic() - sent < STOP_DEADLINE_S:
        time.sleep(0.1)
    elapsed = time.monotonic() - sent
    assert not [pid for pid in family if _alive(pid)], "children survived"
    assert elapsed < STOP_DEADLINE_S
    assert proc.returncode == 0
