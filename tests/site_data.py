"""Reading a built site's shared data the way its pages do: a day page names its day data
file (`data-day-data`), whose chart spec refs are filled from `assets/specs.js` with values
that may reference the shared daily series (reports.datafiles). Tests use these to get the
whole spec of a chart, as the browser builds it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from reports import day_packs
from reports.charts.raster import full_layers
from reports.datafiles import resolve

KEY_RE = re.compile(r'data-day-data="([^"]+)"')
SPECS_RE = re.compile(r"window\.LIQMAP_SPECS = (\{.*?\});\n", re.S)


def data_file(out: Path, key: str) -> dict[str, Any]:
    """Data file `key` as the page reads it (a day's document from its month file)."""
    return day_packs.data_file(out, key)


def page_key(page: Path, venue: str | None = None) -> str:
    """The day data key of a page (the aggregate's, or with `venue` that venue's)."""
    key = KEY_RE.search(page.read_text()).group(1)
    if venue is None:
        return key
    symbol, _, name = key.split("/")
    return f"{symbol}/{venue}/{name}"


def templates(out: Path) -> dict[str, str]:
    return json.loads(SPECS_RE.search((out / "assets" / "specs.js").read_text()).group(1))


def expand(out: Path, ref: dict[str, Any]) -> dict[str, Any]:
    """A spec ref as the whole spec (shared series resolved from the site's data files)."""
    text = templates(out)[ref["t"]]
    for k, v in (ref.get("n") or {}).items():
        text = text.replace(f"__N_{k}__", str(int(v)) if float(v).is_integer() else repr(v))

    def load(key: str) -> Any:
        return data_file(out, key)

    for k, v in ref["v"].items():
        text = text.replace(f'"__P_{k}__"', json.dumps(resolve(v, load)))
    assert "__P_" not in text and "__N_" not in text, ref["t"]
    return _inline(json.loads(text))


def _inline(spec: dict[str, Any]) -> dict[str, Any]:
    """Named datasets put back inline where they are used (the spec as Altair wrote it), so
    tests can walk each layer's `values`."""
    datasets = spec.get("datasets", {})

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            d = o.get("data")
            named = isinstance(d, dict) and set(d) == {"name"} and d["name"] in datasets
            if named and d["name"] != "heatimg":
                o["data"] = {"values": datasets[d["name"]]}
            for k, v in o.items():
                if k != "datasets":
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(spec)
    return spec


def site_root(page: Path) -> Path:
    """The site folder of a built page (where its `assets/` live)."""
    for p in page.parents:
        if (p / "assets" / "specs.js").is_file():
            return p
    raise AssertionError(f"{page} is not inside a built site")


def page_specs(out: Path | None, page: Path, venue: str | None = None) -> dict[str, dict[str, Any]]:
    """Element id -> whole spec of every chart of a day page (heatmap windows included)."""
    out = out or site_root(page)
    day = data_file(out, page_key(page, venue))
    refs = {**day["charts"], **{k: h["spec"] for k, h in day["heat"].items()}}
    return {k: expand(out, r) for k, r in refs.items()}


def page_rasters(out: Path, page: Path, venue: str | None = None) -> dict[str, dict[str, Any]]:
    """Element id -> raster description of each heatmap window (layers' geometry), each
    layer whole (the shared `grid` merged in, as the page script does)."""
    return {
        k: {**h["raster"], "layers": full_layers(h["raster"])}
        for k, h in data_file(out, page_key(page, venue))["heat"].items()
    }


def html_specs(out: Path, text: str, venue: str | None = None) -> dict[str, dict[str, Any]]:
    """`page_specs` of a page given as its HTML text (inside site `out`)."""
    key = KEY_RE.search(text).group(1)
    if venue is not None:
        symbol, _, name = key.split("/")
        key = f"{symbol}/{venue}/{name}"
    day = data_file(out, key)
    refs = {**day["charts"], **{k: h["spec"] for k, h in day["heat"].items()}}
    return {k: expand(out, r) for k, r in refs.items()}
