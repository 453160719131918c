"""A chart's level marks are built in the page from the day file's `levels` (a `$marks`
value), not written into every chart: the page script (liqdata.js, run by Node) gives
exactly the rows Python gives (reports.key_levels.resolve_marks), labels included, for
prices of every scale, exact halves, marks pinned to a window's edges and labels pushed
apart; and its price and percentage formats print what reports.notation prints."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from reports import datafiles
from reports.charts.heatmap_spec import MARK_FIELDS as HEAT_FIELDS
from reports.charts.liq_map import MARK_FIELDS as MAP_FIELDS
from reports.key_levels import (
    LEVEL_COLS,
    level_marks,
    level_row,
    levels_of,
    marks_ref,
    resolve_marks,
    view_marks,
)
from reports.notation import fmt_pct, fmt_price, price_decimals_as, price_scale

LIQDATA = Path(__file__).resolve().parent.parent / "reports" / "static" / "liqdata.js"

# prices at several scales (the decimals a page writes them with), exact halves among them
SCALES = {None: 77_505.6, 0: 91_250.0, 2: 3_512.5, 4: 2.5, 5: 0.12, 8: 0.00001234}
HALVES = [0.125, 0.375, 2.675, 1.005, 12.25, 999.95, 77_505.625, 0.000125, 1.5, 2.5, 0.25]


def _price(rng: random.Random, spot: float) -> float:
    pick = rng.random()
    if pick < 0.15:
        return spot * rng.choice([0.5, 0.75, 1.0, 1.25, 1.5])  # on an edge, or spot itself
    if pick < 0.3:
        return round(spot * rng.uniform(0.5, 1.6) * 8) / 8  # a dyadic price: exact halves
    return spot * rng.uniform(0.4, 1.8)


def _cases() -> list[dict]:
    """Levels tables and the `$marks` values of windows over them."""
    rng = random.Random(22)
    cases = []
    for dec, spot in SCALES.items():
        for _ in range(40):
            rows = []
            for v in range(rng.randint(1, 4)):
                s = spot * rng.uniform(0.98, 1.02) if rng.random() < 0.7 else spot
                row = [f"base/v{v}", None if rng.random() < 0.05 else s]
                row += [None if rng.random() < 0.1 else _price(rng, s) for _ in range(4)]
                rows.append([*row, rng.randint(0, 1)])
            levels = {"dec": dec, "cols": list(LEVEL_COLS), "rows": rows}
            width = rng.choice([0.02, 0.1, 0.25, 0.6])
            lo, hi = spot * (1 - width), spot * (1 + width * rng.uniform(0.5, 1.5))
            fields = rng.choice([HEAT_FIELDS, MAP_FIELDS])
            views = rng.sample(range(len(rows)), rng.randint(1, len(rows)))
            ref = {"$marks": "S/all/day-x", "views": views, "lo": lo, "hi": hi, "f": list(fields)}
            cases.append({"levels": levels, "ref": ref})
    return cases


def _formats() -> list[tuple[float, int | None]]:
    rng = random.Random(5)
    out = [(h, dec) for h in HALVES for dec in SCALES]
    out += [(h * 10**k, dec) for h in HALVES for k in (-3, 1, 3, 4) for dec in (None, 2, 5)]
    for dec, spot in SCALES.items():
        out += [(spot * rng.uniform(0.01, 100), dec) for _ in range(200)]
    return out


def _node(tmp_path: Path, payload: dict, body: str) -> object:
    script = tmp_path / "run.js"
    script.write_text(
        "var window = {LIQMAP_DATA: {}}; var document = {currentScript: null,"
        " querySelector: function () { return null; }};\n"
        + LIQDATA.read_text()
        + "\nvar IN = "
        + json.dumps(payload)
        + ";\n"
        + body
    )
    run = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_python_resolves_the_marks_it_wrote() -> None:
    """The `$marks` value of a chart gives back the rows written before (drawn level marks of
    each view, with their labels)."""
    row = {
        "close_price": 92_000.0,
        "nearest_cluster_above_price": 96_125.0,
        "p90_above_price": 131_000.0,
        "nearest_cluster_below_price": 88_375.0,
        "p90_below_price": 52_812.5,
    }
    views = {"base/all": row, "base/high": {**row, "flag": "window"}}
    with price_scale(92_000.0):
        levels = levels_of(views)
        want = [{f: m[f] for f in HEAT_FIELDS} for m in view_marks(views, 70_000.0, 110_000.0)]
    ref = marks_ref("S/all/day-x", list(views), list(views), 70_000.0, 110_000.0, HEAT_FIELDS)
    assert resolve_marks(levels, ref) == want
    assert want[2]["label"] == "↑ 90% shorts $131,000 (+42.4%)"
    assert want[7]["label"] == "↑ 90% shorts in window $131,000 (+42.4%)"
    assert level_row("base/all", row)[1:] == [92_000.0, 96_125.0, 131_000.0, 88_375.0, 52_812.5, 0]
    assert [m["label"] for m in level_marks(row)][0] == "Now $92,000"
    # read through a day file as the page does
    day = {"levels": levels}
    got = datafiles.resolve(ref, lambda key: day)
    assert got == want


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_page_builds_the_marks_python_builds(tmp_path: Path) -> None:
    cases = _cases()
    want = [resolve_marks(c["levels"], c["ref"]) for c in cases]
    labels = {m["label"] for rows in want for m in rows}
    assert any(label.startswith("↑ ") for label in labels)
    assert any(label.startswith("↓ ") for label in labels)
    assert any(" in window " in label for label in labels)
    got = _node(
        tmp_path,
        {"cases": cases},
        "process.stdout.write(JSON.stringify(IN.cases.map(function (c) {"
        " return window.liqData.levelMarks(c.levels, c.ref); })));\n",
    )
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == json.loads(json.dumps(w)), (i, cases[i])


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_page_formats_prices_and_percentages_as_python(tmp_path: Path) -> None:
    values = _formats()
    want_price = []
    for x, dec in values:
        with price_decimals_as(dec):
            want_price.append(fmt_price(x))
    pcts = [x / 100 for x in (0.25, -0.25, 0.35, 1.25, -1.05, 0.05, -0.04, 0.0, 12.5, -33.35)]
    pcts += [p / s - 1 for p, s in ((77_505.625, 77_505.6), (88_500, 77_505.6), (1.5, 1.2))]
    got = _node(
        tmp_path,
        {"values": values, "pcts": pcts},
        "var L = window.liqData;\n"
        "process.stdout.write(JSON.stringify({"
        "price: IN.values.map(function (v) { return L.fmtPrice(v[0], v[1]); }),"
        "pct: IN.pcts.map(function (x) { return L.fmtPct(x); })}));\n",
    )
    for (x, dec), g, w in zip(values, got["price"], want_price, strict=True):
        assert g == w, (x, dec)
    assert got["pct"] == [fmt_pct(x) for x in pcts]
