"""The demo lives in the present: the synthetic market ends yesterday (UTC) by default, and
the schedule and sensor build recent days on it instead of waiting for an archive.

"Today" is pinned with LIQMAP_NOW (the product's clock override) wherever a test needs to
know it; the one test of the system clock brackets it (reads the date before and after)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from orchestration.automation import LAST_ASSET, daily_after_archive, late_archive_sensor
from transforms.config import DEFAULT_RANGE_DAYS, load_settings
from transforms.raw.synthetic import SyntheticSource, ensure_mirror
from transforms.raw.venues.binance.datasets import archive_relpath

CLOCK = "2026-10-04T00:20:00Z"  # just after midnight: "yesterday" must not be today's date
YESTERDAY = date(2026, 10, 3)


def _synthetic_defaults(monkeypatch, tmp_path) -> None:
    for key in ("LIQMAP_START_DATE", "LIQMAP_END_DATE", "LIQMAP_MIRROR_DIR", "LIQMAP_SYMBOLS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LIQMAP_NOW", CLOCK)
    monkeypatch.setenv("LIQMAP_SOURCE", "synthetic")
    monkeypatch.setenv("LIQMAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LIQMAP_SITE_DIR", str(tmp_path / "site"))


def test_default_range_is_the_year_ending_yesterday(tmp_path):
    settings = load_settings({"LIQMAP_DATA_DIR": str(tmp_path), "LIQMAP_NOW": CLOCK})
    assert settings.end_date == YESTERDAY
    assert (settings.end_date - settings.start_date).days == DEFAULT_RANGE_DAYS - 1
    source = SyntheticSource.from_settings(settings)
    assert (source.start, source.end) == (settings.start_date, YESTERDAY)
    pinned = load_settings({"LIQMAP_END_DATE": "2026-01-31"})
    assert pinned.start_date.isoformat() == "2025-02-01"
    # the clock is read in UTC: 00:30 at UTC+2 is still the day before in UTC
    east = load_settings({"LIQMAP_NOW": "2026-03-01T00:30:00+02:00"})
    assert east.end_date == date(2026, 2, 27)


def test_without_a_pinned_clock_yesterday_is_the_system_clocks():
    """The product default on the real clock, bracketed: a midnight between the two readings
    allows either day, and nothing else."""
    before = datetime.now(UTC).date()
    settings = load_settings({})
    after = datetime.now(UTC).date()
    assert settings.end_date in {before - timedelta(days=1), after - timedelta(days=1)}


def test_synthetic_days_are_reproducible_for_a_given_range(tmp_path):
    first = YESTERDAY - timedelta(days=1)
    for name in ("a", "b"):
        assert ensure_mirror(tmp_path / name, "BTCUSDT", first, YESTERDAY, seed=7)
    rel = archive_relpath("klines_1m", "BTCUSDT", YESTERDAY.isoformat())
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    other = tmp_path / "c"
    ensure_mirror(other, "BTCUSDT", first, YESTERDAY, seed=8)
    assert (other / rel).read_bytes() != (tmp_path / "a" / rel).read_bytes()


def test_sensor_launches_the_missing_recent_day_on_the_synthetic_source(monkeypatch, tmp_path):
    _synthetic_defaults(monkeypatch, tmp_path)
    with dg.instance_for_test() as instance:
        for age in range(2, 8):  # every recent day but yesterday is built
            day = (YESTERDAY - timedelta(days=age - 1)).isoformat()
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=LAST_ASSET, partition=day)
            )
        result = late_archive_sensor(dg.build_sensor_context(instance=instance))
    requests = list(result)
    assert [r.partition_key for r in requests] == [YESTERDAY.isoformat()]
    assert isinstance(requests[0], dg.RunRequest)


def test_sensor_with_nothing_built_requests_the_whole_recent_week(monkeypatch, tmp_path):
    _synthetic_defaults(monkeypatch, tmp_path)
    with dg.instance_for_test() as instance:
        result = late_archive_sensor(dg.build_sensor_context(instance=instance))
    keys = sorted(r.partition_key for r in result)
    assert keys == [(YESTERDAY - timedelta(days=i)).isoformat() for i in range(6, -1, -1)]


def test_schedule_builds_yesterday_on_the_synthetic_source(monkeypatch, tmp_path):
    _synthetic_defaults(monkeypatch, tmp_path)
    tick = datetime.combine(YESTERDAY + timedelta(days=1), datetime.min.time(), UTC)
    result = daily_after_archive(
        dg.build_schedule_context(scheduled_execution_time=tick.replace(hour=8, minute=45))
    )
    assert isinstance(result, dg.RunRequest)
    assert result.partition_key == YESTERDAY.isoformat()


def test_pinned_synthetic_end_is_skipped_not_awaited(monkeypatch, tmp_path):
    _synthetic_defaults(monkeypatch, tmp_path)
    monkeypatch.setenv("LIQMAP_START_DATE", "2025-11-01")
    monkeypatch.setenv("LIQMAP_END_DATE", "2025-11-05")
    with dg.instance_for_test() as instance:
        result = late_archive_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)
    assert "outside the synthetic market 2025-11-01..2025-11-05" in result.skip_message
    assert "FLAGGED" not in result.skip_message
    assert "waiting for the archive" not in result.skip_message
