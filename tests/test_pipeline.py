"""Real Dagster materializations into a temp DuckDB file: one day, a range, reruns."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from tests.builds import BINANCE_DAYS
from tests.pipeline_helpers import fingerprints, run_chain, run_day, run_range, table_frame
from transforms.marts.registry import MART_ASSETS
from transforms.raw.quality import check_files_verified

pytestmark = pytest.mark.xdist_group("pipeline")  # its tests change one private copy in turn

FIRST, LAST = BINANCE_DAYS
BASE_HASH_SQL = (
    "SELECT DISTINCT params_hash FROM mart.daily_metrics WHERE day = ? AND scenario = 'base'"
)


@pytest.fixture(scope="module")
def built(binance_chain, tmp_path_factory):
    """A private copy of the shared 3-day Binance build (its range run): these tests re-run
    days and change the model's settings."""
    settings = binance_chain.copy_to(tmp_path_factory.mktemp("pipeline"))
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
    """A daily partition re-run reproduces what the range run wrote for that day: raw and
    staging exactly, every mart to float round-off (the model always starts from the first
    staged bar; only numpy's summation order differs with the window's length)."""
    settings, before = built
    marts = [t for t in before if t.startswith("mart.")]
    expected = {t: table_frame(settings.warehouse_path, t) for t in marts}
    assert run_day(settings, date(2025, 11, 2)).success  # a day inside the range
    after = fingerprints(settings.warehouse_path)
    for table in before:
        if table in marts:
            pd.testing.assert_frame_equal(
                table_frame(settings.warehouse_path, table), expected[table], rtol=1e-9
            )
        else:
            assert after[table] == before[table], table


def test_launchpad_config_changes_the_model_and_is_recorded(built, tmp_path):
    """Model parameters set in run config (as from the launchpad) drive the marts and are
    recorded with them, so a number can be traced back to its assumptions."""
    settings, _ = built
    day = LAST
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        (default_hash,) = conn.execute(
            BASE_HASH_SQL,
            [day],
        ).fetchone()
    finally:
        conn.close()
    config = {"leverage_levels": [10, 20], "leverage_weights": [0.5, 0.5], "lookback_days": 30}
    result = run_chain(settings, day, selection=[*MART_ASSETS], model_config=config)
    assert result.success
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        hashes = conn.execute(
            BASE_HASH_SQL,
            [day],
        ).fetchall()
        (params_json,) = conn.execute(
            "SELECT params_json FROM mart.model_params WHERE params_hash = ? AND scenario = 'base'",
            [hashes[0][0]],
        ).fetchone()
        other_days = conn.execute(
            "SELECT count(*) FROM mart.daily_metrics WHERE day <> ? AND params_hash = ?",
            [day, default_hash],
        ).fetchone()[0]
    finally:
        conn.close()
    assert len(hashes) == 1 and hashes[0][0] != default_hash
    recorded = json.loads(params_json)
    assert recorded["leverage_levels"] == [10, 20]
    assert recorded["lookback_days"] == 30
    assert other_days > 0  # other days keep the rows (and hash) they were computed with


def test_asset_checks_pass_and_catch_a_tampered_cache(built):
    settings, _ = built
    result = run_day(settings, date(2025, 11, 2))
    evaluations = result.get_asset_check_evaluations()
    names = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations}
    assert ("raw_metrics_5m", "open_interest_non_negative") in names
    assert ("raw_klines_1m", "checksums_verified") in names
    assert ("stg_bars_5m", "complete_bars") in names
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []

    conn = duckdb.connect(str(settings.warehouse_path))
    try:
        (relpath,) = conn.execute(
            "SELECT relpath FROM raw.files WHERE dataset = 'klines_1m' AND period = '2025-11-02'"
        ).fetchone()
        cached = settings.cache_dir / settings.source / relpath
        cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
        outcome = check_files_verified(
            conn, "klines_1m", "BTCUSDT", ["2025-11-02"], settings.cache_dir, venue="binance"
        )
    finally:
        conn.close()
    assert not outcome.passed
    assert "2025-11-02 cache differs" in outcome.describe()
