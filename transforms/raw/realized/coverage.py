"""Which stretches of time a venue's stream was actually being received, and the gaps.

Coverage is positive evidence: while subscribed, the collector appends `{"from_ms","to_ms"}`
to `<venue>/<day>/coverage.jsonl` every few seconds (contiguous marks), and a last one when
the connection drops or the collector stops. Anything not covered is a gap, so a day is
complete only if its marks tile all 86,400 s; a killed collector simply stops producing marks,
which can only make a day look less complete, never more. For people reading the folder, each
disconnected interval is also written to `<venue>/<day>/gaps.jsonl` with its reason once the
stream is back (or, for time the collector was not running, when it starts again).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from transforms.days import DAY_MS, day_start_ms
from transforms.raw.realized.hourly_files import day_of, valid_prefix

COVERAGE_FILE = "coverage.jsonl"
GAPS_FILE = "gaps.jsonl"


def _append_synced(path: Path, record: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines, _ = valid_prefix(path.read_bytes())
    return [json.loads(line) for line in lines]


class CoverageLog:
    """Writes coverage marks and gap records for one venue."""

    def __init__(self, venue_dir: Path) -> None:
        self.venue_dir = venue_dir

    def mark(self, from_ms: int, to_ms: int) -> None:
        """Record that the stream was received without interruption over [from_ms, to_ms)."""
        if to_ms > from_ms:
            folder = self.venue_dir / day_of(from_ms).isoformat()
            _append_synced(folder / COVERAGE_FILE, {"from_ms": from_ms, "to_ms": to_ms})

    def gap(self, start_ms: int, end_ms: int, reason: str) -> None:
        """Record a disconnected interval (informational; coverage decides completeness)."""
        if end_ms > start_ms:
            folder = self.venue_dir / day_of(start_ms).isoformat()
            record = {"start_ms": start_ms, "end_ms": end_ms, "reason": reason}
            _append_synced(folder / GAPS_FILE, record)

    def last_covered_ms(self) -> int | None:
        """End of the newest coverage mark on disk (where a restarted collector's gap starts)."""
        days = sorted(p for p in self.venue_dir.glob(f"*/{COVERAGE_FILE}"))
        for path in reversed(days[-2:]):
            ends = [int(r["to_ms"]) for r in _records(path)]  # type: ignore[call-overload]
            if ends:
                return max(ends)
        return None


@dataclass(frozen=True)
class DayCoverage:
    """How much of one UTC day a venue's stream was received."""

    day: date
    collected_ms: int
    gaps: list[tuple[int, int]]

    @property
    def collected_seconds(self) -> float:
        return self.collected_ms / 1000

    @property
    def gap_seconds(self) -> float:
        return (DAY_MS - self.collected_ms) / 1000

    @property
    def complete(self) -> bool:
        return self.collected_ms == DAY_MS


def day_coverage(venue_dir: Path, day: date) -> DayCoverage:
    """Union of the coverage marks clipped to the day; gaps are what the union leaves out.

    Marks are filed under the day they start in, so the day before is read too.
    """
    start, end = day_start_ms(day), day_start_ms(day) + DAY_MS
    intervals = []
    for folder_day in (day - timedelta(days=1), day):
        for record in _records(venue_dir / folder_day.isoformat() / COVERAGE_FILE):
            lo = max(int(record["from_ms"]), start)  # type: ignore[call-overload]
            hi = min(int(record["to_ms"]), end)  # type: ignore[call-overload]
            if hi > lo:
                intervals.append((lo, hi))
    intervals.sort()
    collected, gaps, cursor = 0, [], start
    for lo, hi in intervals:
        if lo > cursor:
            gaps.append((cursor, lo))
        if hi > cursor:
            collected += hi - max(lo, cursor)
            cursor = hi
    if cursor < end:
        gaps.append((cursor, end))
    return DayCoverage(day=day, collected_ms=collected, gaps=gaps)
