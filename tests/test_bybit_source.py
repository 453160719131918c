"""The Bybit source against the real local Bybit-format server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.venue_helpers import cached_files
from transforms.config import ConfigError
from transforms.raw.venues.bybit import (
    Banned,
    BybitApiError,
    BybitClient,
    BybitError,
    BybitFormatError,
    BybitSource,
    CacheCorrupt,
    NoHistory,
    RateLimited,
    SlidingWindowLimiter,
    load_bybit_settings,
    make_bybit_source,
    oi_per_side,
)
from transforms.raw.venues.bybit.datasets import DATASETS
from transforms.raw.venues.bybit.fake_server import FakeBybitServer, Fault
from transforms.raw.venues.bybit.market import (
    day_start_ms,
    generate_market,
    market_from_simulation,
)
from transforms.raw.venues.bybit.oi import implied_sides, open_interest_frame

SYMBOL = "BTCUSDT"
FIRST_DAY = date(2026, 10, 1)
DAY = date(2026, 10, 2)
LATER = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
KLINE, MARK, OI, FUNDING = (
    "/v5/market/kline",
    "/v5/market/mark-price-kline",
    "/v5/market/open-interest",
    "/v5/market/funding/history",
)


@pytest.fixture(scope="module")
def market():
    return generate_market(SYMBOL, FIRST_DAY, 3, seed=5)


@pytest.fixture
def server(market):
    with FakeBybitServer([market]) as srv:
        yield srv


def _client(server: FakeBybitServer, **kwargs) -> BybitClient:
    options = dict(
        request_deadline_s=5.0,
        ban_backoff_s=0.3,
        rate_limit_backoff_s=0.01,
        http_backoff_s=0.01,
    )
    options.update(kwargs)
    return BybitClient(server.url, **options)


def _source(server, tmp_path: Path, now: datetime = LATER, **kwargs) -> BybitSource:
    return BybitSource(tmp_path / "cache", _client(server, **kwargs), now=lambda: now)


def _day_rows(arr: np.ndarray, day: date) -> np.ndarray:
    lo = day_start_ms(day)
    return arr[(arr[:, 0] >= lo) & (arr[:, 0] < lo + 86_400_000)]


# -- happy paths --------------------------------------------------------------------------------


def test_klines_day_is_exactly_the_days_bars_ascending(server, market, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        day = src.fetch_day("klines_1m", SYMBOL, DAY)
    want = _day_rows(market.klines, DAY)
    got = np.array(day.rows, dtype=np.float64)
    assert got.shape == (1440, 7)
    assert np.array_equal(got[:, 0], want[:, 0])  # every minute, ascending, nothing else
    np.testing.assert_allclose(got[:, 1:5], want[:, 1:5], atol=0.005)
    assert server.requests_by_path[KLINE] == 2  # two windows of <= 1000 bars
    assert day.final and not day.from_cache
    assert day.path is not None and day.path.is_file()
    assert Path(str(day.path) + ".sha256").read_text().split()[0] == day.sha256


def test_mark_klines_day(server, market, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        day = src.fetch_day("mark_klines_1m", SYMBOL, DAY)
    got = np.array(day.rows, dtype=np.float64)
    want = _day_rows(market.mark_klines, DAY)
    assert np.array_equal(got[:, 0], want[:, 0])
    np.testing.assert_allclose(got[:, 1:], want[:, 1:], atol=0.005)
    assert list(day.frame().columns) == ["venue", "symbol", *day.columns]


def test_open_interest_follows_the_cursor(server, market, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        day = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    want = _day_rows(market.open_interest, DAY)
    assert len(day.rows) == 288
    assert [r[0] for r in day.rows] == want[:, 0].astype(np.int64).tolist()
    np.testing.assert_allclose([r[1] for r in day.rows], want[:, 1], atol=1e-8)
    calls = [q for p, q in server.log if p == OI]
    assert len(calls) == 2  # 288 rows at 200 per page
    # the cursor went back exactly as sent (percent-encoded once), like Bybit's own SDK
    assert "cursor" not in calls[0] and calls[1]["cursor"].startswith("lastid=200&lasttime=")
    assert day.rows[0][2] is None  # older response format: no singleOpenInterest
    assert calls[0]["intervalTime"] == "5min" and calls[0]["category"] == "linear"


def test_funding_pages_backwards_by_end_time(server, market, tmp_path) -> None:
    with _source(server, tmp_path, page_limits={"funding": 2}) as src:
        day = src.fetch_day("funding", SYMBOL, DAY)
    want = _day_rows(market.funding, DAY)
    assert [r[0] for r in day.rows] == want[:, 0].astype(np.int64).tolist()
    assert len(day.rows) == 3
    calls = [q for p, q in server.log if p == FUNDING]
    assert len(calls) == 2
    assert all("startTime" in q and "endTime" in q for q in calls)  # never startTime alone
    # second page ends just before the oldest row of the first (newest-first) page
    assert int(calls[1]["endTime"]) == int(want[1, 0]) - 1


def test_funding_start_time_alone_is_a_retcode_error(server, tmp_path) -> None:
    with _client(server) as client, pytest.raises(BybitApiError) as info:
        params = {"category": "linear", "symbol": SYMBOL, "startTime": "0"}
        client.get(DATASETS["funding"], params)
    assert info.value.ret_code == 10001 and FUNDING in str(info.value)


def test_risk_limit_snapshot_is_dated_and_cached(server, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        snap = src.fetch_risk_limits(SYMBOL)
        before = server.requests
        again = src.fetch_risk_limits(SYMBOL)
        with pytest.raises(NoHistory):
            src.fetch_risk_limits(SYMBOL, date(2026, 1, 1))
    assert snap.period == LATER.date().isoformat() and len(snap.rows) == 10
    assert [r[0] for r in snap.rows] == list(range(1, 11))
    assert snap.rows[0][3] == pytest.approx(0.005) and snap.rows[0][7] is None
    assert again.from_cache and again.rows == snap.rows and server.requests == before


# -- cache --------------------------------------------------------------------------------------


def test_cache_hit_makes_zero_requests(server, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        first = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    before = server.requests
    with _source(server, tmp_path) as src:  # a new process reading the same cache
        second = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert server.requests == before
    assert second.from_cache and second.rows == first.rows and second.sha256 == first.sha256


def test_tampered_cache_file_is_detected_naming_the_file(server, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        day = src.fetch_day("funding", SYMBOL, DAY)
    data = bytearray(day.path.read_bytes())
    i = data.index(b"fundingRate") + 20
    data[i] = ord("9") if data[i] != ord("9") else ord("8")  # same length, one digit changed
    day.path.write_bytes(bytes(data))
    before = server.requests
    with _source(server, tmp_path) as src, pytest.raises(CacheCorrupt) as info:
        src.fetch_day("funding", SYMBOL, DAY)
    assert str(day.path) in str(info.value) and "sha256" in str(info.value)
    assert server.requests == before  # never silently refetched over evidence


def test_day_in_progress_is_never_cached_as_final(server, tmp_path) -> None:
    today = date(2026, 10, 3)
    noon = datetime(2026, 10, 3, 12, 0, tzinfo=UTC)
    with _source(server, tmp_path, now=noon) as src:
        partial = src.fetch_day("open_interest_5m", SYMBOL, today)
        assert not partial.final and partial.path is None
        assert cached_files(tmp_path) == []
        src.fetch_day("open_interest_5m", SYMBOL, today)  # asked again: fetched again
    assert server.requests_by_path[OI] == 4
    just_after = datetime(2026, 10, 4, 0, 5, tzinfo=UTC)  # inside the settling margin
    with _source(server, tmp_path, now=just_after) as src:
        assert not src.fetch_day("open_interest_5m", SYMBOL, today).final
    settled = datetime(2026, 10, 4, 0, 30, tzinfo=UTC)
    with _source(server, tmp_path, now=settled) as src:
        assert src.fetch_day("open_interest_5m", SYMBOL, today).final
    assert len(cached_files(tmp_path)) == 2  # data file + .sha256


def test_empty_day_returns_no_rows_and_is_not_cached(server, tmp_path) -> None:
    with _source(server, tmp_path) as src:
        for name in ("klines_1m", "open_interest_5m", "funding"):
            day = src.fetch_day(name, SYMBOL, date(2026, 9, 20))  # before the market exists
            assert day.rows == [] and not day.final
    assert cached_files(tmp_path) == []


def test_past_day_with_a_gap_is_returned_but_not_cached(market, tmp_path) -> None:
    lo = day_start_ms(DAY) + 3_600_000
    keep = (market.open_interest[:, 0] < lo) | (market.open_interest[:, 0] >= lo + 1_800_000)
    gappy = dataclasses.replace(market, open_interest=market.open_interest[keep])
    with FakeBybitServer([gappy]) as srv, _source(srv, tmp_path) as src:
        day = src.fetch_day("open_interest_5m", SYMBOL, DAY)
        assert len(day.rows) == 288 - 6 and not day.final
        assert cached_files(tmp_path) == []
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
        assert srv.requests_by_path[OI] == 4  # asked again: an outage may be filled later


def test_shadow_of_the_synthetic_market_reads_back_per_side(tmp_path) -> None:
    from transforms.raw.synthetic import simulate_market

    sim = simulate_market(SYMBOL, FIRST_DAY, 2, 7)
    shadow = market_from_simulation(SYMBOL, sim, oi_share=0.6, oi_reported_as="both")
    with FakeBybitServer([shadow]) as srv, _source(srv, tmp_path) as src:
        oi = src.fetch_day("open_interest_5m", SYMBOL, DAY)
        klines = src.fetch_day("klines_1m", SYMBOL, DAY)
    binance_oi = np.asarray(sim.oi_base)[288:576]
    per_side = oi_per_side(np.array([r[1] for r in oi.rows]), "both")
    np.testing.assert_allclose(per_side, 0.6 * binance_oi, rtol=1e-9)
    single = np.array([r[2] for r in oi.rows])
    np.testing.assert_allclose(single, per_side, rtol=1e-9)  # newest format: single side too
    assert {implied_sides(r[1], r[2]) for r in oi.rows} == {"both"}
    frame = open_interest_frame(oi, "both")
    np.testing.assert_allclose(frame["oi_base"], 0.6 * binance_oi, rtol=1e-9)
    assert frame["create_time"].iloc[0] == pd.Timestamp("2026-10-02 00:00:00")
    one = open_interest_frame(oi, "one")
    np.testing.assert_allclose(one["oi_base"], 2 * frame["oi_base"])
    # the same price path, up to a small venue basis
    closes = np.array([r[4] for r in klines.rows])
    np.testing.assert_allclose(closes, np.asarray(sim.close)[1440:2880], rtol=1e-3)


# -- failures: clear errors, nothing cached -----------------------------------------------------


def test_retcode_error_names_endpoint_and_code(server, tmp_path) -> None:
    server.add_fault(Fault("retcode", KLINE, after=1, ret_code=10001, ret_msg="params error"))
    with _source(server, tmp_path) as src, pytest.raises(BybitApiError) as info:
        src.fetch_day("klines_1m", SYMBOL, DAY)
    message = str(info.value)
    assert KLINE in message and "retCode 10001" in message and "params error" in message
    assert cached_files(tmp_path) == []


def test_retcode_10006_is_retried_within_the_budget(server, tmp_path) -> None:
    server.add_fault(Fault("retcode", OI, times=2, ret_code=10006))
    with _source(server, tmp_path) as src:
        day = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert len(day.rows) == 288 and server.requests_by_path[OI] == 4


def test_deadline_reached_in_the_retry_after_10006_is_rate_limited(server, tmp_path) -> None:
    # a busy machine: the retry after a 10006 answer outlives the deadline. The error names
    # the rate limit that caused it, not a bare timeout.
    server.add_fault(Fault("retcode", OI, times=1, ret_code=10006))
    server.add_fault(Fault("delay", OI, times=1, delay_s=2.0))
    with (
        _source(server, tmp_path, request_deadline_s=0.5, rate_limit_backoff_s=0.01) as src,
        pytest.raises(RateLimited) as info,
    ):
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert OI in str(info.value) and "10006" in str(info.value)
    assert cached_files(tmp_path) == []


def test_retcode_10006_until_the_deadline_is_rate_limited(server, tmp_path) -> None:
    server.add_fault(Fault("retcode", OI, times=1000, ret_code=10006))
    with (
        _source(server, tmp_path, request_deadline_s=3.0, rate_limit_backoff_s=0.1) as src,
        pytest.raises(RateLimited) as info,
    ):
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert OI in str(info.value) and "10006" in str(info.value)
    # backed off, did not hammer: waits of 0.1, 0.2, 0.4, 0.8 s fit in 3 s (at most 5 requests
    # however fast the machine), and even a slow first answer leaves room for one retry
    assert 2 <= server.requests_by_path[OI] <= 5
    assert cached_files(tmp_path) == []


def test_403_bans_and_the_client_backs_off(server, tmp_path) -> None:
    server.add_fault(Fault("status", FUNDING, status=403, body=b"access too frequent"))
    with _source(server, tmp_path, ban_backoff_s=1.5) as src:
        with pytest.raises(Banned) as info:
            src.fetch_day("funding", SYMBOL, DAY)
        assert "403" in str(info.value) and "minutes" in str(info.value)
        sent = server.requests
        with pytest.raises(Banned):  # still backing off: nothing is sent
            src.fetch_day("klines_1m", SYMBOL, DAY)
        assert server.requests == sent
        assert cached_files(tmp_path) == []
        time.sleep(1.6)  # the back-off expires (any longer wait gives the same result)
        assert len(src.fetch_day("funding", SYMBOL, DAY).rows) == 3


def test_5xx_then_success(server, tmp_path) -> None:
    server.add_fault(Fault("status", MARK, after=1, times=2, status=503, body=b"busy"))
    with _source(server, tmp_path) as src:
        day = src.fetch_day("mark_klines_1m", SYMBOL, DAY)
    assert len(day.rows) == 1440 and day.final
    assert server.requests_by_path[MARK] == 4


def test_truncated_json_body_is_an_error_and_nothing_is_cached(server, tmp_path) -> None:
    server.add_fault(Fault("truncate", OI, after=1))  # the second page is cut in half
    with _source(server, tmp_path) as src, pytest.raises(BybitFormatError) as info:
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert "truncated or invalid JSON" in str(info.value) and OI in str(info.value)
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "path", "field"),
    [
        ("open_interest_5m", OI, "openInterest"),
        ("funding", FUNDING, "fundingRateTimestamp"),
        ("klines_1m", KLINE, ""),  # an array item one element short
    ],
)
def test_page_with_a_missing_field_is_rejected(server, tmp_path, name, path, field) -> None:
    server.add_fault(Fault("drop_field", path, field=field))
    with _source(server, tmp_path) as src, pytest.raises(BybitFormatError) as info:
        src.fetch_day(name, SYMBOL, DAY)
    message = str(info.value)
    assert path in message and "list[0]" in message
    assert (f"missing field {field!r}" in message) if field else ("array of 7" in message)
    assert cached_files(tmp_path) == []


def test_slow_server_fails_at_the_request_deadline(server, tmp_path) -> None:
    server.add_fault(Fault("delay", KLINE, times=10, delay_s=30.0))
    t0 = time.monotonic()
    with (
        _source(server, tmp_path, request_deadline_s=1.0) as src,
        pytest.raises(BybitError) as info,
    ):
        src.fetch_day("klines_1m", SYMBOL, DAY)
    # gave up before the slow server's first answer (30 s per attempt without the deadline)
    assert time.monotonic() - t0 < 30.0
    assert server.url + KLINE in str(info.value) and "deadline" in str(info.value)
    assert cached_files(tmp_path) == []


# -- rate limiter, settings, OI semantics -------------------------------------------------------


def test_limiter_never_exceeds_its_window() -> None:
    clock = [0.0]

    def sleep(s: float) -> None:
        clock[0] += s

    limiter = SlidingWindowLimiter(3, 1.0, clock=lambda: clock[0], sleep=sleep)
    sent = []
    for _ in range(10):
        limiter.acquire()
        sent.append(clock[0])
    for i in range(3, 10):
        assert sent[i] - sent[i - 3] >= 1.0  # any 4 consecutive requests span >= 1 s
    assert sent[:3] == [0.0, 0.0, 0.0]


def test_default_limiter_stays_under_bybits_600_per_5s() -> None:
    limiter = SlidingWindowLimiter()
    assert limiter.max_requests < 600 and limiter.per_s == 5.0


def test_settings_parse_and_reject() -> None:
    s = load_bybit_settings({})
    assert s.base_url == "https://api.bybit.com" and s.oi_sides == "both"
    s = load_bybit_settings(
        {"LIQMAP_BYBIT_URL": "http://127.0.0.1:9/", "LIQMAP_BYBIT_OI_SIDES": "ONE"}
    )
    assert s.base_url == "http://127.0.0.1:9" and s.oi_sides == "one"
    with pytest.raises(ConfigError, match="LIQMAP_BYBIT_OI_SIDES"):
        load_bybit_settings({"LIQMAP_BYBIT_OI_SIDES": "half"})
    with pytest.raises(ConfigError, match="LIQMAP_BYBIT_URL"):
        load_bybit_settings({"LIQMAP_BYBIT_URL": "api.bybit.com"})
    assert s.requests_per_5s == 500
    with pytest.raises(ConfigError, match="LIQMAP_BYBIT_BAN_BACKOFF_S"):
        load_bybit_settings({"LIQMAP_BYBIT_BAN_BACKOFF_S": "-1"})
    with pytest.raises(ConfigError, match="bans above it"):
        load_bybit_settings({"LIQMAP_BYBIT_REQUESTS_PER_5S": "5000"})
    local = {"LIQMAP_BYBIT_URL": "http://127.0.0.1:8765", "LIQMAP_BYBIT_REQUESTS_PER_5S": "5000"}
    assert load_bybit_settings(local).requests_per_5s == 5000


def test_make_bybit_source_reads_settings_and_fetches(server, tmp_path) -> None:
    settings = load_bybit_settings(
        {"LIQMAP_BYBIT_URL": server.url, "LIQMAP_BYBIT_REQUESTS_PER_5S": "2000"}
    )
    with make_bybit_source(tmp_path / "cache", settings, now=lambda: LATER) as src:
        assert src.client.limiter.max_requests == 2000
        assert len(src.fetch_day("funding", SYMBOL, DAY).rows) == 3


def test_oi_per_side_conversion() -> None:
    assert oi_per_side(50_000.0, "both") == 25_000.0
    assert oi_per_side(50_000.0, "one") == 50_000.0
    arr = np.array([10.0, 30.0])
    np.testing.assert_array_equal(oi_per_side(arr, "both"), [5.0, 15.0])
    # the modelled new positions (delta OI) scale the same way
    assert np.diff(oi_per_side(arr, "both"))[0] == np.diff(arr)[0] / 2
    with pytest.raises(ValueError, match="LIQMAP_BYBIT_OI_SIDES"):
        oi_per_side(1.0, "two")


def test_implied_sides_from_single_open_interest() -> None:
    assert implied_sides(200.0, 100.0) == "both"
    assert implied_sides(100.0, 100.0) == "one"
    assert implied_sides(150.0, 100.0) is None
    assert implied_sides(100.0, 0.0) is None


def test_risk_limit_snapshot_becomes_dated_bracket_rows(server, tmp_path) -> None:
    from transforms.raw.venues.bybit.tiers import tiers_to_brackets

    with _source(server, tmp_path) as src:
        frame = tiers_to_brackets(src.fetch_risk_limits(SYMBOL))
    assert frame["bracket"].tolist() == list(range(1, 11))
    assert (frame["venue"] == "bybit").all()
    assert frame["effective_date"].iloc[0] == LATER.date()
    assert frame["notional_floor"].iloc[0] == 0.0
    assert (frame["notional_floor"].iloc[1:].to_numpy() == frame["notional_cap"].iloc[:-1]).all()
    # maintenance margin is continuous at every tier boundary: MM = N * MMR - cum
    for i in range(1, len(frame)):
        n = frame["notional_floor"].iloc[i]
        below = n * frame["maint_margin_rate"].iloc[i - 1] - frame["cum"].iloc[i - 1]
        above = n * frame["maint_margin_rate"].iloc[i] - frame["cum"].iloc[i]
        assert above == pytest.approx(below)


def test_risk_limit_rates_in_percent_are_recognised(tmp_path) -> None:
    from transforms.raw.venues.bybit.source import BybitDay
    from transforms.raw.venues.bybit.tiers import tiers_to_brackets

    rows = [
        (1, SYMBOL, 2_000_000.0, 0.5, 1.0, 1, 100.0, None),
        (2, SYMBOL, 4_000_000.0, 1.0, 2.0, 0, 50.0, None),
    ]
    snap = BybitDay("risk_limit", SYMBOL, "2026-11-30", (), rows, True, False, None, None)
    frame = tiers_to_brackets(snap)
    assert frame["maint_margin_rate"].tolist() == [0.005, 0.01]
    assert frame["cum"].tolist() == [0.0, pytest.approx(2_000_000 * 0.005)]
    bad = [(1, SYMBOL, 2_000_000.0, 0.5, 7.0, 1, 100.0, None)]
    with pytest.raises(BybitFormatError, match="fractions or percentages"):
        tiers_to_brackets(
            BybitDay("risk_limit", SYMBOL, "2026-11-30", (), bad, True, False, None, None)
        )


def test_fake_server_clock_is_the_end_of_its_data_not_the_wall_clock(server, market):
    """The envelope's `time` comes from the served data, so two identical demo builds cache
    byte-identical pages (scripts/compare_builds.py)."""
    import json
    import urllib.request

    url = f"{server.url}/v5/market/kline?category=linear&symbol={SYMBOL}&interval=1&limit=5"
    bodies = []
    for _ in range(2):
        with urllib.request.urlopen(url, timeout=10) as resp:
            bodies.append(resp.read())
        time.sleep(0.01)
    assert bodies[0] == bodies[1]
    assert json.loads(bodies[0])["time"] == int(market.klines[-1, 0]) + 60_000
