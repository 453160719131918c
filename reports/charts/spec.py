"""Chart spec templates: each chart built once per process with Altair, filled per page.

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


def ph(name: str) -> str:
    return f"__P_{name}__"


def num(name: str) -> str:
    return f"__N_{name}__"


def _num_text(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    v = round(float(v), 6)
    return repr(float(v))


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def fill(self, values: dict[str, Any], numbers: dict[str, float] | None = None) -> str:
        """The page's spec JSON, safe to embed in a <script type="application/json">."""
        out = self.text
        for k, v in (numbers or {}).items():
            out = out.replace(num(k), _num_text(v))
        for k, v in values.items():
            out = out.replace(f'"{ph(k)}"', json.dumps(v, separators=(",", ":")))
        if "__P_" in out or "__N_" in out:
            raise ValueError(f"unfilled placeholder in chart {self.name}")
        return out.replace("</", "<\\/")


def build_template(name: str, chart: alt.TopLevelMixin) -> Template:
    spec = chart.to_dict(validate=False)
    return Template(name, json.dumps(spec, separators=(",", ":")))
