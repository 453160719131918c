"""Timings of the warehouse snapshot's publication alone (transforms.publish), on a copy of a
kept build (a folder `benchmarks/pipeline.py --keep DIR` left), nothing asserted:

* the first publication: the snapshot folder removed, so the warehouse is copied whole and
  every Parquet export written;
* one new day after it: the last day of every day-partitioned table rewritten (as the daily
  run rewrites the day before its own) and a next day added (that day's rows again, one day
  later), the model marts' days noted the way their writer notes them (transforms.changes),
  then the publication that patches the spare (the first publication's files written out
  to disk before, as the minutes between two runs do);
* with `--as-kept`, first the publication on the copied folder as it is (its snapshot, spare
  and manifest copied with it, adopted as `--from-kept` does: transforms.publish.snapshot
  adopt_copy).

Each line: wall and CPU seconds (every thread of this process), the load average, how the
snapshot was published, and the seconds in each part (fingerprints, whole copy or patch,
Parquet exports). The new day is synthetic: its rows are the last day's, so the snapshot's
work (what it reads, patches and exports) is a real day's, not the model's or the raw load's.

    .venv/bin/python benchmarks/snapshot.py [--kept /tmp/year9] [--as-kept] [--keep-copy]
        [--export-workers N]

The copy goes to a new /tmp/snapfast-bench-* folder (removed at the end unless --keep-copy);
the kept folder is only read. Timings on a shared machine are noisy: say the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.db import transaction, warehouse  # noqa: E402
from transforms.publish import publish_snapshot  # noqa: E402
from transforms.publish import snapshot as snap_module  # noqa: E402
from transforms.publish.fingerprint import catalog_tables  # noqa: E402

try:  # absent before the change log (to time an older checkout with this script)
    from transforms.changes import LOGGED_TABLES, note_days
    from transforms.publish.snapshot import adopt_copy
except ImportError:  # pragma: no cover
    LOGGED_TABLES, note_days, adopt_copy = frozenset(), None, None

PARTS = ("fingerprints", "_copy_whole", "_patch_spare", "_export")


def _timed(spent: dict[str, float]) -> Callable[[], None]:
    """Wrap the snapshot module's parts to add their seconds to `spent`; returns an undo."""
    originals = {name: getattr(snap_module, name) for name in PARTS}

    def wrap(name, fn):
        def inner(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0

        return inner

    for name, fn in originals.items():
        setattr(snap_module, name, wrap(name, fn))
    return lambda: [setattr(snap_module, n, f) for n, f in originals.items()]


def _publish(title: str, folder: Path) -> None:
    data = folder / "data"
    spent: dict[str, float] = defaultdict(float)
    undo = _timed(spent)
    try:
        with warehouse(data / "warehouse.duckdb") as conn:
            wall, cpu = time.perf_counter(), time.process_time()
            pub = publish_snapshot(
                conn,
                data / "snapshot" / "warehouse.duckdb",
                exports_dir=data / "snapshot" / "parquet",
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        undo()
    how = (
        f"{len(pub.tables)} tables, {pub.partitions} partitions"
        if pub.mode == "incremental"
        else f"full ({pub.why})"
    )
    parts = ", ".join(f"{k.strip('_')} {v:.2f}" for k, v in spent.items())
    print(
        f"{title:<24} wall {wall:6.2f} s  CPU {cpu:6.2f} s  load {os.getloadavg()[0]:.2f}  "
        f"{how}; {len(pub.exported)} exports  [{parts}]",
        flush=True,
    )


def _flush(snapshot_dir: Path) -> None:
    """Write the fresh copies out to disk (fsync), as minutes between two runs do: else the
    next checkpoint of the spare waits for hundreds of MB of a copy just made."""
    for path in snapshot_dir.glob("*warehouse.duckdb*"):
        with open(path, "rb+") as f:
            os.fsync(f.fileno())


def _new_day(folder: Path) -> None:
    """Rewrite the last day of every day-partitioned table and add the next one."""
    with warehouse(folder / "data" / "warehouse.duckdb") as conn:
        source = conn.execute("SELECT current_database()").fetchone()[0]
        tables = [t for t in catalog_tables(conn, source) if t.by_day and t.schema != "main"]
        last = conn.execute("SELECT max(day) FROM stg.bars_5m").fetchone()[0]
        with transaction(conn):
            if note_days is not None:
                note_days(conn, LOGGED_TABLES, [last, last + timedelta(days=1)])
            for t in tables:
                name = t.qualified(source)
                conn.execute(
                    f"CREATE TEMP TABLE _day AS SELECT * FROM {name} WHERE day = $d", {"d": last}
                )
                conn.execute(f"DELETE FROM {name} WHERE day = $d", {"d": last})
                conn.execute(f"INSERT INTO {name} SELECT * FROM _day")
                conn.execute(f"INSERT INTO {name} SELECT * REPLACE (day + 1 AS day) FROM _day")
                conn.execute("DROP TABLE _day")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", default="/tmp/year9", help="a kept build folder (only read)")
    parser.add_argument("--as-kept", action="store_true", help="publish on the copy as it is first")
    parser.add_argument("--keep-copy", action="store_true", help="leave the copy in place")
    parser.add_argument(
        "--export-workers", type=int, help="Parquet files written at once (default: the module's)"
    )
    args = parser.parse_args()
    if args.export_workers:
        snap_module.EXPORT_WORKERS = args.export_workers
    folder = Path(tempfile.mkdtemp(prefix="snapfast-bench-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        subprocess.run(["cp", "-a", f"{args.kept}/.", str(folder)], check=True)
        print(f"copied {args.kept} to {folder} in {time.perf_counter() - t0:.1f} s", flush=True)
        if args.as_kept:
            snapshot = folder / "data" / "snapshot"
            if adopt_copy is not None:
                adopt_copy(snapshot / "warehouse.duckdb", snapshot / "parquet")
            _publish("kept snapshot, adopted", folder)
        shutil.rmtree(folder / "data" / "snapshot", ignore_errors=True)
        _publish("first publication", folder)
        _flush(folder / "data" / "snapshot")
        t0 = time.perf_counter()
        _new_day(folder)
        print(f"(synthetic new day written in {time.perf_counter() - t0:.1f} s)", flush=True)
        _publish("after one new day", folder)
        _publish("nothing changed", folder)
    finally:
        if args.keep_copy:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
