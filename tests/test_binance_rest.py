"""The Binance REST client against a real fake Binance on 127.0.0.1: the day so far in the
exact format, request weights, 429 / 418 / 451, truncated and incomplete answers, clock skew,
a server that is down or hangs. The clock is injected (no dependence on the current hour)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.nowcast_helpers import Clock, dead_url, fake_binance
from transforms.raw.synthetic.market import simulate_market
from transforms.raw.venues.binance.fake_rest import Fault
from transforms.raw.venues.binance.rest import (
    BanState,
    BinanceRestClient,
    RestBanned,
    RestError,
    RestFormatError,
    RestRestricted,
)

DAY = date(2026, 10, 3)
START = date(2026, 10, 1)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 3, 13, 7, 30, tzinfo=UTC))


@pytest.fixture
def server(clock):
    srv = fake_binance(("BTCUSDT",), START, DAY, clock)
    yield srv
    srv.close()


def _client(server, clock, **kw) -> BinanceRestClient:
    return BinanceRestClient(server.url, now=clock, sleep=clock.sleep, **kw)


def test_day_so_far_matches_the_simulation(server, clock):
    with _client(server, clock) as client:
        day = client.fetch_day("BTCUSDT", DAY)
    # 13:07:30 -> whole 5-minute bars up to 13:05
    assert day.as_of == datetime(2026, 10, 3, 13, 5, tzinfo=UTC)
    assert len(day.klines) == len(day.mark_klines) == 13 * 60 + 5
    assert len(day.metrics) == 13 * 12 + 2  # 00:00 .. 13:05 inclusive
    assert list(day.funding["calc_time"].dt.hour) == [0, 8]
    sim = simulate_market("BTCUSDT", date(2026, 10, 1), 31, 7)
    first = (DAY - date(2026, 10, 1)).days * 1440
    assert day.klines["close"].iloc[0] == sim.close[first]
    assert day.mark_klines["low"].iloc[-1] == sim.mark_low[first + 13 * 60 + 4]
    assert day.premium["mark_price"] > 0 and day.premium["time"] == clock()
    assert not day.complete
    # one request per endpoint: premium, klines, mark, OI, taker ratio, funding
    assert client.requests == 6
    assert server.requests_by_path["/fapi/v1/klines"] == 1
    assert client.budget.used == 10 + 10 + 1 + 1  # klines, mark, premium, funding


def test_a_past_day_is_complete_in_one_request_per_endpoint(server, clock):
    with _client(server, clock) as client:
        day = client.fetch_day("BTCUSDT", DAY - timedelta(days=1))
    assert day.complete and client.requests == 5  # no premium index for a past day


def test_weight_budget_waits_for_the_next_minute(server, clock):
    # a budget of 24 weight per minute: the third kline call must wait for the next minute
    with _client(server, clock, weight_share=0.01) as client:
        client.klines("BTCUSDT", 1, 2, mark=False)
        client.klines("BTCUSDT", 1, 2, mark=True)
        assert clock.slept == []
        client.klines("BTCUSDT", 1, 2, mark=False)
    assert len(clock.slept) == 1 and 29 < clock.slept[0] <= 60.1  # 13:07:30 -> 13:08:00


def test_429_is_retried_after_retry_after(server, clock):
    server.add_fault(
        Fault("status", "/fapi/v1/klines", status=429, headers={"Retry-After": "3"}, body=b"{}")
    )
    with _client(server, clock) as client:
        day = client.fetch_day("BTCUSDT", DAY)
    assert 3.0 in clock.slept and len(day.klines) == 785
    assert server.requests_by_path["/fapi/v1/klines"] == 2


def test_429_beyond_the_deadline_is_one_line(server, clock):
    server.add_fault(Fault("status", "/fapi/v1/klines", status=429, headers={"Retry-After": "600"}))
    with _client(server, clock, request_deadline_s=5) as client, pytest.raises(RestError) as exc:
        client.fetch_day("BTCUSDT", DAY)
    message = str(exc.value)
    assert "\n" not in message and "HTTP 429" in message and "klines" in message


def test_418_bans_until_the_announced_time_across_clients(server, clock, tmp_path):
    ban_file = tmp_path / "ban.json"
    server.add_fault(Fault("ban", "/fapi/v1/premiumIndex", ban_s=600))
    with (
        _client(server, clock, ban=BanState(ban_file)) as client,
        pytest.raises(RestBanned) as exc,
    ):
        client.fetch_day("BTCUSDT", DAY)
    assert "HTTP 418" in str(exc.value) and "13:17:30" in str(exc.value)
    assert json.loads(ban_file.read_text())["until_ms"] > 0
    sent = server.requests
    clock.t += timedelta(minutes=5)  # another refresh, another process: still banned
    with _client(server, clock, ban=BanState(ban_file)) as client, pytest.raises(RestBanned) as e2:
        client.fetch_day("BTCUSDT", DAY)
    assert server.requests == sent, "nothing may be sent during a ban"
    assert "no request sent" in str(e2.value)
    clock.t += timedelta(minutes=6)  # the ban is over
    with _client(server, clock, ban=BanState(ban_file)) as client:
        assert len(client.fetch_day("BTCUSDT", DAY).klines) > 0


def test_451_is_named_in_one_line(server, clock):
    server.add_fault(Fault("status", None, status=451, body=b'{"code":0,"msg":"restricted"}'))
    with _client(server, clock) as client, pytest.raises(RestRestricted) as exc:
        client.fetch_day("BTCUSDT", DAY)
    message = str(exc.value)
    assert "HTTP 451" in message and "region" in message and "archive" in message
    assert "\n" not in message


def test_truncated_json_is_refused(server, clock):
    server.add_fault(Fault("truncate", "/futures/data/openInterestHist"))
    with _client(server, clock) as client, pytest.raises(RestFormatError) as exc:
        client.fetch_day("BTCUSDT", DAY)
    assert "truncated or invalid JSON" in str(exc.value) and "openInterestHist" in str(exc.value)


@pytest.mark.parametrize(
    ("path", "field", "named"),
    [
        ("/futures/data/openInterestHist", "sumOpenInterest", "'sumOpenInterest'"),
        ("/fapi/v1/klines", "", "fields, expected 12"),
        ("/fapi/v1/premiumIndex", "markPrice", "'markPrice'"),
        ("/fapi/v1/fundingRate", "fundingRate", "fundingTime/fundingRate"),
    ],
)
def test_missing_field_is_named(server, clock, path, field, named):
    server.add_fault(Fault("drop_field", path, field=field))
    with _client(server, clock) as client, pytest.raises(RestFormatError) as exc:
        client.fetch_day("BTCUSDT", DAY)
    assert named in str(exc.value) and "\n" not in str(exc.value)


def test_server_clock_skew_is_refused(server, clock):
    server.skew_ms = 10 * 60_000
    with _client(server, clock) as client, pytest.raises(RestFormatError) as exc:
        client.fetch_day("BTCUSDT", DAY)
    assert "clock is +600 s from ours" in str(exc.value)


def test_skewed_bars_without_premium_are_refused(server, clock):
    # a past day asks no premium index: bars off the minute grid give the clock away
    server.skew_ms = 30_000
    with _client(server, clock) as client, pytest.raises(RestFormatError) as exc:
        client.fetch_day("BTCUSDT", DAY - timedelta(days=1))
    assert "off the 60 s grid" in str(exc.value)


def test_server_down_is_one_line_within_the_deadline(clock):
    with (
        BinanceRestClient(dead_url(), now=clock, sleep=clock.sleep, request_deadline_s=2) as c,
        pytest.raises(RestError) as exc,
    ):
        c.fetch_day("BTCUSDT", DAY)
    assert "premiumIndex" in str(exc.value) and "\n" not in str(exc.value)


def test_a_dead_url_stays_dead_while_the_worker_lives():
    """dead_url's port cannot be taken by another server (a port closed again could be, by a
    test on the other xdist worker, which would then answer the 'dead' URL)."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(dead_url()).port
    with socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", port))


def test_a_hanging_server_ends_at_the_request_deadline(server, clock):
    server.add_fault(Fault("delay", "/fapi/v1/premiumIndex", times=3, delay_s=3.0))
    with (
        BinanceRestClient(server.url, now=clock, request_deadline_s=0.5, max_attempts=1) as c,
        pytest.raises(RestError) as exc,
    ):
        c.fetch_day("BTCUSDT", DAY)
    assert "premiumIndex" in str(exc.value)


def test_a_started_server_entered_by_with_stops_serving_on_exit(clock):
    """`with` on a started fake (as `with fake_binance(...) as server`) starts no second
    serving loop: one would outlive `close()` and spin on the closed socket, taking a core
    from every later test of the process."""
    import threading

    before = set(threading.enumerate())
    with fake_binance(("BTCUSDT",), START, DAY, clock) as server:
        serving = set(threading.enumerate()) - before
        assert len(serving) == 1, serving
        assert _client(server, clock).fetch_day("BTCUSDT", DAY).klines is not None
    assert not [t for t in serving if t.is_alive()]
