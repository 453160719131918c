"""Bybit into the raw tables: a real warehouse, the Binance mirror beside it, and Bybit served
in its exact wire format by a real local server (FakeBybitServer) on 127.0.0.1."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from ingest_helpers import SEED, SYMBOL, make_settings

from tests.wall_clock import clear_of_midnight
from transforms.db import warehouse
from transforms.raw import fetch_ahead
from transforms.raw.ingest import VenuesFailed, ingest_window
from transforms.raw.quality import FILES_CHECK, FILES_VALID_CHECK, check_files_verified
from transforms.raw.synthetic import generate_mirror
from transforms.raw.tables import TABLES as DATASETS
from transforms.raw.venues.bybit.fake_server import FakeBybitServer, Fault
from transforms.raw.venues.bybit.feed import shadow_market
from transforms.raw.venues.bybit.source import BybitSource

LOG = logging.getLogger("test_bybit_raw")
D0, D1 = date(2025, 11, 26), date(2025, 11, 29)  # three days [D0, D1)
DAYS = [D0 + timedelta(days=i) for i in range(3)]
KLINE = "/v5/market/kline"
TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding")
PER_DAY = {"raw.klines_1m": 1440, "raw.mark_klines_1m": 1440, "raw.metrics_5m": 288}
ORDER_BY = {
    "raw.klines_1m": "open_time",
    "raw.mark_klines_1m": "open_time",
    "raw.metrics_5m": "create_time",
    "raw.funding": "calc_time",
}


@pytest.fixture(autouse=True)
def quick_bybit(monkeypatch):
    """Short deadlines so a server that is gone fails the test in about a second."""
    monkeypatch.setenv("LIQMAP_BYBIT_DEADLINE_S", "1.5")
    monkeypatch.setenv("LIQMAP_BYBIT_BAN_BACKOFF_S", "600")
    monkeypatch.delenv("LIQMAP_BYBIT_OI_SIDES", raising=False)


@pytest.fixture
def mirror_settings(tmp_path):
    """Binance from a mirror folder (the synthetic market's files); Bybit from LIQMAP_BYBIT_URL."""
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    return make_settings(tmp_path, source="mirror", mirror_dir=mirror, venues=("binance", "bybit"))


@pytest.fixture
def bybit(mirror_settings, monkeypatch):
    """The synthetic market's Bybit shadow, served on 127.0.0.1 as LIQMAP_BYBIT_URL."""
    with FakeBybitServer([shadow_market(mirror_settings, SYMBOL)]) as server:
        monkeypatch.setenv("LIQMAP_BYBIT_URL", server.url)
        yield server


def _connect(settings):
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    return connect


def _ingest_all(settings, venues=None):
    if venues is not None:
        settings = _with(settings, venues=venues)
    return {
        name: ingest_window(_connect(settings), settings, name, D0, D1, LOG) for name in DATASETS
    }


def _with(settings, **changes):
    import dataclasses

    return dataclasses.replace(settings, **changes)


def _rows(settings, table: str, venue: str) -> list[tuple]:
    with warehouse(settings.warehouse_path) as conn:
        return conn.execute(
            f"SELECT * FROM {table} WHERE venue = ? ORDER BY symbol, {ORDER_BY[table]}", [venue]
        ).fetchall()


def _per_day(settings, table: str, venue: str) -> dict[date, int]:
    with warehouse(settings.warehouse_path) as conn:
        return dict(
            conn.execute(
                f"SELECT day, count(*) FROM {table} WHERE venue = ? GROUP BY day", [venue]
            ).fetchall()
        )


def _cache_files(settings, dataset: str) -> list[str]:
    root = settings.cache_dir / "bybit" / dataset
    return sorted(p.name for p in root.rglob("*.json")) if root.exists() else []


def test_bybit_days_land_beside_binance_and_rerun_is_identical(mirror_settings, bybit):
    binance_only = _ingest_all(mirror_settings, venues=("binance",))
    assert all(not r.failed_venues for r in binance_only.values())
    binance_before = {t: _rows(mirror_settings, t, "binance") for t in TABLES}

    started = datetime.now(UTC).date()  # the tiers are dated the day they are fetched
    results = _ingest_all(mirror_settings)
    for name, result in results.items():
        assert result.failed_venues == {}, name
        failing = [o.describe() for o in result.outcomes if not o.passed]
        assert failing == [], name
    for table, expected in PER_DAY.items():
        assert _per_day(mirror_settings, table, "bybit") == dict.fromkeys(DAYS, expected)
    assert _per_day(mirror_settings, "raw.funding", "bybit") == dict.fromkeys(DAYS, 3)
    # Binance rows untouched by the other venue's load
    assert {t: _rows(mirror_settings, t, "binance") for t in TABLES} == binance_before

    with warehouse(mirror_settings.warehouse_path) as conn:
        files = conn.execute(
            "SELECT dataset, count(*), min(source), min(relpath) FROM raw.files "
            "WHERE venue = 'bybit' GROUP BY dataset ORDER BY dataset"
        ).fetchall()
        assert [(d, n, s) for d, n, s, _ in files] == [(d, 3, "bybit") for d in sorted(DATASETS)]
        assert dict((d, r) for d, _, _, r in files)["metrics"] == (
            f"open_interest_5m/{SYMBOL}/{SYMBOL}-open_interest_5m-{D0}.json"
        )
        for name in DATASETS:
            outcome = check_files_verified(
                conn,
                name,
                SYMBOL,
                [d.isoformat() for d in DAYS],
                mirror_settings.cache_dir,
                venue="bybit",
            )
            assert outcome.passed, outcome.describe()
        # klines: turnover as quote volume, Binance's close_time convention, no trade counts
        k = conn.execute(
            "SELECT count(*) FILTER (WHERE close_time <> open_time + INTERVAL 59999 MILLISECOND),"
            " count(trade_count), count(taker_buy_volume), count(quote_volume) "
            "FROM raw.klines_1m WHERE venue = 'bybit'"
        ).fetchone()
        assert k == (0, 0, 0, 3 * 1440)
        # OI value = per-side OI x Bybit close of the minute before (first 00:00: its open)
        bad_value = conn.execute(
            """
            SELECT count(*) FROM raw.metrics_5m m
            LEFT JOIN raw.klines_1m prev ON prev.venue = 'bybit' AND prev.symbol = m.symbol
                 AND prev.open_time = m.create_time - INTERVAL 1 MINUTE
            JOIN raw.klines_1m cur ON cur.venue = 'bybit' AND cur.symbol = m.symbol
                 AND cur.open_time = m.create_time
            WHERE m.venue = 'bybit' AND abs(m.sum_open_interest_value
                  - m.sum_open_interest * coalesce(prev.close, cur.open)) > 1e-6
            """
        ).fetchone()[0]
        assert bad_value == 0
        ratios = conn.execute(
            "SELECT count(sum_taker_long_short_vol_ratio) FROM raw.metrics_5m WHERE venue='bybit'"
        ).fetchone()[0]
        assert ratios == 0
        funding = conn.execute(
            "SELECT count(*) FILTER (WHERE calc_time <> date_trunc('hour', calc_time)), "
            "min(funding_interval_hours), max(funding_interval_hours) "
            "FROM raw.funding WHERE venue = 'bybit'"
        ).fetchone()
        assert funding == (0, 8, 8)
        # today's risk-limit tiers, once, as dated bybit brackets
        tiers = conn.execute(
            "SELECT effective_date, count(*) FROM ref.leverage_brackets "
            "WHERE venue = 'bybit' AND symbol = ? GROUP BY effective_date",
            [SYMBOL],
        ).fetchall()
        assert tiers in ([(started, 10)], [(datetime.now(UTC).date(), 10)])  # midnight-proof

    bybit_first = {t: _rows(mirror_settings, t, "bybit") for t in TABLES}
    requests = bybit.requests
    _ingest_all(mirror_settings)  # re-run: same rows, no duplicates, nothing fetched again
    assert {t: _rows(mirror_settings, t, "bybit") for t in TABLES} == bybit_first
    assert {t: _rows(mirror_settings, t, "binance") for t in TABLES} == binance_before
    assert bybit.requests == requests
    with warehouse(mirror_settings.warehouse_path) as conn:
        assert conn.execute("SELECT count(*) FROM raw.files WHERE venue = 'bybit'").fetchone() == (
            12,
        )
        assert conn.execute(
            "SELECT count(*) FROM ref.leverage_brackets WHERE venue = 'bybit'"
        ).fetchone() == (10,)


def _retcode() -> Fault:  # a Fault counts its uses down: one per case
    return Fault("retcode", KLINE, ret_code=10001, ret_msg="params error", after=3)


@pytest.mark.parametrize(
    "fault, reason, ahead",
    [
        (Fault("status", KLINE, status=403, body=b"access too frequent", after=3), "HTTP 403", 0),
        (_retcode(), "retCode 10001", 0),
        (Fault("truncate", KLINE, after=3), "truncated or invalid JSON", 0),
        (Fault("status", KLINE, status=451, body=b"restricted", times=50, after=3), "451", 0),
        # fetched ahead by the child: its one failure is the ingest's (sent, not fetched again)
        (_retcode(), "retCode 10001", 2),
    ],
    ids=["ban-403", "retcode", "truncated-json", "http-451", "retcode-fetched-ahead"],
)
def test_bybit_failure_loads_nothing_of_the_day_and_binance_lands(
    mirror_settings, bybit, fault, reason, ahead, monkeypatch
):
    monkeypatch.setenv(fetch_ahead.ENV, str(ahead))
    bybit.add_fault(fault)  # day 1 (2 pages) and day 2's first page succeed, then the fault
    result = ingest_window(_connect(mirror_settings), mirror_settings, "klines_1m", D0, D1, LOG)
    line = result.failed_venues["bybit"]
    assert f"bybit klines_1m {SYMBOL} {DAYS[1]}" in line and reason in line
    assert "binance" not in result.failed_venues
    assert _per_day(mirror_settings, "raw.klines_1m", "bybit") == {DAYS[0]: 1440}
    assert _per_day(mirror_settings, "raw.klines_1m", "binance") == dict.fromkeys(DAYS, 1440)
    assert _cache_files(mirror_settings, "klines_1m") == [f"{SYMBOL}-klines_1m-{DAYS[0]}.json"]
    valid = [o for o in result.outcomes if o.name == FILES_VALID_CHECK and not o.passed]
    assert valid and reason in valid[0].describe()
    files = [o for o in result.outcomes if o.name == FILES_CHECK]
    assert files and all(o.passed for o in files)  # the loaded day is verified


def test_bybit_down_binance_lands_and_bybit_alone_raises(mirror_settings, bybit, monkeypatch):
    bybit.close()  # connection refused
    result = ingest_window(_connect(mirror_settings), mirror_settings, "klines_1m", D0, D1, LOG)
    assert f"bybit klines_1m {SYMBOL} {D0}" in result.failed_venues["bybit"]
    assert _per_day(mirror_settings, "raw.klines_1m", "bybit") == {}
    assert _per_day(mirror_settings, "raw.klines_1m", "binance") == dict.fromkeys(DAYS, 1440)
    alone = _with(mirror_settings, venues=("bybit",))
    with pytest.raises(VenuesFailed, match=f"bybit klines_1m {SYMBOL} {D0}"):
        ingest_window(_connect(alone), alone, "klines_1m", D0, D1, LOG)


def test_a_venue_wide_failure_skips_the_other_symbols(mirror_settings, bybit):
    settings = _with(mirror_settings, symbols=(SYMBOL, "ETHUSDT"), venues=("bybit",))
    bybit.add_fault(Fault("status", KLINE, status=403, body=b"access too frequent"))
    with pytest.raises(VenuesFailed) as info:
        ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
    assert "ETHUSDT: skipped" in str(info.value) and "HTTP 403" in str(info.value)
    assert bybit.requests == 1  # banned: nothing more was sent


def test_oi_sides_setting_halves_or_keeps_the_stored_open_interest(
    mirror_settings, bybit, monkeypatch
):
    _ingest_all(mirror_settings)
    market = bybit.markets[SYMBOL]
    # the demo Bybit's per-side OI is its own share of Binance's, moving day to day
    share = dict(
        zip(market.open_interest[:, 0].astype(np.int64), market.open_interest[:, 2], strict=True)
    )
    reported = dict(
        zip(market.open_interest[:, 0].astype(np.int64), market.open_interest[:, 1], strict=True)
    )

    def stored() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per 5-min point: (Bybit stored, Binance stored, epoch ms)."""
        with warehouse(mirror_settings.warehouse_path) as conn:
            rows = conn.execute(
                "SELECT y.sum_open_interest, b.sum_open_interest, epoch_ms(create_time) "
                "FROM raw.metrics_5m y JOIN raw.metrics_5m b USING (symbol, create_time) "
                "WHERE y.venue = 'bybit' AND b.venue = 'binance' ORDER BY create_time"
            ).fetchall()
        y, b, t = (np.array(c) for c in zip(*rows, strict=True))
        return y, b, t.astype(np.int64)

    y, b, t = stored()
    assert len(y) == 3 * 288
    per_side = np.array([share[k] for k in t])
    as_reported = np.array([reported[k] for k in t])
    np.testing.assert_allclose(as_reported, 2 * per_side, rtol=1e-12)  # served as both sides
    np.testing.assert_allclose(y, per_side, rtol=1e-9)  # Bybit reports both sides: halved
    assert np.ptp(y / b) > 0.01  # the share of Binance's OI moves (not one constant)
    monkeypatch.setenv("LIQMAP_BYBIT_OI_SIDES", "one")
    requests = bybit.requests
    ingest_window(_connect(mirror_settings), mirror_settings, "metrics", D0, D1, LOG)
    y_one, b_one, t_one = stored()
    np.testing.assert_array_equal(t_one, t)
    np.testing.assert_allclose(y_one, as_reported, rtol=1e-9)  # read as one side: kept
    np.testing.assert_allclose(y_one / b_one, 2 * y / b, rtol=1e-9)
    assert bybit.requests == requests  # the same cached pages, read another way


def test_metrics_without_bybit_klines_are_refused(mirror_settings, bybit):
    settings = _with(mirror_settings, venues=("bybit",))
    with pytest.raises(VenuesFailed, match=f"bybit metrics {SYMBOL} {D0}: 288 open-interest"):
        ingest_window(_connect(settings), settings, "metrics", D0, D1, LOG)
    assert _per_day(settings, "raw.metrics_5m", "bybit") == {}


def test_day_in_progress_loads_but_is_not_recorded_verified(tmp_path, monkeypatch):
    # the source decides "in progress" on the system clock: a midnight mid-test would make
    # `today` a final day, cached and recorded
    clear_of_midnight()
    today = datetime.now(UTC).date()
    settings = make_settings(
        tmp_path,
        source="mirror",
        mirror_dir=tmp_path,
        venues=("bybit",),
        start_date=today - timedelta(days=1),
        end_date=today,
    )
    with FakeBybitServer([shadow_market(settings, SYMBOL)]) as server:
        monkeypatch.setenv("LIQMAP_BYBIT_URL", server.url)
        connect = _connect(settings)
        result = ingest_window(connect, settings, "klines_1m", today, today + timedelta(1), LOG)
    assert result.provisional == [f"bybit {SYMBOL} {today}"]
    assert _per_day(settings, "raw.klines_1m", "bybit")[today] > 0
    with warehouse(settings.warehouse_path) as conn:
        assert conn.execute("SELECT count(*) FROM raw.files").fetchone() == (0,)
    assert _cache_files(settings, "klines_1m") == []  # never cached as final


def _not_here(*args, **kwargs):
    raise AssertionError(f"a Bybit day fetched by this process, not the child: {args[1:]}")


def test_synthetic_demo_builds_both_venues_from_one_market(tmp_path, monkeypatch):
    settings = make_settings(tmp_path, venues=("binance", "bybit"))
    # Bybit's days fetched ahead by the child process while Binance loads: this process may
    # not fetch one itself, so every Bybit day loaded came from the child
    monkeypatch.setenv(fetch_ahead.ENV, "2")
    with monkeypatch.context() as m:
        m.setattr(BybitSource, "fetch_day", _not_here)
        results = _ingest_all(settings)
    assert all(not r.failed_venues for r in results.values())
    for table, expected in PER_DAY.items():
        assert _per_day(settings, table, "bybit") == dict.fromkeys(DAYS, expected)
        assert _per_day(settings, table, "binance") == dict.fromkeys(DAYS, expected)
    with warehouse(settings.warehouse_path) as conn:
        share = np.array(
            conn.execute(
                "SELECT y.sum_open_interest / b.sum_open_interest FROM raw.metrics_5m y "
                "JOIN raw.metrics_5m b USING (symbol, create_time) "
                "WHERE y.venue = 'bybit' AND b.venue = 'binance' ORDER BY create_time"
            ).fetchall()
        ).ravel()
        basis = conn.execute(
            "SELECT max(abs(y.close / b.close - 1)) FROM raw.klines_1m y "
            "JOIN raw.klines_1m b USING (symbol, open_time) "
            "WHERE y.venue = 'bybit' AND b.venue = 'binance'"
        ).fetchone()[0]
    assert len(share) == 3 * 288
    # around the demo's share, moving day to day and within the day (Bybit's own flow)
    assert 0.6 * np.exp(-0.6) < share.min() and share.max() < 0.6 * np.exp(0.6)
    daily = share.reshape(3, 288).mean(axis=1)
    assert np.ptp(daily) > 0.005 and np.ptp(share) > 0.01, (daily, np.ptp(share))
    assert basis < 1e-3  # one price path, a small venue basis
    first = {t: _rows(settings, t, v) for t in TABLES for v in ("binance", "bybit")}
    again = _ingest_all(settings)  # re-run, every day read here from the caches: same rows
    assert sum(r.rows for r in again.values()) == sum(r.rows for r in results.values())
    assert {t: _rows(settings, t, v) for t in TABLES for v in ("binance", "bybit")} == first
