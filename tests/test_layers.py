"""The rules that moved out of the Dagster layer, exercised without Dagster: a raw window
ingest on a real mirror and warehouse, staging's completeness check, the registries, the
swing-day rule and atomic writes."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from ingest_helpers import SEED, SYMBOL, make_settings

from transforms.atomic import atomic_write_bytes, atomic_write_text
from transforms.db import warehouse
from transforms.marts.registry import MART_ASSETS, MARTS, REALIZED_MART_ASSETS
from transforms.marts.store import moves_by_day
from transforms.raw.ingest import WaitingForArchive, ingest_window
from transforms.raw.quality import check_names
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance.datasets import (
    DAILY_DATASETS,
    DATASETS,
    MONTHLY_DATASETS,
    archive_relpath,
)
from transforms.rules import NS_PER_DAY, swing_day_ns
from transforms.staging import build_bars_5m, incomplete_bar_days

LOG = logging.getLogger("test_layers")
D0, D1 = date(2025, 11, 26), date(2025, 11, 29)  # three days, inside one funding month


@pytest.fixture
def mirror_settings(tmp_path):
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    settings = make_settings(tmp_path, source="mirror", mirror_dir=mirror)
    return settings, mirror


def _connect(settings):
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    return connect


def test_ingest_window_loads_checks_and_is_idempotent(mirror_settings):
    settings, _ = mirror_settings
    first = ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
    again = ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
    assert first.rows == again.rows == 3 * 1440 and first.files == 3
    assert {o.name for o in first.outcomes} == set(check_names("klines_1m"))
    assert all(o.passed for o in first.outcomes), [o.describe() for o in first.outcomes]
    with warehouse(settings.warehouse_path, read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.klines_1m").fetchone()[0] == 3 * 1440


def test_ingest_window_waits_for_a_missing_daily_file(mirror_settings):
    settings, mirror = mirror_settings
    (mirror / archive_relpath("metrics", SYMBOL, "2025-11-28")).unlink()
    with pytest.raises(WaitingForArchive) as err:
        ingest_window(_connect(settings), settings, "metrics", D0, D1, LOG)
    assert err.value.period == "2025-11-28" and "not published yet" in str(err.value)
    assert not settings.warehouse_path.exists()  # nothing was loaded


def test_ingest_window_records_a_pending_funding_month(mirror_settings):
    settings, mirror = mirror_settings
    (mirror / archive_relpath("funding", SYMBOL, "2025-11")).unlink()
    result = ingest_window(_connect(settings), settings, "funding", D0, D1, LOG)
    assert result.pending == ["2025-11"] and result.rows == 0


def test_incomplete_bar_days_names_each_short_day(mirror_settings):
    settings, _ = mirror_settings
    for name in DATASETS:
        ingest_window(_connect(settings), settings, name, D0, D1, LOG)
    with warehouse(settings.warehouse_path) as conn:
        build_bars_5m(conn, SYMBOL, D0, D1, venue="binance")
        assert incomplete_bar_days(conn, SYMBOL, D0, D1, venue="binance") == []
        conn.execute(
            "DELETE FROM stg.bars_5m WHERE ts >= TIMESTAMP '2025-11-27 23:00:00' "
            "AND ts < TIMESTAMP '2025-11-28 00:00:00'"
        )
        conn.execute(
            "UPDATE stg.bars_5m SET mark_low = NULL WHERE ts = TIMESTAMP '2025-11-28 12:00:00'"
        )
        lines = incomplete_bar_days(conn, SYMBOL, D0, D1, venue="binance")
    assert lines == [
        f"binance {SYMBOL} 2025-11-27: 276 bars, 276 mark, 276 OI",
        f"binance {SYMBOL} 2025-11-28: 288 bars, 287 mark, 288 OI",
    ]


def test_registries_derive_the_lists():
    assert tuple(DATASETS) == ("klines_1m", "mark_klines_1m", "metrics", "funding")
    assert {"funding"} == MONTHLY_DATASETS and "funding" not in DAILY_DATASETS
    assert [DATASETS[d].table for d in DAILY_DATASETS] == [
        "raw.klines_1m",
        "raw.mark_klines_1m",
        "raw.metrics_5m",
    ]
    assert MART_ASSETS == (
        "liq_heatmap",
        "liq_map",
        "liq_layer_map",
        "liq_layer_heatmap",
        "daily_metrics",
        "moves",
        "price_hourly",
    )
    assert "model_params" in MARTS and not MARTS["model_params"].asset
    assert REALIZED_MART_ASSETS == (
        "realized_daily",
        "realized_hourly",
        "realized_moves",
        "realized_calibration",
    )


def test_swing_day_rule_is_the_same_in_numpy_and_in_the_store():
    day = pd.Timestamp("2026-01-05").value
    confirmed = np.array([True, True, False])
    conf_ns = np.array([day + 3_600 * 10**9, day + NS_PER_DAY + 1, 0], dtype=np.int64)
    last = day + 2 * NS_PER_DAY
    assert swing_day_ns(confirmed, conf_ns, last).tolist() == [day, day + NS_PER_DAY, last]
    moves = pd.DataFrame(
        {
            "confirmed": confirmed,
            "confirmed_ts": pd.to_datetime([conf_ns[0], conf_ns[1], None]),
        }
    )
    got = moves_by_day(moves, date(2026, 1, 5), date(2026, 1, 8))
    assert got["day"].tolist() == [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]
    only_first = moves_by_day(moves, date(2026, 1, 5), date(2026, 1, 6))
    assert only_first["day"].tolist() == [date(2026, 1, 5), date(2026, 1, 5)]


def test_atomic_write_replaces_whole_files_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "page.html"
    atomic_write_text(target, "first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)

    class Boom(Exception):
        pass

    real_replace = os.replace

    def failing_replace(src, dst):
        raise Boom

    os.replace = failing_replace
    try:
        with pytest.raises(Boom):
            atomic_write_bytes(target, b"third")
    finally:
        os.replace = real_replace
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]


def test_funding_lookback_reaches_staging_sql():
    from transforms.db import sql_file
    from transforms.rules import FUNDING_LOOKBACK, FUNDING_LOOKBACK_DAYS

    sql = sql_file("stg_bars_5m.sql")
    assert "40" not in sql and sql.count("$lookback_days") >= 2
    assert timedelta(days=FUNDING_LOOKBACK_DAYS) == FUNDING_LOOKBACK
