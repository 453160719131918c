"""Ctrl-C and SIGTERM stop `liqmap run` with `liqmap: interrupted` and exit 130 / 143.

The run is stopped while a step is blocked on a real HTTP server that never answers (the
archive source pointed at it), so the signal arrives mid-step at a known point. Nothing is
lost: the warehouse still opens, the stage table shows the interrupted stage, and no
Dagster class name or traceback is printed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

LIQMAP = str(Path(sys.executable).with_name("liqmap"))
DAY = date(2025, 11, 3)  # a fixed past day (the stalled archive never serves it anyway)


class _SilentServer:
    """Accepts HTTP connections on 127.0.0.1 and never answers (a stalled archive)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.requests = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.requests.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture()
def stalled():
    server = _SilentServer()
    yield server
    server.close()


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_mid_step_says_interrupted(sig, status, stalled, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        DAGSTER_HOME=str(tmp_path / "home"),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
        LIQMAP_SITE_DIR=str(tmp_path / "site"),
        LIQMAP_SOURCE="binance",
        LIQMAP_VENUES="binance",
        LIQMAP_SYMBOLS="BTCUSDT",
        LIQMAP_BINANCE_URL=stalled.url,
        LIQMAP_START_DATE=DAY.isoformat(),
        LIQMAP_END_DATE=DAY.isoformat(),
        COLUMNS="120",
    )
    proc = subprocess.Popen(
        [LIQMAP, "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert stalled.requests.wait(180), "the run never asked the archive"
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == status, (out, err)
    assert err.splitlines()[-1] == "liqmap: interrupted", err
    assert "Dagster" not in err and "Traceback" not in out + err, err
    raw = [line for line in out.splitlines() if line.strip().startswith("raw ")]
    assert raw and all("interrupted" in line for line in raw), out  # live line and table
    assert stopped_in < 30, stopped_in  # a bound, not a speed claim: the stall is endless
    status_run = subprocess.run(
        [LIQMAP, "status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert status_run.returncode == 0, status_run.stdout + status_run.stderr
    assert "BROKEN" not in status_run.stdout
    data = tmp_path / "data"
    stray = (
        [p for p in data.rglob("*") if p.is_file() and ".tmp" in p.name] if data.exists() else []
    )
    assert not stray  # no half-written download left behind
