"""scripts/compare_builds.py on two small real builds: identical ones pass (build time and load
time aside), a changed row or a changed page byte is reported."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import duckdb

from transforms.db import apply_schema

_SPEC = importlib.util.spec_from_file_location(
    "compare_builds", Path(__file__).resolve().parent.parent / "scripts" / "compare_builds.py"
)
compare_builds = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(compare_builds)

FILE_ROW = (
    "INSERT INTO raw.files VALUES "
    "('klines_1m', 'BTCUSDT', '2026-01-01', 'a.zip', 'ab', 1, ?, 'synthetic', ?, 'binance')"
)

COVERAGE_ROW = (
    "INSERT INTO raw.liquidation_coverage VALUES ('bybit', '2026-01-01', ?, 0, true, 3, 1, ?)"
)


def _build(root: Path, built: datetime, rows: int = 1440, page_extra: str = "") -> Path:
    (root / "data").mkdir(parents=True)
    conn = duckdb.connect(str(root / "data" / "warehouse.duckdb"))
    apply_schema(conn)
    conn.execute(FILE_ROW, [rows, built])
    conn.execute(COVERAGE_ROW, [rows * 60.0, built])
    conn.close()
    site = root / "site"
    (site / "2026-01-01").mkdir(parents=True)
    iso = built.strftime("%Y-%m-%dT%H:%M:%SZ")
    (site / "feed.xml").write_text(f"<feed><updated>{iso}</updated></feed>")
    (site / "2026-01-01" / "index.html").write_text(
        f'<p>Built <time datetime="{iso}">{built:%Y-%m-%d %H:%M} UTC</time>.{page_extra}</p>'
    )
    return root


def test_identical_builds_pass_despite_build_and_load_times(tmp_path, capsys):
    a = _build(tmp_path / "a", datetime(2026, 11, 30, 10, 0, 1))
    b = _build(tmp_path / "b", datetime(2026, 11, 30, 11, 7, 42))
    assert compare_builds.main([str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "raw.files: 1 rows, identical" in out
    assert "raw.liquidation_coverage: 1 rows, identical" in out


def test_a_changed_row_and_a_changed_page_are_reported(tmp_path, capsys):
    a = _build(tmp_path / "a", datetime(2026, 11, 30, 10, 0, 1))
    b = _build(tmp_path / "b", datetime(2026, 11, 30, 11, 0, 0), rows=1439, page_extra="!")
    (b / "site" / "extra.css").write_text("x")
    assert compare_builds.main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "raw.files: 1 vs 1 rows; 1 only in baseline, 1 only in candidate" in out
    assert "raw.liquidation_coverage: 1 vs 1 rows; 1 only in baseline" in out
    assert "site file 2026-01-01/index.html differs" in out
    assert "site file extra.css only in the candidate" in out
