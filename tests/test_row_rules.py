"""The same declared plausibility rules for every venue's rows (transforms/raw/rules.py).

Bybit is served in its exact wire format by the real local FakeBybitServer with one day of the
market tampered; Binance comes from a mirror folder with one day's file tampered. Each fault
refuses that venue's day only (nothing of it is loaded, the other days land) with one line
naming venue or file, day and rule: the issue-20 cases that passed every rule before (prices,
OI, mark x1000, funding 500 %, one bar x1000, a day of zero OI, negative OI, an inverted bar;
on Binance OI x1000 in base and value both, open and close swapped in every bar).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from contextlib import contextmanager
from datetime import date, timedelta

import numpy as np
import pytest
from ingest_helpers import SEED, SYMBOL, make_settings, read_member, write_archive

from transforms.db import warehouse
from transforms.raw.ingest import ingest_window
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance.datasets import archive_relpath
from transforms.raw.venues.bybit.fake_server import FakeBybitServer
from transforms.raw.venues.bybit.feed import shadow_market
from transforms.raw.venues.bybit.market import day_start_ms

LOG = logging.getLogger("test_row_rules")
D0, D1 = date(2025, 11, 26), date(2025, 11, 29)  # three days [D0, D1)
DAYS = [D0 + timedelta(days=i) for i in range(3)]
BAD = DAYS[1]
TABLE = {
    "klines_1m": "raw.klines_1m",
    "mark_klines_1m": "raw.mark_klines_1m",
    "metrics": "raw.metrics_5m",
    "funding": "raw.funding",
}


@pytest.fixture(autouse=True)
def quick_bybit(monkeypatch):
    monkeypatch.setenv("LIQMAP_BYBIT_DEADLINE_S", "3")
    monkeypatch.delenv("LIQMAP_BYBIT_OI_SIDES", raising=False)


@pytest.fixture
def settings(tmp_path):
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    return make_settings(tmp_path, source="mirror", mirror_dir=mirror, venues=("binance", "bybit"))


def _connect(settings):
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    return connect


def _ingest(settings, names, venues):
    s = dataclasses.replace(settings, venues=venues)
    return {name: ingest_window(_connect(s), s, name, D0, D1, LOG) for name in names}


def _days(settings, name: str, venue: str) -> set[date]:
    with warehouse(settings.warehouse_path) as conn:
        rows = conn.execute(
            f"SELECT DISTINCT day FROM {TABLE[name]} WHERE venue = ?", [venue]
        ).fetchall()
    return {r[0] for r in rows}


def _in_day(ts: np.ndarray, day: date) -> np.ndarray:
    t0 = day_start_ms(day)
    return (ts >= t0) & (ts < t0 + 86_400_000)


def _tampered(market, fault: str):
    """A copy of `market` (the cached shadow stays clean) with `fault` on day BAD."""
    m = dataclasses.replace(
        market,
        klines=market.klines.copy(),
        mark_klines=market.mark_klines.copy(),
        open_interest=market.open_interest.copy(),
        funding=market.funding.copy(),
    )
    k = _in_day(m.klines[:, 0], BAD)
    oi = _in_day(m.open_interest[:, 0], BAD)
    if fault == "prices x1000":
        m.klines[k, 1:5] *= 1000
    elif fault == "one bar x1000":
        first = np.flatnonzero(k)[100]
        m.klines[first, 1:5] *= 1000
    elif fault == "inverted bar":
        first = np.flatnonzero(k)[200]
        m.klines[first, 2], m.klines[first, 3] = m.klines[first, 3], m.klines[first, 2]
    elif fault == "mark x1000":
        m.mark_klines[_in_day(m.mark_klines[:, 0], BAD), 1:5] *= 1000
    elif fault == "OI x1000":
        m.open_interest[oi, 1:] *= 1000
    elif fault == "a day of zero OI":
        m.open_interest[oi, 1:] = 0.0
    elif fault == "negative OI":
        rows = np.flatnonzero(oi)[[10, 20]]
        m.open_interest[rows, 1:] *= -1
    elif fault == "funding 500 %":
        m.funding[_in_day(m.funding[:, 0], BAD), 1] = 5.0
    else:
        raise ValueError(fault)
    return m


# fault -> (datasets ingested for Bybit, in order; the dataset refused; the rule named)
BYBIT_FAULTS = {
    "prices x1000": (("klines_1m",), "klines_1m", "close_near_reference_venue"),
    "one bar x1000": (("klines_1m",), "klines_1m", "close_near_reference_venue"),
    "inverted bar": (("klines_1m",), "klines_1m", "ohlc_order"),
    "mark x1000": (("klines_1m", "mark_klines_1m"), "mark_klines_1m", "mark_near_last"),
    "OI x1000": (("klines_1m", "metrics"), "metrics", "open_interest_steady"),
    "a day of zero OI": (("klines_1m", "metrics"), "metrics", "open_interest_valid"),
    "negative OI": (("klines_1m", "metrics"), "metrics", "open_interest_valid"),
    "funding 500 %": (("funding",), "funding", "funding_rate_bounded"),
}


@pytest.mark.parametrize("fault", list(BYBIT_FAULTS))
def test_a_bybit_fault_refuses_that_venue_day_only(fault, settings, monkeypatch):
    names, refused, rule = BYBIT_FAULTS[fault]
    _ingest(settings, ("klines_1m",), ("binance",))  # the reference venue's prices
    market = _tampered(shadow_market(settings, SYMBOL), fault)
    with FakeBybitServer([market]) as server:
        monkeypatch.setenv("LIQMAP_BYBIT_URL", server.url)
        results = _ingest(settings, names, ("bybit",))
    failure = results[refused].failed_venues.get("bybit", "")
    assert f"bybit {refused} {SYMBOL} {BAD}: {rule}" in failure, failure
    assert _days(settings, refused, "bybit") == set(DAYS) - {BAD}
    blocking = [
        o.describe()
        for o in results[refused].outcomes
        if not o.passed and o.name in ("prices_sane", "open_interest_non_negative")
    ]
    assert blocking == []  # nothing implausible reached the table for the checks to block on
    assert _days(settings, "klines_1m", "binance") == set(DAYS)  # the other venue untouched


def _rewrite(settings, name: str, day: date, change) -> None:
    zip_path = settings.mirror_dir / archive_relpath(name, SYMBOL, day.isoformat())
    text = read_member(zip_path).decode()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0] if not rows[0][0].isdigit() else None
    body = rows[1:] if header else rows
    cols = {c: i for i, c in enumerate(header)} if header else None
    for row in body:
        change(row, cols)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(([header] if header else []) + body)
    write_archive(
        settings.mirror_dir,
        zip_path.relative_to(settings.mirror_dir).as_posix(),
        zip_path.name.replace(".zip", ".csv"),
        out.getvalue(),
    )


def _oi_x1000(row, cols):
    for c in ("sum_open_interest", "sum_open_interest_value"):
        i = cols[c] if cols else {"sum_open_interest": 2, "sum_open_interest_value": 3}[c]
        row[i] = repr(float(row[i]) * 1000)


def _swap_open_close(row, cols):
    o, c = (cols["open"], cols["close"]) if cols else (1, 4)
    row[o], row[c] = row[c], row[o]


BINANCE_FAULTS = {
    "OI x1000 (base and value)": ("metrics", _oi_x1000, "open_interest_steady"),
    "open and close swapped": ("klines_1m", _swap_open_close, "bars_continuous"),
}


@pytest.mark.parametrize("fault", list(BINANCE_FAULTS))
def test_a_consistently_scaled_binance_file_is_rejected(fault, settings):
    name, change, rule = BINANCE_FAULTS[fault]
    _rewrite(settings, name, BAD, change)
    names = ("klines_1m", name) if name != "klines_1m" else (name,)
    results = _ingest(settings, names, ("binance",))
    messages = [r.message for r in results[name].rejections]
    assert len(messages) == 1 and f": {rule}: " in messages[0], messages
    assert BAD.isoformat() in messages[0]
    assert _days(settings, name, "binance") == set(DAYS) - {BAD}


def test_the_day_after_a_bad_day_is_judged_on_its_own(settings):
    """OI x1000 on the middle day must not reject the next day's good file: the yardstick is
    the previous *accepted* day."""
    _rewrite(settings, "metrics", BAD, _oi_x1000)
    results = _ingest(settings, ("klines_1m", "metrics"), ("binance",))
    rejected = {r.period for r in results["metrics"].rejections}
    assert rejected == {BAD.isoformat()}


def test_okx_rows_get_the_same_rules(tmp_path):
    """OKX through its real local server: an inverted bar and a funding rate of 500 % refuse
    their days only, with the rule named."""
    from datetime import UTC, datetime

    from transforms.raw.rest.limiter import SlidingWindowLimiter
    from transforms.raw.venues.okx.api import OkxClient
    from transforms.raw.venues.okx.fake_server import FakeOkxServer
    from transforms.raw.venues.okx.load import replace_days as okx_replace_days
    from transforms.raw.venues.okx.market import generate_market
    from transforms.raw.venues.okx.source import OkxSource

    first = date(2026, 10, 1)
    okx_days = [first + timedelta(days=i) for i in range(1, 4)]  # within what OKX keeps
    bad = okx_days[1]
    market = generate_market(SYMBOL, first, 4, seed=5)
    k = np.flatnonzero(_in_day(market.klines[:, 0], bad))[300]
    market.klines[k, 2], market.klines[k, 3] = market.klines[k, 3], market.klines[k, 2]
    market.funding[_in_day(market.funding[:, 0], bad), 1] = 5.0
    now = datetime(2026, 10, 6, 2, 0, tzinfo=UTC)
    with FakeOkxServer([market], now_ms=lambda: int(now.timestamp() * 1000)) as server:
        # not paced against the fake server (test_okx_source)
        client = OkxClient(
            server.url,
            request_deadline_s=5.0,
            http_backoff_s=0.01,
            limiter=SlidingWindowLimiter(10**9, 60.0),
        )
        source = OkxSource(tmp_path / "cache", client, now=lambda: now)
        with warehouse(tmp_path / "w.duckdb") as conn:
            for name, rule in (("klines_1m", "ohlc_order"), ("funding", "funding_rate_bounded")):
                fetched = [source.fetch_day(name, SYMBOL, d) for d in okx_days]
                loaded = okx_replace_days(conn, name, SYMBOL, fetched, tmp_path / "cache")
                assert list(loaded.refused) == [bad.isoformat()], loaded.refused
                assert f"okx {name} {SYMBOL} {bad}: {rule}" in loaded.refused[bad.isoformat()]
                days = conn.execute(
                    f"SELECT DISTINCT day FROM {TABLE[name]} WHERE venue = 'okx'"
                ).fetchall()
                assert {r[0] for r in days} == set(okx_days) - {bad}
