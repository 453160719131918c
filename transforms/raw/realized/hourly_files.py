"""Hourly append-only event files: `<venue>/<YYYY-MM-DD>/HH.jsonl`, one JSON line per event.

The running hour is `HH.jsonl.open`: every batch is appended with one write() (so a killed
process leaves whole lines in the page cache) and fsynced on a short interval and at close.
At the hour boundary the file is fsynced, closed and renamed atomically to `HH.jsonl` (or
`HH-2.jsonl`, `HH-3.jsonl`... when a restarted collector already closed that hour once), so a
closed file is never written again. A leftover `.open` from a killed process is recovered on
start: a torn or invalid tail is cut off and it is closed (or resumed if its hour is running).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

HOUR_MS = 3_600_000
OPEN_SUFFIX = ".open"
TAIL_BYTES = 4 << 20
log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """The hourly file cannot be written (e.g. disk full): the collector must stop, not skip."""


def now_ms() -> int:
    """Wall-clock UTC time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def hour_floor(ms: int) -> int:
    return ms - ms % HOUR_MS


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def hour_dir_and_stem(venue_dir: Path, hour_ms: int) -> tuple[Path, str]:
    moment = datetime.fromtimestamp(hour_ms / 1000, UTC)
    return venue_dir / moment.date().isoformat(), f"{moment.hour:02d}"


def open_path_for(venue_dir: Path, hour_ms: int) -> Path:
    folder, stem = hour_dir_and_stem(venue_dir, hour_ms)
    return folder / f"{stem}.jsonl{OPEN_SUFFIX}"


def hour_of_open_file(path: Path) -> int:
    """The hour (epoch ms) an `HH.jsonl.open` file belongs to, from its folder and name."""
    day = date.fromisoformat(path.parent.name)
    hour = int(path.name.split(".", 1)[0])
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def valid_prefix(data: bytes) -> tuple[list[bytes], int]:
    """Whole JSON-object lines of `data` and their byte length, dropping a torn/invalid tail.

    Only trailing damage is cut (what a kill or power loss can leave); an invalid line with
    valid lines after it is kept, so the loader reports it instead of losing what follows.
    """
    end = data.rfind(b"\n") + 1
    lines = data[:end].splitlines(keepends=True)
    while lines and not _is_json_object(lines[-1]):
        end -= len(lines.pop())
    return lines, end


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _closed_name(open_path: Path) -> Path:
    """The first free closed name for this hour: HH.jsonl, then HH-2.jsonl, HH-3.jsonl..."""
    stem = open_path.name.split(".", 1)[0]
    candidate, part = open_path.parent / f"{stem}.jsonl", 1
    while candidate.exists():
        part += 1
        candidate = open_path.parent / f"{stem}-{part}.jsonl"
    return candidate


def tail_lines(path: Path, max_bytes: int = TAIL_BYTES) -> tuple[list[bytes], int]:
    """Whole valid lines within the last `max_bytes` of a file, and the offset they end at.

    Only the tail is read, so recovering or seeding from a large cascade hour stays cheap.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read()
    if start > 0:
        cut = data.find(b"\n") + 1
        start, data = start + cut, data[cut:]
    lines, good = valid_prefix(data)
    return lines, start + good


def truncate_torn_tail(path: Path) -> int:
    """Cut a torn/invalid tail off an `.open` file in place; returns the bytes removed."""
    size = path.stat().st_size
    _, good = tail_lines(path)
    if good < size:
        with path.open("r+b") as handle:
            handle.truncate(good)
            handle.flush()
            os.fsync(handle.fileno())
        log.warning("%s: dropped a torn tail of %d bytes", path, size - good)
    return size - good


def close_open_file(open_path: Path) -> Path:
    """Truncate a torn tail, fsync and rename an `.open` file to its closed name atomically."""
    truncate_torn_tail(open_path)
    target = _closed_name(open_path)
    os.rename(open_path, target)
    _fsync_dir(open_path.parent)
    return target


def recover_open_files(venue_dir: Path, current_hour_ms: int) -> list[Path]:
    """Close every `.open` left by a killed collector whose hour is over; returns closed paths.

    The current hour's `.open` (if any) only has its torn tail cut: the writer resumes it.
    """
    closed = []
    for path in sorted(venue_dir.glob(f"*/*.jsonl{OPEN_SUFFIX}")):
        if hour_of_open_file(path) == current_hour_ms:
            truncate_torn_tail(path)
        else:
            closed.append(close_open_file(path))
            log.info("recovered %s from an earlier run", closed[-1])
    return closed


def hour_files(venue_dir: Path, day: date) -> list[Path]:
    """Closed files of one day, in hour order (HH.jsonl before HH-2.jsonl)."""
    folder = venue_dir / day.isoformat()

    def order(path: Path) -> tuple[int, int]:
        hour, _, part = path.name.removesuffix(".jsonl").partition("-")
        return int(hour), int(part or 1)

    return sorted(folder.glob("[0-2][0-9]*.jsonl"), key=order)


@dataclass
class HourlyWriter:
    """Appends batches of lines to the running hour's `.open` file of one venue."""

    venue_dir: Path
    clock: Callable[[], int] = now_ms
    hour_ms: int | None = None
    path: Path | None = None
    events_written: int = 0
    closed_files: list[Path] = field(default_factory=list)
    _fd: int | None = None
    _dirty: bool = False

    def start(self) -> None:
        """Recover leftovers and open (or resume) the running hour's `.open` file."""
        self.venue_dir.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        self.closed_files.extend(recover_open_files(self.venue_dir, hour_floor(now)))
        self._open(hour_floor(now))

    def _open(self, hour_ms: int) -> None:
        path = open_path_for(self.venue_dir, hour_ms)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.fsync(self._fd)
        _fsync_dir(path.parent)
        self.hour_ms, self.path = hour_ms, path

    def append(self, lines: list[bytes], at_ms: int) -> None:
        """Write the lines with one write() into the file of the hour `at_ms` falls in."""
        if self._fd is None:
            raise RuntimeError("HourlyWriter.append before start()")
        if hour_floor(at_ms) != self.hour_ms:
            self.roll(at_ms)
        payload = memoryview(b"".join(lines))
        try:
            while payload:
                payload = payload[os.write(self._fd, payload) :]
        except OSError as exc:  # disk full, I/O error: stop loudly rather than drop events
            raise StorageError(f"{self.path}: cannot append events: {exc}") from exc
        self.events_written += len(lines)
        self._dirty = True

    def roll_if_due(self) -> None:
        """Close the hour once the clock has passed it (called by a timer between events)."""
        now = self.clock()
        if self._fd is not None and hour_floor(now) != self.hour_ms:
            self.roll(now)

    def roll(self, at_ms: int) -> None:
        self._close_current()
        self._open(hour_floor(at_ms))

    def sync(self) -> None:
        """fsync what was appended since the last sync (bounds loss on power failure)."""
        if self._fd is not None and self._dirty:
            self._dirty = False
            os.fsync(self._fd)

    def close(self) -> None:
        """Finalize the running hour: nothing stays half-written after a clean stop."""
        if self._fd is not None:
            self._close_current()

    def _close_current(self) -> None:
        assert self._fd is not None and self.path is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd, self._dirty = None, False
        self.closed_files.append(close_open_file(self.path))
