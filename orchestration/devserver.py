"""`liqmap dev`: the Dagster UI and daemon as children that stop when liqmap is told to.

`dg dev` runs in its own process group, so a terminal's Ctrl-C or a service manager's SIGTERM
reaches liqmap only; liqmap forwards SIGINT (dg dev's clean shutdown) to the group, waits,
then SIGKILLs the group and any descendant that left it. Everything is gone within
`STOP_DEADLINE_S`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from transforms.config import project_root

GRACE_S = 5.0
STOP_DEADLINE_S = 10.0


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`."""
    tree = _children_map()
    found, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_group(proc: subprocess.Popen, grace_s: float = GRACE_S) -> None:
    """SIGINT the child's process group, wait up to `grace_s`, then SIGKILL what is left."""
    known = [proc.pid, *descendants(proc.pid)]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    known += descendants(proc.pid) if proc.poll() is None else []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    _signal_all(known, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
        proc.wait(timeout=2)


def run_dev(port: int) -> int:
    """Start `dg dev` on 127.0.0.1:`port`; return when it exits or when we are signalled."""
    received: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        received.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    dg = os.path.join(os.path.dirname(sys.executable), "dg")
    env = {**os.environ, "PYTHONWARNINGS": "ignore::Warning"}
    proc = subprocess.Popen(
        [dg, "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project_root(),
        env=env,
        start_new_session=True,
    )
    print(f"liqmap: Dagster UI on http://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    while proc.poll() is None and not received:
        time.sleep(0.2)
    if received:
        name = signal.Signals(received[0]).name
        print(f"liqmap: {name} received, stopping the UI and daemon", file=sys.stderr, flush=True)
        stop_group(proc)
        return 0
    return proc.returncode or 0
