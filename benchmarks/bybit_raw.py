"""Time the offline demo's Bybit raw layer: a window of days x symbols fetched from the
in-process fake Bybit (the synthetic market's shadow) into the verified day cache and loaded
into raw.* with venue 'bybit', then the same window again (every day from the cache).
Prints measured figures.

    .venv/bin/python benchmarks/bybit_raw.py [--days 365] [--symbols BTCUSDT,ETHUSDT,SOLUSDT]
        [--venues binance,bybit] [--no-rerun] [--pages]

Everything happens in a temp dir; Binance is not loaded (benchmarks/ingest.py times it)
unless `--venues binance,bybit` (the demo's whole raw layer, synthetic archive generation
included, as the pipeline's raw assets run it without Dagster; on a window of 32 days or more
Bybit's days are fetched ahead by a child process while Binance loads, unless
LIQMAP_FETCH_AHEAD_MIN_DAYS=0: transforms.raw.fetch_ahead). `--no-rerun`: the first pass only.
`--pages`: only the fake server's page formatting, its bodies (transforms.raw.rest.json_columns)
against the reference `envelope(*_result())`, in CPU microseconds per full page, and what a
demo year's pages cost at that rate.
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

import numpy as np

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


def time_pages() -> None:
    """CPU per page of the fake Bybit's bodies and of the reference encoding (best of 5)."""
    from transforms.raw.venues.bybit import responses
    from transforms.raw.venues.bybit.market import generate_market

    market = generate_market("BTCUSDT", START, 2, seed=3)
    oi = np.column_stack([market.open_interest[:200], market.open_interest[:200, 1] * 0.4])
    bars, marks, funding = (
        market.klines[:1000][::-1],
        market.mark_klines[:1000][::-1],
        market.funding,
    )
    cases = {  # per day of a symbol: 2 kline pages, 2 mark pages, 2 OI pages, 1 funding page
        "kline (1000 bars)": (
            2, lambda: responses.kline_body("BTCUSDT", bars, 1),
            lambda: responses.envelope(responses.kline_result("BTCUSDT", bars), time_ms=1),
        ),
        "mark kline (1000)": (
            2, lambda: responses.mark_kline_body("BTCUSDT", marks, 1),
            lambda: responses.envelope(responses.mark_kline_result("BTCUSDT", marks), time_ms=1),
        ),
        "open interest (200)": (
            2, lambda: responses.open_interest_body("BTCUSDT", oi, "", 1),
            lambda: responses.envelope(
                responses.open_interest_result("BTCUSDT", oi, ""), time_ms=1
            ),
        ),
        "funding (3)": (
            1, lambda: responses.funding_body("BTCUSDT", funding, 1),
            lambda: responses.envelope(responses.funding_result("BTCUSDT", funding), time_ms=1),
        ),
    }  # fmt: skip

    def best(fn) -> float:
        runs = []
        for _ in range(5):
            t = time.process_time()
            for _ in range(20):
                fn()
            runs.append((time.process_time() - t) / 20)
        return min(runs)

    year = {"body": 0.0, "reference": 0.0}
    print("fake Bybit page formatting, CPU per page (best of 5 x 20)")
    for name, (per_day, body, reference) in cases.items():
        assert body() == reference()
        b, r = best(body), best(reference)
        year["body"] += b * per_day * 365 * 3
        year["reference"] += r * per_day * 365 * 3
        print(f"  {name:20s} body {b * 1e6:7.0f} us   reference {r * 1e6:7.0f} us   x{r / b:.1f}")
    print(
        f"  a demo year's pages (3 symbols): body {year['body']:.1f} s, reference "
        f"{year['reference']:.1f} s of CPU; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument(
        "--venues", default="bybit", help="binance,bybit: the demo's whole raw layer"
    )
    parser.add_argument("--no-rerun", action="store_true", help="the first pass only")
    parser.add_argument("--pages", action="store_true", help="the fake server's formatting only")
    args = parser.parse_args()
    if args.pages:
        time_pages()
        return
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
