"""Atomic file writes: a temp file in the target's directory, then `os.replace`.

A reader sees the previous complete file or the new one, never a torn one; a write that
fails (or a process killed mid-write) leaves at most a `.<name>.<random>.tmp` file, which
`remove_stale_temps` deletes. Used by the raw cache, the snapshot and the site writer.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from transforms.failpoints import failpoint

TMP_SUFFIX = ".tmp"
FILE_MODE = 0o644  # mkstemp creates 0600; published files are world-readable
#: numbers the temp names of `atomic_write_bytes` within this process (with its pid)
_SEQUENCE = itertools.count()


@contextlib.contextmanager
def atomic_target(path: Path, *, create: bool = True) -> Iterator[Path]:
    """A temp path beside `path` that replaces it when the block ends without error.

    `create=False` reserves a name without creating the file (for writers such as DuckDB's
    ATTACH/COPY that must create it themselves). On error the temp file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if create:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    else:
        tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
        tmp.unlink(missing_ok=True)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, crash_point: str | None = None) -> None:
    """Write `data` to `path` atomically; `crash_point` names a failpoint hit between the
    temp write and the rename (crash-safety tests).

    `atomic_target`'s steps with fewer system calls (the raw caches write ~15k files in a
    demo year): the temp name is unique by pid and a per-process sequence, created with
    O_EXCL (a leftover of a killed process of the same pid is removed first), written through
    the descriptor it was opened with, the folder made only when missing."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{next(_SEQUENCE)}{TMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(tmp, flags, FILE_MODE)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, flags, FILE_MODE)
    except FileExistsError:
        tmp.unlink()
        fd = os.open(tmp, flags, FILE_MODE)
    try:
        with open(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # whatever the umask
            out.write(data)
        if crash_point:
            failpoint(crash_point)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, crash_point: str | None = None) -> None:
    """`atomic_write_bytes` of `text` encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), crash_point=crash_point)


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp files a killed process left beside `path` (they were never committed)."""
    removed = []
    for stale in Path(path).parent.glob(f".{Path(path).name}.*{TMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed.append(stale)
    return removed


class StaleTemps:
    """`remove_stale_temps` for a writer committing many files into the same folders: each
    folder is listed once, on its first file (a glob per file lists the folder every time,
    quadratic over a year of daily files). Temp files this process creates later are its
    own (removed by `atomic_target` on error), so the first listing finds every stale one."""

    def __init__(self) -> None:
        self._found: dict[Path, set[str]] = {}

    def remove(self, path: Path) -> list[Path]:
        """Delete the temp files a killed process left beside `path`."""
        folder = Path(path).parent
        names = self._found.get(folder)
        if names is None:
            names = _temp_names(folder)
            self._found[folder] = names
        prefix = f".{Path(path).name}."
        removed = []
        for name in sorted(n for n in names if n.startswith(prefix)):
            names.discard(name)
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
                removed.append(folder / name)
        return removed


def _temp_names(folder: Path) -> set[str]:
    """Names in `folder` matching `.*{TMP_SUFFIX}` (a folder of a year of daily files: one
    scandir with string tests, ~10x cheaper than a pathlib glob's pattern per entry)."""
    try:
        with os.scandir(folder) as entries:
            return {
                e.name
                for e in entries
                if e.name.startswith(".")
                and e.name.endswith(TMP_SUFFIX)
                and len(e.name) > len(TMP_SUFFIX)
            }
    except (FileNotFoundError, NotADirectoryError):
        return set()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (the raw caches' verification)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
