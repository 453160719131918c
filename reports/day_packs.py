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

    a line "<D> <C>", the JSON text of {"days", "paths", "shapes", "shape", "values"} and a
    newline, then D bytes: the doubles of every `{"$f64": n}` of that text (n bytes each,
    in text order) in 8 planes (the first byte of every double, then every second byte,
    ...), then 3 × C bytes: the codes of every `{"$sig": [width, n]}` (n codes each, a
    code 3 bytes big-endian) in 3 planes

A day document's fields are its leaves: values found by descending through objects whose
keys do not start with "$" (`paths`, each a list of keys, first seen first). Day i is built
from `shapes[shape[i]]` (the indexes of its paths, in its own order), each taking the next
value of `values[path]`; in that JSON text, `{"$f64": n}` stands for `{"$f64": base64 of
the next n bytes}` and `{"$sig": [width, n]}` for `{"$sig": [width, the next n codes, each
as `width` digits]}`. Keeping a field's values of the month side by side is what lets
deflate (a 32 kB window) find one day's map in the next; the planes put the alike exponent
bytes of the numbers together.

A heat month (reports.heat_tiles) is packed the same way, whole (`packed_doc`): its payload
is simply its JSON text (its tiles' PNGs are base64 text, which deflate brings back to
nearly their bytes).
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from reports import datafiles
from reports.charts.spec import SIG_ALPHABET

KIND = "days"
BITS = 15  # payload bits per character of `data`
OFFSET = 0x800  # `data` characters are U+0800 + a 15-bit value (U+0800..U+87FF)
BOM = "\ufeff".encode("utf-16-le")  # how a packed file starts
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


_SIG_BYTES = np.frombuffer(SIG_ALPHABET.encode("ascii"), dtype=np.uint8)  # $sig's digits
_DIGIT = np.zeros(256, dtype=np.uint32)  # a $sig digit's character -> its value
_DIGIT[_SIG_BYTES] = np.arange(64)
_POWERS = 64 ** np.arange(3, -1, -1, dtype=np.uint32)  # 64^3 ... 1

# in JSON text (outside strings, where a quote is always escaped): the codings whose
# contents go to the binary part, and the placeholders standing for them there
_CODED = re.compile(r'\{"\$f64":"([A-Za-z0-9+/=]*)"\}|\{"\$sig":\[([34]),"([A-Za-z0-9_-]*)"\]\}')
_HELD = re.compile(r'\{"\$f64":(\d+)\}|\{"\$sig":\[([34]),(\d+)\]\}')


def _planes(raw: bytes, width: int, inverse: bool = False) -> bytes:
    """Items of `width` bytes as `width` planes (the first byte of every item, then every
    second byte, ...), or back."""
    if not raw:
        return raw
    a = np.frombuffer(raw, dtype=np.uint8)
    a = a.reshape(width, -1).T if inverse else a.reshape(-1, width).T
    return np.ascontiguousarray(a).tobytes()


def _take(text: str) -> tuple[str, bytes, bytes]:
    """JSON `text` with each `{"$f64": base64}` as `{"$f64": its byte count}` and each
    `{"$sig": [width, digits]}` as `{"$sig": [width, its code count]}`, and their contents
    in text order: the doubles' bytes and the codes (3 bytes each, big-endian)."""
    if _HELD.search(text):
        raise ValueError("a day document holds a placeholder of a month file's binary part")
    doubles: list[bytes] = []
    codes: list[np.ndarray] = []

    def held(m: re.Match) -> str:
        if m.group(1) is not None:
            raw = base64.b64decode(m.group(1))
            doubles.append(raw)
            return f'{{"$f64":{len(raw)}}}'
        width, digits = int(m.group(2)), m.group(3)
        if len(digits) % width:
            raise ValueError(f"a $sig text of {len(digits)} characters is not of width {width}")
        d = _DIGIT[np.frombuffer(digits.encode("ascii"), dtype=np.uint8)].reshape(-1, width)
        codes.append(d @ _POWERS[-width:])
        return f'{{"$sig":[{width},{len(digits) // width}]}}'

    out = _CODED.sub(held, text)
    all_codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint32)
    three = all_codes.astype(">u4").view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()
    return out, b"".join(doubles), three


def _put(text: str, doubles: bytes, codes: np.ndarray) -> str:
    """The inverse of `_take`."""
    at = [0, 0]

    def back(m: re.Match) -> str:
        if m.group(1) is not None:
            n = int(m.group(1))
            at[0] += n
            return '{"$f64":"' + base64.b64encode(doubles[at[0] - n : at[0]]).decode() + '"}'
        width, n = int(m.group(2)), int(m.group(3))
        at[1] += n
        digits = codes[at[1] - n : at[1], None] // _POWERS[-width:] % 64
        return f'{{"$sig":[{width},"' + _SIG_BYTES[digits].tobytes().decode("ascii") + '"]}'

    return _HELD.sub(back, text)


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
    body = {
        "days": [d["day"] for d in docs],
        "paths": [list(p) for p in index],
        "shapes": [list(s) for s in shapes],
        "shape": shape,
        "values": values,
    }
    text, doubles, codes = _take(datafiles.as_json(body))
    head = f"{len(doubles)} {len(codes) // 3}\n"
    return (head + text + "\n").encode() + _planes(doubles, 8) + _planes(codes, 3)


def decode(payload: bytes) -> list[dict[str, Any]]:
    """The day documents of a payload (the inverse of `encode`)."""
    head, text, binary = payload.split(b"\n", 2)
    n64, ncodes = (int(x) for x in head.split())
    doubles = _planes(binary[:n64], 8, inverse=True)
    three = _planes(binary[n64 : n64 + 3 * ncodes], 3, inverse=True)
    codes = np.frombuffer(three, dtype=np.uint8).reshape(-1, 3).astype(np.uint32) @ [65536, 256, 1]
    body = datafiles.loads(_put(text.decode(), doubles, codes))
    paths, values = body["paths"], body["values"]
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


def _packed_js(k: str, head: dict[str, Any], payload: bytes) -> bytes:
    """A data script (UTF-16 with its BOM) assigning `head` with `bytes` and `data`: the
    deflate-raw stream of `payload`, 15 bits per character."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    data = z.compress(payload) + z.flush()
    text = _to_text(data)
    for c, esc in _SEPARATORS.items():
        text = text.replace(chr(c), esc)
    js = datafiles.as_js(k, {**head, "bytes": len(data)})
    js = js[: -len("};\n")] + ',"data":"' + text + '"};\n'
    return BOM + js.encode("utf-16-le")


def _inflated(obj: Mapping[str, Any]) -> bytes:
    return zlib.decompress(_from_text(obj["data"], obj["bytes"]), -15)


def pack_file(symbol: str, venue: str, month: str, synthetic: bool, docs: list[dict]) -> bytes:
    """The bytes of a month file of `docs` (one symbol and venue, in day order)."""
    head = datafiles.envelope(
        KIND, symbol, venue, synthetic, {"month": month, "days": [d["day"] for d in docs]}
    )
    return _packed_js(datafiles.key(symbol, venue, f"{KIND}-{month}"), head, encode(docs))


#: the fields a packed document's script keeps in the clear (the rest is in `data`)
PLAIN = ("api_version", "kind", "symbol", "venue", "synthetic_data", "month")


def packed_doc(k: str, obj: Mapping[str, Any]) -> bytes:
    """Data file `k` holding `obj` packed: its PLAIN fields, and `data` inflating to the JSON
    text of the whole object (a heat month: its tiles' PNGs are base64 text in JSON)."""
    head = {f: obj[f] for f in PLAIN if f in obj}
    return _packed_js(k, head, datafiles.as_json(obj).encode())


def read_file(raw: bytes) -> tuple[str, dict[str, Any]]:
    """(key, object) of a month file's bytes (`data` as it is written)."""
    return datafiles.parse_js(raw.decode("utf-16"))


def unpack(obj: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """ISO day -> day document of a month file's object (`read_file`)."""
    return {d["day"]: d for d in decode(_inflated(obj))}


def unpack_doc(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object of a packed document's script object (`packed_doc`, `read_file`)."""
    return datafiles.loads(_inflated(obj).decode())


def read_days(path: Path) -> dict[str, dict[str, Any]]:
    """ISO day -> day document of the month file at `path` (none when it does not exist)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        return unpack(read_file(raw)[1])
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise ValueError(
            f"{path}: not a month file of day documents (reports.day_packs): {e}; "
            "a build that renders every day of the month writes it again"
        ) from e


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
    raw = path.read_bytes()
    if raw.startswith(BOM):
        got, obj = read_file(raw)
        obj = unpack_doc(obj)
    else:
        got, obj = datafiles.parse_js(raw.decode())
    if got != k:
        raise ValueError(f"{path}: assigns key {got!r}, expected {k!r}")
    return obj


def remove_day_files(out_dir: Path, symbol: str) -> None:
    """Delete an older build's day documents of a file each (`data/<SYMBOL>/<venue>/
    day-YYYY-MM-DD.js`); only once every page that loaded them has been rendered again (a
    page now reads its month file)."""
    for path in sorted((Path(out_dir) / "data" / symbol).glob("*/day-*.js")):
        path.unlink(missing_ok=True)
