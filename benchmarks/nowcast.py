"""Time hourly nowcast refreshes of 6 markets (3 symbols x Binance, Bybit), site included,
and count the REST requests per refresh and market. Prints measured figures.

    .venv/bin/python benchmarks/nowcast.py [--days 30] [--symbols BTCUSDT,ETHUSDT,SOLUSDT]
        [--refreshes 3] [--reuse DIR] [--profile PATH]

Setup (not timed): the daily chain builds `--days` archive days in a temp dir (real Dagster;
`--reuse DIR` builds it once in DIR and copies it back on later runs), a fake Binance REST on
127.0.0.1 serves the synthetic market (as the exchange would: its simulation is not part of
a refresh) and the in-process fake Bybit's market is simulated once. Timed:
`orchestration.nowcast.run_nowcast` hourly from 13:07 UTC of the next day (the same function
`liqmap now` and the hourly Dagster job call) — REST fetches, provisional loads, staging, the
marts, alerts, the now view — with its seconds per step, CPU seconds and the load average.

Refresh 1 is the first after a daily run made without a nowcast: staging today refreshes
yesterday's last bar (its open interest at today's 00:00 point), so yesterday is modelled
again. Later refreshes are the steady state: they continue from yesterday's stored state and
model today's bars only.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.nowcast import run_nowcast  # noqa: E402
from tests.pipeline_helpers import run_range, temp_settings  # noqa: E402
from transforms.raw.venues.binance.fake_rest import FakeBinanceRest, simulated_markets  # noqa: E402
from transforms.raw.venues.bybit.feed import shadow_market  # noqa: E402

LAST = date(2026, 10, 30)  # last archived day; the refresh is on the day after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument("--refreshes", type=int, default=3, help="hourly refreshes timed")
    parser.add_argument(
        "--reuse",
        default="",
        help="work in this folder and keep the daily chain's warehouse there for the next run",
    )
    parser.add_argument("--profile", default="", help="write cProfile stats of refresh N to PATH.N")
    args = parser.parse_args()
    logging.getLogger("dagster").setLevel(logging.ERROR)
    symbols = tuple(args.symbols.split(","))
    first = LAST - timedelta(days=args.days - 1)
    today = LAST + timedelta(days=1)
    with contextlib.ExitStack() as stack:
        tmp = args.reuse or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="liqmap-bench-nowcast-")
        )
        settings = temp_settings(
            Path(tmp),
            first.isoformat(),
            LAST.isoformat(),
            LIQMAP_SYMBOLS=",".join(symbols),
            LIQMAP_VENUES="binance,bybit",
        )
        t = time.perf_counter()
        kept = Path(tmp) / f"daily-{first}-{LAST}-{'-'.join(symbols)}"
        if kept.is_dir():  # the data folder as the daily chain left it (warehouse, caches)
            shutil.rmtree(settings.data_dir, ignore_errors=True)
            shutil.copytree(kept, settings.data_dir)
            print(f"setup: daily chain {first}..{LAST} reused from {kept}")
        else:
            run_range(settings, first, LAST)
            print(f"setup: daily chain {first}..{LAST} in {time.perf_counter() - t:.1f} s")
            if args.reuse:
                shutil.copytree(settings.data_dir, kept)
        clock = {"t": datetime(today.year, today.month, today.day, 13, 7, 30, tzinfo=UTC)}
        markets = simulated_markets(symbols, first, today, settings.synthetic_seed)
        nowcast_settings = settings.__class__(**{**settings.__dict__, "end_date": today})
        for s in symbols:  # the fake Bybit's market, as the exchange would hold it
            shadow_market(nowcast_settings, s)
        with FakeBinanceRest(markets, now=lambda: clock["t"]) as server:
            for i in range(args.refreshes):
                profile = cProfile.Profile() if args.profile else None
                t, cpu = time.perf_counter(), time.process_time()
                if profile:
                    profile.enable()
                run = run_nowcast(settings, now=lambda: clock["t"], binance_url=server.url)
                if profile:
                    profile.disable()
                    profile.dump_stats(f"{args.profile}.{i + 1}")
                total, cpu = time.perf_counter() - t, time.process_time() - cpu
                stages = ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items())
                print(
                    f"refresh {i + 1} at {clock['t']:%H:%M} UTC: {total:.2f} s "
                    f"(CPU {cpu:.2f} s, load {os.getloadavg()[0]:.1f}) for "
                    f"{len(run.refresh.markets)} markets ({stages}); failures: "
                    f"{run.lines() or 'none'}"
                )
                for symbol, (state_day, written) in run.refresh.continued.items():
                    print(f"  {symbol}: model from the state of {state_day}, rows from {written}")
                for market, n in run.refresh.requests().items():
                    print(f"  REST requests {market}: {n}")
                clock["t"] += timedelta(hours=1)
    print(
        f"history {args.days} days; 2 shared cores, timings are noisy. Target: <= 10 s per "
        "refresh of 6 markets, site included."
    )


if __name__ == "__main__":
    main()
