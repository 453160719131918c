"""Loading raw tables and building 5-minute bars on a temp DuckDB file."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from ingest_helpers import SEED, SYMBOL, WINDOW_END, WINDOW_START, write_archive

from transforms.db import warehouse
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance import DATASETS, CorruptArchive, periods_for_window
from transforms.raw.venues.binance.loading import load_dataset
from transforms.raw.venues.binance.mirror import MirrorSource
from transforms.staging.bars import build_bars_5m

START, END = WINDOW_START, WINDOW_END + timedelta(days=1)
N_DAYS = (END - START).days
TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding", "stg.bars_5m")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return generate_mirror(tmp_path_factory.mktemp("mirror"), SYMBOL, START, WINDOW_END, SEED)


@pytest.fixture
def source(mirror, tmp_path):
    return MirrorSource(mirror, tmp_path / "cache")


def load_all(conn, source, start=START, end=END) -> dict[str, int]:
    counts = {}
    for dataset in DATASETS:
        files = [source.fetch(dataset, SYMBOL, p) for p in periods_for_window(dataset, start, end)]
        counts[dataset] = load_dataset(conn, dataset, SYMBOL, files, start, end, source.name)
    counts["bars"] = build_bars_5m(conn, SYMBOL, start, end, venue="binance")
    return counts


def snapshot(conn) -> dict[str, list]:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def test_reload_is_idempotent(source, tmp_path):
    with warehouse(tmp_path / "wh.duckdb") as conn:
        first = load_all(conn, source)
        before = snapshot(conn)
        files_before = conn.execute("SELECT count(*) FROM raw.files").fetchone()[0]
        second = load_all(conn, source)
        assert second == first
        assert snapshot(conn) == before
        assert conn.execute("SELECT count(*) FROM raw.files").fetchone()[0] == files_before
    assert first["klines_1m"] == first["mark_klines_1m"] == 1440 * N_DAYS
    assert first["metrics"] == 288 * N_DAYS  # the duplicated row is dropped
    assert first["bars"] == 288 * N_DAYS
    assert files_before == 3 * N_DAYS + 2  # two monthly funding files


def test_funding_monthly_rows_split_into_window_days(source, tmp_path):
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        rows = conn.execute(
            "SELECT day, count(*), min(calc_time), max(calc_time) FROM raw.funding "
            "GROUP BY day ORDER BY day"
        ).fetchall()
        assert [r[0] for r in rows] == [START + timedelta(days=i) for i in range(N_DAYS)]
        assert all(r[1] == 3 for r in rows)
        off_hour = conn.execute(
            "SELECT count(*) FROM raw.funding WHERE calc_time <> date_trunc('hour', calc_time) "
            "OR hour(calc_time) NOT IN (0, 8, 16)"
        ).fetchone()[0]
        assert off_hour == 0
        monthly = conn.execute(
            "SELECT period, rows FROM raw.files WHERE dataset = 'funding' ORDER BY period"
        ).fetchall()
        assert monthly == [("2025-11", 90), ("2025-12", 93)]


def test_bars_have_mark_oi_funding_and_match_klines(source, tmp_path):
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        per_day = conn.execute(
            "SELECT day, count(*), count(mark_high), count(oi_value), count(funding_rate), "
            "count(taker_ratio) FROM stg.bars_5m GROUP BY day ORDER BY day"
        ).fetchall()
        assert all(r[1:] == (288,) * 5 for r in per_day) and len(per_day) == N_DAYS
        bar = conn.execute(
            "SELECT open, high, low, close, volume FROM stg.bars_5m "
            "WHERE ts = TIMESTAMP '2025-11-27 10:05:00'"
        ).fetchone()
        k = conn.execute(
            "SELECT arg_min(open, open_time), max(high), min(low), arg_max(close, open_time), "
            "sum(volume) FROM raw.klines_1m WHERE open_time >= TIMESTAMP '2025-11-27 10:05:00' "
            "AND open_time < TIMESTAMP '2025-11-27 10:10:00'"
        ).fetchone()
        assert bar == pytest.approx(k)
        # OI is as of the bar close: the 10:10 snapshot lands on the 10:05 bar
        oi = conn.execute(
            "SELECT sum_open_interest_value FROM raw.metrics_5m "
            "WHERE create_time = TIMESTAMP '2025-11-27 10:10:00'"
        ).fetchone()[0]
        assert conn.execute(
            "SELECT oi_value FROM stg.bars_5m WHERE ts = TIMESTAMP '2025-11-27 10:05:00'"
        ).fetchone()[0] == pytest.approx(oi)
        # funding as of 07:55 is the 00:00 settlement, as of 08:00 the 08:00 one
        f = dict(
            conn.execute(
                "SELECT calc_time, last_funding_rate FROM raw.funding WHERE day = DATE '2025-11-27'"
            ).fetchall()
        )
        got = dict(
            conn.execute(
                "SELECT ts, funding_rate FROM stg.bars_5m WHERE ts IN "
                "(TIMESTAMP '2025-11-27 07:55:00', TIMESTAMP '2025-11-27 08:00:00')"
            ).fetchall()
        )
        t0, t8 = sorted(f)[:2]
        assert got[t8 - timedelta(minutes=5)] == f[t0] and got[t8] == f[t8]
        assert (
            conn.execute(
                "SELECT count(*) FROM stg.bars_5m WHERE mark_high < mark_low OR high < low "
                "OR abs(mark_close / close - 1) > 0.01"
            ).fetchone()[0]
            == 0
        )


def test_partial_window_keeps_other_days(source, tmp_path):
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        day = START + timedelta(days=2)
        counts = load_all(conn, source, day, day + timedelta(days=1))
        assert counts["klines_1m"] == 1440 and counts["bars"] == 288
        assert conn.execute("SELECT count(*) FROM raw.klines_1m").fetchone()[0] == 1440 * N_DAYS
        assert conn.execute("SELECT count(*) FROM raw.funding").fetchone()[0] == 3 * N_DAYS
        assert conn.execute("SELECT count(*) FROM stg.bars_5m").fetchone()[0] == 288 * N_DAYS
        # funding for the first bar of the day comes from the raw table, not only the day
        assert (
            conn.execute("SELECT count(*) FROM stg.bars_5m WHERE funding_rate IS NULL").fetchone()[
                0
            ]
            == 0
        )


def test_corrupt_file_aborts_before_any_write(source, tmp_path):
    bad_root = tmp_path / "bad"
    day = date(2025, 11, 26)
    rel = f"daily/klines/{SYMBOL}/1m/{SYMBOL}-1m-{day}.zip"
    write_archive(bad_root, rel, f"{SYMBOL}-1m-{day}.csv", "open_time,open\n1,2\n")
    bad = MirrorSource(bad_root, tmp_path / "cache-bad").fetch("klines_1m", SYMBOL, day.isoformat())
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        before = snapshot(conn)
        good = [
            source.fetch("klines_1m", SYMBOL, p)
            for p in periods_for_window("klines_1m", START, END)
        ]
        with pytest.raises(CorruptArchive, match="header"):
            load_dataset(conn, "klines_1m", SYMBOL, [*good[1:], bad], START, END, "mirror")
        assert snapshot(conn) == before


def test_empty_file_list_keeps_the_window(source, tmp_path):
    """Only days an accepted file covers are replaced: no file, nothing deleted."""
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        before = snapshot(conn)
        assert load_dataset(conn, "metrics", SYMBOL, [], START, START + timedelta(days=1), "x") == 0
        assert snapshot(conn) == before


def test_metrics_are_taken_at_the_bar_close(source, tmp_path):
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_all(conn, source)
        metrics = dict(
            conn.execute(
                "SELECT create_time, (sum_open_interest, sum_open_interest_value, "
                "sum_taker_long_short_vol_ratio) FROM raw.metrics_5m"
            ).fetchall()
        )
        bars = dict(
            conn.execute("SELECT ts, (oi_base, oi_value, taker_ratio) FROM stg.bars_5m").fetchall()
        )
        day = date(2025, 11, 27)
        midnight = datetime(day.year, day.month, day.day)
        five = timedelta(minutes=5)
        # the 00:05 snapshot lands on the 00:00 bar (OI change on a bar happened during it)
        assert bars[midnight] == metrics[midnight + five]
        # the last bar of a day takes the next day's 00:00 snapshot
        assert bars[midnight - five] == metrics[midnight]
        # every bar whose close has a snapshot uses exactly that one
        assert all(bars[ts] == metrics[ts + five] for ts in bars if ts + five in metrics)
        # the window's very last bar falls back to the latest snapshot at or before its close
        last = max(bars)
        assert last + five not in metrics
        assert bars[last] == metrics[max(t for t in metrics if t <= last + five)]


def test_day_by_day_build_equals_range_build(source, tmp_path):
    with warehouse(tmp_path / "range.duckdb") as conn:
        load_all(conn, source)
        ranged = snapshot(conn)
    with warehouse(tmp_path / "daily.duckdb") as conn:
        for i in range(N_DAYS):
            day = START + timedelta(days=i)
            load_all(conn, source, day, day + timedelta(days=1))
        daily = snapshot(conn)
    assert daily == ranged
