"""The code location loads, follows the orchestration rules, and automation decides right."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration.automation import daily_after_archive, late_archive_sensor
from orchestration.definitions import ALL_ASSETS, defs
from orchestration.partitions import daily_partitions
from tests.pipeline_helpers import run_chain
from transforms.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[1]


def test_definitions_load_and_share_one_partitioning():
    dg.Definitions.validate_loadable(defs)
    for asset in ALL_ASSETS:
        assert asset.partitions_def is daily_partitions, asset.keys
        assert asset.backfill_policy == dg.BackfillPolicy.single_run(), asset.keys
    assert daily_after_archive.default_status == dg.DefaultScheduleStatus.RUNNING
    assert late_archive_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_definitions_load_without_the_site_code():
    """A process that loads the code location (a run worker, the code server) imports the
    site's code (reports: Jinja2, Altair) only when a step builds the site."""
    probe = (
        "import sys, orchestration.definitions; "
        "print(sorted(m for m in ('altair', 'jinja2', 'reports') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_dg_check_defs_passes(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [Path(sys.executable).parent / "dg", "check", "defs"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


@pytest.mark.parametrize("bad", ["../etc", "BTC;DROP", "btcusdt", "BTC USDT", "B"])
def test_symbols_are_validated(bad):
    with pytest.raises(ConfigError):
        load_settings({"LIQMAP_SYMBOLS": bad})


def test_unknown_source_is_rejected():
    with pytest.raises(ConfigError, match="LIQMAP_SOURCE"):
        load_settings({"LIQMAP_SOURCE": "ftp"})


def _use_env(monkeypatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_schedule_waits_visibly_until_the_day_is_published(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _use_env(
        monkeypatch,
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
    )
    tick = datetime(2026, 3, 10, 8, 45, tzinfo=UTC)
    result = daily_after_archive(dg.build_schedule_context(scheduled_execution_time=tick))
    assert isinstance(result, dg.SkipReason)
    assert "waiting for the archive to publish 2026-03-09" in result.skip_message

    from transforms.raw.synthetic import generate_mirror

    generate_mirror(mirror, "BTCUSDT", date(2026, 3, 9), date(2026, 3, 9), seed=1)
    result = daily_after_archive(dg.build_schedule_context(scheduled_execution_time=tick))
    assert isinstance(result, dg.RunRequest)
    assert result.partition_key == "2026-03-09"


# The sensors' "today", fixed: a run across midnight must not change the days they look at.
TODAY = date(2026, 3, 10)


def _fix_today(monkeypatch) -> None:
    monkeypatch.setattr("orchestration.automation._today", lambda: TODAY)


def test_sensor_flags_days_missing_for_long(monkeypatch, tmp_path):
    _fix_today(monkeypatch)
    _use_env(
        monkeypatch,
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(tmp_path / "empty"),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
    )
    with dg.instance_for_test() as instance:
        result = late_archive_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)
    oldest = (TODAY - timedelta(days=7)).isoformat()
    assert f"FLAGGED: still missing 7 days later; waiting for the archive to publish {oldest}" in (
        result.skip_message
    )


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_sensor_retries_a_failed_day_then_flags_it(monkeypatch, tmp_path):
    """A published day whose run failed (here: a corrupt zip in the mirror) is requested again
    with a new run key, and flagged after MAX_FAILED_RUNS failures."""
    from orchestration.automation import MAX_FAILED_RUNS
    from transforms.raw.synthetic import generate_mirror
    from transforms.raw.venues.binance import archive_relpath

    _fix_today(monkeypatch)
    day = TODAY - timedelta(days=2)
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, "BTCUSDT", day, day, seed=3)
    broken = mirror / archive_relpath("klines_1m", "BTCUSDT", day.isoformat())
    broken.write_bytes(broken.read_bytes()[:-40])
    _use_env(
        monkeypatch,
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
        LIQMAP_SITE_DIR=str(tmp_path / "site"),
    )
    with dg.instance_for_test() as instance:
        run_keys = []
        for _ in range(MAX_FAILED_RUNS):
            result = late_archive_sensor(dg.build_sensor_context(instance=instance))
            request = next(r for r in result if r.partition_key == day.isoformat())
            run_keys.append(request.run_key)
            failed = run_chain(load_settings(), day, instance=instance, raise_on_error=False)
            assert not failed.success
        assert len(set(run_keys)) == MAX_FAILED_RUNS
        result = late_archive_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason)  # the other days are not in the mirror
    assert f"FLAGGED: {day.isoformat()} failed {MAX_FAILED_RUNS} runs" in result.skip_message
