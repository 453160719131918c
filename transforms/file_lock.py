"""An exclusive lock across processes on a lock file: first-time work done once.

The kernel drops an `flock` when its file closes, however the process ends, so a killed
holder never leaves the lock taken. Used where two processes may start the same one-time
work (Dagster's storages in a fresh home, a symbol's synthetic mirror): the second waits,
then finds it done."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created when missing) for the block; wait for it."""
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
        yield
