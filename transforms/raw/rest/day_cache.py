"""Verified cache of complete past days: one JSON file of raw pages + our own sha256 sidecar.

REST venues publish no checksums, so we record our own when a *complete, past* day has been
fetched and validated. Layout: `<root>/<dataset>/<SYMBOL>/<SYMBOL>-<dataset>-<day>.json` with
`<file>.sha256` in sha256sum format beside it. The data file is written first and the sidecar
last, both atomically (transforms.atomic: temp file, then rename; not fsynced, like the
archive cache: a day can always be fetched again, and two fsyncs per day cost more than the
day's parsing), so an entry only exists when both do. Every load re-hashes the file: a
mismatch (e.g. a file torn by a power loss) is a CacheCorrupt error naming the file (the file
is kept for inspection).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.atomic import StaleTemps, atomic_write_bytes
from transforms.config import validate_symbol

_SHA_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)\n?$")


@dataclass(frozen=True)
class Page:
    """One successful raw response and the query (or POST body fields) that produced it;
    `doc`, when the client already decoded the body to check it, is that JSON document (not
    stored, not compared: a parser reuses it instead of decoding the body again)."""

    params: dict[str, str]
    body: bytes
    doc: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class CachedDay:
    path: Path
    sha256: str
    pages: list[Page]


def cache_format(venue: str) -> str:
    return f"liqmap-{venue}-pages/1"


def encode_pages(venue: str, dataset: str, symbol: str, period: str, pages: list[Page]) -> bytes:
    """The cache file: the raw bodies verbatim (as text) with the query of each page."""
    doc = {
        "format": cache_format(venue),
        "venue": venue,
        "dataset": dataset,
        "symbol": symbol,
        "period": period,
        "pages": [{"params": p.params, "body": p.body.decode("utf-8")} for p in pages],
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def decode_pages(
    data: bytes, path: Path, venue: str, corrupt: type[Exception] = ValueError
) -> list[Page]:
    expected = cache_format(venue)
    try:
        doc = json.loads(data)
        if doc.get("format") != expected:
            raise ValueError(f"format {doc.get('format')!r}, expected {expected!r}")
        return [Page(dict(p["params"]), p["body"].encode("utf-8")) for p in doc["pages"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise corrupt(f"{path}: not a {venue} page cache file ({exc})") from exc


class DayCache:
    """Complete days of one venue's datasets under `root` (e.g. `<cache_dir>/bybit`); a file
    that fails verification raises `corrupt` (the venue's CacheCorrupt) naming it."""

    def __init__(self, root: Path, venue: str, corrupt: type[Exception]):
        self.root = Path(root)
        self.venue = venue
        self.corrupt = corrupt
        self._stale = StaleTemps()

    def path_for(self, dataset: str, symbol: str, period: str) -> Path:
        validate_symbol(symbol)
        return self.root / dataset / symbol / f"{symbol}-{dataset}-{period}.json"

    @staticmethod
    def sidecar(path: Path) -> Path:
        return path.with_name(path.name + ".sha256")

    def load(self, dataset: str, symbol: str, period: str) -> CachedDay | None:
        """The cached day verified against its recorded sha256; None when not cached.

        A data file without its sidecar is an interrupted write: removed, not trusted.
        """
        path = self.path_for(dataset, symbol, period)
        side = self.sidecar(path)
        if not side.is_file():
            path.unlink(missing_ok=True)
            return None
        match = _SHA_LINE.match(side.read_text(encoding="ascii", errors="replace"))
        if not match or match.group(2) != path.name:
            raise self.corrupt(f"{side}: not a sha256sum line for {path.name}")
        expected = match.group(1)
        if not path.is_file():
            raise self.corrupt(f"{path}: missing, but {side.name} records it")
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise self.corrupt(
                f"{path}: sha256 {actual} does not match the {expected} recorded in "
                f"{side.name} when the day was cached; the file changed on disk. Delete it "
                "and its .sha256 to fetch the day again."
            )
        return CachedDay(path, expected, decode_pages(data, path, self.venue, self.corrupt))

    def store(self, dataset: str, symbol: str, period: str, pages: list[Page]) -> CachedDay:
        """Commit a complete, validated day: data file, then its sha256 sidecar."""
        path = self.path_for(dataset, symbol, period)
        data = encode_pages(self.venue, dataset, symbol, period, pages)
        digest = hashlib.sha256(data).hexdigest()
        self._stale.remove(path)
        self.sidecar(path).unlink(missing_ok=True)
        atomic_write_bytes(path, data)
        atomic_write_bytes(self.sidecar(path), f"{digest}  {path.name}\n".encode())
        return CachedDay(path, digest, list(pages))
