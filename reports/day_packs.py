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


SIG = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # $sig's digits
_SIG_BYTES = np.frombuffer(SIG.encode("ascii"), dtype=np.uint8)
_DIGIT = np.zeros(256, dtype=np.uint32)  # a $sig digit's character -> its value
_DIGIT[_SIG_BYTES] = np.arange(64)
_POWERS = 64 ** np.arange(3, -1, -1, dtype=np.uint32)  # 64^3 ... 1


def _js_order(obj: Mapping[str, Any]) -> list[str]:
    """An object's keys in the order JavaScript lists them: array-index keys ("0", "17")
    first, ascending, then the others as written (the page walks the values so)."""
    index = sorted((k for k in obj if k.isdigit() and str(int(k)) == k), key=int)
    return index + [k for k in obj if k not in set(index)]


def _is_sig(v: Any) -> bool:
    return (
        isinstance(v, dict)
        and len(v) == 1
        and isinstance(v.get("$sig"), list)
        and len(v["$sig"]) == 2
    )


def _take(value: Any, f64: list[bytes], sig: list[str]) -> Any:
    """`value` with each `{"$f64": base64}` as `{"$f64": its byte count}` (the bytes to
    `f64`) and each `{"$sig": [width, text]}` as `{"$sig": [width, its code count]}` (the
    text to `sig`), met in JavaScript's order (`_js_order`)."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$f64"), str):
            raw = base64.b64decode(value["$f64"])
            f64.append(raw)
            return {"$f64": len(raw)}
        if _is_sig(value) and isinstance(value["$sig"][1], str):
            width, text = value["$sig"]
            sig.append(text)
            return {"$sig": [width, len(text) // width]}
        if len(value) == 1 and (isinstance(value.get("$f64"), int) or _is_sig(value)):
            raise ValueError(f"a day document holds {value}, which a month file cannot tell apart")
        taken = {k: _take(value[k], f64, sig) for k in _js_order(value)}
        return {k: taken[k] for k in value}
    if isinstance(value, list):
        return [_take(v, f64, sig) for v in value]
    return value


def _put(value: Any, f64: bytes, sig: np.ndarray, at: list[int]) -> Any:
    """The inverse of `_take`: `at` = [next byte of f64, next code of sig]."""
    if isinstance(value, dict):
        n = value.get("$f64")
        if len(value) == 1 and isinstance(n, int):
            at[0] += n
            return {"$f64": base64.b64encode(f64[at[0] - n : at[0]]).decode()}
        if _is_sig(value) and isinstance(value["$sig"][1], int):
            width, n = value["$sig"]
            at[1] += n
            codes = sig[at[1] - n : at[1], None] // _POWERS[-width:] % 64
            return {"$sig": [width, _SIG_BYTES[codes].tobytes().decode("ascii")]}
        put = {k: _put(value[k], f64, sig, at) for k in _js_order(value)}
        return {k: put[k] for k in value}
    if isinstance(value, list):
        return [_put(v, f64, sig, at) for v in value]
    return value


def _planes(raw: bytes, width: int, inverse: bool = False) -> bytes:
    """Items of `width` bytes as `width` planes (the first byte of every item, then every
    second byte, ...), or back."""
    if not raw:
        return raw
    a = np.frombuffer(raw, dtype=np.uint8)
    a = a.reshape(width, -1).T if inverse else a.reshape(-1, width).T
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
    f64: list[bytes] = []
    sig: list[str] = []
    values = _take(values, f64, sig)
    doubles = b"".join(f64)
    codes = _sig_codes_of(values, sig)
    body = {
        "days": [d["day"] for d in docs],
        "paths": [list(p) for p in index],
        "shapes": [list(s) for s in shapes],
        "shape": shape,
        "values": values,
        "binary": [len(doubles), len(codes) // 3],
    }
    text = datafiles.as_json(body).encode()
    return text + b"\n" + _planes(doubles, 8) + _planes(codes, 3)


def _sig_codes_of(values: Any, texts: list[str]) -> bytes:
    """The 3-byte codes of the $sig texts taken from `values` (their widths from it)."""
    widths: list[int] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if _is_sig(v) and isinstance(v["$sig"][1], int):
                widths.append(v["$sig"][0])
                return
            for k in _js_order(v):
                walk(v[k])
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(values)
    codes = np.zeros(0, dtype=np.uint32)
    parts = []
    for width, text in zip(widths, texts, strict=True):
        if width not in (3, 4) or len(text) % width:
            raise ValueError(f"a $sig text of {len(text)} characters is not of width {width}")
        digits = _DIGIT[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].reshape(-1, width)
        parts.append(digits @ _POWERS[-width:])
    if parts:
        codes = np.concatenate(parts)
    return codes.astype(">u4").view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()


def decode(payload: bytes) -> list[dict[str, Any]]:
    """The day documents of a payload (the inverse of `encode`)."""
    text, _, binary = payload.partition(b"\n")
    body = json.loads(text, parse_float=datafiles._whole)
    n64, nsig = body["binary"]
    f64 = _planes(binary[:n64], 8, inverse=True)
    sig3 = np.frombuffer(_planes(binary[n64 : n64 + 3 * nsig], 3, inverse=True), dtype=np.uint8)
    sig = (sig3.reshape(-1, 3).astype(np.uint32) * [65536, 256, 1]).sum(axis=1)
    values = _put(body["values"], f64, sig, [0, 0])
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
            node[last] = values[i][taken[i]]
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
