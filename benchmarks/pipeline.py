"""End-to-end timings of the Dagster chain, the way `liqmap run` and the daily schedule run it.

Prints: the one-year backfill as one run (synthetic generation included), each step's
duration from the run's event log, then one daily partition of the whole chain on top of
that year (the daily incremental), and peak RSS. Uses a temp directory; nothing asserted.

    .venv/bin/python benchmarks/pipeline.py [--days 365]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
START = date(2025, 11, 1)
# The daily partitions are defined at import from LIQMAP_START_DATE (default: the year ending
# yesterday); the benchmark's fixed window must be inside them.
os.environ.setdefault("LIQMAP_START_DATE", START.isoformat())
os.environ.setdefault("LIQMAP_END_DATE", (START + timedelta(days=400)).isoformat())

from orchestration.definitions import ALL_ASSETS  # noqa: E402
from orchestration.resources import resources_from_settings  # noqa: E402
from transforms.config import load_settings  # noqa: E402


def _run(
    instance: dg.DagsterInstance, settings, tags=None, partition_key=None
) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    result = dg.materialize(
        ALL_ASSETS,
        instance=instance,
        resources=resources_from_settings(settings),
        tags=tags,
        partition_key=partition_key,
    )
    elapsed = time.perf_counter() - started
    steps = {
        stat.step_key: stat.end_time - stat.start_time
        for stat in instance.get_run_step_stats(result.run_id)
    }
    return elapsed, steps


OI_SHARES_SQL = """
SELECT symbol, venue, oi_value / sum(oi_value) OVER (PARTITION BY symbol) AS share
FROM mart.daily_metrics
WHERE scenario = 'base' AND venue <> 'all'
  AND day = (SELECT max(day) FROM mart.daily_metrics)
ORDER BY symbol, venue
"""


def _oi_shares(warehouse: Path) -> list[tuple[str, str, float]]:
    """Each venue's share of its symbol's open interest on the last day."""
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return conn.execute(OI_SHARES_SQL).fetchall()
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument("--venues", default="binance,bybit")
    args = parser.parse_args()
    last = START + timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test() as instance:
        settings = load_settings(
            {
                "LIQMAP_DATA_DIR": f"{tmp}/data",
                "LIQMAP_SITE_DIR": f"{tmp}/site",
                "LIQMAP_START_DATE": START.isoformat(),
                "LIQMAP_END_DATE": (last + timedelta(days=1)).isoformat(),
                "LIQMAP_SYMBOLS": args.symbols,
                "LIQMAP_VENUES": args.venues,
            }
        )
        tags = {
            "dagster/asset_partition_range_start": START.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        total, steps = _run(instance, settings, tags=tags)
        print(
            f"{args.symbols} x {args.venues}: {args.days}-day backfill, one run "
            f"(with generation): {total:.1f} s"
        )
        for step, seconds in steps.items():
            print(f"  {step:<22} {seconds:6.1f} s")
        day = last + timedelta(days=1)
        total, steps = _run(instance, settings, partition_key=day.isoformat())
        print(f"daily partition {day} of the whole chain: {total:.1f} s")
        for step, seconds in steps.items():
            print(f"  {step:<22} {seconds:6.2f} s")
        site = Path(settings.output_site_dir)
        site_mb = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6
        warehouse_mb = settings.warehouse_path.stat().st_size / 1e6
        print(f"site: {site_mb:.0f} MB, warehouse {warehouse_mb:.0f} MB")
        for symbol, venue, share in _oi_shares(settings.warehouse_path):
            print(f"  {symbol} {venue}: {share:.1%} of the aggregate open interest (last day)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
