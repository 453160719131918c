"""Hyperliquid through the whole chain offline: the four demo venues against their fake
servers (Hyperliquid replaying daily collection: candles fetched the morning after each day,
the window's minute samples written as `liqmap collect` would), a day whose samples have a gap
loaded partial and named, and over the same staged bars one range update = daily updates."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from tests.pipeline_helpers import run_range, temp_settings
from tests.venue_helpers import PINNED_NOW, assert_range_update_equals_daily, pin_clock
from transforms.raw.venues.hyperliquid.feed import shadow_market, write_demo_samples
from transforms.raw.venues.hyperliquid.samples import samples_root

SYMBOL = "BTCUSDT"
VENUES = ("binance", "bybit", "okx", "hyperliquid")


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_four_venues_offline_with_a_sample_gap_and_range_equals_daily(tmp_path, monkeypatch):
    pin_clock(monkeypatch, PINNED_NOW)  # three days ending yesterday by the pinned clock
    last = PINNED_NOW.date() - timedelta(days=1)
    first = last - timedelta(days=2)
    gap_day = first + timedelta(days=1)
    env = {"LIQMAP_VENUES": ",".join(VENUES)}
    settings = temp_settings(tmp_path, first.isoformat(), last.isoformat(), **env)
    # the samples of the window, then one hour of the middle day lost (a collector outage)
    root = samples_root(settings.data_dir)
    days = [first + timedelta(days=i) for i in range(3)]
    assert write_demo_samples(root, [shadow_market(settings, SYMBOL)], days) == 3
    (root / gap_day.isoformat() / "10.jsonl").unlink()
    (root / gap_day.isoformat() / "coverage.jsonl").write_text("")
    assert run_range(settings, first, last).success
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        oi = conn.execute(
            "SELECT day, count(*) FROM raw.metrics_5m WHERE venue = 'hyperliquid' "
            "GROUP BY day ORDER BY day"
        ).fetchall()
        klines = conn.execute(
            "SELECT count(*) FROM raw.klines_1m WHERE venue = 'hyperliquid'"
        ).fetchone()
        verified = conn.execute(
            "SELECT period FROM raw.files WHERE venue = 'hyperliquid' AND dataset = 'metrics' "
            "ORDER BY period"
        ).fetchall()
        venues = conn.execute(
            "SELECT DISTINCT venue FROM mart.daily_metrics ORDER BY venue"
        ).fetchall()
    finally:
        conn.close()
    assert oi == [(first, 288), (gap_day, 288 - 12), (last, 288)]  # the lost hour not filled
    assert klines[0] == 3 * 1440
    assert [r[0] for r in verified] == [first.isoformat(), last.isoformat()]  # gap day: partial
    assert {r[0] for r in venues} == {*VENUES, "all"}
    ranged = assert_range_update_equals_daily(
        settings.warehouse_path, tmp_path, first, last, VENUES
    )
    for table, rows in ranged.items():
        assert "hyperliquid" in set(rows["venue"]) or table == "mart.moves", table
