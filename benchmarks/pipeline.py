"""End-to-end timings of the Dagster chain, the way `liqmap run` and the daily schedule run it.

For each market set (by default 3 symbols x 2 venues = 6 markets, and with `--compare` also
6 symbols x 2 venues = 12 markets) it prints, in a temp directory, nothing asserted:

* the backfill of `--days` days as one run (synthetic generation included);
* one new day on top of it (the daily partition after the backfill: the model continues
  from the stored state, mart.model_state), with a summary line: the new day with the site
  and without it (the run less its publish steps), against issue 19's targets;
* the same day re-run (what a retried or corrected day costs);

each with every step's seconds (from the run's event log) and CPU seconds (this process, every
thread, and the raw fetch-ahead child's, sampled: on a busy machine wall clock stretches with
the load, CPU much less), the run's CPU and the load average, Dagster's own share (events in
the run, seconds before the first step starts, seconds outside steps), the per-stage totals
(raw, staging, marts, publish, and Dagster outside the steps) and the run's own peak RSS
(sampled) next to the process's so far. Each step and stage also shows its peak RSS (the
samples taken while it ran; memory a step leaves resident counts in the next steps' figures
too). With `--compare`, the cost per market: each run and stage of 12 markets against 6, and
the straight line through the two (a fixed part per run, a part per market).
`--profile DIR` writes cProfile stats of the new day and the re-run for each set.
`--from-kept DIR` (a folder an earlier `--keep` left) skips the backfill: the next day is run
on a copy of it in this fresh process, the way the next daily `liqmap run` starts: its
LIQMAP_END_DATE is one day later than the kept build's (the window moves with the days, as the
demo's does), then re-run. The Dagster
instance is configured as `liqmap run` configures DAGSTER_HOME (orchestration/dagster.yaml:
liqmap's event log, run storage and compute logs) and made before the timed runs, with what a
home that has run before holds (its storages, the empty run-shard template): a run is timed
from Dagster's `materialize` call to its return (run creation, every event, the steps, the
resources' teardown with the warehouse's close), imports before it not included;
`--stock-event-log` swaps in Dagster's own SQLite event log to compare.
The 12-market set adds XRPUSDT, ADAUSDT and AVAXUSDT (the last two with DOGEUSDT's tiers in a
temp LIQMAP_TIERS_FILE: benchmark markets, not documented ones; synthetic Bybit DOGEUSDT fails
the cross-venue price check at its tick size, so it is left out).

    .venv/bin/python benchmarks/pipeline.py [--days 365] [--compare] [--no-site]
        [--profile DIR] [--stock-event-log] [--keep DIR | --from-kept DIR]

Timings on a shared machine are noisy; compare runs made on the same machine and load.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
START = date(2025, 11, 1)
# The daily partitions are defined at import from LIQMAP_START_DATE (default: the year ending
# yesterday); the benchmark's fixed window must be inside them.
os.environ.setdefault("LIQMAP_START_DATE", START.isoformat())
os.environ.setdefault("LIQMAP_END_DATE", (START + timedelta(days=400)).isoformat())

from orchestration.definitions import ALL_ASSETS  # noqa: E402
from orchestration.home import instance_settings  # noqa: E402
from orchestration.resources import resources_from_settings  # noqa: E402
from transforms.config import load_settings  # noqa: E402
from transforms.publish.snapshot import adopt_copy  # noqa: E402
from transforms.raw.fetch_ahead import child_cpu_seconds  # noqa: E402
from transforms.reference.tiers import seed_tiers_path  # noqa: E402

SIX = "BTCUSDT,ETHUSDT,SOLUSDT"
TWELVE = SIX + ",XRPUSDT,ADAUSDT,AVAXUSDT"
COPIED = ("ADAUSDT", "AVAXUSDT")  # benchmark markets: DOGEUSDT's tiers under their names
SITE_GROUP = "publish"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_bytes() -> int:
    """This process's resident set now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its raw fetch-ahead child (as of its
    last reply: transforms.raw.fetch_ahead), which works beside the run's steps."""
    return time.process_time() + child_cpu_seconds()


class CpuSampler:
    """Samples this process's CPU seconds (every thread) and resident memory against the
    wall clock, so a step's CPU is read off its start and end times (the in-process executor
    runs steps here) and a run's own peak RSS is known (ru_maxrss is the process's so far)."""

    def __init__(self, every: float = 0.05) -> None:
        self.samples: list[tuple[float, float]] = []
        self.rss_peak = 0
        self.rss_mb: list[float] = []  # with each sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(every,), daemon=True)

    def _sample(self) -> None:
        self.samples.append((time.time(), _cpu()))
        now = _rss_bytes()
        self.rss_peak = max(self.rss_peak, now)
        self.rss_mb.append(now / 2**20)

    def _loop(self, every: float) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(every)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def between(self, start: float, end: float) -> float:
        wall, cpu = zip(*self.samples, strict=True)
        return float(np.interp(end, wall, cpu) - np.interp(start, wall, cpu))

    def peak_rss(self, start: float, end: float) -> float:
        """The highest RSS (MB) sampled from the last sample before `start` to `end` (a step
        shorter than the sampling period still gets the sample nearest its start)."""
        wall = np.array([w for w, _ in self.samples])
        at = max(int(np.searchsorted(wall, start, side="right")) - 1, 0)
        upto = max(int(np.searchsorted(wall, end, side="right")), at + 1)
        return max(self.rss_mb[at:upto])


#: step (op) name -> its asset group (raw, staging, marts, publish)
STAGE_OF = {a.op.name: sorted(set(a.group_names_by_key.values()))[0] for a in ALL_ASSETS}
STAGES = ("raw", "staging", "marts", "publish")


def _run(
    instance: dg.DagsterInstance,
    settings,
    site: bool,
    tags=None,
    partition_key=None,
    profile: Path | None = None,
):
    """One run of the chain: (seconds, step -> (seconds, CPU seconds, peak RSS MB), Dagster
    figures).
    With `profile`, the run is profiled (cProfile, the main thread: the in-process executor
    runs every step there) and the stats are dumped to that file."""
    assets = [a for a in ALL_ASSETS if site or SITE_GROUP not in a.group_names_by_key.values()]
    profiler = cProfile.Profile() if profile is not None else None
    started, cpu = time.perf_counter(), _cpu()
    with CpuSampler() as sampler, _profiling(profiler):
        result = dg.materialize(
            assets,
            instance=instance,
            resources=resources_from_settings(settings),
            tags=tags,
            partition_key=partition_key,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu
    if profiler is not None:
        profiler.dump_stats(str(profile))
    stats = instance.get_run_step_stats(result.run_id)
    steps = {
        s.step_key: (
            s.end_time - s.start_time,
            sampler.between(s.start_time, s.end_time),
            sampler.peak_rss(s.start_time, s.end_time),
        )
        for s in stats
    }
    run = instance.get_run_stats(result.run_id)
    first_step = min((s.start_time for s in stats), default=run.start_time)
    overhead = {
        "events": len(instance.all_logs(result.run_id)),
        "before_first_step": first_step - run.start_time,
        "outside_steps": elapsed - sum(w for w, _, _ in steps.values()),
        # every thread of this process (DuckDB's too): on a busy machine the wall-clock
        # figures stretch with the load, the CPU seconds much less
        "cpu": cpu,
        "load": os.getloadavg()[0],
        "rss_peak_mb": sampler.rss_peak / 2**20,
    }
    return elapsed, steps, overhead


@contextlib.contextmanager
def _profiling(profiler: cProfile.Profile | None):
    if profiler is None:
        yield
        return
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def _print(title: str, elapsed: float, steps: dict, overhead: dict, markets: int) -> dict:
    """Print one run's figures; returns its stage totals (stage -> (seconds, CPU seconds))
    with 'run' -> (seconds, CPU seconds) of the whole run."""
    print(
        f"{title}: {elapsed:.1f} s ({elapsed / markets:.2f} s per market); "
        f"CPU {overhead['cpu']:.1f} s, load average {overhead['load']:.1f}"
    )
    for step, (seconds, cpu, rss) in steps.items():
        print(f"  {step:<26} {seconds:7.2f} s  (CPU {cpu:6.2f} s)  peak RSS {rss:5.0f} MB")
    stages: dict[str, tuple[float, float]] = {}
    stage_rss: dict[str, float] = {}
    for step, (seconds, cpu, rss) in steps.items():
        stage = STAGE_OF.get(step.split(".")[0], "other")
        w, c = stages.get(stage, (0.0, 0.0))
        stages[stage] = (w + seconds, c + cpu)
        stage_rss[stage] = max(stage_rss.get(stage, 0.0), rss)
    outside = (overhead["outside_steps"], overhead["cpu"] - sum(c for _, c in stages.values()))
    line = ", ".join(
        f"{stage} {w:.1f} s (CPU {c:.1f})"
        for stage, (w, c) in [
            *((s, stages[s]) for s in STAGES if s in stages),
            ("dagster", outside),
        ]
    )
    print(f"  stages: {line}")
    peaks = ", ".join(f"{s} {stage_rss[s]:.0f} MB" for s in STAGES if s in stage_rss)
    print(f"  peak RSS per stage: {peaks}")
    print(
        f"  dagster: {overhead['events']} events, {overhead['before_first_step']:.1f} s before "
        f"the first step, {overhead['outside_steps']:.1f} s outside steps; "
        f"peak RSS in the run {overhead['rss_peak_mb']:.0f} MB, in the process so far "
        f"{_peak_rss_mb():.0f} MB"
    )
    return {**stages, "dagster": outside, "run": (elapsed, overhead["cpu"])}


#: issue 19's targets for one new day of 6 markets (wall seconds on 2 idle cores)
NEW_DAY_TARGET = {True: 10.0, False: 5.0}  # with the site, without it


def _print_new_day(stages: dict, markets: int, history: int, site: bool) -> None:
    """The new day with and without the site (the run less its publish steps: the site and
    the snapshot, which --no-site leaves out), against issue 19's targets."""
    wall, cpu = stages["run"]
    parts = [f"{'with' if site else 'without'} the site {wall:.1f} s (CPU {cpu:.1f} s; target "
             f"<= {NEW_DAY_TARGET[site]:.0f} s)"]  # fmt: skip
    if site:
        pw, pc = stages.get(SITE_GROUP, (0.0, 0.0))
        parts.append(
            f"without it {wall - pw:.1f} s (CPU {cpu - pc:.1f} s; target <= "
            f"{NEW_DAY_TARGET[False]:.0f} s), the publish steps {pw:.1f} s (CPU {pc:.1f} s)"
        )
    print(f"  new day after {history} days, {markets} markets: " + "; ".join(parts))


def _tiers_file(tmp: Path) -> Path:
    """The seeded tiers plus the COPIED symbols (DOGEUSDT's rows under their names)."""
    path = tmp / "tiers.csv"
    with open(seed_tiers_path(), newline="") as src, open(path, "w", newline="") as out:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row["symbol"] == "DOGEUSDT":
                for symbol in COPIED:
                    writer.writerow({**row, "symbol": symbol, "source": "benchmark copy"})
    return path


def _settings(folder: Path | str, end: date, symbols: str, venues: str):
    """The run's settings: data and site under `folder`, START to `end` (LIQMAP_END_DATE)."""
    return load_settings(
        {
            "LIQMAP_DATA_DIR": f"{folder}/data",
            "LIQMAP_SITE_DIR": f"{folder}/site",
            "LIQMAP_START_DATE": START.isoformat(),
            "LIQMAP_END_DATE": end.isoformat(),
            "LIQMAP_SYMBOLS": symbols,
            "LIQMAP_VENUES": venues,
        }
    )


def bench(
    symbols: str,
    venues: str,
    days: int,
    site: bool,
    keep: Path | None = None,
    profile: Path | None = None,
    stock_event_log: bool = False,
) -> dict[str, dict]:
    """Backfill, new day and re-run for one market set (returns each run's stage totals);
    with `profile` (a folder), the new day's and the re-run's cProfile stats go to
    `<folder>/<markets>m-new.prof` / `-rerun.prof` (read them with `python -m pstats`); with
    `stock_event_log`, Dagster's own SQLite event log instead of liqmap's batched one."""
    markets = len(symbols.split(",")) * len(venues.split(","))
    last = START + timedelta(days=days - 1)
    # the instance as `liqmap run` configures DAGSTER_HOME (orchestration/dagster.yaml), or with
    # Dagster's own event log storage to compare
    overrides = instance_settings()
    if stock_event_log:
        del overrides["event_log_storage"]
    with (
        tempfile.TemporaryDirectory() as scratch,
        dg.instance_for_test(overrides=overrides) as instance,
    ):
        tmp = str(keep) if keep is not None else scratch
        os.environ["LIQMAP_TIERS_FILE"] = str(_tiers_file(Path(tmp)))
        settings = _settings(tmp, last + timedelta(days=2), symbols, venues)
        print(
            f"== {symbols} x {venues} ({markets} markets), site {'on' if site else 'off'}, "
            f"event log {type(instance.event_log_storage).__name__}"
        )
        tags = {
            "dagster/asset_partition_range_start": START.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        out = {"markets": markets}
        backfill = _run(instance, settings, site, tags)
        out["backfill"] = _print(f"{days}-day backfill, one run", *backfill, markets)
        day = (last + timedelta(days=1)).isoformat()
        out.update(_day_runs(instance, settings, site, day, profile, markets, days))
    return out


def _day_runs(
    instance: dg.DagsterInstance,
    settings,
    site: bool,
    day: str,
    profile: Path | None,
    markets: int,
    history: int,
) -> dict[str, dict]:
    """The new day `day` and its re-run (stage totals of each), then the warehouse's size."""
    out = {}
    prof = {
        kind: profile / f"{markets}m-{kind}.prof" if profile is not None else None
        for kind in ("new", "rerun")
    }
    new = _run(instance, settings, site, None, day, prof["new"])
    out["new day"] = _print(f"one new day {day}", *new, markets)
    _print_new_day(out["new day"], markets, history, site)
    rerun = _run(instance, settings, site, None, day, prof["rerun"])
    out["re-run"] = _print("the same day re-run", *rerun, markets)
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        states = conn.execute(
            "SELECT count(*), coalesce(sum(octet_length(state)), 0) FROM mart.model_state"
        ).fetchone()
    finally:
        conn.close()
    print(
        f"warehouse {settings.warehouse_path.stat().st_size / 1e6:.0f} MB, model state "
        f"{states[0]} rows {states[1] / 1e6:.1f} MB"
    )
    return out


def from_kept(
    kept: Path, venues: str, site: bool, profile: Path | None, stock_event_log: bool
) -> None:
    """The next day after a kept build (`--keep`), run on a copy of it in this process (fresh:
    nothing of the backfill is in memory), its settings' end one day later than the kept
    build's (as the backfill's, the day after the last day run), then re-run."""
    overrides = instance_settings()
    if stock_event_log:
        del overrides["event_log_storage"]
    with (
        tempfile.TemporaryDirectory(dir=kept.parent, prefix=f".{kept.name}-") as tmp,
        dg.instance_for_test(overrides=overrides) as instance,
    ):
        work = Path(tmp) / "copy"
        started = time.perf_counter()
        shutil.copytree(kept, work, symlinks=True)
        print(f"(copied {kept} in {time.perf_counter() - started:.0f} s)")
        os.environ["LIQMAP_TIERS_FILE"] = str(work / "tiers.csv")
        conn = duckdb.connect(str(work / "data" / "warehouse.duckdb"), read_only=True)
        try:
            last = conn.execute("SELECT max(day) FROM mart.daily_metrics").fetchone()[0]
            found = conn.execute("SELECT DISTINCT symbol FROM mart.daily_metrics").fetchall()
        finally:
            conn.close()
        day = last + timedelta(days=1)
        order = [*SIX.split(","), *TWELVE.split(",")]
        symbols = ",".join(sorted({s for (s,) in found}, key=order.index))
        markets = len(symbols.split(",")) * len(venues.split(","))
        settings = _settings(work, day + timedelta(days=1), symbols, venues)
        # the copy's files have new inodes: the snapshot's manifest takes them as its own
        adopt_copy(settings.snapshot_path, settings.exports_dir)
        print(f"== {symbols} x {venues} ({markets} markets) from {kept}, a fresh process")
        history = (day - START).days
        _day_runs(instance, settings, site, day.isoformat(), profile, markets, history)


def compare(small: dict, large: dict) -> None:
    """Cost per market: each run and stage of the larger set against the smaller, and the
    straight line through the two (fixed part per run + part per market), CPU seconds."""
    m, n = small["markets"], large["markets"]
    print(f"== {n} vs {m} markets (CPU seconds; wall clock in brackets)")
    for run in ("backfill", "new day", "re-run"):
        parts = []
        for stage in (*STAGES, "dagster", "run"):
            if stage not in small[run] or stage not in large[run]:
                continue
            (w0, c0), (w1, c1) = small[run][stage], large[run][stage]
            per = (c1 - c0) / (n - m)
            parts.append(
                f"{stage} {c0:.1f} -> {c1:.1f} = {c1 / max(c0, 1e-9):.2f}x "
                f"(fixed {c0 - per * m:+.2f} + {per:.3f}/market) [{w0:.1f} -> {w1:.1f} s]"
            )
        print(f"  {run}:\n    " + "\n    ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--symbols", default=SIX)
    parser.add_argument("--venues", default="binance,bybit")
    parser.add_argument("--compare", action="store_true", help="also 12 markets (6 symbols)")
    parser.add_argument("--no-site", action="store_true", help="leave the site out")
    parser.add_argument("--keep", type=Path, help="build in this (empty) folder and keep it")
    parser.add_argument(
        "--from-kept",
        type=Path,
        help="no backfill: the next day (and its re-run) on a copy of a folder --keep left",
    )
    parser.add_argument(
        "--profile", type=Path, help="cProfile the new day and the re-run into this folder"
    )
    parser.add_argument(
        "--stock-event-log",
        action="store_true",
        help="Dagster's own SQLite event log instead of liqmap's batched one (to compare)",
    )
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    site, stock = not args.no_site, args.stock_event_log
    if args.from_kept is not None:
        from_kept(args.from_kept, args.venues, site, args.profile, stock)
        print(f"peak RSS: {_peak_rss_mb():.0f} MB")
        return
    small = bench(args.symbols, args.venues, args.days, site, args.keep, args.profile, stock)
    if args.compare:
        large = bench(TWELVE, args.venues, args.days, site, None, args.profile, stock)
        compare(small, large)
    print(f"peak RSS: {_peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
