"""The daily `raw_liquidations` asset: a real Dagster materialization of collected files."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from orchestration.assets.raw_liquidations import raw_liquidations
from tests.pipeline_helpers import run_chain, temp_settings
from tests.test_realized_load import DAY, _collected


def _materialize(settings) -> dg.ExecuteInProcessResult:  # type: ignore[no-untyped-def]
    return run_chain(settings, DAY, assets=[raw_liquidations])


def _table(path: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_asset_loads_a_day_once_and_reports_coverage(tmp_path: Path) -> None:
    settings = temp_settings(tmp_path, "2025-11-01", "2025-12-01")
    _collected(settings.data_dir)  # the collector's files under <data>/realized

    first = _materialize(settings)
    rows = _table(
        settings.warehouse_path,
        "SELECT venue, side, count(*) FROM raw.liquidations GROUP BY ALL ORDER BY ALL",
    )
    second = _materialize(settings)  # a re-run replaces, never duplicates

    assert first.success and second.success
    assert rows == [("binance", "long", 1), ("binance", "short", 1), ("bybit", "long", 2),
                    ("bybit", "short", 2)]  # fmt: skip
    assert rows == _table(
        settings.warehouse_path,
        "SELECT venue, side, count(*) FROM raw.liquidations GROUP BY ALL ORDER BY ALL",
    )
    (event,) = second.get_asset_materialization_events()
    meta = event.materialization.metadata
    assert meta["events"].value == 6
    assert meta["bybit_days_collected"].value == "1 of 1 (1 complete)"
    assert meta["binance_days_collected"].value == "1 of 1 (0 complete)"


def test_day_without_collection_says_not_collected(tmp_path: Path) -> None:
    settings = temp_settings(tmp_path, "2025-11-01", "2025-12-01")
    assert _materialize(settings).success
    coverage = _table(
        settings.warehouse_path,
        "SELECT venue, collected_seconds, complete FROM raw.liquidation_coverage ORDER BY venue",
    )
    assert coverage == [("binance", 0.0, False), ("bybit", 0.0, False)]
