"""Time the offline demo's Bybit raw layer: a window of days x symbols fetched from the
in-process fake Bybit (the synthetic market's shadow) into the verified day cache and loaded
into raw.* with venue 'bybit', then the same window again (every day from the cache).
Prints measured figures.

    .venv/bin/python benchmarks/bybit_raw.py [--days 365] [--symbols BTCUSDT,ETHUSDT,SOLUSDT]

Everything happens in a temp dir; Binance is not loaded (benchmarks/ingest.py times it)
unless `--venues binance,bybit` (the demo's whole raw layer, synthetic archive generation
included, as the pipeline's raw assets run it without Dagster).
"""

from __future__ import annotations

import argparse
import logging
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
from transforms.raw.ingest import ingest_window  # noqa: E402
from transforms.raw.tables import TABLES  # noqa: E402

START = date(2025, 11, 1)
LOG = logging.getLogger("bench")


def run(settings: Settings, start: date, end: date) -> dict[str, float]:
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    seconds: dict[str, float] = {}
    rows = 0
    for name in TABLES:
        t, cpu = time.perf_counter(), time.process_time()
        result = ingest_window(connect, settings, name, start, end, LOG)
        seconds[name] = time.perf_counter() - t
        seconds[f"{name} cpu"] = time.process_time() - cpu
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
        again = run(settings, START, end)
    cold, warm = (sum(r[n] for n in TABLES) for r in (first, again))
    cold_cpu, warm_cpu = (sum(r[f"{n} cpu"] for n in TABLES) for r in (first, again))
    print(
        f"{args.venues} raw, {args.days} days x {len(symbols)} symbols, {first['rows']:,.0f} rows"
    )
    print("  (wall seconds, and the process's CPU seconds - the fake server's thread included -")
    print("  which a busy machine inflates less)")
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
    print(f"  peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
