"""The Hyperliquid source against the real local /info server on 127.0.0.1 (the Bybit fault
set: paging, an error answer inside HTTP 200, 429, truncated JSON, missing field, empty day,
nothing partial cached), plus Hyperliquid's own rules: only the latest 5,000 candles, open
interest and mark from minute samples (a gap makes the day partial, never filled), margin
tables as tiers with the documented liquidation price."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.venue_helpers import (
    REST_DAY,
    REST_FIRST_DAY,
    REST_SYMBOL,
    assert_cache_hit_then_tampering_named,
    cached_files,
)
from transforms.db import warehouse
from transforms.raw.rest.limiter import SlidingWindowLimiter
from transforms.raw.venues.hyperliquid.api import HyperliquidClient
from transforms.raw.venues.hyperliquid.errors import (
    CacheCorrupt,
    HyperliquidApiError,
    HyperliquidError,
    HyperliquidFormatError,
    OutOfReach,
    RateLimited,
)
from transforms.raw.venues.hyperliquid.fake_server import FakeHyperliquidServer, Fault
from transforms.raw.venues.hyperliquid.load import replace_tier_snapshot
from transforms.raw.venues.hyperliquid.market import generate_market
from transforms.raw.venues.hyperliquid.samples import Sampler, samples_root
from transforms.raw.venues.hyperliquid.source import HyperliquidSource, day_start_ms

SYMBOL, FIRST_DAY, DAY = REST_SYMBOL, REST_FIRST_DAY, REST_DAY
NOW = datetime(2026, 10, 4, 2, 0, tzinfo=UTC)
MIN = 60_000


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture(scope="module")
def market():
    return generate_market(SYMBOL, FIRST_DAY, 4, seed=5)


@pytest.fixture
def clock():
    return [ms(NOW)]


@pytest.fixture
def server(market, clock):
    with FakeHyperliquidServer([market], now_ms=lambda: clock[0]) as srv:
        yield srv


def _client(server, **kwargs) -> HyperliquidClient:
    options = dict(request_deadline_s=5.0, backoff_s=0.01)
    options.update(kwargs)
    return HyperliquidClient(server.url, limiter=SlidingWindowLimiter(10**9, 60.0), **options)


def _source(server, tmp_path: Path, now: datetime = NOW, **kwargs) -> HyperliquidSource:
    return HyperliquidSource(
        tmp_path / "cache", tmp_path / "data", _client(server, **kwargs), now=lambda: now
    )


def _sample_day(
    server, clock, tmp_path: Path, day: date, skip: range = range(0), minutes: int = 3
) -> None:
    """The real sampler, once a minute over the first `minutes` of `day` by the server's
    clock (a few make the day collected; 1,440 a whole day); minutes in `skip` are answered
    HTTP 422 (a failed sample: a gap)."""
    sampler = Sampler(
        samples_root(tmp_path / "data"), _client(server), (SYMBOL,), clock=lambda: clock[0]
    )
    saved = clock[0]
    clock[0] = day_start_ms(day) + 1_500
    sampler.start()
    for minute in range(minutes):
        clock[0] = day_start_ms(day) + minute * MIN + 1_500
        if minute in skip:
            server.add_fault(Fault("status", path="/info", status=422, body=b"busy"))
        sampler.sample()
    clock[0] = day_start_ms(day + timedelta(days=1))
    sampler.close()
    clock[0] = saved


def _post(server, kind: str) -> list[dict]:
    return [body for path, body in server.log if path == "/info" and body.get("type") == kind]


def test_candles_are_one_post_per_day_with_the_documented_body(server, market, tmp_path, clock):
    _sample_day(server, clock, tmp_path, DAY)
    day = _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, DAY)
    start = day_start_ms(DAY)
    assert [r[0] for r in day.rows] == [start + MIN * i for i in range(1440)]
    want = market.klines[market.klines[:, 0] == start][0]
    assert day.rows[0][1:6] == pytest.approx(tuple(want[1:6]))
    assert day.rows[0][7] == int(want[6])  # n: trades
    (page,) = json.loads(day.path.read_text())["pages"]  # the answer as the server sent it
    sent = json.loads(page["body"])[0]
    assert set(sent) == {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"}
    assert all(isinstance(sent[k], str) for k in "ohlcv") and isinstance(sent["n"], int)
    (body,) = _post(server, "candleSnapshot")
    assert body["req"] == {"coin": "BTC", "interval": "1m", "startTime": start,
                           "endTime": start + 86_400_000 - 1}  # fmt: skip
    assert day.final and day.path is not None and day.path.is_file()


def test_candle_and_funding_answers_are_paged(market, tmp_path) -> None:
    # 5,000 candles is a full answer: the next starts a minute after its last candle
    long = generate_market(SYMBOL, date(2026, 9, 1), 25, seed=3)
    now = ms(datetime(2026, 9, 25, 23, 59, 30, tzinfo=UTC))
    with FakeHyperliquidServer([long], now_ms=lambda: now) as srv:
        client = _client(srv)
        start = now - 4 * 86_400_000
        pages = client.candle_pages("BTC", start, now + 86_400_000)
        sizes = [len(json.loads(p.body)) for p in pages]
        assert sizes == [5000, 0]  # only the latest 5,000 are served
        first = json.loads(pages[0].body)
        assert json.loads(pages[1].params["req"])["startTime"] == first[-1]["t"] + MIN
        funding = client.funding_pages("BTC", day_start_ms(date(2026, 9, 1)), now)
        sizes = [len(json.loads(p.body)) for p in funding]
        assert sizes == [500, 100]  # 25 days of hourly rows, 500 an answer
        last = json.loads(funding[0].body)[-1]["time"]
        assert json.loads(funding[1].params["startTime"]) == last + 1


def test_funding_is_floored_to_the_hour(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    day = _source(server, tmp_path).fetch_day("funding", SYMBOL, DAY)
    assert [r[0] - day_start_ms(DAY) for r in day.rows] == [h * 3_600_000 for h in range(24)]


def test_days_before_the_first_sample_are_not_collected(server, tmp_path, clock) -> None:
    src = _source(server, tmp_path)
    assert src.first_day(SYMBOL) is None
    with pytest.raises(OutOfReach, match="no minute samples"):
        src.fetch_day("klines_1m", SYMBOL, DAY)
    assert server.requests == 0
    _sample_day(server, clock, tmp_path, DAY)
    assert src.first_day(SYMBOL) == DAY
    with pytest.raises(OutOfReach, match="hyperliquid funding BTCUSDT 2026-10-01"):
        src.fetch_day("funding", SYMBOL, FIRST_DAY)
    # candles older than the latest 5,000 are out of reach unless collected while served
    src.fetch_day("klines_1m", SYMBOL, DAY)
    later = _source(server, tmp_path, now=NOW + timedelta(days=10))
    assert later.fetch_day("klines_1m", SYMBOL, DAY).from_cache
    (later.cache.root / "klines_1m").rename(tmp_path / "moved")
    with pytest.raises(OutOfReach, match="latest 5,000 1-minute candles"):
        later.fetch_day("klines_1m", SYMBOL, DAY)


def test_samples_become_5_minute_oi_and_minute_mark_rows(server, market, tmp_path, clock):
    _sample_day(server, clock, tmp_path, DAY, minutes=1440)
    src = _source(server, tmp_path)
    oi = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    mark = src.fetch_day("mark_1m", SYMBOL, DAY)
    start = day_start_ms(DAY)
    assert [r[0] for r in oi.rows] == [start + 5 * MIN * i for i in range(288)]
    ctx = market.minute_ctx[market.minute_ctx[:, 0] == start][0]
    assert oi.rows[0] == pytest.approx((start, ctx[1], ctx[1] * ctx[2]))
    assert len(mark.rows) == 1440 and mark.rows[0][1:] == pytest.approx((ctx[2],) * 4)
    assert oi.final and mark.final and oi.gaps == 0


def test_a_sample_gap_makes_the_day_partial_and_named(server, tmp_path, clock) -> None:
    _sample_day(
        server, clock, tmp_path, DAY, skip=range(600, 603), minutes=1440
    )  # 10:00-10:03 fail
    src = _source(server, tmp_path)
    oi = src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert len(oi.rows) == 287 and oi.gaps == 3 and not oi.final  # the 10:00 bar is missing
    assert all(r[0] != day_start_ms(DAY) + 600 * MIN for r in oi.rows)  # not filled
    gaps = (samples_root(tmp_path / "data") / DAY.isoformat() / "gaps.jsonl").read_text()
    assert gaps.count("\n") == 3 and "HTTP 422" in gaps
    assert not any("open_interest_5m" in str(p) for p in cached_files(tmp_path))
    with warehouse(tmp_path / "w.duckdb") as conn:
        from transforms.raw.quality import check_dataset
        from transforms.raw.venues.hyperliquid.load import replace_days

        replace_days(conn, "metrics", SYMBOL, [oi], tmp_path / "cache")
        (complete,) = [
            o for o in check_dataset(conn, "metrics", SYMBOL, DAY, DAY + timedelta(days=1),
                                     "hyperliquid") if o.name == "complete_days"
        ]  # fmt: skip
        assert not complete.passed and complete.failures[0] == (DAY.isoformat(), 287)


def test_cache_hit_makes_zero_requests_and_tampering_is_named(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)

    def fetch():  # a new source each time: the cache is what they share
        return _source(server, tmp_path).fetch_day("funding", SYMBOL, DAY)

    assert_cache_hit_then_tampering_named(fetch, server, CacheCorrupt, (b"1", b"2"))


def test_empty_and_unfinished_days_are_not_cached(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    src = _source(server, tmp_path, now=NOW + timedelta(days=2))
    clock[0] = ms(NOW + timedelta(days=2))
    empty = src.fetch_day("klines_1m", SYMBOL, date(2026, 10, 5))  # the market ended
    assert empty.rows == [] and not empty.final
    clock[0] = ms(NOW)
    running = _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, date(2026, 10, 4))
    assert len(running.rows) == 120 and not running.final and cached_files(tmp_path) == []


def test_an_error_answer_inside_http_200_is_a_format_error(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    server.add_fault(Fault("retcode", path="/info", ret_code=0, ret_msg="rejected"))
    with pytest.raises(HyperliquidFormatError, match="expected an array, got dict"):
        _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, DAY)
    assert cached_files(tmp_path) == []


def test_an_unknown_coin_is_http_422_named_at_once(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    sent = server.requests
    with pytest.raises(HyperliquidApiError, match="candleSnapshot: HTTP 422"):
        _source(server, tmp_path).fetch_day("klines_1m", "DOGEUSDT", DAY)
    assert server.requests == sent + 1 and cached_files(tmp_path) == []


def test_http_429_is_retried_then_succeeds(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    sent = server.requests
    server.add_fault(Fault("status", path="/info", times=2, status=429, body=b"null"))
    day = _source(server, tmp_path).fetch_day("funding", SYMBOL, DAY)
    assert len(day.rows) == 24 and server.requests == sent + 3


def test_http_429_until_the_deadline_is_rate_limited(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    server.add_fault(Fault("status", path="/info", times=10**6, status=429, body=b"null"))
    src = _source(server, tmp_path, request_deadline_s=0.4, backoff_s=0.05)
    with pytest.raises(RateLimited, match="fundingHistory: HTTP 429") as err:
        src.fetch_day("funding", SYMBOL, DAY)
    assert not isinstance(err.value, (HyperliquidApiError, HyperliquidFormatError))
    assert isinstance(err.value, HyperliquidError) and cached_files(tmp_path) == []


def test_truncated_json_is_an_error_and_nothing_is_cached(server, tmp_path, clock) -> None:
    _sample_day(server, clock, tmp_path, DAY)
    server.add_fault(Fault("truncate", path="/info"))
    with pytest.raises(HyperliquidFormatError, match="truncated or invalid JSON"):
        _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, DAY)
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "field", "match"),
    [("funding", "fundingRate", "missing field 'fundingRate'"), ("klines_1m", "n", "'n'")],
)
def test_an_answer_with_a_missing_field_is_rejected(server, tmp_path, clock, name, field, match):
    _sample_day(server, clock, tmp_path, DAY)
    server.add_fault(Fault("drop_field", path="/info", field=field))
    with pytest.raises(HyperliquidFormatError, match=match):
        _source(server, tmp_path).fetch_day(name, SYMBOL, DAY)
    assert cached_files(tmp_path) == []


def test_a_sample_missing_mark_is_a_gap_not_a_guess(server, tmp_path, clock) -> None:
    sampler = Sampler(samples_root(tmp_path / "data"), _client(server), (SYMBOL,),
                      clock=lambda: clock[0])  # fmt: skip
    sampler.start()
    server.add_fault(Fault("drop_field", path="/info", field="markPx"))
    assert sampler.sample() is False
    clock[0] += MIN
    assert sampler.sample() is True
    sampler.close()
    root = samples_root(tmp_path / "data") / NOW.date().isoformat()
    assert "missing field 'markPx'" in (root / "gaps.jsonl").read_text()


def test_margin_tables_are_tiers_with_the_documented_liquidation_price(server, tmp_path):
    tiers, snapshot = _source(server, tmp_path).fetch_tiers(SYMBOL)
    assert tiers == [(0.0, 40), (150_000_000.0, 20)]
    with warehouse(tmp_path / "w.duckdb") as conn:
        assert replace_tier_snapshot(conn, tiers, snapshot) == 2
        rows = conn.execute(
            "SELECT notional_floor, notional_cap, max_leverage, maint_margin_rate, cum "
            "FROM ref.leverage_brackets WHERE venue = 'hyperliquid' ORDER BY bracket"
        ).fetchall()
    assert rows[0][3] == 0.0125 and rows[0][4] == 0.0  # MMR = 1 / (2 x 40)
    assert rows[1][:4] == (150_000_000.0, 1e12, 20, 0.025)
    assert rows[1][4] == pytest.approx(150_000_000 * 0.0125)  # the deduction
    # HLD liquidations: liq = price - side x margin_available / size / (1 - l x side)
    entry, lev, q = 60_000.0, 10.0, 5_000.0  # a 300M long: tier 2
    mmr, cum = rows[1][3], rows[1][4]
    margin_available = q * entry / lev - (q * entry * mmr - cum)
    documented = entry - margin_available / q / (1 - mmr)
    model = entry * (1 - 1 / lev) / (1 - mmr) - cum / (q * (1 - mmr))
    assert model == pytest.approx(documented, rel=1e-12)
    again = _source(server, tmp_path)
    sent = server.requests
    assert again.fetch_tiers(SYMBOL)[1].from_cache and server.requests == sent
