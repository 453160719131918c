"""The data files' compact codings (reports.charts.spec._column, datafiles.short_numbers)
give back exactly the values written, in Python and in the page script (liqdata.js run by
Node), and make the liquidation map's rows several times smaller than plain JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from reports import datafiles
from reports.charts.spec import _sig, _tight_all, _unsig, compact, stacked, uncompact

LIQDATA = Path(__file__).resolve().parent.parent / "reports" / "static" / "liqdata.js"


def _map_rows() -> list[dict]:
    """Rows shaped like the liquidation map's: eight views over one price grid with gaps,
    3-significant-digit notionals, cumulative curves with nulls on the other side."""
    rows = []
    layers = ("all", "hi", "lo", "mid")
    views = [f"{s}/{layer}" for s in ("base", "never_close") for layer in layers]
    grid = [42000 + 250 * i for i in range(77) if i not in (9, 10, 31)]
    for j, k in enumerate(views):
        lc = 6.426e9
        for i, lo in enumerate(grid):
            below = lo < 54_000
            v = float(f"{(i * 7919 + j * 104729) % 9973 * 1.37e5:.3g}")
            rows.append(
                {
                    "k": k,
                    "lo": lo,
                    "hi": lo + 250,
                    "l": v if below else 0.0,
                    "s": 0.0 if below else v,
                    "lc": float(f"{lc - i * 1.1e7:.4g}") if below else None,
                    "sc": None if below else float(f"{i * 1.3e8:.4g}"),
                    "label": f"Nearest {['shorts', 'longs'][i % 2]} ${lo:,}",
                    "price": 54774.99 + (i % 5) * 0.01,
                }
            )
    return rows


def _columns() -> dict[str, list]:
    return {
        "seq": [1.5 + 0.25 * i for i in range(40)],
        "float_steps": [0.1 * i for i in range(30)],  # not exact as a sequence: kept exact
        "ms": [1_773_964_800_000 + 3_600_000 * i for i in range(24)],
        "prices": [54774.99, 54775.01, 54801.37, 54790.0, 54601.5, 54601.5, 54602.25, 54700.0],
        "mixed": [None, 1, 1.5, "a", None, "a", True, False, 0, 0.0, 0, None],
        "cents": [round(54774.99 + ((i * 7919) % 613 - 300) * 1.37, 2) for i in range(40)],
        "mills": [round(91.071 + ((i * 31) % 17) * 0.536, 3) for i in range(40)],
        "pairs": [42500 + 250 * (i // 2) + (750 if i >= 20 else 0) for i in range(40)],
        "gappy": [None if i % 7 < 3 else 6.426e9 - i * 1.1e7 for i in range(40)],
        "bools": [True, True, False, False, True, True, False, False],
        # few significant digits ($sig): zeros first, decades apart, negative and below one
        "sig": [0.0, 0.0]
        + [
            float(f"{(-1) ** i * ((i * 7919) % 9973 + 1) * 10.0 ** (i % 13 - 4):.3g}")
            for i in range(40)
        ]
        + [0.0, 2e6, 1.5e-3, 2047e5, 1.5e15, 0.125, 10.0],
        "sig4": [0.0] * 20 + [float(f"{i * 1.37e5 + 3.1e4:.4g}") * (-1) ** i for i in range(30)],
        # runs of zeros between them (one code per run)
        "sig_runs": [x for i in range(30) for x in [float((i + 1) * 1370), *[0.0] * (i % 4)]],
        "neg": [-5000.0, -4000.0, -3000.0, 12.5, -1e-7, 3e21, 0.0, -0.0],
        # full-precision notionals ($f64), one side zero ($zeros): the what-if's bands
        "exact": [26746.044279264177 * (1.1 + i) ** 1.5 for i in range(40)],
        "exact_side": [0.0] * 3
        + [float(np.float64(13954.766261106728) * (i + 1) ** 0.5) for i in range(30)]
        + [0.0] * 25,
    }


def test_every_coding_gives_back_the_same_values_and_types() -> None:
    rows = _map_rows()
    packed = json.loads(json.dumps(compact(rows)))
    assert uncompact(packed) == rows
    for name, col in _columns().items():
        rows = [{"v": v, "i": i} for i, v in enumerate(col)]
        back = uncompact(datafiles.loads(datafiles.as_json(compact(rows))))
        assert [r["v"] for r in back] == col, name
        assert [type(r["v"]) for r in back] == [
            int if isinstance(v, float) and v.is_integer() and abs(v) < 1e15 else type(v)
            for v in col
        ], name


def test_a_run_of_zeros_longer_than_one_code_holds() -> None:
    col = [7.5e5] + [0.0] * 80_000 + [2.5e5, 0.0]
    coded = _sig(np.array(col))
    assert coded is not None and len(coded["$sig"][1]) == 3 * 5  # two codes for the run
    assert _unsig(*coded["$sig"]) == _tight_all(col)


def test_table_rows_coded_by_column_give_back_the_rows() -> None:
    """A printed table (a venue's swings) is written column by column when that is shorter:
    a text repeated down a column once."""
    rows = [
        [f"2026-0{i % 9 + 1}-1{i % 10} 13:45", f"${60 + i},000", f"+{i}.5%"] + ["not collected"] * 3
        for i in range(12)
    ]
    coded = datafiles.coded_rows(rows)
    assert isinstance(coded, dict) and len(datafiles.as_json(coded)) < len(json.dumps(rows)) * 0.8
    assert datafiles.table_rows(datafiles.loads(datafiles.as_json(coded))) == rows
    few = [["Shorts (above)", "$54,100 (+0.9%)"], ["Longs (below)", "$51,900 (−3.2%)"]]
    assert datafiles.coded_rows(few) == few and datafiles.table_rows(few) == few


def test_short_numbers_leave_strings_and_fractions_alone() -> None:
    obj = {"a": 453_000_000, "b": 'x 1000000 " 2000', "c": [1000.5, 100, -5000, 0.0001]}
    text = datafiles.as_json(obj)
    assert '"a":453e6' in text and '"x 1000000 \\" 2000"' in text and "-5e3" in text
    assert datafiles.loads(text) == obj and json.loads(text) == obj
    # whole floats lose their ".0" (JavaScript reads the same number); zero keeps its sign
    floats = {"d": [67000.0, 77250.0, 8.0, 0.0, -0.0, 2.5, -500.0, 1_796_342_400_000.0]}
    text = datafiles.as_json(floats)
    assert text == '{"d":[67e3,77250,8,0.0,-0.0,2.5,-500,17963424e5]}'
    assert datafiles.loads(text) == floats and json.loads(text) == floats
    assert str(datafiles.loads(text)["d"][4]) == "-0.0"


def test_the_liquidation_map_rows_shrink() -> None:
    rows = _map_rows()
    assert '"$sig"' in json.dumps(compact(rows))  # the notionals, three characters each
    for name in ("sig", "sig4", "sig_runs"):
        assert '"$sig"' in json.dumps(compact([{"v": v} for v in _columns()[name]])), name
    for name, coding in (("exact", '"$f64"'), ("exact_side", '"$zeros"')):
        assert coding in json.dumps(compact([{"v": v} for v in _columns()[name]])), name
    plain = len(json.dumps(rows, separators=(",", ":")))
    packed = len(datafiles.as_json(compact(rows)))
    assert packed * 3 < plain, (packed, plain)


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def _stack_rows() -> tuple[list[dict], list[int]]:
    """Stacks of one to three segments (the map split's: a band's side, venue after venue),
    each bottom the top below it, the tops rounded to 4 significant digits."""
    rows, runs = [], []
    for i in range(30):
        for side in ("longs", "shorts"):
            n = (i + len(side)) % 4
            top = 0.0
            for v in range(n):
                v1 = float(f"{top + ((i * 7919 + v * 104729) % 9973 + 1) * 1.37e5:.4g}")
                rows.append({"lo": 42000 + 250 * i, "s": f"V{v} {side}", "v0": top, "v1": v1})
                top = v1
            if n:
                runs.append(n)
    return rows, runs


def test_stacked_segments_are_written_by_their_tops() -> None:
    rows, runs = _stack_rows()
    value = stacked(rows, runs)
    assert "v0" not in json.dumps(value)
    assert uncompact(value) == rows
    assert len(datafiles.as_json(value)) < len(datafiles.as_json(compact(rows)))
    bad = [dict(r) for r in rows]
    bad[1]["v0"] += 1.0  # a bottom that is not the top below it: refused
    with pytest.raises(ValueError, match="stack bottom"):
        stacked(bad, runs)


def test_the_page_script_decodes_the_same_values(tmp_path: Path) -> None:
    cases = {"map": compact(_map_rows()), "stack": stacked(*_stack_rows())}
    for name, col in _columns().items():
        cases[name] = compact([{"v": v} for v in col])
    data = tmp_path / "cases.js"
    data.write_text("var CASES = " + datafiles.as_json(cases) + ";\n")
    script = tmp_path / "run.js"
    script.write_text(
        "var window = {LIQMAP_DATA: {}}; var document = {currentScript: null,"
        " querySelector: function () { return null; }};\n"
        + LIQDATA.read_text()
        + "\n"
        + data.read_text()
        + "var names = Object.keys(CASES), out = {};\n"
        "Promise.all(names.map(function (k) { return window.liqData.resolveValue(CASES[k]); }))"
        ".then(function (v) { names.forEach(function (k, i) { out[k] = v[i]; });"
        " process.stdout.write(JSON.stringify(out)); });\n"
    )
    run = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert got["map"] == json.loads(json.dumps(_map_rows()))
    assert got["stack"] == json.loads(json.dumps(_stack_rows()[0]))
    for name, col in _columns().items():
        assert [r["v"] for r in got[name]] == json.loads(json.dumps(col)), name
