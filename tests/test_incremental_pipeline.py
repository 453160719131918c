"""The real Dagster chain, two venues: daily partitions (each continuing the model from the
state the day before wrote) give the rows of one range run, although staging a day refreshes
the previous day's last bar (its open interest as of the next day's first snapshot): the
state of that day is then not trusted, the run continues from the day before it and rewrites
that day's rows too."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import ALL_ASSETS
from orchestration.resources import resources_from_settings
from tests.pipeline_helpers import run_day, run_range, temp_settings
from tests.test_model_state import TABLES, assert_same_rows
from tests.test_snapshot_incremental import assert_snapshot_matches
from transforms.publish.fingerprint import catalog_tables, fingerprints
from transforms.publish.snapshot import manifest_path

FIRST, LAST = date(2025, 11, 1), date(2025, 11, 4)
VENUES = "binance,bybit"


def _settings(tmp, name: str):
    return temp_settings(
        tmp / name, FIRST.isoformat(), (LAST + timedelta(days=1)).isoformat(), LIQMAP_VENUES=VENUES
    )


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_daily_partitions_equal_the_range_run(tmp_path):
    daily = _settings(tmp_path, "daily")
    day = FIRST
    while day < LAST:
        assert run_day(daily, day).success
        day += timedelta(days=1)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            ALL_ASSETS,
            resources=resources_from_settings(daily),
            partition_key=LAST.isoformat(),
            instance=instance,
        )
        assert result.success
        lines = [r.user_message for r in instance.all_logs(result.run_id)]
    # the day before's state no longer matches its refreshed last bar: the one before it does
    before = LAST - timedelta(days=2)
    assert any(f"continued from {before}, rewrote from {LAST - timedelta(days=1)}" in line
               for line in lines), [line for line in lines if "model BTCUSDT" in line]  # fmt: skip
    # the daily runs patched the snapshot (no whole copy after the first): it equals the
    # warehouse table by table
    assert any("partition(s) replaced" in line for line in lines), lines
    ranged = _settings(tmp_path, "range")
    assert run_range(ranged, FIRST, LAST).success
    a = duckdb.connect(str(daily.warehouse_path), read_only=True)
    b = duckdb.connect(str(ranged.warehouse_path), read_only=True)
    try:
        assert assert_snapshot_matches(a, daily.snapshot_path) > 0
        # the logged tables' fingerprints, hashed on the noted days only, are the full ones
        recorded = json.loads(manifest_path(daily.snapshot_path).read_text())["published"]
        catalog = a.execute("SELECT current_database()").fetchone()[0]
        assert recorded["tables"] == fingerprints(a, catalog, catalog_tables(a, catalog))
        for table in TABLES:  # a 4-day synthetic path may hold no 10 % swing
            assert_same_rows(a, b, table, some=table != "mart.moves")
        kept = a.execute(
            "SELECT DISTINCT day FROM mart.model_state WHERE venue = 'binance' ORDER BY day"
        ).fetchall()
        # each run keeps the state of the day before its own (its own day's last bar is not
        # final until the next day is staged, so its state would never be read)
        assert [r[0] for r in kept] == [LAST - timedelta(days=i) for i in (3, 2, 1)]
    finally:
        a.close()
        b.close()


pytestmark = pytest.mark.xdist_group("incremental_pipeline")
