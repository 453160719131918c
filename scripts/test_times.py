"""Summarize a suite run's per-test times (tests/timing.py, `LIQMAP_TEST_TIMES=1`).

    LIQMAP_TEST_TIMES=1 make test
    .venv/bin/python scripts/test_times.py [--top 25]

Prints, and writes to test-artifacts/test-times.txt: each worker's span, busy time and the
time it sat idle at the end while another worker still ran (the xdist tail); the tests by
wall time with their CPU time (pytest process + waited children) and the rest, `wait` (sleeps,
polls, timeouts, or the machine's other load); and the tests that wait most.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES_DIR = ROOT / "test-artifacts" / "test-times"
REPORT = ROOT / "test-artifacts" / "test-times.txt"


def load(folder: Path) -> tuple[list[dict], list[dict]]:
    """Every test phase row of every worker's file, and the workers' collection rows."""
    rows: list[dict] = []
    for path in sorted(folder.glob("*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return [r for r in rows if r["phase"] != "collect"], [
        r for r in rows if r["phase"] == "collect"
    ]


def per_test(rows: list[dict]) -> list[dict]:
    """Setup, call and teardown of each test added up (wall, cpu, children, wait)."""
    tests: dict[str, dict] = {}
    for r in rows:
        t = tests.setdefault(
            r["test"],
            {"test": r["test"], "worker": r["worker"], "wall": 0.0, "cpu": 0.0, "children": 0.0},
        )
        for key in ("wall", "cpu", "children"):
            t[key] += r[key]
        t[r["phase"]] = r["wall"]
    for t in tests.values():
        t["wait"] = max(0.0, t["wall"] - t["cpu"] - t["children"])
    return list(tests.values())


def report(rows: list[dict], collects: list[dict], top: int) -> str:
    """The summary text."""
    lines: list[str] = []
    for c in collects:
        lines.append(f"{c['worker']}: start-up and collection {c['wall']:.1f} s")
    start = min(r["start"] for r in rows)
    end = max(r["end"] for r in rows)
    by_worker: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_worker[r["worker"]].append(r)
    tests = per_test(rows)
    cpu = sum(t["cpu"] + t["children"] for t in tests)
    loads = [r["load1"] for r in rows]
    lines.append(
        f"run: {end - start:.0f} s from the first test's start to the last test's end; "
        f"{len(tests)} tests; CPU {cpu:.0f} s (pytest processes + waited children); "
        f"load1 during the run {min(loads):.1f}..{max(loads):.1f}"
    )
    lines.append("")
    lines.append("worker   first  last-end  busy  idle-inside  alone-at-end-of-others")
    for worker, wrows in sorted(by_worker.items()):
        wrows.sort(key=lambda r: r["start"])
        busy = sum(r["wall"] for r in wrows)
        w_first, w_last = wrows[0]["start"] - start, wrows[-1]["end"] - start
        idle = (w_last - w_first) - busy
        lines.append(
            f"{worker:7s} {w_first:6.0f} {w_last:9.0f} {busy:5.0f} {idle:12.0f} "
            f"{end - start - w_last:10.0f}"
        )
    lines.append("")
    lines.append("the xdist units (a group, or a test alone): wall and CPU, largest first")
    lines.extend(_units(tests)[:top])
    lines.append("")
    lines.append(f"slowest {top} tests (s): wall = setup + call + teardown")
    lines.extend(_table(sorted(tests, key=lambda t: -t["wall"])[:top]))
    lines.append("")
    lines.append(f"most waiting {top} tests (wait = wall - CPU - children)")
    lines.extend(_table(sorted(tests, key=lambda t: -t["wait"])[:top]))
    lines.append("")
    last = sorted(rows, key=lambda r: r["end"])[-12:]
    lines.append("the last phases to end (the tail)")
    for r in last:
        lines.append(
            f"  {r['worker']:5s} {r['start'] - start:6.0f}..{r['end'] - start:6.0f} "
            f"{r['phase']:8s} {r['test']}"
        )
    return "\n".join(lines) + "\n"


def _units(tests: list[dict]) -> list[str]:
    """Tests added up by what pytest-xdist schedules as one unit (its `@group`, else itself)."""
    units: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for t in tests:
        name = t["test"].rsplit("@", 1)[1] if "@" in t["test"] else t["test"]
        unit = units[name]
        unit[0] += t["wall"]
        unit[1] += t["cpu"] + t["children"]
        unit[2] += 1
    rows = sorted(units.items(), key=lambda kv: -kv[1][0])
    return ["    wall    cpu  tests  unit"] + [
        f"  {w:6.1f} {c:6.1f} {n:6d}  {name}" for name, (w, c, n) in rows
    ]


def _table(tests: list[dict]) -> list[str]:
    out = ["    wall   cpu  kids  wait  setup   call  worker  test"]
    for t in tests:
        out.append(
            f"  {t['wall']:6.1f} {t['cpu']:5.1f} {t['children']:5.1f} {t['wait']:5.1f} "
            f"{t.get('setup', 0):6.1f} {t.get('call', 0):6.1f}  {t['worker']:6s}  {t['test']}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dir", type=Path, default=TIMES_DIR)
    args = parser.parse_args()
    rows, collects = load(args.dir)
    if not rows:
        raise SystemExit(f"no test times in {args.dir}: run the suite with LIQMAP_TEST_TIMES=1")
    text = report(rows, collects, args.top)
    REPORT.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
