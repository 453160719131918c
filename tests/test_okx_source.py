"""The OKX source against the real local OKX-format server on 127.0.0.1 (the Bybit fault set:
paging, error codes inside HTTP 200, 429, truncated JSON, missing field, empty day, nothing
partial cached), plus OKX's own rules: open bars dropped, open interest kept about five days,
tier bounds counted in contracts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
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
from transforms.raw.venues.okx.api import OkxClient
from transforms.raw.venues.okx.datasets import DATASETS, inst_id
from transforms.raw.venues.okx.errors import (
    CacheCorrupt,
    OkxApiError,
    OkxError,
    OkxFormatError,
    OutOfReach,
    RateLimited,
)
from transforms.raw.venues.okx.fake_server import FakeOkxServer, Fault
from transforms.raw.venues.okx.load import replace_tier_snapshot
from transforms.raw.venues.okx.market import generate_market
from transforms.raw.venues.okx.source import OkxSource, day_start_ms

SYMBOL, FIRST_DAY, DAY = REST_SYMBOL, REST_FIRST_DAY, REST_DAY
#: the server's and the source's clock: two days after the market's last day
NOW = datetime(2026, 10, 6, 2, 0, tzinfo=UTC)
CANDLES, MARK = "/api/v5/market/history-candles", "/api/v5/market/history-mark-price-candles"
OI = "/api/v5/rubik/stat/contracts/open-interest-history"
FUNDING = "/api/v5/public/funding-rate-history"


@pytest.fixture(scope="module")
def market():
    return generate_market(SYMBOL, FIRST_DAY, 4, seed=5)


@pytest.fixture
def server(market):
    with FakeOkxServer([market], now_ms=lambda: int(NOW.timestamp() * 1000)) as srv:
        yield srv


def _source(server, tmp_path: Path, now: datetime = NOW, **kwargs) -> OkxSource:
    # no pacing against the fake server (OKX's 10 requests / 2 s made a 15-page day wait 2 s;
    # the limiter has its own tests, test_bybit_source)
    options = dict(
        request_deadline_s=5.0,
        rate_limit_backoff_s=0.01,
        http_backoff_s=0.01,
        limiter=SlidingWindowLimiter(10**9, 60.0),
    )
    options.update(kwargs)
    return OkxSource(tmp_path / "cache", OkxClient(server.url, **options), now=lambda: now)


def test_candles_page_backwards_with_after_newest_first(server, market, tmp_path) -> None:
    day = _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, DAY)
    start = day_start_ms(DAY)
    assert [r[0] for r in day.rows] == [start + 60_000 * i for i in range(1440)]
    want = market.klines[market.klines[:, 0] == start][0]
    assert day.rows[0][1:5] == pytest.approx(tuple(want[1:5]))
    assert day.rows[0][5] == pytest.approx(want[5])  # volume in coins (volCcy)
    pages = [q for p, q in server.log if p == CANDLES]
    assert len(pages) == 5 and pages[0]["after"] == str(start + 86_400_000)
    # every next page starts at the oldest bar of the previous one
    assert all(int(b["after"]) < int(a["after"]) for a, b in zip(pages, pages[1:], strict=False))
    assert day.final and day.path is not None and day.path.is_file()


def test_mark_candles_and_funding(server, tmp_path) -> None:
    src = _source(server, tmp_path)
    mark = src.fetch_day("mark_klines_1m", SYMBOL, DAY)
    assert len(mark.rows) == 1440 and server.requests_by_path[MARK] == 15
    funding = src.fetch_day("funding", SYMBOL, DAY)
    assert [r[0] - day_start_ms(DAY) for r in funding.rows] == [0, 8 * 3_600_000, 16 * 3_600_000]


def test_open_interest_pages_with_end_and_keeps_coins_and_usd(server, market, tmp_path) -> None:
    day = _source(server, tmp_path).fetch_day("open_interest_5m", SYMBOL, DAY)
    assert len(day.rows) == 288 and server.requests_by_path[OI] == 3
    start = day_start_ms(DAY)
    want = market.open_interest[market.open_interest[:, 0] == start][0]
    assert day.rows[0] == pytest.approx((start, want[1], want[2]))


def test_open_bar_is_dropped_and_the_day_is_not_final(market, tmp_path) -> None:
    now = datetime(2026, 10, 2, 12, 0, 30, tzinfo=UTC)
    with FakeOkxServer([market], now_ms=lambda: int(now.timestamp() * 1000)) as srv:
        day = _source(srv, tmp_path, now=now).fetch_day("klines_1m", SYMBOL, DAY)
    assert len(day.rows) == 12 * 60  # 00:00..11:59; the 12:00 bar is open (confirm "0")
    assert not day.final and cached_files(tmp_path) == []


def test_open_interest_older_than_okx_keeps_is_out_of_reach(server, tmp_path) -> None:
    src = _source(server, tmp_path)
    # 1,440 five-minute entries before NOW reach back to 2026-10-01 02:00: the first whole
    # day inside is 2026-10-02
    assert src.first_day(SYMBOL) == date(2026, 10, 2)
    with pytest.raises(OutOfReach, match="okx klines_1m BTCUSDT 2026-10-01"):
        src.fetch_day("klines_1m", SYMBOL, FIRST_DAY)
    assert server.requests == 0
    # a day collected while it was served stays collectable from the cache afterwards
    src.fetch_day("open_interest_5m", SYMBOL, DAY)
    later = _source(server, tmp_path, now=NOW + timedelta(days=10))
    assert later.first_day(SYMBOL) == DAY
    assert later.fetch_day("open_interest_5m", SYMBOL, DAY).from_cache


def test_cache_hit_makes_zero_requests_and_tampering_is_named(server, tmp_path) -> None:
    def fetch():  # a new source each time: the cache is what they share
        return _source(server, tmp_path).fetch_day("funding", SYMBOL, DAY)

    assert_cache_hit_then_tampering_named(fetch, server, CacheCorrupt, (b"5", b"6"))


def test_empty_day_returns_no_rows_and_is_not_cached(server, tmp_path) -> None:
    day = _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, date(2026, 10, 5))
    assert day.rows == [] and not day.final and cached_files(tmp_path) == []


def test_unknown_instrument_is_a_code_inside_http_200(server, tmp_path) -> None:
    with pytest.raises(OkxApiError, match=r"code 51001 \(Instrument ID does not exist\)") as err:
        _source(server, tmp_path).fetch_day("klines_1m", "DOGEUSDT", DAY)
    assert err.value.endpoint == CANDLES and "instId=DOGE-USDT-SWAP" in str(err.value)
    assert cached_files(tmp_path) == []


def test_code_50011_is_retried_within_the_budget(server, tmp_path) -> None:
    server.add_fault(Fault("retcode", path=OI, times=2, ret_code=50011, ret_msg="Too Many"))
    day = _source(server, tmp_path).fetch_day("open_interest_5m", SYMBOL, DAY)
    assert len(day.rows) == 288 and server.requests_by_path[OI] == 5


def test_code_50011_until_the_deadline_is_rate_limited(server, tmp_path) -> None:
    server.add_fault(Fault("retcode", path=OI, times=1000, ret_code=50011, ret_msg="Too Many"))
    # 3 s: a slow first answer on a busy machine still meets a 50011 before the deadline
    src = _source(server, tmp_path, request_deadline_s=3.0, rate_limit_backoff_s=0.1)
    with pytest.raises(RateLimited, match="code 50011"):
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert cached_files(tmp_path) == []


def test_deadline_reached_in_the_retry_after_50011_is_rate_limited(server, tmp_path) -> None:
    # a busy machine: the retry after a 50011 answer outlives the deadline. The error names
    # the rate limit that caused it, not a bare timeout.
    server.add_fault(Fault("retcode", path=OI, times=1, ret_code=50011, ret_msg="Too Many"))
    server.add_fault(Fault("delay", path=OI, times=1, delay_s=2.0))
    src = _source(server, tmp_path, request_deadline_s=0.5, rate_limit_backoff_s=0.01)
    with pytest.raises(RateLimited, match="code 50011"):
        src.fetch_day("open_interest_5m", SYMBOL, DAY)
    assert cached_files(tmp_path) == []


def test_http_429_is_retried_then_succeeds(server, tmp_path) -> None:
    server.add_fault(Fault("status", path=FUNDING, times=2, status=429, body=b'{"code":"50011"}'))
    day = _source(server, tmp_path).fetch_day("funding", SYMBOL, DAY)
    assert len(day.rows) == 3 and server.requests_by_path[FUNDING] == 3


def test_http_429_until_the_deadline_fails_naming_the_endpoint(server, tmp_path) -> None:
    server.add_fault(Fault("status", path=FUNDING, times=1000, status=429, body=b"{}"))
    with pytest.raises(OkxError, match=FUNDING) as err:
        _source(server, tmp_path, request_deadline_s=0.4).fetch_day("funding", SYMBOL, DAY)
    assert not isinstance(err.value, (OkxApiError, OkxFormatError))  # about the venue
    assert cached_files(tmp_path) == []


def test_truncated_json_is_an_error_and_nothing_is_cached(server, tmp_path) -> None:
    # the third page of the day is cut in half: the two before it are not cached either
    server.add_fault(Fault("truncate", path=CANDLES, after=2))
    with pytest.raises(OkxFormatError, match="truncated or invalid JSON"):
        _source(server, tmp_path).fetch_day("klines_1m", SYMBOL, DAY)
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "path", "field", "match"),
    [
        ("funding", FUNDING, "realizedRate", "missing field 'realizedRate'"),
        ("klines_1m", CANDLES, "", "expected an array of 9 strings, got 8"),
        ("open_interest_5m", OI, "", "expected an array of 4 strings, got 3"),
    ],
)
def test_page_with_a_missing_field_is_rejected(server, tmp_path, name, path, field, match) -> None:
    server.add_fault(Fault("drop_field", path=path, field=field))
    with pytest.raises(OkxFormatError, match=match):
        _source(server, tmp_path).fetch_day(name, SYMBOL, DAY)
    assert cached_files(tmp_path) == []


def test_tiers_are_contract_counts_valued_with_ct_val(server, tmp_path) -> None:
    src = _source(server, tmp_path)
    with warehouse(tmp_path / "w.duckdb") as conn:
        _tiers_valued(src, conn, tmp_path)


def _tiers_valued(src: OkxSource, conn: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    mark = src.fetch_day("mark_klines_1m", SYMBOL, date(2026, 10, 4))
    snapshot = src.fetch_tiers(SYMBOL)
    assert snapshot.contract_value == 0.01 and snapshot.rows[0][2] == 1000.0  # contracts
    assert snapshot.mark_price == mark.rows[-1][4]  # the last mark close before now
    assert replace_tier_snapshot(conn, snapshot) == len(snapshot.rows)
    close = snapshot.mark_price
    caps = conn.execute(
        "SELECT notional_cap, maint_margin_rate, cum, source FROM ref.leverage_brackets "
        "WHERE venue = 'okx' ORDER BY bracket"
    ).fetchall()
    assert caps[0][0] == pytest.approx(1000 * 0.01 * close)  # 10 BTC at the day's close
    assert caps[0][1] == 0.004 and caps[0][2] == 0.0 and "ctVal 0.01 x markPx" in caps[0][3]
    again = src.fetch_tiers(SYMBOL)  # the day's snapshot comes from the cache
    assert again.from_cache and again.mark_price == snapshot.mark_price
    assert inst_id(SYMBOL) == "BTC-USDT-SWAP" and DATASETS["position_tiers"].inst_param == (
        "instFamily"
    )
