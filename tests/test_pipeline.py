"""Real Dagster materializations into a temp DuckDB file: one day, a range, reruns."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.pipeline_helpers import fingerprints, run_day, run_range, temp_settings

FIRST, LAST = date(2025, 11, 1), date(2025, 11, 4)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 4-day synthetic market materialized as one range run."""
    tmp = tmp_path_factory.mktemp("pipeline")
    settings = temp_settings(tmp, "2025-11-01", "2025-11-06")
    result = run_range(settings, FIRST, LAST)
    assert result.success
    return settings, fingerprints(settings.warehouse_path)


def test_range_run_fills_every_layer(built):
    settings, prints = built
    days = (LAST - FIRST).days + 1
    assert prints["raw.klines_1m"][0] == 1440 * days
    assert prints["raw.mark_klines_1m"][0] == 1440 * days
    assert prints["raw.metrics_5m"][0] == 288 * days
    assert prints["stg.bars_5m"][0] == 288 * days
    assert prints["raw.funding"][0] >= 3 * days
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        per_day = conn.execute(
            "SELECT scenario, count(DISTINCT day) FROM mart.daily_metrics GROUP BY 1 ORDER BY 1"
        ).fetchall()
        heat_hours = conn.execute("SELECT count(DISTINCT ts) FROM mart.liq_heatmap").fetchone()[0]
        null_bars = conn.execute(
            "SELECT count(*) FROM stg.bars_5m WHERE mark_low IS NULL OR oi_value IS NULL"
        ).fetchone()[0]
    finally:
        conn.close()
    assert {s for s, _ in per_day} == {"base", "never_close", "low_leverage", "high_leverage"}
    assert all(n == days for _, n in per_day)
    assert heat_hours == 24 * days
    assert null_bars == 0
    assert (settings.output_site_dir / "index.html").is_file()
    assert settings.snapshot_path.is_file()


def test_rerunning_the_range_gives_identical_rows(built):
    settings, before = built
    assert run_range(settings, FIRST, LAST).success
    assert fingerprints(settings.warehouse_path) == before


def test_single_day_rerun_matches_the_range(built):
    settings, before = built
    assert run_day(settings, date(2025, 11, 3)).success
    after = fingerprints(settings.warehouse_path)
    for table in ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "stg.bars_5m"):
        assert after[table] == before[table], table
    assert after["mart.daily_metrics"][0] == before["mart.daily_metrics"][0]
