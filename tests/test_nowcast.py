"""The nowcast refresh on a real warehouse: provisional rows of the day in progress, archive
wins (the day then equals an archive-only build), and every fault leaves the last good
nowcast published and marked stale, nothing partial loaded, the next refresh recovering.
Real Dagster runs for the daily chain, a real fake Binance REST on 127.0.0.1, an injected
clock."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reports import queries
from tests.builds import BINANCE_DAYS
from tests.nowcast_helpers import LOG, Clock, connector, dead_url, fake_binance
from tests.pipeline_helpers import (
    assert_same_warehouse,
    canonical_order,
    fingerprints,
    run_day,
    run_range,
    temp_settings,
)
from transforms.marts.registry import MARTS, Windowing
from transforms.marts.update import update_marts
from transforms.model import ModelParams
from transforms.raw.intraday.nowcast import refresh_nowcast
from transforms.raw.intraday.provisional import provisional_days
from transforms.raw.venues.binance.fake_rest import Fault

FIRST, LAST = BINANCE_DAYS  # the shared binance_chain build: the archive's 2025-11-01..03
TODAY = LAST + timedelta(days=1)
SYMBOLS = ("BTCUSDT",)
MODEL_TABLES = [m.table for m in MARTS.values() if m.windowing == Windowing.MODEL_DAYS]


@pytest.fixture
def archived(binance_chain):
    """The shared build (read-only); tests take private copies with `_copy`."""
    return binance_chain


def _copy(archived, tmp_path: Path):
    return archived.copy_to(tmp_path)


def at(hh: int, mm: int, ss: int = 0, day: date = TODAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)


def _scalar(settings, sql: str, params: dict | None = None):
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return conn.execute(sql, params or {}).fetchone()
    finally:
        conn.close()


def _refresh(settings, clock: Clock, url: str):
    return refresh_nowcast(
        connector(settings.warehouse_path),
        settings,
        LOG,
        now=clock,
        binance_url=url,
        sleep=clock.sleep,
        request_deadline_s=3,
    )


#: what the REST path fills, per raw table (the archive's top-trader and global ratios are
#: not asked from REST and stay NULL in provisional rows)
DAY_ROWS = {
    "klines": "SELECT * EXCLUDE (venue, day) FROM raw.klines_1m",
    "mark_klines": "SELECT * EXCLUDE (venue, day) FROM raw.mark_klines_1m",
    "metrics": "SELECT create_time, sum_open_interest, sum_open_interest_value, "
    "sum_taker_long_short_vol_ratio FROM raw.metrics_5m",
    "funding": "SELECT calc_time, funding_interval_hours, last_funding_rate FROM raw.funding",
    "bars": "SELECT * EXCLUDE (venue, day) FROM stg.bars_5m",
}
DAY_TIME = {
    "klines": "open_time",
    "mark_klines": "open_time",
    "metrics": "create_time",
    "funding": "calc_time",
    "bars": "ts",
}


def _day_rows(path: Path, day: date) -> dict[str, pd.DataFrame]:
    """BTCUSDT's Binance rows of `day` in each raw table (DAY_ROWS) and its staged bars."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {
            name: conn.execute(
                f"{select} WHERE venue = 'binance' AND symbol = 'BTCUSDT' AND day = $day "
                f"ORDER BY {DAY_TIME[name]}",
                {"day": day},
            ).df()
            for name, select in DAY_ROWS.items()
        }
    finally:
        conn.close()


def test_provisional_day_then_archive_wins(archived, tmp_path):
    settings = _copy(archived, tmp_path / "b")
    clock = Clock(at(13, 7, 30))
    with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
        result = _refresh(settings, clock, server.url)
    assert result.ok and result.modelled == ["BTCUSDT"]
    assert result.requests() == {"binance BTCUSDT": 6}
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert provisional_days(conn) == [
            ("binance", "BTCUSDT", TODAY, at(13, 5).replace(tzinfo=None))
        ]
        assert conn.execute(
            "SELECT count(*), max(open_time) FROM raw.klines_1m WHERE day = $d", {"d": TODAY}
        ).fetchone() == (785, at(13, 4).replace(tzinfo=None))
        # never cached as final: no verified-file record, no file in the raw cache
        assert (
            conn.execute("SELECT count(*) FROM raw.files WHERE period = '2025-11-04'").fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM mart.daily_metrics WHERE day = $d AND venue = 'all'",
                {"d": TODAY},
            ).fetchone()[0]
            == 4
        )
        marked = conn.execute("SELECT venue, day FROM mart.provisional_days ORDER BY 1").fetchall()
        assert marked == [("all", TODAY), ("binance", TODAY)]
        # the daily site leaves the day in progress out
        assert queries.days(conn, "BTCUSDT")[-1] == LAST
    finally:
        conn.close()
    assert not list((settings.cache_dir).rglob("*2025-11-04*"))
    rest = _day_rows(settings.warehouse_path, TODAY)

    # the archive for the day arrives: the daily run replaces every provisional row
    settings4 = settings  # the build's window already holds the day
    run_day(settings4, TODAY)
    # REST gave the archive's rows for every minute it had: 1 m bars with their taker buy
    # fields, 5-minute open interest and taker ratio at the same create_time, the same staged
    # bars (each bar's OI taken at its close), the same settlements
    archive = _day_rows(settings4.warehouse_path, TODAY)
    for name, col in DAY_TIME.items():
        frame = rest[name]
        same = archive[name][archive[name][col] <= frame[col].max()].reset_index(drop=True)
        assert len(frame) == len(same) > 0, name
        pd.testing.assert_frame_equal(frame, same, check_exact=True, obj=name)
    assert len(rest["klines"]) == 785 and len(rest["metrics"]) == 158  # 00:00 .. 13:05
    assert len(rest["bars"]) == 157  # 00:00 .. 13:00, the last closed at 13:05
    assert len(rest["funding"]) == 2  # 00:00 and 08:00, although the month's file is loaded
    # the same daily runs without any nowcast in between
    reference = _copy(archived, tmp_path / "a")
    run_day(reference, TODAY)
    assert_same_warehouse(settings4.warehouse_path, reference.warehouse_path)
    conn = duckdb.connect(str(settings4.warehouse_path), read_only=True)
    try:
        assert provisional_days(conn) == []
        assert conn.execute("SELECT count(*) FROM mart.provisional_days").fetchone()[0] == 0
        assert queries.days(conn, "BTCUSDT")[-1] == TODAY
    finally:
        conn.close()


def _mart_frames(conn: duckdb.DuckDBPyConnection, day_sql: str) -> dict[str, pd.DataFrame]:
    """Every model mart's rows whose day matches `day_sql`, in a canonical order."""
    out = {}
    for table in MODEL_TABLES:
        out[table] = canonical_order(conn.execute(f"SELECT * FROM {table} WHERE {day_sql}").df())
    return out


def test_hourly_refresh_models_only_the_day_so_far(archived, tmp_path):
    """After the first refresh of the day, a refresh continues from the stored state at the
    end of yesterday, models today's bars only, writes only today's mart rows and stores no
    state for a day in progress; its rows equal a recompute from the first bar."""
    settings = _copy(archived, tmp_path)
    clock = Clock(at(13, 7, 30))
    with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
        first = _refresh(settings, clock, server.url)
        # yesterday's last bar took today's 00:00 open interest: yesterday is modelled again
        assert first.ok and first.continued == {"BTCUSDT": (LAST - timedelta(days=1), LAST)}
        conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            before = _mart_frames(conn, "day < '2025-11-04'")
        finally:
            conn.close()
        clock.at(TODAY, 14, 7, 30)
        second = _refresh(settings, clock, server.url)
    assert second.ok and second.continued == {"BTCUSDT": (LAST, TODAY)}
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        after = _mart_frames(conn, "day < '2025-11-04'")
        for table, frame in before.items():
            pd.testing.assert_frame_equal(frame, after[table], check_exact=True, obj=table)
        assert conn.execute(
            "SELECT count(*) FROM mart.model_state WHERE day = $d", {"d": TODAY}
        ).fetchone() == (0,)
        assert conn.execute(
            "SELECT max(ts) FROM mart.liq_heatmap WHERE day = $d", {"d": TODAY}
        ).fetchone()[0] == at(14, 0).replace(tzinfo=None)
    finally:
        conn.close()
    # the same day so far recomputed from each market's first bar: the same rows
    scratch = tmp_path / "scratch.duckdb"
    shutil.copy(settings.warehouse_path, scratch)
    conn = duckdb.connect(str(scratch))
    try:
        incremental = _mart_frames(conn, "day = '2025-11-04'")
        update = update_marts(
            conn, "BTCUSDT", ModelParams(), TODAY, TODAY + timedelta(days=1), True,
            settings.venues, from_scratch=True, keep_last_state=False,
        )  # fmt: skip
        assert update.state_day is None
        recomputed = _mart_frames(conn, "day = '2025-11-04'")
    finally:
        conn.close()
    for table, frame in incremental.items():
        assert len(frame) > 0 or table == "mart.moves", table
        pd.testing.assert_frame_equal(
            frame, recomputed[table], check_exact=False, rtol=1e-9, atol=0, obj=table
        )


def test_a_refresh_after_the_archive_leaves_the_day_alone(archived, tmp_path):
    """An archived day is never overwritten by REST (archive wins), even if asked."""
    settings = _copy(archived, tmp_path)
    before = fingerprints(settings.warehouse_path)
    clock = Clock(at(23, 30, day=LAST))  # "today" is the archived day
    with fake_binance(SYMBOLS, FIRST, LAST, clock) as server:
        result = _refresh(settings, clock, server.url)
    assert result.ok and server.requests == 0
    assert fingerprints(settings.warehouse_path) == before


FAULTS = {
    "server down": (None, "Connection refused"),
    "429": (
        Fault("status", "/fapi/v1/klines", status=429, headers={"Retry-After": "30"}, times=9),
        "HTTP 429",
    ),
    "418 ban": (Fault("ban", "/fapi/v1/klines", ban_s=120), "HTTP 418"),
    "truncated JSON": (Fault("truncate", "/fapi/v1/markPriceKlines"), "truncated or invalid JSON"),
    "missing field": (
        Fault("drop_field", "/futures/data/openInterestHist", field="sumOpenInterestValue"),
        "lacks field 'sumOpenInterestValue'",
    ),
    "clock skew": ("skew", "the server's clock is"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_keeps_last_good_nowcast_marked_stale_then_recovers(archived, tmp_path, fault):
    settings = _copy(archived, tmp_path)
    clock = Clock(at(13, 7, 30))
    server = fake_binance(SYMBOLS, FIRST, TODAY, clock)
    try:
        assert _refresh(settings, clock, server.url).ok
        good = fingerprints(settings.warehouse_path)

        clock.at(TODAY, 14, 7, 30)
        injected, expected = FAULTS[fault]
        if injected == "skew":
            server.skew_ms = -5 * 60_000
        elif injected is not None:
            server.add_fault(injected)
        result = _refresh(settings, clock, dead_url() if injected is None else server.url)
        assert len(result.failures) == 1
        line = result.failures[0]
        assert expected in line and "\n" not in line, line
        # nothing partial: the raw, staged and mart rows are the last good refresh's
        assert fingerprints(settings.warehouse_path) == good
        as_of, stale_since, error = _scalar(
            settings, "SELECT as_of, stale_since, error FROM mart.nowcast"
        )
        assert as_of == at(13, 5).replace(tzinfo=None)
        assert stale_since == at(14, 7, 30).replace(tzinfo=None) and error == line

        server.faults.clear()  # the server is well again (and the 2-minute ban is over)
        server.skew_ms = 0
        clock.at(TODAY, 15, 7, 30)
        recovered = _refresh(settings, clock, server.url)
        assert recovered.ok, recovered.failures
        as_of, stale_since, error = _scalar(
            settings, "SELECT as_of, stale_since, error FROM mart.nowcast"
        )
        assert (as_of, stale_since, error) == (at(15, 5).replace(tzinfo=None), None, None)
        assert _scalar(
            settings, "SELECT count(*) FROM raw.klines_1m WHERE day = $d", {"d": TODAY}
        ) == (15 * 60 + 5,)
    finally:
        server.close()


def test_bybit_day_in_progress_from_its_rest_source(tmp_path, monkeypatch):
    settings = temp_settings(
        tmp_path, FIRST.isoformat(), LAST.isoformat(), LIQMAP_VENUES="binance,bybit"
    )
    run_range(settings, LAST, LAST)
    clock = Clock(at(9, 2))
    with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
        result = _refresh(settings, clock, server.url)
    assert result.ok, result.failures
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        days = {(v, d) for v, _, d, _ in provisional_days(conn)}
        assert days == {("binance", TODAY), ("bybit", TODAY)}
        assert (
            conn.execute(
                "SELECT count(*) FROM raw.klines_1m WHERE venue = 'bybit' AND day = $d",
                {"d": TODAY},
            ).fetchone()[0]
            == 9 * 60  # cut at the last whole 5-minute bar (09:00), like Binance's
        )
        assert (
            conn.execute(
                "SELECT count(*) FROM raw.files WHERE venue = 'bybit' AND period = '2025-11-04'"
            ).fetchone()[0]
            == 0
        )
        assert (
            conn.execute(
                "SELECT venues FROM mart.daily_metrics WHERE venue = 'all' AND day = $d "
                "AND scenario = 'base'",
                {"d": TODAY},
            ).fetchone()[0]
            == "binance,bybit"
        )
    finally:
        conn.close()
    # the day's data is never cached as final (the tier table is a dated snapshot, cached)
    cached = {p.parent.parent.name for p in (settings.cache_dir / "bybit").rglob("*2025-11-04*")}
    assert cached == {"risk_limit"}

    # Bybit down (nothing listens at its URL): Bybit's market stays as it was, marked stale
    # with one line; Binance's refreshes; the next refresh recovers
    good = _bybit_rows(settings)
    monkeypatch.setenv("LIQMAP_BYBIT_URL", dead_url().rstrip("/"))
    monkeypatch.setenv("LIQMAP_BYBIT_DEADLINE_S", "2")
    down = dataclasses.replace(settings, source="binance")  # Bybit's real API path
    clock.at(TODAY, 10, 2)
    with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
        result = _refresh(down, clock, server.url)
    assert [(m.venue, m.ok) for m in result.markets] == [("binance", True), ("bybit", False)]
    [line] = result.failures
    assert line.startswith("bybit") and "\n" not in line, line
    assert _bybit_rows(settings) == good
    rows = _scalar(
        settings, "SELECT as_of, stale_since, error FROM mart.nowcast WHERE venue = 'bybit'"
    )
    assert rows == (at(9, 0).replace(tzinfo=None), at(10, 2).replace(tzinfo=None), line)
    clock.at(TODAY, 11, 2)
    with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
        recovered = _refresh(settings, clock, server.url)
    assert recovered.ok, recovered.failures
    assert _scalar(
        settings, "SELECT as_of, stale_since FROM mart.nowcast WHERE venue = 'bybit'"
    ) == (at(11, 0).replace(tzinfo=None), None)


def _bybit_rows(settings) -> tuple:
    """Count and content hash of Bybit's raw and staged rows of the day in progress."""
    return tuple(
        _scalar(
            settings,
            f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {table} "
            "WHERE venue = 'bybit' AND day = $d",
            {"d": TODAY},
        )
        for table in ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "stg.bars_5m")
    )


@pytest.mark.parametrize("webhook", ["hang", "fail"])
def test_cycle_publishes_now_view_alerts_and_stale_marking(
    archived, tmp_path, monkeypatch, webhook
):
    """`liqmap now`'s cycle: the now view and the alerts feed are published although the
    webhook hangs or answers HTTP 500; a failed refresh keeps the last good view, marked stale
    since its time; `liqmap status` names the stale market and the undelivered alert."""
    from orchestration.nowcast import run_nowcast
    from orchestration.status import collect_status, render_status
    from tests.nowcast_helpers import WebhookServer

    settings = _copy(archived, tmp_path)
    hook = WebhookServer(webhook)
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(
        '[[rule]]\nname = "any-cluster"\nkind = "cluster_size"\nmin_usd = 1\n\n'
        f'[[webhook]]\nname = "desk"\nurl = "{hook.url}"\nformat = "discord"\n'
        "deadline_s = 0.5\nretries = 1\n"
    )
    monkeypatch.setenv("LIQMAP_ALERTS_FILE", str(alerts))
    clock = Clock(at(13, 7, 30))
    page = settings.output_site_dir / "BTCUSDT" / "now" / "index.html"
    try:
        with fake_binance(SYMBOLS, FIRST, TODAY, clock) as server:
            run = run_nowcast(settings, now=clock, binance_url=server.url, sleep=clock.sleep)
        assert run.refresh.ok and len(run.alerts) == 2  # the peak cluster of each side
        assert [a["provisional"] for a in run.alerts] == [True, True]
        html = page.read_text()
        assert "As of 13:05 UTC, provisional" in html and "Stale" not in html
        feed = (settings.output_site_dir / "alerts.xml").read_text()
        assert all(a["title"].replace("$", "") in feed.replace("$", "") for a in run.alerts)
        [line] = run.delivery.failed
        assert ("no answer within 0.5 s" if webhook == "hang" else "HTTP 500") in line
        assert "desk" in line and "\n" not in line

        clock.at(TODAY, 14, 7, 30)
        failed = run_nowcast(settings, now=clock, binance_url=dead_url(), sleep=clock.sleep)
        assert not failed.refresh.ok and failed.alerts == []  # the same levels: no repeat
        html = page.read_text()
        assert "As of 13:05 UTC, provisional" in html
        assert "stale since 2025-11-04 14:07 UTC" in html
    finally:
        hook.close()
    lines = render_status(collect_status(settings, tmp_path / "dagster_home"))
    text = "\n".join(lines)
    assert "BTCUSDT binance: as of 2025-11-04 13:05 UTC, provisional; STALE since" in text
    assert "webhook 'desk': 2 undelivered" in text


def test_hourly_schedule_runs_the_nowcast_job_in_dagster(archived, tmp_path):
    """The job the hourly schedule launches, executed by Dagster on the offline demo's path
    (synthetic market, in-process fake REST servers), with a pinned clock."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.nowcast_job import hourly_nowcast, nowcast_job
    from orchestration.resources import resources_from_settings

    assert hourly_nowcast.cron_schedule == "7 * * * *"
    assert hourly_nowcast.default_status == dg.DefaultScheduleStatus.RUNNING
    assert defs.get_job_def("nowcast") is not None
    settings = _copy(archived, tmp_path)
    result = nowcast_job.execute_in_process(
        resources=resources_from_settings(settings),
        run_config={"ops": {"refresh_nowcast": {"config": {"now": "2025-11-04T13:07:30Z"}}}},
    )
    assert result.success
    [event] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    meta = event.event_specific_data.metadata
    assert meta["markets_ok"].value == 1 and meta["failures"].value == "none"
    assert meta["requests"].value == {"binance BTCUSDT": 6}
    assert _scalar(settings, "SELECT as_of FROM mart.nowcast") == (at(13, 5).replace(tzinfo=None),)
