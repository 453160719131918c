"""Minute samples of open interest and mark price: Hyperliquid keeps no history of either.

`liqmap collect` asks `metaAndAssetCtxs` once a minute and writes one line per configured coin
to `<data dir>/samples/hyperliquid/<day>/HH.jsonl`, with the realized-liquidation files' own
writer and coverage log (transforms.raw.realized.hourly_files / coverage): appended with one
write, fsynced, closed hour files renamed atomically, a torn tail cut on restart. Each sample
taken marks its minute covered; a failed request is a gap with its reason, so a day is
complete only when all 1,440 minutes hold a sample. A restart in the same minute writes no
second sample; a repeated (coin, minute) on disk is read once (the first).

The ingest builds bars from the samples: 5-minute open interest at each 5-minute mark (the
sample of that minute: OI in coins, value = OI x markPx) and 1-minute mark rows (the sample of
the minute as open = high = low = close: a point, not a range). A day with a gap gets the
rows it has, is not final, and is named (never filled).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from transforms.raw.realized.coverage import CoverageLog, DayCoverage, day_coverage
from transforms.raw.realized.hourly_files import (
    OPEN_SUFFIX,
    HourlyWriter,
    hour_files,
    now_ms,
    valid_prefix,
)
from transforms.raw.venues.hyperliquid.api import HyperliquidClient
from transforms.raw.venues.hyperliquid.datasets import DAY_MS, MINUTE_MS, asset_contexts, coin
from transforms.raw.venues.hyperliquid.errors import HyperliquidError

log = logging.getLogger("liqmap.collect")
SAMPLE_COLUMNS = ("minute", "open_interest", "mark_price")


def samples_root(data_dir: Path) -> Path:
    """Where the samples live: <LIQMAP_DATA_DIR>/samples/hyperliquid."""
    return Path(data_dir) / "samples" / "hyperliquid"


@dataclass
class Sampler:
    """Takes one sample a minute into the hourly files (the clock is injectable for tests and
    for the offline demo, which replays its window against the fake server)."""

    root: Path
    client: HyperliquidClient
    symbols: tuple[str, ...]
    clock: Callable[[], int] = now_ms
    _writer: HourlyWriter | None = None
    _last_minute: int | None = None

    def start(self) -> None:
        self._writer = HourlyWriter(self.root, self.clock)
        self._writer.start()
        self.coverage = CoverageLog(self.root)

    def sample(self) -> bool:
        """One sample of every symbol's OI and mark, stamped with the fetch minute; a failure
        is recorded as a gap of that minute (True when written)."""
        assert self._writer is not None, "Sampler.sample before start()"
        at = self.clock()
        minute = at - at % MINUTE_MS
        if minute == self._last_minute:
            return False
        self._last_minute = minute
        try:
            page = self.client.asset_contexts()
            ctxs = asset_contexts(page.body, "/info metaAndAssetCtxs")
            missing = [s for s in self.symbols if coin(s) not in ctxs]
            if missing:
                raise HyperliquidError(f"metaAndAssetCtxs has no {', '.join(missing)}")
        except HyperliquidError as exc:
            self.coverage.gap(minute, minute + MINUTE_MS, str(exc))
            log.warning("hyperliquid sample %d: %s", minute, exc)
            return False
        lines = []
        for symbol in self.symbols:
            oi, mark = ctxs[coin(symbol)]
            record = {"t": at, "coin": coin(symbol), "openInterest": oi, "markPx": mark}
            lines.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self._writer.append(lines, at)
        self._writer.sync()
        self.coverage.mark(minute, minute + MINUTE_MS)
        return True

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def run_sampler(sampler: Sampler, stop: asyncio.Event) -> None:
    """Sample once a minute (a few seconds past the minute) until `stop` is set."""
    sampler.start()
    try:
        while not stop.is_set():
            await asyncio.to_thread(sampler.sample)
            wait = (MINUTE_MS - now_ms() % MINUTE_MS + 2_000) / 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
    finally:
        sampler.close()


def _lines(root: Path, day: date) -> Iterable[bytes]:
    files = hour_files(root, day) + sorted((root / day.isoformat()).glob(f"*.jsonl{OPEN_SUFFIX}"))
    for path in files:
        yield from valid_prefix(path.read_bytes())[0]


def day_samples(
    root: Path, symbol: str, day: date, start_ms: int
) -> tuple[list[tuple[int, float, float]], DayCoverage]:
    """(minute, open interest, mark) of `symbol` on `day`, ascending, one per minute, and the
    day's coverage."""
    want = coin(symbol)
    seen: dict[int, tuple[int, float, float]] = {}
    for line in _lines(root, day):
        record = json.loads(line)
        if record.get("coin") != want:
            continue
        minute = int(record["t"]) - int(record["t"]) % MINUTE_MS
        if start_ms <= minute < start_ms + DAY_MS and minute not in seen:
            seen[minute] = (minute, float(record["openInterest"]), float(record["markPx"]))
    return [seen[m] for m in sorted(seen)], day_coverage(root, day)


def sampled_days(root: Path) -> list[date]:
    """Days with at least one covered minute on disk."""
    out = []
    for path in root.glob("*/coverage.jsonl"):
        try:
            out.append(date.fromisoformat(path.parent.name))
        except ValueError:
            continue
    return sorted(out)


def oi_bars(samples: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """5-minute open interest: (mark time, OI coins, OI x markPx) at each 5-minute mark that
    has its minute's sample."""
    return [(m, oi, oi * px) for m, oi, px in samples if m % (5 * MINUTE_MS) == 0]


def mark_rows(samples: list[tuple[int, float, float]]) -> list[tuple[int, ...]]:
    """1-minute mark rows: the minute's sample as open = high = low = close."""
    return [(m, px, px, px, px) for m, _oi, px in samples]
