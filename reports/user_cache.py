"""The per-user cache of text that depends only on versions (the Vega bundle, the chart
templates): kept across builds and processes, each file beside a `.sha256` record of its text.

A cache only saves time, so it never decides an outcome: a file whose record does not match
(torn, edited, foreign) reads as absent and is rebuilt, and a cache that cannot be read or
written is skipped. Written atomically (text first, then its record), so a reader sees the
whole file or none.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from transforms.atomic import atomic_write_text

RECORD_SUFFIX = ".sha256"


def user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/liqmap (default ~/.cache/liqmap): outside the site, kept across builds."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "liqmap"


def _record(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_checked(path: Path) -> str | None:
    """The file's text if its record matches, else None (missing, unreadable or damaged)."""
    try:
        text = path.read_text()
        return text if _record(path).read_text() == _sha256(text) else None
    except (OSError, UnicodeDecodeError):
        return None


def write_checked(path: Path, text: str) -> None:
    """Keep `text` with its record; an unwritable cache is skipped (the next process rebuilds)."""
    try:
        atomic_write_text(path, text)
        atomic_write_text(_record(path), _sha256(text))
    except OSError:
        pass


def remove_checked(path: Path) -> None:
    """Drop a cached file and its record."""
    path.unlink(missing_ok=True)
    _record(path).unlink(missing_ok=True)
