"""Funding in daily operation: monthly files land after their month, days loaded meanwhile are
caught up later, and staging never carries a rate past its validity."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
from ingest_helpers import SEED, SYMBOL, hide, publish

from orchestration.assets.raw import raw_assets
from orchestration.assets.staging import stg_bars_5m
from tests.pipeline_helpers import run_chain, temp_settings
from transforms.db import warehouse
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance import DATASETS, NotYetPublished, periods_for_window
from transforms.raw.venues.binance.funding import catch_up_funding
from transforms.raw.venues.binance.loading import load_dataset
from transforms.raw.venues.binance.mirror import MirrorSource
from transforms.staging.bars import build_bars_5m

MIRROR_FIRST, MIRROR_LAST = date(2025, 10, 30), date(2025, 12, 3)
TS = "TIMESTAMP"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return generate_mirror(
        tmp_path_factory.mktemp("mirror"), SYMBOL, MIRROR_FIRST, MIRROR_LAST, SEED
    )


@pytest.fixture
def mirror(pristine, tmp_path):
    """A private copy of the mirror, so tests can hide and restore monthly files."""
    return Path(shutil.copytree(pristine, tmp_path / "mirror"))


def run_window(conn, source, start: date, end: date, first_day: date) -> list[tuple[str, int]]:
    """What the raw assets and stg_bars_5m do for one run window [start, end)."""
    caught_up: list[tuple[str, int]] = []
    for dataset in DATASETS:
        files, pending = [], []
        for period in periods_for_window(dataset, start, end):
            try:
                files.append(source.fetch(dataset, SYMBOL, period))
            except NotYetPublished:
                assert dataset == "funding", period
                pending.append(period)
        load_dataset(conn, dataset, SYMBOL, files, start, end, source.name)
        if dataset == "funding":
            caught_up += catch_up_funding(
                conn, source, SYMBOL, start, end, first_day, source.name, skip=pending
            )
    build_bars_5m(conn, SYMBOL, start, end, venue="binance")
    return caught_up


def run_days(conn, source, first: date, last: date, first_day: date) -> list:
    out = []
    day = first
    while day <= last:
        out += run_window(conn, source, day, day + timedelta(days=1), first_day)
        day += timedelta(days=1)
    return out


def state(conn) -> dict[str, list]:
    return {
        "funding": conn.execute("SELECT * FROM raw.funding ORDER BY ALL").fetchall(),
        "bars": conn.execute("SELECT * FROM stg.bars_5m ORDER BY ALL").fetchall(),
        "files": conn.execute(
            "SELECT * EXCLUDE (loaded_at) FROM raw.files ORDER BY ALL"
        ).fetchall(),
    }


def null_funding_bars(conn, lo: str, hi: str) -> tuple[int, int]:
    """(bars, bars with NULL funding) for ts in [lo, hi)."""
    return conn.execute(
        f"SELECT count(*), count(*) - count(funding_rate) FROM stg.bars_5m "
        f"WHERE ts >= {TS} '{lo}' AND ts < {TS} '{hi}'"
    ).fetchone()


def test_pending_month_is_caught_up_at_the_month_boundary(mirror, tmp_path):
    first_day = date(2025, 11, 29)
    source = MirrorSource(mirror, tmp_path / "cache")
    hide(mirror, "2025-11")
    hide(mirror, "2025-12")
    with warehouse(tmp_path / "daily.duckdb") as conn:
        # Nov 29 .. Dec 1 are loaded while November's file is not published
        assert run_days(conn, source, first_day, date(2025, 12, 1), first_day) == []
        assert conn.execute("SELECT count(*) FROM raw.funding").fetchone()[0] == 0
        assert null_funding_bars(conn, "2025-11-29", "2025-12-02") == (3 * 288, 3 * 288)
        assert (
            conn.execute("SELECT count(*) FROM raw.files WHERE dataset = 'funding'").fetchone()[0]
            == 0
        )
        # November is published; the Dec 2 partition asks only for December (still pending)
        publish(mirror, "2025-11")
        caught = run_window(conn, source, date(2025, 12, 2), date(2025, 12, 3), first_day)
        assert caught == [("2025-11", 6)]  # Nov 29 and 30, three settlements each
        # re-running is a no-op (November is recorded now)
        again = run_window(conn, source, date(2025, 12, 2), date(2025, 12, 3), first_day)
        assert again == []
        daily = state(conn)
        # Nov 29-30 filled; Dec 1 00:00-00:55 still carries Nov 30 16:00 (valid 8 h + 1 h),
        # after that NULL (December's settlements are not published), not a stale rate
        assert null_funding_bars(conn, "2025-11-29", "2025-12-01") == (2 * 288, 0)
        assert null_funding_bars(conn, "2025-12-01", "2025-12-01 01:00:00") == (12, 0)
        assert null_funding_bars(conn, "2025-12-01 01:00:00", "2025-12-03") == (276 + 288,) * 2

    clean_source = MirrorSource(mirror, tmp_path / "cache-clean")
    with warehouse(tmp_path / "clean.duckdb") as conn:
        run_window(conn, clean_source, first_day, date(2025, 12, 3), first_day)
        assert state(conn) == daily


def test_rates_never_carry_past_validity_and_gaps_are_caught_up(mirror, tmp_path):
    """A month pending for a few of its days, then published while the month is still being
    loaded day by day (the window's own month is recorded, its earlier days are not)."""
    first_day = MIRROR_FIRST
    source = MirrorSource(mirror, tmp_path / "cache")
    hide(mirror, "2025-11")
    with warehouse(tmp_path / "daily.duckdb") as conn:
        run_days(conn, source, first_day, date(2025, 11, 2), first_day)
        last_oct = conn.execute(
            "SELECT last_funding_rate FROM raw.funding WHERE calc_time = "
            f"{TS} '2025-10-31 16:00:00'"
        ).fetchone()[0]
        # the October 31 16:00 rate is valid until Nov 1 01:00, then NULL instead of stale
        carried = conn.execute(
            "SELECT DISTINCT funding_rate FROM stg.bars_5m WHERE ts >= "
            f"{TS} '2025-11-01' AND ts < {TS} '2025-11-01 01:00:00'"
        ).fetchall()
        assert carried == [(last_oct,)]
        assert null_funding_bars(conn, "2025-11-01 01:00:00", "2025-11-03") == (276 + 288,) * 2
        assert null_funding_bars(conn, "2025-10-30", "2025-11-01") == (2 * 288, 0)

        publish(mirror, "2025-11")
        caught = run_window(conn, source, date(2025, 11, 3), date(2025, 11, 4), first_day)
        assert caught == [("2025-11", 6)]  # Nov 1 and 2
        assert run_window(conn, source, date(2025, 11, 3), date(2025, 11, 4), first_day) == []
        assert null_funding_bars(conn, "2025-10-30", "2025-11-04") == (5 * 288, 0)
        daily = state(conn)

    with warehouse(tmp_path / "clean.duckdb") as conn:
        run_window(
            conn, MirrorSource(mirror, tmp_path / "c2"), first_day, date(2025, 11, 4), first_day
        )
        assert state(conn) == daily


def test_catch_up_is_clamped_to_the_configured_start(mirror, tmp_path):
    source = MirrorSource(mirror, tmp_path / "cache")
    hide(mirror, "2025-11")
    first_day = date(2025, 11, 29)
    with warehouse(tmp_path / "wh.duckdb") as conn:
        run_days(conn, source, first_day, date(2025, 11, 30), first_day)
        publish(mirror, "2025-11")
        run_window(conn, source, date(2025, 12, 1), date(2025, 12, 2), first_day)
        days = conn.execute("SELECT DISTINCT day FROM raw.funding ORDER BY day").fetchall()
    assert [d for (d,) in days] == [date(2025, 11, 29), date(2025, 11, 30), date(2025, 12, 1)]


def _materialize(settings, day: date) -> dg.ExecuteInProcessResult:
    """The raw assets and staging for one day."""
    return run_chain(settings, day, assets=[*raw_assets, stg_bars_5m])


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_dagster_raw_funding_catches_up_pending_month(mirror, tmp_path):
    hide(mirror, "2025-11")
    hide(mirror, "2025-12")
    settings = temp_settings(
        tmp_path,
        "2025-11-29",
        "2025-12-03",
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
    )
    for day in (date(2025, 11, 29), date(2025, 11, 30), date(2025, 12, 1)):
        result = _materialize(settings, day)
        assert result.success
        meta = _metadata(result, "raw_funding")
        assert meta["caught_up_months"] == "none"
        assert meta["pending_periods"] == day.strftime("%Y-%m")
    publish(mirror, "2025-11")
    result = _materialize(settings, date(2025, 12, 2))
    assert result.success
    meta = _metadata(result, "raw_funding")
    assert meta["caught_up_months"] == f"{SYMBOL} 2025-11"
    assert meta["pending_periods"] == "2025-12"
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["checksums_verified"]
    with warehouse(settings.warehouse_path, read_only=True) as conn:
        assert null_funding_bars(conn, "2025-11-29", "2025-12-01") == (2 * 288, 0)
        assert null_funding_bars(conn, "2025-12-01 01:00:00", "2025-12-03") == (276 + 288,) * 2
        assert (
            conn.execute(
                "SELECT count(*) FROM raw.funding WHERE day < DATE '2025-12-01'"
            ).fetchone()[0]
            == 6
        )
