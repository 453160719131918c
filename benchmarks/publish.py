"""The publish stage of a year as the demo's first run does it: `report_site` then
`warehouse_snapshot` for the kept build's whole window, on a copy of its warehouse with no site
and no snapshot yet (the site written in full, the snapshot's first publication with every
Parquet export), through Dagster the way `liqmap run` runs them (in-process executor).

    .venv/bin/python benchmarks/publish.py KEPT [--profile OUT.prof] [--keep DIR]
        [--alerts FILE]

KEPT is a folder `benchmarks/pipeline.py --keep` left (its data/warehouse.duckdb and
tiers.csv are read, never written). Prints each step's wall and CPU seconds (this process,
every thread; the site's worker processes' CPU apart, from their rusage) and the load average.
`--profile` writes cProfile stats of the run's main thread (the steps; not the site's workers).
`--keep DIR` leaves the copy there (site/ and data/snapshot/ to compare two builds byte for
byte). Timings on a shared machine are noisy: compare runs made at the same load.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.pipeline import CpuSampler, _settings  # noqa: E402 (sets the window's env)
from benchmarks.site import children_cpu  # noqa: E402
from orchestration.definitions import ALL_ASSETS  # noqa: E402
from orchestration.home import instance_settings  # noqa: E402
from orchestration.resources import resources_from_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("report_site", "warehouse_snapshot")


def _first_materialization(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Step -> the time of its first materialization event (what Dagster does with the
    window's partitions after the step's body returned its result)."""
    first: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        if entry.step_key is not None:
            first.setdefault(entry.step_key, entry.timestamp)
    return first


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kept", type=Path)
    ap.add_argument("--profile", type=Path, help="cProfile the run's main thread to this file")
    ap.add_argument("--keep", type=Path, help="work in this (new) folder and keep it")
    ap.add_argument("--alerts", type=Path, default=ROOT / "docs" / "alerts.example.toml")
    args = ap.parse_args()
    os.environ.setdefault("LIQMAP_ALERTS_FILE", str(args.alerts))
    work = args.keep or Path(tempfile.mkdtemp(prefix=".publish-bench-", dir=args.kept.parent))
    try:
        (work / "data").mkdir(parents=True)
        shutil.copyfile(args.kept / "data" / "warehouse.duckdb", work / "data/warehouse.duckdb")
        shutil.copyfile(args.kept / "tiers.csv", work / "tiers.csv")
        os.environ["LIQMAP_TIERS_FILE"] = str(work / "tiers.csv")
        conn = duckdb.connect(str(work / "data/warehouse.duckdb"), read_only=True)
        try:
            first, last, symbols = conn.execute(
                "SELECT min(day), max(day), string_agg(DISTINCT symbol, ',' ORDER BY symbol) "
                "FROM mart.daily_metrics"
            ).fetchone()
        finally:
            conn.close()
        settings = _settings(work, last + timedelta(days=2), symbols, "binance,bybit")
        assets = [a for a in ALL_ASSETS if a.op.name in STEPS]
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        print(f"{symbols}, {first} to {last}; load average {os.getloadavg()[0]:.2f}")
        with dg.instance_for_test(overrides=instance_settings()) as instance:
            profiler = cProfile.Profile() if args.profile else None
            t, cpu, kids = time.perf_counter(), time.process_time(), children_cpu()
            with CpuSampler() as sampler:
                if profiler:
                    profiler.enable()
                result = dg.materialize(
                    assets,
                    instance=instance,
                    resources=resources_from_settings(settings),
                    tags=tags,
                    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
                    raise_on_error=False,
                )
                if profiler:
                    profiler.disable()
            wall = time.perf_counter() - t
            cpu, kids = time.process_time() - cpu, children_cpu() - kids
            if profiler:
                profiler.dump_stats(str(args.profile))
            print(f"run success: {result.success}")
            first_event = _first_materialization(instance, result.run_id)
            for s in instance.get_run_step_stats(result.run_id):
                body = first_event.get(s.step_key, s.end_time)
                print(
                    f"  {s.step_key:<22} {s.end_time - s.start_time:6.2f} s  "
                    f"(CPU here {sampler.between(s.start_time, s.end_time):6.2f} s); its "
                    f"materializations from the first to the step's end {s.end_time - body:.2f} s"
                )
        print(
            f"publish run: {wall:.2f} s wall; CPU {cpu:.1f} s here + {kids:.1f} s in the site's "
            f"workers = {cpu + kids:.1f} s; load average {os.getloadavg()[0]:.2f}"
        )
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
