"""Time the ingestion path: synthetic generation, fetch (mirror -> verified cache), load into
DuckDB and 5-minute staging, for one year and for a single day. Prints measured figures.

    .venv/bin/python benchmarks/ingest.py [--days 365] [--seed 7]

Everything happens in a temp dir. Peak memory is the process's max RSS (getrusage), so run
each scenario in a fresh process (the default: the script re-invokes itself per scenario).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import transforms.raw.venues.binance.loading as loading  # noqa: E402
from transforms.db import warehouse  # noqa: E402
from transforms.raw.synthetic import generate_mirror  # noqa: E402
from transforms.raw.venues.binance import DATASETS, periods_for_window  # noqa: E402
from transforms.raw.venues.binance.loading import load_dataset  # noqa: E402
from transforms.raw.venues.binance.mirror import MirrorSource  # noqa: E402
from transforms.staging.bars import build_bars_5m  # noqa: E402

SYMBOL = "BTCUSDT"
START = date(2025, 11, 1)


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


_VALIDATE = {"s": 0.0}
_validate_stage = loading.validate_stage


def _timed_validate_stage(*args, **kwargs):
    """validate_stage, timed: the per-file checks' share of the load (issue 9 goal < 10 %)."""
    t = time.perf_counter()
    try:
        return _validate_stage(*args, **kwargs)
    finally:
        _VALIDATE["s"] += time.perf_counter() - t


loading.validate_stage = _timed_validate_stage


def ingest(root: Path, start: date, end: date) -> dict:
    """Fetch + load + stage [start, end) from the mirror at root/mirror."""
    source = MirrorSource(root / "mirror", root / "cache")
    out: dict = {"fetch_s": 0.0, "load_s": 0.0, "rows": 0, "files": 0}
    _VALIDATE["s"] = 0.0
    cpu = time.process_time()
    with warehouse(root / "warehouse.duckdb") as conn:
        for dataset in DATASETS:
            t = time.perf_counter()
            files = [
                source.fetch(dataset, SYMBOL, p) for p in periods_for_window(dataset, start, end)
            ]
            out["fetch_s"] += time.perf_counter() - t
            t = time.perf_counter()
            out["rows"] += load_dataset(conn, dataset, SYMBOL, files, start, end, source.name)
            out["load_s"] += time.perf_counter() - t
            out["files"] += len(files)
        t = time.perf_counter()
        out["bars"] = build_bars_5m(conn, SYMBOL, start, end, venue="binance")
        out["stage_s"] = time.perf_counter() - t
    out["total_s"] = out["fetch_s"] + out["load_s"] + out["stage_s"]
    out["cpu_s"] = time.process_time() - cpu
    out["validate_s"] = _VALIDATE["s"]
    return out


def scenario(name: str, days: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="liqmap-bench-") as tmp:
        root = Path(tmp)
        end = START + timedelta(days=days)
        t = time.perf_counter()
        generate_mirror(root / "mirror", SYMBOL, START, end - timedelta(days=1), seed)
        gen_s = time.perf_counter() - t
        result = {"scenario": name, "days": days, "generate_s": gen_s}
        if name == "year":
            result.update(ingest(root, START, end))
            # warm re-run: cache hits (digest re-verified) and idempotent reload
            rerun = ingest(root, START, end)
            result["rerun_total_s"] = rerun["total_s"]
        else:  # one day loaded into a warehouse that is otherwise empty
            day = START + timedelta(days=days - 1)
            result.update(ingest(root, day, day + timedelta(days=1)))
        result["peak_rss_mb"] = _maxrss_mb()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", choices=("year", "day"))
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.days, args.seed)))
        return
    results = []
    for name, days in (("year", args.days), ("day", 31)):
        cmd = [
            sys.executable,
            __file__,
            "--scenario",
            name,
            "--days",
            str(days),
            "--seed",
            str(args.seed),
        ]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    year, day = results
    y_rows = year["rows"]
    lines = [
        f"year ({year['days']} days, {year['files']} files, {y_rows:,} raw rows, "
        f"{year['bars']:,} bars)",
        f"  generate synthetic mirror : {year['generate_s']:6.2f} s",
        f"  fetch into verified cache : {year['fetch_s']:6.2f} s",
        f"  load raw.* (DuckDB)       : {year['load_s']:6.2f} s  "
        f"({y_rows / year['load_s']:,.0f} rows/s)",
        f"    of which validation     : {year['validate_s']:6.2f} s  "
        f"({year['validate_s'] / year['load_s']:.1%} of load, "
        f"{year['validate_s'] / year['total_s']:.1%} of fetch+load+stage)",
        f"  build stg.bars_5m         : {year['stage_s']:6.2f} s",
        f"  fetch+load+stage          : {year['total_s']:6.2f} s  "
        f"({y_rows / year['total_s']:,.0f} rows/s; {year['cpu_s']:.2f} CPU s)",
        f"  incl. generation          : {year['total_s'] + year['generate_s']:6.2f} s",
        f"  warm re-run (cache hits)  : {year['rerun_total_s']:6.2f} s",
        f"  peak RSS                  : {year['peak_rss_mb']:6.0f} MB",
        f"one day ({day['files']} files, {day['rows']:,} raw rows, {day['bars']} bars)",
        f"  fetch+load+stage          : {day['total_s']:6.2f} s  (fetch {day['fetch_s']:.2f}, "
        f"load {day['load_s']:.2f}, stage {day['stage_s']:.2f})",
        f"  peak RSS                  : {day['peak_rss_mb']:6.0f} MB",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
