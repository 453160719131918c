"""Venues that start later: a forward-collected venue (OKX: open interest kept about five days)
is modelled from its first collected day; the aggregate names it not collected before, the
page says so, and neither the model nor the run fails for it. Against the real fake OKX the
run succeeds, and over the same staged bars a range update gives the same rows as daily
updates (per venue and the aggregate)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from tests.pipeline_helpers import run_range, temp_settings
from tests.venue_helpers import PINNED_NOW, assert_range_update_equals_daily, pin_clock
from transforms.marts.coverage import collected_from, not_collected_days
from transforms.marts.update import update_marts
from transforms.model import ModelParams
from transforms.staging.bars import build_bars_5m

SYMBOL = "BTCUSDT"
FIRST, LAST = date(2025, 11, 1), date(2025, 11, 4)
MID = date(2025, 11, 3)  # OKX's first collected day in the copied warehouse
RAW_TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding")


def _copy_as_okx(conn: duckdb.DuckDBPyConnection, since: date) -> None:
    """Binance's raw rows from `since` on and its tiers, as venue 'okx', then staged."""
    for table in RAW_TABLES:
        conn.execute(
            f"INSERT INTO {table} BY NAME SELECT * REPLACE ('okx' AS venue) FROM {table} "
            "WHERE venue = 'binance' AND day >= $since",
            {"since": since},
        )
    conn.execute(
        "INSERT INTO ref.leverage_brackets BY NAME SELECT * REPLACE ('okx' AS venue) "
        "FROM ref.leverage_brackets WHERE venue = 'binance' AND symbol = $symbol",
        {"symbol": SYMBOL},
    )
    build_bars_5m(conn, SYMBOL, since, LAST + timedelta(days=1), venue="okx")


@pytest.mark.slow  # about 10 s of CPU: scheduled first, not last (docs/testing.md)
def test_aggregate_names_a_venue_that_starts_mid_window(tmp_path) -> None:
    settings = temp_settings(tmp_path, FIRST.isoformat(), (LAST + timedelta(days=1)).isoformat())
    assert run_range(settings, FIRST, LAST).success
    end = LAST + timedelta(days=1)
    conn = duckdb.connect(str(settings.warehouse_path))
    try:
        _copy_as_okx(conn, MID)
        assert collected_from(conn, "okx", SYMBOL, FIRST, end) == MID
        assert collected_from(conn, "okx", SYMBOL, FIRST, MID) is None
        assert collected_from(conn, "binance", SYMBOL, FIRST, end) == FIRST  # not forward
        update = update_marts(conn, SYMBOL, ModelParams(), FIRST, end, True, ("binance", "okx"))
        assert update.failed == {} and update.not_collected == {"okx": MID}
        rows = conn.execute(
            "SELECT day, venues, venues_missing, venues_not_collected, oi_value "
            "FROM mart.daily_metrics WHERE venue = 'all' AND scenario = 'base' ORDER BY day"
        ).fetchall()
        okx_days = conn.execute(
            "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = 'okx' ORDER BY day"
        ).fetchall()
        assert not_collected_days(conn, "okx", SYMBOL, FIRST, end) == {FIRST, FIRST + timedelta(1)}
    finally:
        conn.close()
    assert [r[0] for r in okx_days] == [MID, LAST]
    for day, venues, missing, late, _oi in rows:
        if day < MID:
            assert (venues, missing, late) == ("binance", "", "okx")
        else:
            assert (venues, missing, late) == ("binance,okx", "", "")


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_okx_starts_late_the_run_succeeds_and_range_equals_daily(tmp_path, monkeypatch) -> None:
    # six days ending yesterday by the pinned clock: the fake OKX's open interest (the latest
    # 1,440 five-minute entries before that clock) reaches only the last of them
    pin_clock(monkeypatch, PINNED_NOW)
    last = PINNED_NOW.date() - timedelta(days=1)
    first = last - timedelta(days=5)
    env = {"LIQMAP_VENUES": "binance,bybit,okx"}
    settings = temp_settings(tmp_path, first.isoformat(), last.isoformat(), **env)
    assert run_range(settings, first, last).success  # OKX's early days do not fail the run
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        late = conn.execute(
            "SELECT day FROM mart.daily_metrics WHERE venue = 'all' AND scenario = 'base' "
            "AND venues_not_collected = 'okx' ORDER BY day"
        ).fetchall()
        okx = conn.execute("SELECT min(day) FROM raw.metrics_5m WHERE venue = 'okx'").fetchone()
    finally:
        conn.close()
    assert okx[0] is not None and first < okx[0] <= last
    assert [r[0] for r in late] == [first + timedelta(days=i) for i in range((okx[0] - first).days)]
    page = (settings.output_site_dir / SYMBOL / first.isoformat() / "index.html").read_text()
    assert "OKX was not collected this day" in page
    # the model over the same staged bars: one range update = one update per day
    venues = ("binance", "bybit", "okx")
    ranged = assert_range_update_equals_daily(
        settings.warehouse_path, tmp_path, first, last, venues
    )
    for table, rows in ranged.items():
        assert set(rows["venue"]) == {*venues, "all"}, table
