"""`liqmap dev` (real webserver, daemon and code server) stops on SIGTERM and SIGINT within
10 s, its children included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from orchestration.devserver import descendants

pytestmark = pytest.mark.slow

LIQMAP = str(Path(sys.executable).with_name("liqmap"))
STOP_DEADLINE_S = 10.0


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


def _settled_family(pid: int, quiet_s: float = 3.0, limit_s: float = 120.0) -> list[int]:
    """The descendants of `pid` once they are at least three and none has come or gone for
    `quiet_s` (a condition, not a guess at how long start-up takes on a busy machine)."""
    deadline = time.monotonic() + limit_s
    family, since = sorted(descendants(pid)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = sorted(descendants(pid))
        if now != family:
            family, since = now, time.monotonic()
        elif len(family) >= 3 and time.monotonic() - since >= quiet_s:
            return family
    pytest.fail(f"the process family of `liqmap dev` never settled: {family}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_dev_stops_with_its_children(sig, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "LIQMAP_DATA_DIR": str(tmp_path / "data"),
        "LIQMAP_SITE_DIR": str(tmp_path / "site"),
        "LIQMAP_SOURCE": "synthetic",
        # an old window: the sensor has nothing to build, so no run competes for the CPU
        "LIQMAP_START_DATE": "2025-11-01",
        "LIQMAP_END_DATE": "2025-11-03",
    }
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [LIQMAP, "dev", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("webserver never came up:\n" + (tmp_path / "dev.log").read_text()[-3000:])
        family = _settled_family(proc.pid)  # the daemon's threads and code server started
        assert len(family) >= 3, family  # dg dev, webserver, daemon, code server(s)
        sent = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=STOP_DEADLINE_S)
        while any(_alive(pid) for pid in family) and time.monotonic() - sent < STOP_DEADLINE_S:
            time.sleep(0.1)
        elapsed = time.monotonic() - sent
        assert not [pid for pid in family if _alive(pid)], "children survived"
        assert elapsed < STOP_DEADLINE_S
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
        log.close()
