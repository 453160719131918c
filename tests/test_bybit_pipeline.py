"""Two venues through the real Dagster chain: the offline demo builds Binance and Bybit from one
synthetic market, and a Bybit that is down leaves Binance's rows, models and aggregate in place,
reported in the raw assets' metadata, named in the aggregate and in the run's final failure."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tests.pipeline_helpers import run_range, temp_settings
from transforms.raw.synthetic import generate_mirror
from transforms.raw.tables import TABLES
from transforms.raw.venues.bybit.fake_server import FakeBybitServer

FIRST, LAST = date(2025, 11, 1), date(2025, 11, 2)
DATASET_OF_ASSET = {spec.asset: name for name, spec in TABLES.items()}
RAW_ASSETS = tuple(DATASET_OF_ASSET)


def _raw_metadata(result) -> dict[str, dict]:
    """Metadata of each raw asset's (last) materialization."""
    out = {}
    for event in result.get_asset_materialization_events():
        name = event.asset_key.path[-1]
        if name in RAW_ASSETS:
            out[name] = {k: v.value for k, v in event.materialization.metadata.items()}
    return out


def _by_venue(settings, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_demo_builds_both_venues_and_the_aggregate(tmp_path):
    settings = temp_settings(
        tmp_path, FIRST.isoformat(), LAST.isoformat(), LIQMAP_VENUES="binance,bybit"
    )
    result = run_range(settings, FIRST, LAST)
    assert result.success
    metadata = _raw_metadata(result)
    assert set(metadata) == set(RAW_ASSETS)
    assert {m["failed_venues"] for m in metadata.values()} == {"none"}
    assert {m["venues"] for m in metadata.values()} == {"binance, bybit"}
    assert _by_venue(
        settings, "SELECT venue, count(*) FROM stg.bars_5m GROUP BY venue ORDER BY venue"
    ) == [("binance", 2 * 288), ("bybit", 2 * 288)]
    assert _by_venue(
        settings,
        "SELECT DISTINCT venue, venues, venues_missing FROM mart.daily_metrics ORDER BY venue",
    ) == [("all", "binance,bybit", ""), ("binance", "binance", ""), ("bybit", "bybit", "")]
    tiers = _by_venue(settings, "SELECT count(*) FROM ref.leverage_brackets WHERE venue = 'bybit'")
    assert tiers[0][0] > 0


def test_bybit_down_binance_lands_and_the_aggregate_names_it(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, "BTCUSDT", FIRST, LAST, seed=7)
    with FakeBybitServer([]) as gone:
        url = gone.url  # a port nothing listens on once closed: connection refused
    monkeypatch.setenv("LIQMAP_BYBIT_URL", url)
    monkeypatch.setenv("LIQMAP_BYBIT_DEADLINE_S", "1")
    settings = temp_settings(
        tmp_path,
        FIRST.isoformat(),
        LAST.isoformat(),
        LIQMAP_VENUES="binance,bybit",
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
    )
    result = run_range(settings, FIRST, LAST, raise_on_error=False)
    # every step lands what it can; the run fails at its end, naming the market without rows
    failed = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failed] == ["warehouse_snapshot"]
    assert "bybit BTCUSDT: 2025-11-01..2025-11-02" in str(failed[0].event_specific_data)
    metadata = _raw_metadata(result)
    assert set(metadata) == set(RAW_ASSETS)
    for name, meta in metadata.items():
        assert meta["failed_venues"].startswith(f"bybit {DATASET_OF_ASSET[name]} "), name
        assert "BTCUSDT 2025-11-01" in meta["failed_venues"]
    assert _by_venue(settings, "SELECT venue, count(*) FROM raw.klines_1m GROUP BY venue") == [
        ("binance", 2 * 1440)
    ]
    assert _by_venue(
        settings,
        "SELECT DISTINCT venue, venues, venues_missing FROM mart.daily_metrics ORDER BY venue",
    ) == [("all", "binance", "bybit"), ("binance", "binance", "")]


@pytest.fixture(autouse=True)
def _no_bybit_env(monkeypatch):
    monkeypatch.delenv("LIQMAP_BYBIT_URL", raising=False)
    monkeypatch.delenv("LIQMAP_BYBIT_OI_SIDES", raising=False)
