"""Benchmark the liquidation model on one synthetic year of 5-minute bars.

Prints: run_model wall time, cohorts/s, peak traced memory, and the daily-incremental
build_marts time (lookback 365 d, 1 target day, all 4 scenarios), plus a 30-day range and the
one-year range (365 target days in one pass: the backfill case).

    .venv/bin/python benchmarks/model.py [--days 365] [--seed 7]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.marts.build import build_marts  # noqa: E402
from transforms.model import BarArrays, ModelParams, run_model  # noqa: E402
from transforms.reference import bracket_table  # noqa: E402


def synthetic_bars(days: int, seed: int, start: date) -> pd.DataFrame:
    """Seeded random walk (~2.5 %/day vol) with wicks, mark path, mean-reverting noisy OI,
    taker ratio and 8-hourly funding: the shape of stg.bars_5m."""
    n = days * 288
    rng = np.random.default_rng(seed)
    ts = pd.date_range(pd.Timestamp(start), periods=n, freq="5min")
    ret = rng.normal(0, 0.0015, n) + 0.002 * rng.standard_t(3, n) * (rng.random(n) < 0.01)
    close = 60_000.0 * np.exp(np.cumsum(ret))
    wick = np.abs(rng.normal(0, 0.001, (2, n))) * close
    mark_noise = 1 + rng.normal(0, 0.0002, n)
    x = np.zeros(n)
    shocks = rng.normal(0, 0.002, n)
    for i in range(1, n):  # AR(1) log-OI around 80k BTC
        x[i] = 0.9995 * x[i - 1] + shocks[i]
    oi_base = 80_000.0 * np.exp(x)
    funding = np.repeat(rng.normal(0.0001, 0.00008, n // 96 + 1), 96)[:n]
    return pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "day": ts.normalize(),
            "ts": ts,
            "open": close,
            "high": close + wick[1],
            "low": close - wick[0],
            "close": close,
            "volume": 100.0,
            "quote_volume": close * 100,
            "taker_buy_quote_volume": close * 50,
            "mark_high": (close + wick[1]) * mark_noise,
            "mark_low": (close - wick[0]) * mark_noise,
            "mark_close": close * mark_noise,
            "oi_base": oi_base,
            "oi_value": oi_base * close,
            "taker_ratio": np.exp(rng.normal(0, 0.15, n)),
            "funding_rate": funding,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    first = date(2025, 1, 1)
    bars = synthetic_bars(args.days + 1, args.seed, first)
    brackets = bracket_table("BTCUSDT", "binance").query(
        "effective_date == @date(2023, 1, 1)", local_dict={"date": date}
    )
    params = ModelParams()
    arrays = BarArrays.from_frame(bars)
    print(f"bars: {arrays.n:,} x {arrays.interval_ns // 10**9}s ({args.days + 1} days)")

    run_model(arrays, params, brackets)  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        run = run_model(arrays, params, brackets)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(
        f"run_model: best {best:.3f} s of 3 (median {np.median(times):.3f} s), "
        f"{run.n_cohorts:,} cohorts -> {run.n_cohorts / best / 1e6:.2f} M cohorts/s, "
        f"closing fixed point {run.fixed_point_passes} passes"
    )
    tracemalloc.start()
    run_model(arrays, params, brackets)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"run_model peak traced memory: {peak / 2**20:.0f} MiB")

    last_day = first + timedelta(days=args.days)
    t = time.perf_counter()
    frames = build_marts(bars, brackets, params, "BTCUSDT", last_day, last_day + timedelta(days=1))
    daily = time.perf_counter() - t
    print(
        f"build_marts daily incremental (1 day, 4 scenarios, {args.days} d lookback): "
        f"{daily:.2f} s -> heatmap {len(frames.liq_heatmap):,} rows, liq_map "
        f"{len(frames.liq_map):,}, daily_metrics {len(frames.daily_metrics)}, "
        f"moves {len(frames.moves)}"
    )
    t = time.perf_counter()
    frames = build_marts(
        bars,
        brackets,
        params,
        "BTCUSDT",
        last_day - timedelta(days=29),
        last_day + timedelta(days=1),
    )
    rng30 = time.perf_counter() - t
    print(
        f"build_marts 30-day range (one pass): {rng30:.2f} s -> heatmap "
        f"{len(frames.liq_heatmap):,} rows, daily_metrics {len(frames.daily_metrics)}"
    )
    t = time.perf_counter()
    year = build_marts(
        bars,
        brackets,
        params,
        "BTCUSDT",
        last_day - timedelta(days=args.days - 1),
        last_day + timedelta(days=1),
    )
    rng_year = time.perf_counter() - t
    print(
        f"build_marts {args.days}-day range (one pass, 4 scenarios): {rng_year:.2f} s -> heatmap "
        f"{len(year.heatmap):,} rows, daily_metrics {len(year.daily_metrics)}"
    )
    base = frames.daily_metrics.query("scenario == 'base'").iloc[-1]
    print(
        f"last day base: longs at risk {base.longs_at_risk / 1e9:.2f} B, shorts "
        f"{base.shorts_at_risk / 1e9:.2f} B, imbalance {base.shorts_per_long:.2f}"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (ru_maxrss): {rss:.0f} MiB")


if __name__ == "__main__":
    main()
