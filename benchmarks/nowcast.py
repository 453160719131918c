"""Time one hourly nowcast refresh of 6 markets (3 symbols x Binance, Bybit), site included,
and count the REST requests per market. Prints measured figures.

    .venv/bin/python benchmarks/nowcast.py [--days 30] [--symbols BTCUSDT,ETHUSDT,SOLUSDT]

Setup (not timed): the daily chain builds `--days` archive days in a temp dir (real Dagster),
a fake Binance REST on 127.0.0.1 serves the synthetic market (as the exchange would: its
simulation is not part of a refresh) and the in-process fake Bybit's market is simulated
once. Timed: `orchestration.nowcast.run_nowcast` at 13:07 UTC of the next day — REST fetches,
provisional loads, staging, the marts (through the daily build's update_marts, so the cost
grows with the history until the model carries state), alerts, the now view.
"""

from __future__ import annotations

import argparse
import logging
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
    parser.add_argument("--refreshes", type=int, default=2, help="hourly refreshes timed")
    args = parser.parse_args()
    logging.getLogger("dagster").setLevel(logging.ERROR)
    symbols = tuple(args.symbols.split(","))
    first = LAST - timedelta(days=args.days - 1)
    today = LAST + timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="liqmap-bench-nowcast-") as tmp:
        settings = temp_settings(
            Path(tmp),
            first.isoformat(),
            LAST.isoformat(),
            LIQMAP_SYMBOLS=",".join(symbols),
            LIQMAP_VENUES="binance,bybit",
        )
        t = time.perf_counter()
        run_range(settings, first, LAST)
        print(f"setup: daily chain {first}..{LAST} in {time.perf_counter() - t:.1f} s")
        clock = {"t": datetime(today.year, today.month, today.day, 13, 7, 30, tzinfo=UTC)}
        markets = simulated_markets(symbols, first, today, settings.synthetic_seed)
        nowcast_settings = settings.__class__(**{**settings.__dict__, "end_date": today})
        for s in symbols:  # the fake Bybit's market, as the exchange would hold it
            shadow_market(nowcast_settings, s)
        with FakeBinanceRest(markets, now=lambda: clock["t"]) as server:
            for i in range(args.refreshes):
                t = time.perf_counter()
                run = run_nowcast(settings, now=lambda: clock["t"], binance_url=server.url)
                total = time.perf_counter() - t
                stages = ", ".join(f"{k} {v:.2f} s" for k, v in run.seconds.items())
                print(
                    f"refresh {i + 1} at {clock['t']:%H:%M} UTC: {total:.2f} s for "
                    f"{len(run.refresh.markets)} markets ({stages}); failures: "
                    f"{run.lines() or 'none'}"
                )
                for market, n in run.refresh.requests().items():
                    print(f"  REST requests {market}: {n}")
                clock["t"] += timedelta(hours=1)
    print(
        f"history {args.days} days; 2 shared cores, timings are noisy. Target: <= 10 s per "
        "refresh of 6 markets, site included."
    )


if __name__ == "__main__":
    main()
