"""Replay a liquidation cascade into `liqmap collect` and print what it sustained.

    .venv/bin/python benchmarks/collector.py [--rate 2000] [--seconds 10] [--bybit-share 0.5]

Two local WebSocket servers (Bybit's batched pushes every 500 ms, Binance's one message per
liquidation) send `--rate` events/s in total for `--seconds` (the issue's target: 2,000/s, ten
times a heavy cascade, for 60 s). The collector runs as a real `liqmap collect` subprocess;
its CPU seconds and peak RSS come from getrusage of the child, and RSS is sampled during the
replay to show memory stays bounded. Prints sent, stored (must be equal) and events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.realized_helpers import (  # noqa: E402
    FakeVenue,
    Script,
    binance_message,
    bybit_item,
    bybit_push,
    collector_env,
    start_collector,
    stop_collector,
    wait_until,
)

TICK = 0.01  # Binance pacing granularity (s)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _count_lines(venue_dir: Path) -> int:
    total = 0
    for path in venue_dir.glob("*/*.jsonl*"):
        if path.name[:2].isdigit():
            with path.open("rb") as handle:
                total += sum(
                    chunk.count(b"\n") for chunk in iter(lambda h=handle: h.read(1 << 20), b"")
                )
    return total


def _bybit_pushes(per_second: int, seconds: float) -> list[dict]:
    per_push = max(1, round(per_second * 0.5))
    pushes = round(seconds * 2)
    return [
        bybit_push([bybit_item(p * per_push + k) for k in range(per_push)]) for p in range(pushes)
    ]


async def replay(rate: int, seconds: float, bybit_share: float, root: Path) -> dict:
    bybit_rate = round(rate * bybit_share)
    binance_rate = rate - bybit_rate
    binance_total = round(binance_rate * seconds)
    bybit = _bybit_pushes(bybit_rate, seconds)
    bybit_total = sum(len(p["data"]) for p in bybit)
    binance = [json.dumps(binance_message(i)) for i in range(binance_total)]
    per_tick = max(1, round(binance_rate * TICK))
    binance_ticks = [binance[i : i + per_tick] for i in range(0, len(binance), per_tick)]
    samples: list[float] = []
    async with FakeVenue("bybit", [Script([])]) as by, FakeVenue("binance", [Script([])]) as bn:
        proc = await start_collector(
            collector_env(
                root, {"bybit": by.url, "binance": bn.url}, LIQMAP_COLLECT_FSYNC_SECONDS="1"
            )
        )
        await wait_until(
            lambda: by.connections and bn.connections and len(by.received) > 0, "connect", 60
        )
        await asyncio.sleep(0.3)
        by_ws = next(iter(by._server.connections))
        bn_ws = next(iter(bn._server.connections))
        start = time.monotonic()

        async def send_bybit() -> None:
            for n, push in enumerate(bybit):
                await asyncio.sleep(max(0.0, start + n * 0.5 - time.monotonic()))
                await by_ws.send(json.dumps(push))

        async def send_binance() -> None:
            for n, batch in enumerate(binance_ticks):
                await asyncio.sleep(max(0.0, start + n * TICK - time.monotonic()))
                for message in batch:
                    await bn_ws.send(message)

        async def sample() -> None:
            while True:
                samples.append(_rss_mb(proc.pid))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(send_bybit(), send_binance())
        sent_done = time.monotonic()
        total = bybit_total + binance_total
        await wait_until(
            lambda: (
                _count_lines(root / "realized/bybit") + _count_lines(root / "realized/binance")
                >= total
            ),
            "every event on disk",
            120,
        )
        drained = time.monotonic()
        sampler.cancel()
        err = await stop_collector(proc, signal.SIGTERM)
        if proc.returncode != 0:
            raise SystemExit(f"collector exited {proc.returncode}: {err}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    stored = _count_lines(root / "realized/bybit") + _count_lines(root / "realized/binance")
    return {
        "sent": total,
        "stored": stored,
        "replay_seconds": round(sent_done - start, 2),
        "events_per_second_sustained": round(stored / (drained - start), 1),
        "drain_after_last_send_s": round(drained - sent_done, 3),
        "collector_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "collector_cpu_share": round((usage.ru_utime + usage.ru_stime) / (drained - start), 3),
        "collector_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "rss_samples_mb": [round(s, 1) for s in samples[:: max(1, len(samples) // 12)]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="events per second, all venues")
    parser.add_argument("--seconds", type=float, default=10.0, help="replay length (issue: 60)")
    parser.add_argument("--bybit-share", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liqmap-collect-bench-") as tmp:
        result = asyncio.run(replay(args.rate, args.seconds, args.bybit_share, Path(tmp)))
    print(json.dumps({"rate": args.rate, "seconds": args.seconds, **result}, indent=2))
    if result["stored"] != result["sent"]:
        raise SystemExit(f"LOSS: sent {result['sent']}, stored {result['stored']}")


if __name__ == "__main__":
    main()
