"""A month of day documents in one data file: `data/<SYMBOL>/<venue>/days-YYYY-MM.js`.

A day document (reports.pages.day.day_data) is ~19 kB of column-coded JSON, and a month of
them repeats itself from day to day (the same charts, keys and captions, maps that move a
little). One file per symbol, venue and month holds them compressed together; the page
script (assets/liqdata.js) decodes it with the browser's own DecompressionStream, and
`unpack` here does the same for tests and scripts. The decoded documents are exactly the
day documents (the same JSON), so the charts the page fills from them do not change.

The file is a data script (reports.datafiles) saved as UTF-16 (little-endian, with a BOM,
which every browser honours for a script): its `data` string carries 15 bits per character
(code points U+0800 + value, never a surrogate, quote or backslash), a third less than
base64. Those bits are, in order, `bytes` bytes of a deflate-raw stream (zlib, level 9)
of the payload:

    the JSON text of {"days", "paths", "shapes", "shape", "values"}, a newline, then the
    bytes of every `{"$f64": n}` in that text (in text order), shuffled into 8 planes (the
    first byte of every double, then every second byte, ...)

A day document's fields are its leaves: values found by descending through objects whose
keys do not start with "$" (`paths`, each a list of keys, first seen first). Day i is built
from `shapes[shape[i]]` (the indexes of its paths, in its own order), each taking the next
value of `values[path]`; a `{"$f64": n}` stands for `{"$f64": base64 of the next n bytes}`.
Keeping a field's values of the month side by side is what lets deflate (a 32 kB window)
find one day's map in the next; the doubles' planes put their alike exponent bytes together.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from reports import datafiles

KIND = "days"
BITS = 15  # payload bits per character of `data`
OFFSET = 0x800  # `data` characters are U+0800 + a 15-bit value (U+0800..U+87FF)
_SEPARATORS = {0x2028: "\\u2028", 0x2029: "\\u2029"}  # written escaped in the literal


def pack_key(day_key: str) -> str:
    """The month file holding day file `day_key` ("S/v/day-YYYY-MM-DD" -> "S/v/days-YYYY-MM")."""
    prefix, sep, day = day_key.rpartition("/day-")
    if not sep or len(day) != 10:
        raise ValueError(f"not a day data key: {day_key!r} (expected SYMBOL/venue/day-YYYY-MM-DD)")
    return f"{prefix}/{KIND}-{day[:7]}"


# ---- the payload: the month's documents as fields side by side ----


def _leaves(doc: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], Any]]) -> None:
    if isinstance(doc, dict) and doc and not any(k.startswith("$") for k in doc):
        for k, v in doc.items():
            _leaves(v, (*path, k), out)
    else:
        out.append((path, doc))


def _take_f64(value: Any, blobs: list[bytes]) -> Any:
    """`value` with each `{"$f64": base64}` as `{"$f64": byte count}`, its bytes to `blobs`
    (in JSON text order)."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$f64"), str):
            raw = base64.b64decode(value["$f64"])
            blobs.append(raw)
            return {"$f64": len(raw)}
        return {k: _take_f64(v, blobs) for k, v in value.items()}
    if isinstance(value, list):
        return [_take_f64(v, blobs) for v in value]
    return value


def _planes(raw: bytes, inverse: bool = False) -> bytes:
    if not raw:
        return raw
    a = np.frombuffer(raw, dtype=np.uint8)
    a = a.reshape(8, -1).T if inverse else a.reshape(-1, 8).T
    return np.ascontiguousarray(a).tobytes()


def encode(docs: Iterable[Mapping[str, Any]]) -> bytes:
    """The payload of a month's day documents, in the order given (module doc)."""
    docs = list(docs)
    index: dict[tuple[str, ...], int] = {}
    values: list[list[Any]] = []
    shapes: dict[tuple[int, ...], int] = {}
    shape = []
    for doc in docs:
        leaves: list[tuple[tuple[str, ...], Any]] = []
        _leaves(doc, (), leaves)
        own = []
        for path, v in leaves:
            i = index.setdefault(path, len(index))
            if i == len(values):
                values.append([])
            values[i].append(v)
            own.append(i)
        shape.append(shapes.setdefault(tuple(own), len(shapes)))
    blobs: list[bytes] = []
    body = {
        "days": [d["day"] for d in docs],
        "paths": [list(p) for p in index],
        "shapes": [list(s) for s in shapes],
        "shape": shape,
        "values": _take_f64(values, blobs),
    }
    return datafiles.as_json(body).encode() + b"\n" + _planes(b"".join(blobs))


def decode(payload: bytes) -> list[dict[str, Any]]:
    """The day documents of a payload (the inverse of `encode`)."""
    text, _, planes = payload.partition(b"\n")
    raw = _planes(planes, inverse=True)
    pos = 0

    def f64(obj: dict[str, Any]) -> dict[str, Any]:
        nonlocal pos
        n = obj.get("$f64")
        if len(obj) == 1 and isinstance(n, int):
            obj = {"$f64": base64.b64encode(raw[pos : pos + n]).decode()}
            pos += n
        return obj

    body = json.loads(text, parse_float=datafiles._whole, object_hook=f64)
    paths = body["paths"]
    taken = [0] * len(paths)
    docs = []
    for s in body["shape"]:
        doc: dict[str, Any] = {}
        for i in body["shapes"][s]:
            *parents, last = paths[i]
            node = doc
            for k in parents:
                node = node.setdefault(k, {})
            node[last] = body["values"][i][taken[i]]
            taken[i] += 1
        docs.append(doc)
    return docs


# ---- the file: 15 bits per character of a UTF-16 script ----


def _to_text(data: bytes) -> str:
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    bits = np.concatenate([bits, np.zeros(-len(bits) % BITS, dtype=np.uint8)])
    words = np.zeros((len(bits) // BITS, 16), dtype=np.uint8)
    words[:, 1:] = bits.reshape(-1, BITS)
    codes = np.packbits(words).view(">u2").astype(np.uint32) + OFFSET
    return codes.astype("<u2").tobytes().decode("utf-16-le")


def _from_text(text: str, n: int) -> bytes:
    codes = np.frombuffer(text.encode("utf-16-le"), dtype="<u2").astype(np.int32) - OFFSET
    bits = np.unpackbits(codes.astype(">u2").view(np.uint8)).reshape(-1, 16)[:, 1:]
    return np.packbits(bits.ravel())[:n].tobytes()


def pack_file(symbol: str, venue: str, month: str, synthetic: bool, docs: list[dict]) -> bytes:
    """The bytes of a month file of `docs` (one symbol and venue, in day order)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    data = z.compress(encode(docs)) + z.flush()
    head = datafiles.envelope(
        KIND,
        symbol,
        venue,
        synthetic,
        {"month": month, "days": [d["day"] for d in docs], "bytes": len(data)},
    )
    text = _to_text(data)
    for c, esc in _SEPARATORS.items():
        text = text.replace(chr(c), esc)
    k = datafiles.key(symbol, venue, f"{KIND}-{month}")
    js = datafiles.as_js(k, head)
    js = js[: -len("};\n")] + ',"data":"' + text + '"};\n'
    return "\ufeff".encode("utf-16-le") + js.encode("utf-16-le")


def read_file(raw: bytes) -> tuple[str, dict[str, Any]]:
    """(key, object) of a month file's bytes (`data` as it is written)."""
    return datafiles.parse_js(raw.decode("utf-16"))


def unpack(obj: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """ISO day -> day document of a month file's object (`read_file`)."""
    data = _from_text(obj["data"], obj["bytes"])
    docs = decode(zlib.decompress(data, -15))
    return {d["day"]: d for d in docs}


def read_days(path: Path) -> dict[str, dict[str, Any]]:
    """ISO day -> day document of the month file at `path` (none when it does not exist)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    return unpack(read_file(raw)[1])


def load_day(site: Path, day_key: str) -> dict[str, Any]:
    """The day document `day_key` ("S/v/day-YYYY-MM-DD") of a built site, from its month
    file; FileNotFoundError naming the file when the file or the day is missing."""
    path = Path(site) / "data" / f"{pack_key(day_key)}.js"
    day = day_key[-10:]
    docs = read_days(path)
    if day not in docs:
        raise FileNotFoundError(f"{path}: no day {day}")
    return docs[day]


class DayPacks:
    """The day documents of a build, written month file by month file through `writer`
    (reports.writer.SiteWriter). A month file holds every day of the month: the days a build
    renders are added to those its file already holds (the others stay as they were), so
    adding a day rewrites only its month's file. A (symbol, venue)'s open month is written
    when a day of another month of it arrives, and every month left at `flush`."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}  # pack key -> day -> doc
        self._synthetic: dict[str, bool] = {}
        self._open: dict[str, str] = {}  # "SYMBOL/venue" -> its open pack key

    def add(self, symbol: str, venue: str, synthetic: bool, doc: dict[str, Any]) -> None:
        k = pack_key(datafiles.key(symbol, venue, f"day-{doc['day']}"))
        prefix = datafiles.key(symbol, venue, "")
        if self._open.get(prefix, k) != k:
            self._write(self._open[prefix])
        self._open[prefix] = k
        self._pending.setdefault(k, {})[doc["day"]] = doc
        self._synthetic[k] = synthetic

    def flush(self) -> None:
        for k in list(self._pending):
            self._write(k)
        self._open.clear()

    def _write(self, k: str) -> None:
        new = self._pending.pop(k, None)
        if not new:
            return
        rel = f"data/{k}.js"
        docs = {**read_days(self.writer.out_dir / rel), **new}
        symbol, venue, name = k.split("/")
        month = name[len(KIND) + 1 :]
        ordered = [docs[d] for d in sorted(docs)]
        self.writer.write_if_changed(
            rel, pack_file(symbol, venue, month, self._synthetic.pop(k), ordered)
        )


def data_file(site: Path, k: str) -> dict[str, Any]:
    """Data file `k` of a built site as the page reads it: a day's document from its month
    file, any other file from its own script; FileNotFoundError naming what is missing."""
    if "/day-" in k:
        return load_day(site, k)
    path = Path(site) / "data" / f"{k}.js"
    got, obj = datafiles.parse_js(path.read_text())
    if got != k:
        raise ValueError(f"{path}: assigns key {got!r}, expected {k!r}")
    return obj
