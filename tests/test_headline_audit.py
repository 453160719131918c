"""scripts/headline_audit.py over a built site and its warehouse: the headline's side is the
±10 % side on every day page, the whole map's is reported as context, level jumps are
counted with the price move beside them, and the layers add up to the whole."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import duckdb
import pytest

from tests.site_fixtures import SYMBOL, build_fixture_site

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "headline_audit.py"


def _audit():
    spec = importlib.util.spec_from_file_location("headline_audit", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out, db, days = build_fixture_site(tmp_path_factory.mktemp("audit"), n_days=6)
    return out, db, days


def test_audit_reports_zero_side_mismatches_and_layers_that_add_up(built, capsys) -> None:
    out, db, days = built
    assert _audit().main(["--db", str(db), "--site", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{SYMBOL} (all, base): {len(days)} days" in text
    m = re.search(r"headline vs ±10 %: side differs on (\d+) of (\d+) day pages", text)
    assert m and m.group(1) == "0" and int(m.group(2)) == len(days), text
    assert "whole map vs ±10 %: heavier side differs on" in text
    for level in ("nearest_cluster_above", "peak_cluster_below", "p90_above"):
        assert re.search(rf"{level}: \d+ jumps > 10 %", text), level
    gaps = [float(g) for g in re.findall(r"largest gap per bin ([\d.e+-]+)", text)]
    assert len(gaps) == 2 and max(gaps) < 1e-9, text  # base and never_close


def test_audit_finds_a_page_whose_headline_names_the_other_side(built, tmp_path, capsys):
    """The check can fail: a page edited to lead with the other side is counted."""
    out, db, days = built
    site = tmp_path / "site"
    page = site / SYMBOL / days[-1].isoformat() / "index.html"
    page.parent.mkdir(parents=True)
    text = (out / SYMBOL / days[-1].isoformat() / "index.html").read_text()
    conn = duckdb.connect(str(db), read_only=True)
    row = conn.execute(
        "SELECT shorts_at_risk_10pct > longs_at_risk_10pct FROM mart.daily_metrics "
        "WHERE venue = 'all' AND scenario = 'base' AND day = ?",
        [days[-1]],
    ).fetchone()
    conn.close()
    shown, other = ("shorts", "longs") if row[0] else ("longs", "shorts")
    swapped = re.sub(rf"(below: [\d.]+:1 ){shown}", rf"\g<1>{other}", text, count=1)
    assert swapped != text
    page.write_text(swapped)
    _audit().main(["--db", str(db), "--site", str(site)])
    got = capsys.readouterr().out
    assert "side differs on 1 of 1 day pages" in got, got
