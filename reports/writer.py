"""The only code that puts site files on disk: every write is atomic.

A file is written to a temp file in its own directory and renamed over the target
(`os.replace`), so a crash never leaves a half-written page. Page builders return text or
bytes; `SiteWriter` writes them and keeps count of what it wrote.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.atomic import TMP_SUFFIX, atomic_write_bytes

# The site's single atomic write (shared with the raw cache and the snapshot).
write_atomic = atomic_write_bytes


def remove_stale_temp_files(out_dir: Path) -> list[Path]:
    """Delete temp files a killed build left behind (`.<name>.<random>.tmp`)."""
    removed = []
    if Path(out_dir).is_dir():
        for p in Path(out_dir).rglob(f".*{TMP_SUFFIX}"):
            if p.is_file():
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                    removed.append(p)
    return removed


@dataclass
class SiteWriter:
    """Writes files under `out_dir` (paths relative to it) and records what it wrote.

    `pages`: the HTML pages and feed written (`page=True`); `bytes_total` and `files`:
    bytes and count of every file written."""

    out_dir: Path
    pages: list[Path] = field(default_factory=list)
    bytes_total: int = 0
    files: int = 0
    # the day documents waiting for their month files (reports.day_packs.DayPacks)
    day_packs: Any = None

    def write(self, rel: str, data: bytes | str, page: bool = False) -> Path:
        path = self.out_dir / rel
        raw = data.encode("utf-8") if isinstance(data, str) else data
        write_atomic(path, raw, crash_point="site-page" if page else None)
        self.bytes_total += len(raw)
        self.files += 1
        if page:
            self.pages.append(path)
        return path

    def write_if_changed(self, rel: str, data: bytes | str) -> bool:
        """Write only when the file's bytes differ (assets keep their mtime otherwise)."""
        path = self.out_dir / rel
        raw = data.encode("utf-8") if isinstance(data, str) else data
        with contextlib.suppress(FileNotFoundError):
            if path.read_bytes() == raw:
                return False
        self.write(rel, raw)
        return True
