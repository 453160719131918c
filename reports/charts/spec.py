"""Chart spec templates: each chart built once per process with Altair, filled per page.

A filled chart is not a whole spec: it is a *spec ref* `{"t": template name, "v": values,
"n": numbers}` that the page script fills from `assets/specs.js` (every template, written
once per build), so a page or data file carries only its own values. A value may itself be
a reference into shared data (reports.datafiles), resolved by the page script. Inline data
that the template uses in several layers is hoisted into one named dataset, so it is
written once.

Building and serialising an Altair chart costs ~20 ms; a year of pages with eight charts
each would spend a minute on that alone. So each chart is built once with Altair as a
*template* whose per-page values are placeholders, and a page fills them by plain text
substitution:

- ``"__P_name__"`` (a whole JSON value, quotes included) → any JSON value (data rows, a
  domain, a description string);
- ``__N_name__`` (inside an expression string) → a bare number;
- ``"__B_name__"`` (a whole JSON value in the Altair spec, quotes included) → the same bare
  number as ``__N_name__``: a data row of the template built from the page's numbers (the
  template's text is then valid JSON only once filled).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np

LONG = "#e4572e"  # longs: red-orange
SHORT = "#17a2a8"  # shorts: teal (distinct from LONG for red/green colour blindness)
LONG_CUM = "#ff9f80"
SHORT_CUM = "#6fd6d9"
PRICE_LINE = "#ffffff"
SPOT_RULE = "#ff4f79"
OI_COLOR = "#7b8fd1"
CLOSE_COLOR = "#f2a33a"
FUNDING_POS = "#4c9be8"
FUNDING_NEG = "#e4572e"

USD_LABEL = "replace(format(datum.value, '$.2s'), 'G', 'B')"


def usd_expr(field: str) -> str:
    """A Vega expression formatting `field` as compact dollars ($1.2B, not $1.2G)."""
    return f"replace(format(datum.{field}, '$.3s'), 'G', 'B')"


def nearest_hover(base: alt.Chart, x: alt.X, tooltip: list[alt.Tooltip]) -> alt.LayerChart:
    """A line chart's tooltip without pixel-exact hovering: the day nearest the pointer (or a
    tap) along x is selected (Vega-Lite `nearest: true` over invisible points on one line, so
    their Voronoi cells are vertical strips) and marked with a rule carrying the tooltip."""
    hover = alt.selection_point(
        name="hover",
        nearest=True,
        on="pointermove",
        clear="pointerout",
        fields=["x"],
        empty=False,
    )
    carriers = (
        base.mark_point(opacity=0, size=10)
        .encode(x=x, y=alt.value(0), tooltip=tooltip)
        .add_params(hover)
    )
    # every day's rule, shown only for the selected one (a filtered, empty layer would give
    # the shared x scale an empty extent)
    rule = base.mark_rule(color="#888888", strokeWidth=1).encode(
        x=x,
        opacity=alt.condition(hover, alt.value(0.7), alt.value(0.0)),
        tooltip=tooltip,
    )
    return alt.layer(carriers, rule)


def ph(name: str) -> str:
    return f"__P_{name}__"


def num(name: str) -> str:
    return f"__N_{name}__"


def bare(name: str) -> str:
    return f"__B_{name}__"


def _num_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    v = round(float(v), 6)
    return repr(float(v))


# every template built in this process, by name: what assets/specs.js holds
REGISTRY: dict[str, Template] = {}
# every text pattern (a chart description's fixed wording), by name: assets/specs.js too
TEXTS: dict[str, str] = {}
_FIELD = re.compile(r"\{([a-z_]+)\}")
_PH = re.compile(r"__P_([A-Za-z0-9_]+)__")
_NUM = re.compile(r"__N_([A-Za-z0-9_]+)__")
_BARE = re.compile(r'"__B_([A-Za-z0-9_]+)__"')


@functools.lru_cache(maxsize=256)
def _placeholders(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """A template text's value and number placeholders, found once per text (a page fills
    each template many times)."""
    return frozenset(_PH.findall(text)), frozenset(_NUM.findall(text))


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def __post_init__(self) -> None:
        text = _BARE.sub(r"__N_\1__", hoist_inline_data(self.text))
        object.__setattr__(self, "text", text)
        REGISTRY[self.name] = self

    @classmethod
    def restored(cls, name: str, text: str) -> Template:
        """A template whose text was built and processed before, in this or another process
        (reports/charts/template_cache.py): registered as it is (its bare-number placeholders
        make it JSON only once filled, so it cannot be processed again)."""
        template = object.__new__(cls)
        object.__setattr__(template, "name", name)
        object.__setattr__(template, "text", text)
        REGISTRY[name] = template
        return template

    def placeholders(self) -> tuple[frozenset[str], frozenset[str]]:
        return _placeholders(self.text)

    def fill(self, values: dict[str, Any], numbers: dict[str, float] | None = None) -> JsonRef:
        """The chart's spec ref: this template's name and the page's values (its JSON text
        made when asked for, `JsonRef`: a day document takes the object). The page script
        fills the template (reports/static/liqdata.js); `expand` does the same in Python."""
        names, nums = self.placeholders()
        if set(values) != names or set(numbers or {}) != nums:
            raise ValueError(f"unfilled placeholder in chart {self.name}")
        ref = {"t": self.name, "v": {k: compact(v) for k, v in values.items()}}
        if numbers:
            ref["n"] = {k: float(_num_text(v)) for k, v in numbers.items()}
        return JsonRef(ref)

    def expand(self, values: dict[str, Any], numbers: dict[str, float] | None = None) -> str:
        """The whole filled spec (tests, PNG exports): what the page script builds."""
        out = self.text
        for k, v in (numbers or {}).items():
            out = out.replace(num(k), _num_text(v))
        for k, v in values.items():
            out = out.replace(f'"{ph(k)}"', json.dumps(v, separators=(",", ":")))
        if "__P_" in out or "__N_" in out:
            raise ValueError(f"unfilled placeholder in chart {self.name}")
        return out


class JsonText(str):
    """JSON text (`json_text`) that keeps the object it was made from (`obj`), so a day
    document holding it (reports.pages.day.day_data) takes the object, not a parse of the
    text: the same values (JSON types only: they survive a round trip as they are)."""

    obj: Any


def json_text(obj: Any) -> JsonText:
    """`obj` as compact JSON text, safe inside a page's <script> ("</" escaped)."""
    text = JsonText(json.dumps(obj, separators=(",", ":")).replace("</", "<\\/"))
    text.obj = obj
    return text


class JsonRef:
    """A spec ref's object (`obj`) whose JSON text (`json_text`) is made on first use, as
    `str()`: a day document takes the object (`json_obj`), so a build never encodes the
    text of most specs (encoding it cost as much as encoding the document again)."""

    __slots__ = ("obj", "_text")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self._text: JsonText | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = json_text(self.obj)
        return self._text

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other) if isinstance(other, (str, JsonRef)) else NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


def json_obj(text: str | JsonRef) -> Any:
    """The object of JSON text: the one `json_text` made it from, else the text parsed."""
    obj = getattr(text, "obj", _NONE)
    return json.loads(text) if obj is _NONE else obj


_NONE = object()


def text_pattern(name: str, pattern: str) -> str:
    """Register a text whose `{field}`s differ per page (a description's fixed wording is
    then written once per site, in assets/specs.js, not into every day file)."""
    TEXTS[name] = pattern
    return name


def text_ref(name: str, **fields: str) -> dict[str, Any]:
    """`{"$text": name, "a": fields}`: the text pattern `name` with its fields filled, as a
    chart value (the page script fills it, reports/static/liqdata.js; `fill_text` here)."""
    if set(_FIELD.findall(TEXTS[name])) != set(fields):
        raise ValueError(f"text {name}: fields {sorted(fields)} do not fill its pattern")
    return {"$text": name, "a": fields}


def fill_text(ref: dict[str, Any]) -> str:
    return _FIELD.sub(lambda m: ref["a"][m.group(1)], TEXTS[ref["$text"]])


TABLE_MIN_ROWS = 4  # shorter lists of rows stay as they are (a few rows: keys once pay)


def _tight_all(values: list[Any]) -> list[Any]:
    return [
        int(v) if type(v) is float and v.is_integer() and -1e15 < v < 1e15 else v for v in values
    ]


def _tight_numeric(values: list[Any], arr: np.ndarray) -> list[Any]:
    """`_tight_all(values)` for numbers (`_numeric` gave `arr`): whole at once when every
    value, or none, is a whole number under 1e15 (the same values and types)."""
    whole = (arr == np.trunc(arr)) & (np.abs(arr) < 1e15)
    if whole.all():
        return arr.astype(np.int64).tolist()
    if not whole.any():
        return list(values)
    return _tight_all(values)


def _runs(values: list[Any]) -> list[list[Any]]:
    runs: list[list[Any]] = []
    last, last_type = object(), None
    for v in values:
        t = type(v)
        if t is last_type and v == last:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
            last, last_type = v, t
    return runs


_NUMBER_TYPES = frozenset({int, float})
_SCALAR_TYPES = frozenset({int, float, str, type(None)})
CODED_MIN_ROWS = 16  # shorter columns: their values, or runs of one value


def _numeric(values: list[Any]) -> np.ndarray | None:
    """The values as doubles when all are finite numbers a double holds exactly."""
    if not set(map(type, values)) <= _NUMBER_TYPES:
        return None
    arr = np.array(values, dtype=np.float64)
    if not np.isfinite(arr).all() or np.abs(arr).max() > 2.0**53:
        return None
    return arr


def _seq(arr: np.ndarray) -> dict[str, Any] | None:
    """`{"$seq": [first, step, n]}` when values[i] == first + i * step exactly (in doubles,
    as the page script computes it)."""
    first, step = float(arr[0]), float(arr[1] - arr[0])
    n = len(arr)
    # the last value first (the same double operations as the whole check's): most columns
    # fail there, without an array of the sequence
    if float(arr[-1]) != first + float(n - 1) * step:
        return None
    if np.array_equal(arr, first + np.arange(n) * step):
        return {"$seq": _tight_all([first, step]) + [len(arr)]}
    return None


Sized = tuple[Any, int]  # a coded column and the length of its JSON text


def _wrap(key: str, first: Any, first_size: int, second: Sized) -> Sized:
    """`{key: [first, second]}` and its JSON length from its parts' (no re-encoding)."""
    return {key: [first, second[0]]}, len(key) + 5 + first_size + second[1] + 3


def _delta(arr: np.ndarray, budget: int | None = None) -> Sized | None:
    """`{"$delta": [first, deltas]}` when adding the deltas in order gives back every value
    exactly (in doubles, as the page script adds them: a running sum, not pairwise); None
    also when it is `budget` long or longer (`_column_sized`)."""
    deltas = np.diff(arr)
    if not np.array_equal(np.add.accumulate(np.concatenate((arr[:1], deltas))), arr):
        return None
    first = _tight_all([float(arr[0])])[0]
    first_size = _size(first)
    checked = _checked(deltas)  # as `_numeric` would take their list
    inner = _column_sized(
        deltas.tolist() if checked is None else None,
        2,
        budget=_less(budget, 14 + first_size),
        arr=checked,
    )
    return None if inner is None else _wrap("$delta", first, first_size, inner)


DEC_MAX = 6  # decimals a `$dec` column may scale by


def _dec(arr: np.ndarray, budget: int | None = None) -> Sized | None:
    """`{"$dec": [k, column]}`: whole numbers divided by 10^k give back every value exactly
    (one correctly rounded division in doubles, as the page script does): prices with cents
    as whole cents, which then delta-code. None also when it is `budget` long or longer."""
    if np.array_equal(arr, np.rint(arr)):
        return None
    first = arr[0]
    for k in range(1, DEC_MAX + 1):
        scale = 10.0**k
        if np.rint(first * scale) / scale != first:
            continue  # the first value fails: so does the column (the same operations)
        ints = np.rint(arr * scale)
        if np.abs(ints).max() < 2.0**53 and np.array_equal(ints / scale, arr):
            size_k = len(str(k))
            inner = _column_sized(
                ints.astype(np.int64).tolist(), 1, budget=_less(budget, 12 + size_k), arr=ints
            )
            return None if inner is None else _wrap("$dec", k, size_k, inner)
    return None


# `$sig`: each value m * 10^e (a whole m, |e| <= 22) as `width` characters of this alphabet:
# (e + SIG_E_BIAS) * M + m + M / 2 in base 64, most significant first, M = SIG_M[width]
# (|m| < 2048 in three characters, < 16384 in four); a code from SIG_RUNS * M up stands for
# (code - SIG_RUNS * M + 2) zeros in a row (the other side's bands of the map)
SIG_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SIG_E_BIAS = 22
SIG_M = {3: 4096, 4: 32768}
SIG_RUNS = 2 * SIG_E_BIAS + 1  # exponents -22 ... 22 take the codes below SIG_RUNS * M
# powers of ten as literals (exact doubles): m * 10^e and m / 10^-e are then one correctly
# rounded operation, the same in numpy, Python and the page script
SIG_POW10 = np.array([float(f"1e{k}") for k in range(SIG_E_BIAS + 1)])
_SIG_CHARS = np.frombuffer(SIG_ALPHABET.encode(), dtype=np.uint8)
_SIG_PLACES = {w: 64 ** np.arange(w - 1, -1, -1, dtype=np.int64) for w in SIG_M}  # 64^(w-1)...1


SIG_MAX_DIGITS = 5  # |m| < 16384: a `$sig` value has at most five significant digits


def _too_many_digits(arr: np.ndarray) -> bool:
    """True when the first non-zero value has more significant digits than any `$sig` value
    (so `_sig_parts` fails for every width): a value m * 10^e that rounds to it exactly (m
    and 10^e exact, one correctly rounded operation) makes its shortest repr at most as long
    as m, so a longer shortest repr rules it out; the costly search is then skipped."""
    i = int(np.argmax(arr != 0))
    v = float(arr[i])
    if v == 0:
        return False
    mantissa = repr(abs(v)).split("e")[0].replace(".", "")
    return len(mantissa.strip("0")) > SIG_MAX_DIGITS


def _sig_value(m: np.ndarray, e: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        if e.min() >= 0:  # every value a product (the notionals): one of the two branches
            return m * SIG_POW10[e]
        return np.where(e >= 0, m * SIG_POW10[np.abs(e)], m / SIG_POW10[np.abs(e)])


def _sig_parts(arr: np.ndarray, digits: int, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(m, e) with m * 10^e == every value exactly and |m| < limit, `digits` digits first
    (the exponent then changes least); None when some value has no such m."""
    a = np.abs(arr)
    nz = a > 0
    # a zero's exponent is never used (it is not `todo`): digits - 1 keeps its k at 0 or more
    top = np.full(len(arr), digits - 1, dtype=np.int64)
    top[nz] = np.floor(np.log10(a[nz])).astype(np.int64)
    m = np.zeros(len(arr))
    e = np.zeros(len(arr), dtype=np.int64)
    todo = nz.copy()
    for shift in range(digits - 1, -1, -1):
        k = np.clip(top - shift, -SIG_E_BIAS, SIG_E_BIAS)
        with np.errstate(invalid="ignore", over="ignore"):
            if k.min() >= 0:  # every value divided (the notionals): one of the two branches
                mm = np.rint(arr / SIG_POW10[k])
            else:
                mm = np.rint(
                    np.where(k >= 0, arr / SIG_POW10[np.abs(k)], arr * SIG_POW10[np.abs(k)])
                )
        ok = todo & (np.abs(mm) < limit) & (_sig_value(mm, k) == arr)
        m[ok], e[ok] = mm[ok], k[ok]
        todo &= ~ok
        if not todo.any():
            break
        if shift == digits - 1 and _fails_every_shift(a[todo], top[todo], digits, limit):
            return None
    if todo.any():
        return None
    # a zero: m = 0 with the exponent before it (the first value's after it)
    if nz.any():
        last = np.where(nz, np.arange(len(arr)), -1)
        np.maximum.accumulate(last, out=last)
        last[last < 0] = int(np.argmax(nz))
        e = e[last]
    return m, e


# 10^k for k = -SIG_E_BIAS - 1 ... SIG_E_BIAS + 1 (index k + SIG_E_BIAS + 1), correctly rounded
_POW10_ALL = np.array([float(f"1e{k}") for k in range(-SIG_E_BIAS - 1, SIG_E_BIAS + 2)])


def _fails_every_shift(a: np.ndarray, top: np.ndarray, digits: int, limit: int) -> bool:
    """True when values that failed `_sig_parts`' first shift (the most digits) fail every
    later one too, so it can stop early with the same answer. A value m' * 10^k' found at a
    later shift (k' > k) is also (m' * 10^(k' - k)) * 10^k, the same real number, so the
    same double; its m'' is under 10^digits <= limit when |value| < 10^(top + 1) and no
    exponent was clipped: then the first shift would have found it. Values outside that
    (an exponent near the clip, a value within 1e-7 of the next power of ten, where log10
    may round up) answer False, and the loop goes on as before."""
    if 10**digits >= limit:
        return False
    if top.min() - (digits - 1) < -SIG_E_BIAS or top.max() + 1 > SIG_E_BIAS:
        return False
    return bool((a < _POW10_ALL[top + 1 + SIG_E_BIAS + 1] * (1 - 1e-7)).all())


def _sig(arr: np.ndarray) -> dict[str, Any] | None:
    """`{"$sig": [width, text]}`: numbers with few significant digits (the map's notionals at
    3, the venue split's at 4), `width` characters each instead of six or seven: every value
    is some m * 10^e exactly, as the page script computes it."""
    if _too_many_digits(arr):
        return None
    for width, digits in ((3, 3), (4, 4)):
        half = SIG_M[width] // 2
        parts = _sig_parts(arr, digits, half)
        if parts is not None:
            break
    else:
        return None
    m, e = parts
    code = (e + SIG_E_BIAS) * SIG_M[width] + m.astype(np.int64) + half
    code = _zero_runs(code, m == 0, SIG_RUNS * SIG_M[width], 64**width - 1)
    chars = code[:, None] // _SIG_PLACES[width] % 64  # most significant digit first
    return {"$sig": [width, _SIG_CHARS[chars.ravel()].tobytes().decode()]}


def _sig_size(sig: dict[str, Any]) -> int:
    """`_size(sig)` of a `_sig` coding: its text is of the alphabet (nothing escaped) and its
    width one digit, so `{"$sig":[w,"..."]}` is 15 characters around the text."""
    return len(sig["$sig"][1]) + 15


def _zero_runs(code: np.ndarray, zero: np.ndarray, runs: int, top: int) -> np.ndarray:
    """The codes with every run of two or more zeros as one code from `runs` up."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], zero.astype(np.int8), [0]))))
    pieces, prev = [], 0
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if b - a < 2:
            continue
        pieces.append(code[prev:a])
        left = b - a
        while left >= 2:
            take = min(left, top - runs + 2)
            pieces.append(np.array([runs + take - 2]))
            left -= take
        pieces.append(code[a : a + left])  # one zero left over: its own code
        prev = b
    pieces.append(code[prev:])
    return np.concatenate(pieces)


def _unsig(width: int, text: str) -> list[Any]:
    """The values of a `$sig` column."""
    ix = {c: i for i, c in enumerate(SIG_ALPHABET)}
    big = SIG_M[width]
    out = []
    for j in range(0, len(text), width):
        code = 0
        for c in text[j : j + width]:
            code = code * 64 + ix[c]
        if code >= SIG_RUNS * big:
            out += [0.0] * (code - SIG_RUNS * big + 2)
            continue
        e, m = code // big - SIG_E_BIAS, code % big - big // 2
        out.append(m * float(SIG_POW10[e]) if e >= 0 else m / float(SIG_POW10[-e]))
    return _tight_all(out)


def _f64(arr: np.ndarray) -> Sized:
    """`{"$f64": text}`: every value as its 8 bytes (an IEEE double, little-endian) in
    base64, under 11 characters a value where a full-precision number takes 17 or more
    (the what-if's exact notionals)."""
    text = base64.b64encode(arr.astype("<f8").tobytes()).decode()
    return {"$f64": text}, len(text) + 10


def _unf64(text: str) -> list[Any]:
    return _tight_all(np.frombuffer(base64.b64decode(text), dtype="<f8").tolist())


def _zero_split(arr: np.ndarray) -> tuple[list[int], np.ndarray] | None:
    """(alternating run lengths of non-zeros and zeros, non-zeros first; the non-zeros)
    when the zeros come in a few long runs (a side of the map that holds nothing)."""
    zero = arr == 0
    if not zero.any() or zero.all():
        return None
    edges = np.flatnonzero(np.diff(np.concatenate(([False], zero, [False])).astype(np.int8)))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) * 8 > len(arr):
        return None
    runs, prev = [], 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        runs += [a - prev, b - a]
        prev = b
    runs.append(len(arr) - prev)
    if runs[-1] == 0:
        runs.pop()
    return runs, arr[~zero]


def _period(values: list[Any], arr: np.ndarray | None) -> int | None:
    """The shortest p (a whole divisor of the length) with values = values[:p] repeated."""
    n, first = len(values), values[0]
    for p in range(1, n // 2 + 1):
        if n % p or values[p] != first:
            continue
        if arr is not None and np.array_equal(arr[p:], arr[:-p]):
            return p
        if arr is None and values[p:] == values[:-p]:
            return p
    return None


_SIZE_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _size(col: Any) -> int:
    return len(_SIZE_ENCODER.encode(col))


def _null_runs(values: list[Any]) -> list[int]:
    """Lengths of the alternating runs of values and of nulls, a run of values first (its
    length may be 0)."""
    out, held, count = [], True, 0
    for v in values:
        if (v is not None) == held:
            count += 1
        else:
            out.append(count)
            held, count = not held, 1
    out.append(count)
    return out


# candidates' places (the order the coder listed them in: the first of equal lengths wins)
_RLE, _EACH, _SIG, _DELTA, _DEC, _REP, _F64, _ZEROS, _NULLS, _DICT = range(10)
_NO_BOUND = 1 << 62
PRUNE = True  # False: every candidate tried (tests compare the two)
_UNSET: Any = object()
# 10^1 ... 10^16: a whole number's digits, 1 + how many it reaches
_DIGIT_STEPS = np.array([float(f"1e{k}") for k in range(1, 17)])


def _less(budget: int | None, extra: int) -> int | None:
    """A nested column's budget: what its wrapper's `extra` characters leave."""
    return None if budget is None else budget - extra


def _checked(arr: np.ndarray) -> np.ndarray | None:
    """`arr` when `_numeric` takes its values (finite, within 2^53), else None."""
    if len(arr) and (not np.isfinite(arr).all() or np.abs(arr).max() > 2.0**53):
        return None
    return arr


def _list(values: list[Any] | None, arr: np.ndarray) -> list[Any]:
    """A nested column's values: `arr`'s when it was given as its numbers alone."""
    return arr.tolist() if values is None else values


FRACTION_TRIES = 3  # `_plain_floor(fine=True)`: fraction digits told apart up to this many


def _fraction_digits(a: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """A lower bound of the fraction digits of each value's shortest repr (`a`: the values'
    magnitudes): 1, or j + 1 when no decimal of j fraction digits gives the value back (j up
    to FRACTION_TRIES). A decimal D / 10^j that does is round(a * 10^j) / 10^j, computed in
    doubles (10^j exact, D under 2^50 so the product's error stays far under a half): when
    that is not the value, no such decimal is; a shorter repr would be one, with zeros
    added. Only for the values repr writes as digits and a point (1e-4 <= v < 1e16, not
    whole); the others keep 1."""
    f = np.ones(len(a), dtype=np.int64)
    fits = ~whole & (a >= 1e-4) & (a < 1e16)
    for j in range(1, FRACTION_TRIES + 1):
        scale = 10.0**j
        scaled = a * scale
        fits &= scaled < 2.0**50
        f[fits & (np.rint(scaled) / scale != a)] = j + 1
        fits &= f == j + 1
        if not fits.any():
            break
    return f


def _plain_floor(arr: np.ndarray, fine: bool = False) -> tuple[int, bool]:
    """A lower bound of the JSON length of the values tightened (`_tight_numeric`), and
    whether it is exact: a whole number under 1e15 is an int, its digits and sign; any
    other number at least the digits of its whole part, a point and a digit (or 5, as
    1e+16 or 5e-05) and its sign; and a comma between values, two brackets. `fine`: when
    it is not exact, the fraction digits bounded by `_fraction_digits` (more work, a
    closer bound)."""
    a = np.abs(arr)
    whole_part = np.trunc(a)
    whole = whole_part == a
    digits = 1 + np.searchsorted(_DIGIT_STEPS, whole_part, side="right")
    big = whole & (a >= 1e15)
    exact = not (~whole | big).any()
    fraction = 1 + (_fraction_digits(a, whole) if fine and not exact else 1)
    per = np.where(big, 5, digits + np.where(whole, 0, fraction)) + (arr < 0)
    return int(per.sum()) + len(arr) + 1, exact


def _number_dict(values: list[Any], uniq: tuple[np.ndarray, ...], budget: int) -> Sized | None:
    """`{"$dict": [keys, indices]}` of numbers from `np.unique(arr, return_index=True,
    return_inverse=True)`: the keys in order of first appearance, whole ones as ints; None
    when it is `budget` long or longer."""
    _, first, inverse = uniq
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    idx_arr = rank[inverse.reshape(-1)]
    keys = _tight_all([values[i] for i in first[order].tolist()])
    keys_size = _size(keys)
    inner = _column_sized(
        idx_arr.tolist(), 2, budget=_less(budget, 13 + keys_size), arr=idx_arr.astype(np.float64)
    )
    return None if inner is None else _wrap("$dict", keys, keys_size, inner)


def _column_sized(
    values: list[Any] | None,
    depth: int = 0,
    need_size: bool = True,
    budget: int | None = None,
    arr: np.ndarray | None = _UNSET,
) -> Sized | None:
    """One column, in the shortest of these codings (docs/api.md), each giving back exactly the
    same values: the values; `{"$rle": [[value, count], ...]}` (runs of one value); `{"$seq":
    [first, step, n]}` (an arithmetic sequence); `{"$delta": [first, deltas]}` (running sums);
    `{"$rep": [column, times]}` (a block repeated: the same price grid for every layer view);
    `{"$dict": [values, indices]}` (a few distinct values, e.g. labels repeated per view);
    `{"$nulls": [runs, column]}` (numbers with gaps: alternating run lengths of values and
    nulls, then the values); `{"$dec": [k, column]}` (whole numbers over 10^k: prices with
    cents); `{"$each": [column, times]}` (each value repeated: one band per venue); `{"$sig":
    [width, text]}` (numbers with few significant digits, three or four characters each: the
    notionals); `{"$f64": text}` (full-precision numbers as base64 doubles); `{"$zeros": [runs,
    column]}` (like `$nulls`, with zeros). `deltas`, `column` and `indices` are columns
    themselves, coded with fewer choices (`depth`), so coding stays linear in the column's
    length. Returns the coding and the length of its JSON text: each candidate's length is added
    up from its parts' (a nested column is encoded once, not again by every coding around it);
    the shortest wins, the plain values among equals, then the first (as `min` by `_size` over
    [plain, *codings] chooses). Without `need_size` the length may be -1 (the plain values, not
    encoded). A candidate is tried only when a lower bound of its length leaves it a chance
    to win (the same winner, less work); a nested column gets the `budget` its wrapper must
    stay under and answers None when it cannot. `arr`: the values as `_numeric` takes them,
    when the caller has them (then `values` may be None: their list, made when needed)."""
    if budget is not None and budget <= 2:
        return None  # every coding is 2 characters long at least ("[]")
    if values is None and len(arr) < CODED_MIN_ROWS:
        values = arr.tolist()  # a nested column given as its numbers alone (`_list`)
    n = len(values) if values is not None else len(arr)
    if n < CODED_MIN_ROWS:
        plain = _tight_all(values)
        runs = _runs(plain) if n >= 4 else plain
        few = len(runs) * 2 <= n
        small = ({"$rle": runs}, _size(runs) + 9) if few else (plain, _size(plain))
        return None if budget is not None and small[1] >= budget else small
    if arr is _UNSET:
        arr = _numeric(values)
    if arr is not None:
        seq = _seq(arr)
        if seq is not None:
            size = _size(seq)
            return None if budget is not None and size >= budget else (seq, size)
        plain = None  # the tightened values, only when needed (`_tight_numeric`)
    else:
        plain = _tight_all(values)
    # the best coding so far: [coding, size, its place among the candidates]. The shortest
    # wins, the first among equals (`_RLE` ... `_DICT` is the order); a candidate is tried
    # only when it may beat it (a lower bound of its length first), so the order the
    # candidates are tried in changes nothing
    best: list[Any] = [None, _NO_BOUND, _NO_BOUND]

    def bound(place: int) -> int:
        """The length a candidate at `place` must stay under to win (and under `budget`)."""
        if not PRUNE:
            return _NO_BOUND
        b = best[1] + (1 if best[2] > place else 0)
        return b if budget is None else min(b, budget)

    def offer(place: int, cand: Sized | None) -> None:
        if cand is not None and cand[1] < bound(place) and (cand[1], place) < tuple(best[1:]):
            best[:] = [cand[0], cand[1], place]

    uniq_arr = None  # np.unique of arr: (values, first index, inverse)
    if arr is not None:
        starts = np.flatnonzero(np.concatenate(([True], arr[1:] != arr[:-1])))
        few_runs = len(starts) * 2 <= n
        if few_runs:
            counts = np.diff(np.append(starts, n)).tolist()
            heads = _tight_all(
                arr[starts].tolist() if values is None else [values[i] for i in starts.tolist()]
            )
            rle = [[v, c] for v, c in zip(heads, counts, strict=True)]
            offer(_RLE, ({"$rle": rle}, _size(rle) + 9))
        runs: list[list[Any]] = []  # the numbers' runs are their `counts` alone
    else:
        runs = _runs(plain)
        few_runs = len(runs) * 2 <= n
        counts = [c for _, c in runs] if few_runs and depth == 0 else []
        if few_runs:
            offer(_RLE, ({"$rle": runs}, _size(runs) + 9))
    if not few_runs and depth == 0:
        # first: a repeated block (a map's price grid per view) bounds the codings after it
        p = _period(values if plain is None else plain, arr)
        if p is not None:
            extra = 12 + len(str(n // p))
            inner = _column_sized(
                values[:p],
                1,
                budget=_less(bound(_REP), extra),
                arr=_UNSET if arr is None else arr[:p],
            )
            if inner is not None:
                offer(_REP, ({"$rep": [inner[0], n // p]}, extra + inner[1]))
    if arr is not None and depth < 2:
        f64_size = 4 * ((8 * n + 2) // 3) + 10  # base64 of 8n bytes, `_f64`
        if f64_size < bound(_F64):
            offer(_F64, _f64(arr))
    if arr is not None and depth < 2 and not (few_runs and len(starts) * 8 <= n):
        # numbers with few digits (also when zeros make runs): a code per non-zero value,
        # one at least for the zeros
        nonzero = int(np.count_nonzero(arr))
        if 15 + 3 * (nonzero + (nonzero < n)) < bound(_SIG):
            sig = _sig(arr)
            if sig is not None:
                offer(_SIG, (sig, _sig_size(sig)))
    if depth == 0:
        # a dictionary: without few runs its indices are plain (2n + 1 long at least, the
        # keys 3, the wrapper 13)
        few_values = arr is None
        if arr is not None and (few_runs or bound(_DICT) > 2 * n + 17):
            uniq_arr = np.unique(arr, return_index=True, return_inverse=True)
            few_values = len(uniq_arr[0]) * 3 <= n
        if few_values and arr is not None and np.abs(arr).max() < 1e15:
            # numbers (whole ones written as ints, so one value has one type): the same
            # dictionary as below, from np.unique in the order of first appearance; tried
            # when it may win: its keys are the distinct values (`_plain_floor` long at
            # least), its indices 2 characters at least, its wrapper 13
            if _plain_floor(uniq_arr[0])[0] + 15 < bound(_DICT):
                offer(_DICT, _number_dict(values, uniq_arr, bound(_DICT)))
        elif few_values:
            plain = _tight_numeric(values, arr) if plain is None else plain
            # distinct values (1 and 1.0 as one) are at most the distinct (type, value)
            # keys below: too many of them and the dictionary cannot pay, whatever their
            # types
            # in few runs (the text values: `runs` are theirs), a run's values are its head's
            # (the same type, equal): the keys and indices from the heads alone
            heads = [v for v, _ in runs] if few_runs and arr is None else plain
            if set(map(type, heads)) <= _SCALAR_TYPES and len(set(heads)) * 3 <= n:
                uniq: dict[Any, int] = {}
                for v in heads:
                    uniq.setdefault((type(v), v), len(uniq))
                if len(uniq) * 3 <= n:
                    if heads is plain:
                        idx = [uniq[(type(v), v)] for v in plain]
                    else:
                        idx = []
                        for v, c in runs:
                            idx += [uniq[(type(v), v)]] * c
                    keys = [v for _, v in uniq]
                    keys_size = _size(keys)
                    inner = _column_sized(idx, 2, budget=_less(bound(_DICT), 13 + keys_size))
                    if inner is not None:
                        offer(_DICT, _wrap("$dict", keys, keys_size, inner))
    if not few_runs and depth < 2 and arr is not None:
        offer(_DELTA, _delta(arr, bound(_DELTA)))
        if depth <= 1:  # also a repeated block's prices (a map grid with decimals)
            offer(_DEC, _dec(arr, bound(_DEC)))
    if depth == 0 and arr is not None:
        split = _zero_split(arr)
        if split is not None:
            zruns, held = split
            runs_size = _size(zruns)
            extra = 14 + runs_size
            inner = _column_sized(None, 1, budget=_less(bound(_ZEROS), extra), arr=held)
            if inner is not None:
                offer(_ZEROS, _wrap("$zeros", zruns, runs_size, inner))
    if depth == 0 and arr is None and None in plain:
        held = [v for v in plain if v is not None]
        held_arr = _numeric(held) if held else None
        if held_arr is not None:
            nruns = _null_runs(plain)
            runs_size = _size(nruns)
            inner = _column_sized(
                held, 1, budget=_less(bound(_NULLS), 14 + runs_size), arr=held_arr
            )
            if inner is not None:
                offer(_NULLS, _wrap("$nulls", nruns, runs_size, inner))
    if few_runs and depth == 0:
        k = counts[0]
        if k > 1 and all(c == k for c in counts):
            extra = 13 + len(str(k))
            inner = _column_sized(values[::k], 1, budget=_less(bound(_EACH), extra))
            if inner is not None:
                offer(_EACH, ({"$each": [inner[0], k]}, extra + inner[1]))
    has_best = best[0] is not None
    # the plain values' JSON is at least 2n + 1 long (a character per value and per comma,
    # two brackets): a shorter coding wins without encoding them
    if has_best and best[1] < 2 * n + 1:
        return best[0], best[1]
    if not has_best and not need_size and budget is None:
        return (_tight_numeric(_list(values, arr), arr) if plain is None else plain), -1
    if arr is not None:
        # when the plain values' length matters (and would take encoding them), a closer
        # bound first
        floor, exact = _plain_floor(arr, fine=has_best or budget is not None)
        if has_best and best[1] < floor:
            return best[0], best[1]
        if budget is not None and floor >= budget and not has_best:
            return None
    plain = _tight_numeric(_list(values, arr), arr) if plain is None else plain
    mine = (plain, floor if arr is not None and exact else _size(plain))
    out = (best[0], best[1]) if has_best and best[1] < mine[1] else mine
    return None if budget is not None and out[1] >= budget else out


# The codings of the columns coded last, by the `repr` of their values (it tells 1 from 1.0
# and True, and 0.0 from -0.0, as the coding does). A day's pages code the same columns
# again and again (each heatmap window's level marks, a grid shared by several charts):
# the coding is a function of the values alone, so a repeat is looked up, not coded again.
# Codings are shared, never modified: callers only serialise them.
_CODED: OrderedDict[str, list[Any] | dict[str, Any]] = OrderedDict()
CODED_KEEP = 256  # columns remembered (a day's worth; a key is at most some 10 KB)


def _column(values: list[Any], depth: int = 0) -> list[Any] | dict[str, Any]:
    """One column in its shortest exact coding (`_column_sized`); a column coded recently
    is looked up (`_CODED`)."""
    if depth:
        return _column_sized(values, depth, need_size=False)[0]
    key = repr(values)
    coded = _CODED.get(key)
    if coded is None:
        coded = _column_sized(values, depth, need_size=False)[0]
        _CODED[key] = coded
        if len(_CODED) > CODED_KEEP:
            _CODED.popitem(last=False)
    else:
        with contextlib.suppress(KeyError):  # another thread's build may have dropped it
            _CODED.move_to_end(key)
    return coded


def code_column(values: list[Any]) -> list[Any] | dict[str, Any]:
    """A list of values in its shortest exact coding (`_column`; docs/api.md)."""
    return _column(values)


def decode_column(col: list[Any] | dict[str, Any]) -> list[Any]:
    """The values of a `code_column` coding."""
    return _uncolumn(col)


def compact(value: Any) -> Any:
    """A chart value as the page script reads it: a long list of rows with the same keys
    becomes columns, `{"$cols": [keys, columns]}` (the keys once, not per row; each column in
    its shortest coding, `_column`); whole floats lose their ".0". The page script turns it
    back into the same rows."""
    if (
        isinstance(value, list)
        and len(value) >= TABLE_MIN_ROWS
        and all(isinstance(r, dict) for r in value)
    ):
        cols = list(value[0])
        if all(list(r) == cols for r in value):
            return {"$cols": [cols, [_column([r[c] for r in value]) for c in cols]]}
    return value


def column_rows(columns: dict[str, list[Any]]) -> Any:
    """Rows given as columns (key -> values, every column as long), as `compact` gives the
    rows themselves (`{"$cols": ...}`, or the rows when few): a card that computes its rows
    column by column (the liquidation map's bands) never builds a dict per row."""
    keys = list(columns)
    n = len(columns[keys[0]]) if keys else 0
    if any(len(columns[k]) != n for k in keys):
        raise ValueError("columns of different lengths")
    if n >= TABLE_MIN_ROWS:
        # coded without `_column`'s look-up: bands of a day's map seldom repeat (the same
        # coding either way, the coding is a function of the values)
        return {"$cols": [keys, [_column_sized(columns[k], 0, False)[0] for k in keys]]}
    return [dict(zip(keys, r, strict=True)) for r in zip(*columns.values(), strict=True)]


def stacked(rows: list[dict[str, Any]], runs: list[int]) -> dict[str, Any]:
    """Stacked segments as a chart value without their bottoms: `rows` (each with `v0` and
    `v1`, the segment's bottom and top) lie in consecutive stacks of `runs[i]` rows, and
    each row's `v0` is exactly the `v1` of the row before it in its stack (0 for a stack's
    first), so `{"$stack": rows without v0, "n": runs}` gives them back (`uncompact`, and
    the page script, liqdata.js)."""
    i = 0
    for n in runs:
        below = 0.0
        for r in rows[i : i + n]:
            if r["v0"] != below:
                raise ValueError(f"stack bottom {r['v0']} is not the top below it, {below}")
            below = r["v1"]
        i += n
    if i != len(rows):
        raise ValueError(f"stacks of {i} rows for {len(rows)} rows")
    tops = [{k: v for k, v in r.items() if k != "v0"} for r in rows]
    return {"$stack": compact(tops), "n": _column(runs)}


def _unstack(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a `stacked` value, each with its `v0` again."""
    rows, out, i = uncompact(value["$stack"]), [], 0
    for n in _uncolumn(value["n"]):
        below = 0
        for r in rows[i : i + n]:
            out.append({**r, "v0": below})
            below = r["v1"]
        i += n
    return out


def _uncolumn(col: list[Any] | dict[str, Any]) -> list[Any]:
    """The values of a `_column` coding (what the page script does)."""
    if not isinstance(col, dict):
        return col
    if "$rle" in col:
        return [v for v, n in col["$rle"] for _ in range(n)]
    if "$seq" in col:
        first, step, n = col["$seq"]
        return _tight_all([first + i * step for i in range(n)])
    if "$delta" in col:
        first, deltas = col["$delta"]
        out, acc = [first], first
        for d in _uncolumn(deltas):
            acc = acc + d
            out.append(acc)
        return _tight_all(out)
    if "$rep" in col:
        inner, times = col["$rep"]
        return _uncolumn(inner) * times
    if "$dict" in col:
        keys, idx = col["$dict"]
        return [keys[i] for i in _uncolumn(idx)]
    if "$each" in col:
        inner, times = col["$each"]
        return [v for v in _uncolumn(inner) for _ in range(times)]
    if "$dec" in col:
        k, ints = col["$dec"]
        return [v / 10.0**k for v in _uncolumn(ints)]
    if "$sig" in col:
        return _unsig(*col["$sig"])
    if "$nulls" in col or "$zeros" in col:
        runs, held = col["$nulls"] if "$nulls" in col else col["$zeros"]
        gap = None if "$nulls" in col else 0
        it, out = iter(_uncolumn(held)), []
        for i, count in enumerate(runs):
            out += [next(it) for _ in range(count)] if i % 2 == 0 else [gap] * count
        return out
    if "$f64" in col:
        return _unf64(col["$f64"])
    raise ValueError(f"unknown column coding {sorted(col)}")


def uncompact(value: Any) -> Any:
    """The rows of a `compact` value (what the page script does)."""
    if isinstance(value, dict) and "$cols" in value:
        cols, columns = value["$cols"]
        full = [_uncolumn(c) for c in columns]
        return [dict(zip(cols, r, strict=True)) for r in zip(*full, strict=True)]
    if isinstance(value, dict) and "$table" in value:
        cols, rows = value["$table"]
        return [dict(zip(cols, r, strict=True)) for r in rows]
    if isinstance(value, dict) and "$text" in value:
        return fill_text(value)
    if isinstance(value, dict) and "$stack" in value:
        return _unstack(value)
    return value


def expand_ref(ref: str | JsonRef | dict[str, Any]) -> dict[str, Any]:
    """A spec ref (as written by `Template.fill`) as the whole spec, for values that hold no
    shared-data reference."""
    ref = str(ref) if isinstance(ref, JsonRef) else ref  # its text, as before
    r = json.loads(ref.replace("<\\/", "</")) if isinstance(ref, str) else ref
    values = {k: uncompact(v) for k, v in r["v"].items()}
    return json.loads(REGISTRY[r["t"]].expand(values, r.get("n")))


def hoist_inline_data(text: str) -> str:
    """Inline data that is one placeholder (`{"values": "__P_x__"}`, Altair repeats it in
    every layer) becomes the named dataset `x`, written once at the top level (data with a
    `format`, e.g. CSV text, stays inline)."""
    spec = json.loads(text)
    datasets = spec.setdefault("datasets", {})

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            d = o.get("data")
            if isinstance(d, dict) and isinstance(d.get("values"), str) and "format" not in d:
                m = _PH.fullmatch(d["values"])
                if m:
                    datasets[m.group(1)] = d["values"]
                    rest = {k: v for k, v in d.items() if k != "values"}
                    o["data"] = {"name": m.group(1), **rest}
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(spec)
    if not datasets:
        del spec["datasets"]
    return json.dumps(spec, separators=(",", ":"))


def specs_js() -> str:
    """assets/specs.js: every chart template, by name (a script, so it loads from file://)."""
    body = json.dumps({k: REGISTRY[k].text for k in sorted(REGISTRY)}, separators=(",", ":"))
    texts = json.dumps(dict(sorted(TEXTS.items())), separators=(",", ":"), ensure_ascii=False)
    return "/* Chart templates (reports.charts.spec), rewritten by every build. */\n" + (
        f"window.LIQMAP_SPECS = {body};\nwindow.LIQMAP_TEXTS = {texts};\n"
    )


def build_template(name: str, chart: alt.TopLevelMixin) -> Template:
    spec = chart.to_dict(validate=False)
    return Template(name, json.dumps(spec, separators=(",", ":")))
