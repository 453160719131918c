"""What every Binance archive source shares: the Source protocol and the verified file cache.

A source turns (dataset, symbol, period) into a file in the raw cache that has been checked
against its sha256 `.CHECKSUM` and opened as a well-formed single-member zip. Files are written
atomically (temp file in the same directory, then `os.replace`), so a reader never sees a
partial file, and a file that fails verification is never left behind.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from transforms.atomic import StaleTemps, atomic_target, atomic_write_text, sha256_file
from transforms.failpoints import failpoint
from transforms.raw.errors import SourceError
from transforms.raw.venues.binance.datasets import archive_relpath

_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")


class ChecksumMismatch(SourceError):
    """The file's sha256 differs from its published `.CHECKSUM`."""


class CorruptArchive(SourceError):
    """Bad or truncated zip, unexpected member, or CSV schema drift."""


@dataclass(frozen=True)
class FetchedFile:
    """A verified archive file in the raw cache."""

    dataset: str
    symbol: str
    period: str
    relpath: str
    path: Path
    sha256: str
    bytes: int


class Source(Protocol):
    name: str

    def fetch(self, dataset: str, symbol: str, period: str) -> FetchedFile: ...

    def close(self) -> None: ...


def parse_checksum(text: str, expected_name: str, relpath: str) -> str:
    """The hex digest from a sha256sum line, checking it names the expected file."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    match = _SHA256_LINE.match(line)
    if not match:
        raise CorruptArchive(f"{relpath}.CHECKSUM is not in sha256sum format: {line[:80]!r}")
    if Path(match.group(2)).name != expected_name:
        raise CorruptArchive(
            f"{relpath}.CHECKSUM names {match.group(2)!r}, expected {expected_name!r}"
        )
    return match.group(1).lower()


def checksum_line(digest: str, name: str) -> str:
    return f"{digest}  {name}\n"


def verify_zip(path: Path, relpath: str) -> None:
    """The zip must open, pass its CRCs and hold exactly `<stem>.csv`."""
    expected_member = Path(relpath).name[: -len(".zip")] + ".csv"
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if names != [expected_member]:
                raise CorruptArchive(
                    f"{relpath}: expected one member {expected_member!r}, found {names[:5]!r}"
                )
            bad = zf.testzip()
            if bad is not None:
                raise CorruptArchive(f"{relpath}: CRC error in member {bad!r}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise CorruptArchive(f"{relpath}: not a readable zip ({exc})") from exc


class RawCache:
    """The verified raw archive files, under `<cache_dir>/<namespace>/<archive relpath>`.

    Sources are namespaced so a synthetic file can never be served as a genuine one after a
    change of `LIQMAP_SOURCE`.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self._stale = StaleTemps()

    def path_for(self, relpath: str) -> Path:
        return self.root / relpath

    def lookup(self, relpath: str, expected_digest: str | None = None) -> str | None:
        """Digest of a valid cached file, or None (invalid entries are removed)."""
        path = self.path_for(relpath)
        sidecar = path.with_name(path.name + ".CHECKSUM")
        if not path.is_file() or not sidecar.is_file():
            return None
        try:
            stored = parse_checksum(sidecar.read_text(), path.name, relpath)
        except CorruptArchive:
            self.evict(relpath)
            return None
        if expected_digest is not None and stored != expected_digest:
            self.evict(relpath)  # the source republished the file
            return None
        if sha256_file(path) != stored:
            self.evict(relpath)
            return None
        return stored

    def evict(self, relpath: str) -> None:
        path = self.path_for(relpath)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".CHECKSUM").unlink(missing_ok=True)

    def store(self, relpath: str, data: bytes, checksum_text: str) -> str:
        """Verify `data` against `checksum_text` and the zip structure, then commit it."""
        path = self.path_for(relpath)
        expected = parse_checksum(checksum_text, path.name, relpath)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ChecksumMismatch(
                f"{relpath}: sha256 {actual} does not match .CHECKSUM {expected}"
            )
        self._stale.remove(path)
        with atomic_target(path) as tmp:
            tmp.write_bytes(data)
            failpoint("cache-write")
            verify_zip(tmp, relpath)
            # CHECKSUM last: an entry only counts when both files exist and agree.
            path.with_name(path.name + ".CHECKSUM").unlink(missing_ok=True)
        atomic_write_text(
            path.with_name(path.name + ".CHECKSUM"), checksum_line(expected, path.name)
        )
        return expected


class CachingSource:
    """Template for sources: cache lookup, then `_read_checksum` / `_read_file`, then store."""

    name = "base"
    #: compare the source's current CHECKSUM with the cached one before reusing (cheap locally)
    revalidate = False

    def __init__(self, cache_dir: Path):
        self.cache = RawCache(Path(cache_dir) / self.name)

    def close(self) -> None:
        """Release connections; local sources hold none."""

    def _read_checksum(self, relpath: str) -> str:  # pragma: no cover - abstract
        """Text of `<relpath>.CHECKSUM`; NotYetPublished naming `relpath` when absent."""
        raise NotImplementedError

    def _read_file(self, relpath: str) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def fetch(self, dataset: str, symbol: str, period: str) -> FetchedFile:
        relpath = archive_relpath(dataset, symbol, period)
        expected = None
        if self.revalidate:
            expected = parse_checksum(self._read_checksum(relpath), Path(relpath).name, relpath)
        digest = self.cache.lookup(relpath, expected)
        if digest is None:
            checksum_text = self._read_checksum(relpath)
            data = self._read_file(relpath)
            digest = self.cache.store(relpath, data, checksum_text)
        path = self.cache.path_for(relpath)
        return FetchedFile(
            dataset=dataset,
            symbol=symbol,
            period=period,
            relpath=relpath,
            path=path,
            sha256=digest,
            bytes=path.stat().st_size,
        )
