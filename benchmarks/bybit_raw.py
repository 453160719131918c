"""Time the offline demo's Bybit raw layer: a window of days x symbols fetched from the
in-process fake Bybit (the synthetic market's shadow) into the verified day cache and loaded
into raw.* with venue 'bybit', then the same window again (every day from the cache).
Prints measured figures.

    .venv/bin/python benchmarks/bybit_raw.py [--days 365] [--symbols BTCUSDT,ETHUSDT,SOLUSDT]
        [--venues binance,bybit] [--no-rerun]

Everything happens in a temp dir; Binance is not loaded (benchmarks/ingest.py times it)
unless `--venues binance,bybit` (the demo's whole raw layer, synthetic archive generation
included, as the pipeline's raw assets run it without Dagster; on a window of 32 days or more
Bybit's days are fetched ahead by a child process while Binance loads, unless
LIQMAP_FETCH_AHEAD_MIN_DAYS=0: transforms.raw.fetch_ahead). `--no-rerun`: the first pass only.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.config import Settings  # noqa: E402
from transforms.db import warehouse  # noqa: E402
from transforms.raw.fetch_ahead import child_cpu_seconds  # noqa: E402
from transforms.raw.ingest import ingest_window  # noqa: E402
from transforms.raw.tables import TABLES  # noqa: E402

START = date(2025, 11, 1)
LOG = logging.getLogger("bench")


def _cpu() -> float:
    """This process's CPU seconds and its raw fetch-ahead child's (transforms.raw.fetch_ahead),
    as of the child's last reply."""
    return time.process_time() + child_cpu_seconds()


def run(settings: Settings, start: date, end: date) -> dict[str, float]:
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    seconds: dict[str, float] = {}
    rows = 0
    for name in TABLES:
        t, cpu = time.perf_counter(), _cpu()
        result = ingest_window(connect, settings, name, start, end, LOG)
        seconds[name] = time.perf_counter() - t
        seconds[f"{name} cpu"] = _cpu() - cpu
        rows += result.rows
        if result.failed_venues:
            raise SystemExit(f"{name}: {result.failed_summary()}")
    seconds["rows"] = rows
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument(
        "--venues", default="bybit", help="binance,bybit: the demo's whole raw layer"
    )
    parser.add_argument("--no-rerun", action="store_true", help="the first pass only")
    args = parser.parse_args()
    symbols = tuple(args.symbols.split(","))
    end = START + timedelta(days=args.days)
    with tempfile.TemporaryDirectory(prefix="liqmap-bench-bybit-") as tmp:
        root = Path(tmp)
        settings = Settings(
            project_root=root,
            data_dir=root / "data",
            warehouse_path=root / "data" / "warehouse.duckdb",
            source="synthetic",
            symbols=symbols,
            venues=tuple(args.venues.split(",")),
            start_date=START,
            end_date=end - timedelta(days=1),
        )
        first = run(settings, START, end)
        again = first if args.no_rerun else run(settings, START, end)
    cold, warm = (sum(r[n] for n in TABLES) for r in (first, again))
    cold_cpu, warm_cpu = (sum(r[f"{n} cpu"] for n in TABLES) for r in (first, again))
    print(
        f"{args.venues} raw, {args.days} days x {len(symbols)} symbols, {first['rows']:,.0f} rows"
    )
    print("  (wall seconds, and the process's CPU seconds - the fake server's thread and the")
    print("  fetch-ahead child included - which a busy machine inflates less)")
    for name in TABLES:
        print(
            f"  {name:16s} first {first[name]:6.2f} s (cpu {first[name + ' cpu']:6.2f})   "
            f"re-run {again[name]:6.2f} s (cpu {again[name + ' cpu']:6.2f})"
        )
    print(
        f"  total            first {cold:6.2f} s (cpu {cold_cpu:6.2f})   "
        f"re-run {warm:6.2f} s (cpu {warm_cpu:6.2f}); {first['rows'] / cold:,.0f} rows/s first"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:.0f} MB; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
