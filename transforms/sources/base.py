"""What every source shares: archive layout, errors, and the verified raw-file cache.

A source turns (dataset, symbol, period) into a file in the raw cache that has been checked
against its sha256 `.CHECKSUM` and opened as a well-formed single-member zip. Files are written
atomically (temp file in the same directory, then `os.replace`), so a reader never sees a
partial file, and a file that fails verification is never left behind.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from transforms.config import validate_symbol
from transforms.failpoints import failpoint

DATASETS = ("klines_1m", "mark_klines_1m", "metrics", "funding")
MONTHLY_DATASETS = frozenset({"funding"})

# CSV columns, in order, as written by the archive (header row when present).
KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
METRICS_COLUMNS = (
    "create_time",
    "symbol",
    "sum_open_interest",
    "sum_open_interest_value",
    "count_toptrader_long_short_ratio",
    "sum_toptrader_long_short_ratio",
    "count_long_short_ratio",
    "sum_taker_long_short_vol_ratio",
)
FUNDING_COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")

_SHA256_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


class SourceError(Exception):
    """A file could not be obtained or verified; the message names the file."""


class NotYetPublished(SourceError):
    """The archive has no such file (HTTP 404 / missing in the mirror): try again later."""


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


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")


def _check_period(dataset: str, period: str) -> None:
    monthly = dataset in MONTHLY_DATASETS
    pattern = _MONTH if monthly else _DAY
    if not isinstance(period, str) or not pattern.fullmatch(period):
        kind = "YYYY-MM" if monthly else "YYYY-MM-DD"
        raise ValueError(f"period {period!r} for {dataset} must be {kind}")
    try:
        date.fromisoformat(period + "-01" if monthly else period)
    except ValueError as exc:
        raise ValueError(f"period {period!r} is not a calendar date") from exc


def archive_relpath(dataset: str, symbol: str, period: str) -> str:
    """Path of the zip relative to the archive root (`.../futures/um/`)."""
    _check_dataset(dataset)
    validate_symbol(symbol)
    _check_period(dataset, period)
    if dataset == "klines_1m":
        return f"daily/klines/{symbol}/1m/{symbol}-1m-{period}.zip"
    if dataset == "mark_klines_1m":
        return f"daily/markPriceKlines/{symbol}/1m/{symbol}-1m-{period}.zip"
    if dataset == "metrics":
        return f"daily/metrics/{symbol}/{symbol}-metrics-{period}.zip"
    return f"monthly/fundingRate/{symbol}/{symbol}-fundingRate-{period}.zip"


def periods_for_window(dataset: str, start: date, end_exclusive: date) -> list[str]:
    """The archive periods covering [start, end_exclusive): days, or months for funding."""
    _check_dataset(dataset)
    if end_exclusive <= start:
        return []
    if dataset in MONTHLY_DATASETS:
        months: list[str] = []
        y, m = start.year, start.month
        last = end_exclusive - timedelta(days=1)
        while (y, m) <= (last.year, last.month):
            months.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return months
    n = (end_exclusive - start).days
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def period_bounds(dataset: str, period: str) -> tuple[date, date]:
    """[first day, day after last) covered by a period."""
    _check_period(dataset, period)
    if dataset in MONTHLY_DATASETS:
        y, m = int(period[:4]), int(period[5:7])
        first = date(y, m, 1)
        return first, first + timedelta(days=calendar.monthrange(y, m)[1])
    d = date.fromisoformat(period)
    return d, d + timedelta(days=1)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temps(path: Path) -> None:
    """Delete temp files a killed process left beside `path` (they were never committed)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


class RawCache:
    """The verified raw archive files, under `<cache_dir>/<namespace>/<archive relpath>`.

    Sources are namespaced so a synthetic file can never be served as a genuine one after a
    change of `LIQMAP_SOURCE`.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

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
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp_path = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            failpoint("cache-write")
            verify_zip(tmp_path, relpath)
            # CHECKSUM last: an entry only counts when both files exist and agree.
            path.with_name(path.name + ".CHECKSUM").unlink(missing_ok=True)
            os.replace(tmp_path, path)
            _atomic_write(
                path.with_name(path.name + ".CHECKSUM"), checksum_line(expected, path.name).encode()
            )
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
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
