"""Chart boilerplate is written once (issue 22, site size): a day data file carries only what
differs per day, the shared templates (assets/specs.js) the rest. The spec a page assembles
in Chromium equals the spec Python builds from the same ref, and the heatmap's initial image
row (once a ~200-byte value of every window in every day file) is the window's corners, as
the site build wrote it before.

Reuses the fixture site and browser of tests/test_site_browser.py.
"""

# ruff: noqa: F811  (the shared fixtures are imported by name and used as arguments)
from __future__ import annotations

import json

import pytest

from reports.charts.heatmap_spec import BLANK_PNG, DESC
from reports.charts.raster import GRID_FIELDS, full_layers, shared_grid
from reports.charts.spec import text_ref
from tests.site_data import _inline, data_file, expand, page_key, page_specs
from tests.site_fixtures import SYMBOL
from tests.test_site_browser import CHROMIUM, Visit, site  # noqa: F401

HEAT = ("heat-24h", "heat-1w", "heat-1m")


def _page(site):
    out, days = site
    return out, out / SYMBOL / days[-2].isoformat() / "index.html"


def test_heat_values_carry_no_image_row_and_the_template_draws_the_window(site):
    out, page = _page(site)
    day = data_file(out, page_key(page))
    specs = page_specs(out, page)
    for wid in HEAT:
        ref = day["heat"][wid]["spec"]
        assert "heatimg" not in ref["v"], wid
        n = ref["n"]
        # what the build wrote into every day file before: one transparent pixel spanning
        # the window (x: t0..t1, y: p0..p1)
        assert specs[wid]["datasets"]["heatimg"] == [
            {
                "url": BLANK_PNG,
                "x": n["xdomain0"],
                "x2": n["xdomain1"],
                "y": n["ydomain0"],
                "y2": n["ydomain1"],
            }
        ], wid
        raster = day["heat"][wid]["raster"]
        g = full_layers(raster)[raster["default"]]
        assert n["xdomain1"] == g["t0"] + g["cols"] * g["tstep"], wid


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_the_page_assembles_the_spec_python_builds(site, browser):
    """Every chart of a day page (the five heatmap windows and the rest): the spec the page
    script fills from assets/specs.js equals Python's fill of the same ref."""
    out, page = _page(site)
    day = data_file(out, page_key(page))
    refs = {**day["charts"], **{k: h["spec"] for k, h in day["heat"].items()}}
    assert set(HEAT) <= set(refs)
    v = Visit(browser, page.as_uri())
    try:
        v.check_clean()
        got = v.page.evaluate(
            """(ids) => {
              const key = document.querySelector('[data-day-data]').getAttribute('data-day-data');
              const day = window.LIQMAP_DATA[key];
              return Promise.all(ids.map(id => window.liqData.spec(
                day.heat[id] ? day.heat[id].spec : day.charts[id])));
            }""",
            sorted(refs),
        )
        for wid, spec in zip(sorted(refs), got, strict=True):
            assert _inline(spec) == expand(out, refs[wid]), wid
    finally:
        v.close()


def test_level_marks_carry_only_the_fields_their_chart_reads(site):
    """The heatmap windows and the liquidation map draw the level marks from `c`, `kind`,
    `label`, `k` and `ly` (heatmap) or `row` (map): the mark's real price and side, which
    neither reads, are not written into every day file."""
    from reports.charts.heatmap_spec import MARK_FIELDS as HEAT_FIELDS
    from reports.charts.liq_map import MARK_FIELDS as MAP_FIELDS

    out, page = _page(site)
    specs = page_specs(out, page)
    for wid, fields in [*((w, HEAT_FIELDS) for w in HEAT), ("liqmap", MAP_FIELDS)]:
        layers = specs[wid]["layer"]
        rows = _marks_rows(layers)
        assert rows, wid
        assert all(set(r) == set(fields) for r in rows), wid
        text = json.dumps(specs[wid])
        for f in fields:
            assert f'"field": "{f}"' in text or f"datum.{f}" in text, (wid, f)


def _marks_rows(layers):
    """The rows of the layers drawing the level marks (inlined `values` with a `kind`)."""
    for layer in layers:
        if "layer" in layer:
            got = _marks_rows(layer["layer"])
            if got:
                return got
        values = (layer.get("data") or {}).get("values")
        if isinstance(values, list) and values and "kind" in values[0]:
            return values
    return []


def test_shared_grid_gives_back_every_layer():
    """A raster description's layers share one grid, written once; merged back, every layer
    is as built (Python here, the page script in the browser test below)."""
    base = {"t0": 0, "tstep": 3_600_000, "cols": 168, "p0": 40_250.0, "pstep": 250.0, "rows": 73}
    layers = {"base/all": {"vmax": 2.5e9, **base}}
    for k in ("base/high", "base/mid", "never_close/all"):
        layers[k] = {**base, "tstep": 14_400_000, "cols": 42}
    layers["never_close/low"] = {**base, "t0": 7_200_000, "tstep": 14_400_000, "cols": 41}
    got = shared_grid(layers)
    assert got["grid"] == {**base, "tstep": 14_400_000, "cols": 42}
    assert got["layers"]["base/mid"] == {}
    assert got["layers"]["base/all"] == {"vmax": 2.5e9, "tstep": 3_600_000, "cols": 168}
    assert full_layers(got) == layers
    # a file written before the grid was shared reads as it is
    assert full_layers({"layers": layers}) == layers
    # equally common values: the first seen is the grid's (as Counter.most_common(1) chose)
    tie = {"a": {**base, "rows": 5}, "b": {**base, "rows": 7}, "c": {**base, "rows": 7}}
    tie["d"] = {**base, "rows": 5}
    assert shared_grid(tie)["grid"]["rows"] == 5
    assert shared_grid({k: tie[k] for k in "bacd"})["grid"]["rows"] == 7


@pytest.mark.browser
@pytest.mark.xdist_group("browser")
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_the_page_composes_every_layer_on_its_whole_grid(site, browser):
    out, page = _page(site)
    day = data_file(out, page_key(page))
    v = Visit(browser, page.as_uri())
    try:
        v.check_clean()
        for wid in HEAT:
            want = full_layers(day["heat"][wid]["raster"])
            assert len(want) > 1 or wid != "heat-24h"
            got = v.page.evaluate(
                "(id) => window.liqmapHeat.metaOf(document.getElementById(id)).layers", wid
            )
            assert set(got) == set(want), wid
            for k, g in want.items():
                assert {f: got[k][f] for f in GRID_FIELDS} == {f: g[f] for f in GRID_FIELDS}
    finally:
        v.close()


def test_heat_descriptions_are_written_once_and_read_in_full(site):
    """A heatmap window's description: its fixed wording is a text pattern of
    assets/specs.js, the day file holds only the fields; filled, it reads as before."""
    out, page = _page(site)
    d = page.parent.name
    day = data_file(out, page_key(page))
    specs = page_specs(out, page)
    for wid in HEAT:
        desc = day["heat"][wid]["spec"]["v"]["desc"]
        assert desc["$text"] == DESC and "modelled notional" not in json.dumps(desc), wid
        text = specs[wid]["description"]
        assert text.startswith(f"Liquidation heatmap, {SYMBOL}, "), text
        assert f"to the end of {d} UTC: modelled notional that would be liquidated" in text
        assert "band: the consolidation zone." in text and "{" not in text, text
    js = (out / "assets" / "specs.js").read_text()
    assert js.count("modelled notional that would be liquidated at each price (y)") == 1
    with pytest.raises(ValueError, match="do not fill"):
        text_ref(DESC, symbol="BTCUSDT")


def test_chart_descriptions_with_fixed_wording_are_text_patterns(site):
    """The liquidation map's and the history charts' descriptions too: the day file holds
    the fields, assets/specs.js the wording (every pattern the build registers)."""
    from reports.charts.spec import TEXTS
    from tests.site_data import SPECS_RE

    out, page = _page(site)
    day = data_file(out, page_key(page))
    specs = page_specs(out, page)
    js = (out / "assets" / "specs.js").read_text()
    texts = json.loads(js[SPECS_RE.search(js).end() :].split(" = ", 1)[1].rstrip(";\n"))
    assert texts == TEXTS
    for cid, start in [
        ("liqmap", f"Liquidation map, {SYMBOL}, end of "),
        ("history-risk", f"Positions at risk within ±10% of price, {SYMBOL}, daily from "),
        ("history-levels", f"Daily close between both 90% levels, {SYMBOL}, from "),
    ]:
        desc = day["charts"][cid]["v"]["desc"]
        assert desc["$text"] in texts, cid
        text = specs[cid]["description"]
        assert text.startswith(start) and "{" not in text, text
    # the base view's lines are the levels table's: its caption does not repeat them
    assert "Lines:" not in specs["liqmap"]["description"]
