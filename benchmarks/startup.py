"""The fixed cost of a `liqmap` process: what it spends before (and after) its real work.

Each command runs as its own process, the way a user, `make demo` or the test suite runs it,
in a temp folder, offline (synthetic market, LIQMAP_NOW pinned), nothing asserted. Printed per
command: CPU seconds (user + system of the process and its children) and wall seconds, best
and median of `--repeat` runs, and the load average:

* `liqmap --help`, and `liqmap run` with a mistaken setting (exit 2, as many tests run it);
* `import orchestration.definitions` (the code location Dagster loads);
* a one-day `liqmap run` on top of a `--base-days` build (a new day, the model continuing
  from the stored state), split into start-up (process start to the first step's start:
  imports, settings checks, Definitions, the Dagster instance, the run's plan), steps (first
  step start to last step end) and the rest (summary, shutdown);
* `liqmap now` on that warehouse (the day after the run's, pinned clock) and `liqmap status`.

    .venv/bin/python benchmarks/startup.py [--repeat 3] [--base-days 2] [--symbols ...]
        [--venues binance,bybit] [--only help,mistake,import,run,now,status]

The split is read inside the `liqmap run` process (a wrapper around the CLI that notes the CPU
and wall clock at the first STEP_START and the last step's end, from the same Dagster event
records the console display reads). Timings on a shared machine are noisy: compare runs made
on the same machine and load; CPU seconds stretch much less with the load than wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BASE_START = date(2026, 11, 1)

#: runs `liqmap` (orchestration.cli.main) noting CPU/wall at the run's first step start and
#: last step end; prints one JSON line on fd 3's stand-in (stderr, prefixed) at exit
DRIVER = r"""
import json, os, sys, time
import orchestration.runner as runner
marks = {}
_emit = runner._EventSink.emit
def emit(self, record):
    meta = getattr(record, "dagster_meta", None) or {}
    event = meta.get("dagster_event")
    if event is not None:
        kind = event.event_type_value
        now = (time.process_time(), time.time())
        if kind == "STEP_START" and "first_step" not in marks:
            marks["first_step"] = now
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            marks["last_step_end"] = now
    _emit(self, record)
runner._EventSink.emit = emit
from orchestration.cli import main
code = main()  # argv from sys.argv, as the `liqmap` script calls it
marks["exit"] = (time.process_time(), time.time())
sys.stderr.write("STARTUP-MARKS " + json.dumps(marks) + "\n")
sys.exit(code)
"""


SPLIT = {
    "start-up": "process start .. first STEP_START",
    "steps": "first STEP_START .. last step end",
    "after": "last step end .. main() returns",
    "exit": "main() returns .. process exit",
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], env: dict[str, str], status: int = 0) -> tuple[float, float, str, str]:
    """(CPU s, wall s, stdout, stderr) of one process (and its children), which must exit
    with `status`."""
    cpu, wall = _child_cpu(), time.time()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.time() - wall, _child_cpu() - cpu
    if done.returncode != status:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return cpu, wall, done.stdout, done.stderr


def _env(folder: Path, symbols: str, venues: str, end: date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIQMAP_", "DAGSTER_"))}
    env.update(
        LIQMAP_SOURCE="synthetic",
        LIQMAP_DATA_DIR=str(folder / "data"),
        LIQMAP_SITE_DIR=str(folder / "site"),
        DAGSTER_HOME=str(folder / "dagster_home"),
        LIQMAP_START_DATE=BASE_START.isoformat(),
        LIQMAP_END_DATE=end.isoformat(),
        # the clock: the day after the last day `liqmap run` builds, early morning UTC
        LIQMAP_NOW=f"{end + timedelta(days=1)}T06:00:00Z",
        LIQMAP_SYMBOLS=symbols,
        LIQMAP_VENUES=venues,
        PYTHONWARNINGS="ignore",
    )
    return env


def _line(name: str, samples: list[tuple[float, float]], command: str) -> None:
    cpus, walls = [c for c, _ in samples], [w for _, w in samples]
    print(
        f"{name:<24} CPU {min(cpus):6.2f} s (median {statistics.median(cpus):6.2f})   "
        f"wall {min(walls):6.2f} s (median {statistics.median(walls):6.2f})   [{command}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-days", type=int, default=2)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument("--venues", default="binance,bybit")
    parser.add_argument("--only", default="help,mistake,import,run,now,status")
    args = parser.parse_args()
    only = set(args.only.split(","))
    liqmap = [PYTHON, "-m", "orchestration.cli"]
    day = BASE_START + timedelta(days=args.base_days)  # the new day
    print(
        f"liqmap start-up, {args.symbols} x {args.venues}, repeat {args.repeat}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="liqmap-startup-") as tmp:
        scratch = Path(tmp)
        env = _env(scratch / "empty", args.symbols, args.venues, day)
        if "help" in only:
            samples = [_timed([*liqmap, "--help"], env)[:2] for _ in range(args.repeat)]
            _line("liqmap --help", samples, "python -m orchestration.cli --help")
        if "mistake" in only:
            bad = {**env, "LIQMAP_SYMBOLS": "btc"}
            samples = [_timed([*liqmap, "run"], bad, status=2)[:2] for _ in range(args.repeat)]
            _line("a mistaken setting", samples, "LIQMAP_SYMBOLS=btc liqmap run (exit 2)")
        if "import" in only:
            argv = [PYTHON, "-c", "import orchestration.definitions"]
            samples = [_timed(argv, env)[:2] for _ in range(args.repeat)]
            _line("import definitions", samples, "python -c 'import orchestration.definitions'")
        if only & {"run", "now", "status"}:
            base = scratch / "base"
            env = _env(base, args.symbols, args.venues, day)
            last = day - timedelta(days=1)
            cpu, wall, *_ = _timed(
                [*liqmap, "run", "--start", str(BASE_START), "--end", str(last)], env
            )
            print(f"(base build {BASE_START}..{last}: CPU {cpu:.1f} s, wall {wall:.1f} s)")
        runs: list[tuple[float, float]] = []
        parts: dict[str, list[tuple[float, float]]] = {
            "start-up": [],
            "steps": [],
            "after": [],
            "exit": [],
        }
        for i in range(args.repeat if only & {"run", "now", "status"} else 0):
            folder = scratch / f"run{i}"
            shutil.copytree(base, folder, symlinks=True)
            env = _env(folder, args.symbols, args.venues, day)
            argv = [PYTHON, "-c", DRIVER, "run", "--start", str(day), "--end", str(day)]
            started = time.time()
            cpu, wall, _, err = _timed(argv, env)
            line = next(x for x in err.splitlines() if x.startswith("STARTUP-MARKS "))
            marks = json.loads(line.split(" ", 1)[1])
            first, last_end, ended = marks["first_step"], marks["last_step_end"], marks["exit"]
            if "run" in only:
                runs.append((cpu, wall))
                parts["start-up"].append((first[0], first[1] - started))
                parts["steps"].append((last_end[0] - first[0], last_end[1] - first[1]))
                parts["after"].append((ended[0] - last_end[0], ended[1] - last_end[1]))
                parts["exit"].append((cpu - ended[0], wall - (ended[1] - started)))
            if "now" in only:
                now = _timed([*liqmap, "now"], env)[:2]
                parts.setdefault("now", []).append(now)
            if "status" in only:
                parts.setdefault("status", []).append(_timed([*liqmap, "status"], env)[:2])
        if runs:
            command = f"liqmap run --start {day} --end {day}"
            _line("1-day run", runs, command)
            for name, what in SPLIT.items():
                _line(f"  {name}", parts[name], what)
        if parts.get("now"):
            _line("liqmap now", parts["now"], f"LIQMAP_NOW={day + timedelta(days=1)}T06:00:00Z")
        if parts.get("status"):
            _line("liqmap status", parts["status"], "liqmap status")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
