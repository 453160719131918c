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
- ``__N_name__`` (inside an expression string) → a bare number.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import altair as alt

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


def _num_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    v = round(float(v), 6)
    return repr(float(v))


# every template built in this process, by name: what assets/specs.js holds
REGISTRY: dict[str, Template] = {}
_PH = re.compile(r"__P_([A-Za-z0-9_]+)__")
_NUM = re.compile(r"__N_([A-Za-z0-9_]+)__")


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", hoist_inline_data(self.text))
        REGISTRY[self.name] = self

    def placeholders(self) -> tuple[set[str], set[str]]:
        return set(_PH.findall(self.text)), set(_NUM.findall(self.text))

    def fill(self, values: dict[str, Any], numbers: dict[str, float] | None = None) -> str:
        """The chart's spec ref (JSON text): this template's name and the page's values. The
        page script fills the template (reports/static/liqdata.js); `expand` does the same
        in Python."""
        names, nums = self.placeholders()
        if set(values) != names or set(numbers or {}) != nums:
            raise ValueError(f"unfilled placeholder in chart {self.name}")
        ref = {"t": self.name, "v": {k: compact(v) for k, v in values.items()}}
        if numbers:
            ref["n"] = {k: float(_num_text(v)) for k, v in numbers.items()}
        return json.dumps(ref, separators=(",", ":")).replace("</", "<\\/")

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


TABLE_MIN_ROWS = 8  # shorter lists of rows stay as they are


def _tight(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def _runs(values: list[Any]) -> list[list[Any]]:
    runs: list[list[Any]] = []
    for v in values:
        if runs and runs[-1][0] == v and type(runs[-1][0]) is type(v):
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return runs


def _numeric(values: list[Any]) -> bool:
    return all(type(v) in (int, float) and math.isfinite(v) for v in values)


def _seq(values: list[Any]) -> dict[str, Any] | None:
    """`{"$seq": [first, step, n]}` when values[i] == first + i * step exactly (in doubles,
    as the page script computes it)."""
    first, step = values[0], values[1] - values[0]
    if all(values[i] == first + i * step for i in range(len(values))):
        return {"$seq": [_tight(first), _tight(step), len(values)]}
    return None


def _delta(values: list[Any], depth: int) -> dict[str, Any] | None:
    """`{"$delta": [first, deltas]}` when adding the deltas in order gives back every value
    exactly (in doubles, as the page script adds them)."""
    deltas = [_tight(b - a) for a, b in zip(values, values[1:], strict=False)]
    acc = values[0]
    for d, v in zip(deltas, values[1:], strict=True):
        acc = acc + d
        if acc != v:
            return None
    return {"$delta": [_tight(values[0]), _column(deltas, depth + 1)]}


def _period(values: list[Any]) -> int | None:
    """The shortest p (a whole divisor of the length) with values = values[:p] repeated."""
    n, first = len(values), values[0]
    for p in range(1, n // 2 + 1):
        if n % p == 0 and values[p] == first and values[p:] == values[:-p]:
            return p
    return None


def _size(col: Any) -> int:
    return len(json.dumps(col, separators=(",", ":"), ensure_ascii=False))


def _column(values: list[Any], depth: int = 0) -> list[Any] | dict[str, Any]:
    """One column, in the shortest of these codings (docs/api.md), each giving back exactly
    the same values: the values; `{"$rle": [[value, count], ...]}` (runs of one value);
    `{"$seq": [first, step, n]}` (an arithmetic sequence); `{"$delta": [first, deltas]}`
    (running sums); `{"$rep": [column, times]}` (a block repeated: the same price grid for
    every layer view); `{"$dict": [values, indices]}` (a few distinct values, e.g. labels
    repeated per view). `deltas`, `column` and `indices` are columns themselves."""
    plain = [_tight(v) for v in values]
    n = len(values)
    if n < 4 or depth > 2:
        return plain
    out: list[Any] = [plain]
    runs = _runs(values)
    if len(runs) * 2 <= n:
        out.append({"$rle": [[_tight(v), c] for v, c in runs]})
    if _numeric(values):
        seq = _seq(values)
        if seq is not None:
            return seq
        if len(runs) * 2 > n:
            delta = _delta(values, depth)
            if delta is not None:
                out.append(delta)
    if len(runs) * 2 > n:
        p = _period(values)
        if p is not None:
            out.append({"$rep": [_column(values[:p], depth + 1), n // p]})
    if all(v is None or isinstance(v, (str, int, float)) for v in values):
        uniq: dict[Any, int] = {}
        for v in values:
            uniq.setdefault((type(v), v), len(uniq))
        if len(uniq) * 3 <= n:
            idx = [uniq[(type(v), v)] for v in values]
            keys = [_tight(v) for _, v in uniq]
            out.append({"$dict": [keys, _column(idx, depth + 1)]})
    return min(out, key=_size) if len(out) > 1 else plain


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


def _uncolumn(col: list[Any] | dict[str, Any]) -> list[Any]:
    """The values of a `_column` coding (what the page script does)."""
    if not isinstance(col, dict):
        return col
    if "$rle" in col:
        return [v for v, n in col["$rle"] for _ in range(n)]
    if "$seq" in col:
        first, step, n = col["$seq"]
        return [_tight(first + i * step) for i in range(n)]
    if "$delta" in col:
        first, deltas = col["$delta"]
        out, acc = [first], first
        for d in _uncolumn(deltas):
            acc = acc + d
            out.append(_tight(acc))
        return out
    if "$rep" in col:
        inner, times = col["$rep"]
        return _uncolumn(inner) * times
    if "$dict" in col:
        keys, idx = col["$dict"]
        return [keys[i] for i in _uncolumn(idx)]
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
    return value


def expand_ref(ref: str | dict[str, Any]) -> dict[str, Any]:
    """A spec ref (as written by `Template.fill`) as the whole spec, for values that hold no
    shared-data reference."""
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
    return "/* Chart templates (reports.charts.spec), rewritten by every build. */\n" + (
        f"window.LIQMAP_SPECS = {body};\n"
    )


def build_template(name: str, chart: alt.TopLevelMixin) -> Template:
    spec = chart.to_dict(validate=False)
    return Template(name, json.dumps(spec, separators=(",", ":")))
