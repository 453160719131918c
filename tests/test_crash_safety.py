"""SIGKILL a real `liqmap run` at several points, re-run, and compare with a clean build.

Points: mid-download (temp file written, not yet renamed into the cache), mid-load (inside
the raw load transaction), mid-model (inside the marts transaction) and mid-site (pages
partly written). The points are hit in pipeline order by successive runs in one folder: each
crashed run is the re-run of the crash before it, so it must get past that crash's stage
(its own later crash point fires, the state it leaves is checked) before it is killed itself;
then a plain re-run must leave identical marts, no duplicate rows, no stray temp file in the
cache and only complete pages in the site. (Five `liqmap` processes instead of one crash and
one re-run per point: the CLI's start-up is most of each run's cost.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from reports.page_inputs import MANIFEST as PAGE_INPUTS_MANIFEST
from tests.builds import BINANCE_DAYS, BINANCE_WINDOW
from tests.pipeline_helpers import fingerprints, temp_settings

pytestmark = pytest.mark.slow

LIQMAP = Path(sys.executable).parent / "liqmap"
FIRST, LAST = BINANCE_DAYS  # the CLI runs the shared build's window and days
STOP, END = LAST.isoformat(), BINANCE_WINDOW[1].isoformat()

#: in pipeline order (the test relies on it)
FAULTS = {
    "download": "cache-write:5",  # 5th verified file, before its atomic rename
    "load": "commit:2",  # second raw dataset's transaction, before COMMIT
    "model": "marts-write",  # after the mart inserts, before COMMIT
    "site": "site-page:3",  # third page of the site
}


def _cli(tmp: Path, failpoint: str | None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "LIQMAP_DATA_DIR": str(tmp / "data"),
        "LIQMAP_SITE_DIR": str(tmp / "site"),
        "LIQMAP_START_DATE": FIRST.isoformat(),
        "LIQMAP_END_DATE": END,
        "LIQMAP_SOURCE": "synthetic",
    }
    env.pop("LIQMAP_FAILPOINT", None)
    if failpoint:
        env["LIQMAP_FAILPOINT"] = failpoint
    return subprocess.run(
        [LIQMAP, "run", "--start", FIRST.isoformat(), "--end", STOP],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def clean_build(binance_chain) -> dict:
    """The rows of a clean build of the same window and days (the shared session build)."""
    return fingerprints(binance_chain.settings.warehouse_path)


def _stray_temp_files(root: Path) -> list[Path]:
    """Temp files a killed write left behind; the site's page-input manifest is a dot file the
    build writes on purpose (atomically, through the writer), not one of them."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name != PAGE_INPUTS_MANIFEST
        and (".tmp" in p.name or p.name.startswith("."))
    ]


def _rows(warehouse: Path, table: str) -> int:
    if not warehouse.exists():
        return 0
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def _what_the_crash_left(point: str, settings) -> None:
    """Assert the crash really interrupted work at `point` (so the re-run has to repair it)."""
    warehouse = settings.warehouse_path
    if point == "download":
        assert len(_stray_temp_files(settings.cache_dir)) == 1  # 2nd mark-price file
        assert _rows(warehouse, "raw.klines_1m") == 1440 * 3
        assert _rows(warehouse, "raw.mark_klines_1m") == 0
    elif point == "load":
        # Every raw table holds either the whole window or nothing: the killed transaction
        # was rolled back by DuckDB's recovery, the committed one is complete.
        counts = {t: _rows(warehouse, t) for t in ("raw.klines_1m", "raw.mark_klines_1m")}
        assert set(counts.values()) <= {0, 1440 * 3}, counts
        assert _rows(warehouse, "raw.metrics_5m") in (0, 288 * 3)
        assert 0 in counts.values() or _rows(warehouse, "raw.metrics_5m") == 0
    elif point == "model":
        assert _rows(warehouse, "stg.bars_5m") == 288 * 3
        assert _rows(warehouse, "mart.daily_metrics") == 0
    elif point == "site":
        assert _rows(warehouse, "mart.daily_metrics") > 0
        assert not (settings.output_site_dir / "index.html").exists()


def test_sigkill_at_each_point_then_rerun_matches_clean_build(tmp_path, clean_build):
    settings = temp_settings(tmp_path, FIRST.isoformat(), END)
    for point in FAULTS:  # pipeline order: each run re-runs the crash before it
        crashed = _cli(tmp_path, FAULTS[point])
        assert crashed.returncode == -9, (
            f"failpoint {FAULTS[point]} did not fire:\n"
            f"{crashed.stdout[-2000:]}{crashed.stderr[-3000:]}"
        )
        _what_the_crash_left(point, settings)
    rerun = _cli(tmp_path, None)
    assert rerun.returncode == 0, rerun.stderr[-4000:]

    assert fingerprints(settings.warehouse_path) == clean_build
    assert _stray_temp_files(settings.cache_dir) == []
    site = settings.output_site_dir
    assert _stray_temp_files(site) == []
    for page in site.rglob("*.html"):
        assert page.read_text().rstrip().endswith("</html>"), f"truncated page {page}"
