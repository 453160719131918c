"""The synthetic market: archive-exact files, determinism, and market realism."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from ingest_helpers import SEED, SYMBOL, make_settings, read_member

from transforms.raw import fetch_ahead
from transforms.raw.synthetic import (
    MANIFEST_NAME,
    archive,
    ensure_mirror,
    generate_mirror,
    headerless,
    simulate_market,
)
from transforms.raw.venues.binance import archive_relpath, make_source, periods_for_window
from transforms.raw.venues.binance.datasets import FUNDING_COLUMNS, KLINE_COLUMNS, METRICS_COLUMNS
from transforms.raw.venues.binance.parsing import parse_zip

GENUINE = "roshan7869-algotrading/futures-um-klines-BTCUSDT-1h-2024-10-28.zip"
D0, D1 = date(2026, 1, 30), date(2026, 2, 1)


@pytest.fixture(scope="module")
def year():
    return simulate_market(SYMBOL, date(2025, 11, 1), 365, SEED)


@pytest.fixture(scope="module")
def small_mirror(tmp_path_factory):
    return generate_mirror(tmp_path_factory.mktemp("m"), SYMBOL, D0, D1, SEED)


def _digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.zip"))
    }


def test_files_follow_the_archive_layout(small_mirror):
    days = periods_for_window("klines_1m", D0, D1 + timedelta(days=1))
    expected = {
        archive_relpath(ds, SYMBOL, d)
        for ds in ("klines_1m", "mark_klines_1m", "metrics")
        for d in days
    } | {archive_relpath("funding", SYMBOL, m) for m in ("2026-01", "2026-02")}
    assert set(_digests(small_mirror)) == expected
    for rel in expected:
        path = small_mirror / rel
        with zipfile.ZipFile(path) as zf:
            assert zf.namelist() == [path.name.replace(".zip", ".csv")]
        digest, name = (path.parent / (path.name + ".CHECKSUM")).read_text().split("  ")
        assert name == path.name + "\n" and digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_archive_quirks(small_mirror):
    for d in periods_for_window("klines_1m", D0, D1 + timedelta(days=1)):
        for ds in ("klines_1m", "mark_klines_1m"):
            first = read_member(small_mirror / archive_relpath(ds, SYMBOL, d)).split(b"\n")[0]
            assert (first == ",".join(KLINE_COLUMNS).encode()) != headerless(date.fromisoformat(d))
    metrics = read_member(small_mirror / archive_relpath("metrics", SYMBOL, "2026-01-30")).decode()
    lines = metrics.splitlines()
    assert lines[0] == ",".join(METRICS_COLUMNS)
    assert lines[1].startswith("2026-01-30 00:00:00,BTCUSDT,")
    funding = read_member(small_mirror / archive_relpath("funding", SYMBOL, "2026-02")).decode()
    lines = funding.splitlines()
    assert lines[0] == ",".join(FUNDING_COLUMNS) and len(lines) == 1 + 28 * 3
    ms = np.array([int(line.split(",")[0]) for line in lines[1:]])
    assert ((ms % 3_600_000) < 16).all() and (ms % 3_600_000).any()  # a few ms of jitter
    assert {line.split(",")[1] for line in lines[1:]} == {"8"}


def test_deterministic_and_prefix_stable(tmp_path, small_mirror):
    again = generate_mirror(tmp_path / "again", SYMBOL, D0, D1, SEED)
    assert _digests(again) == _digests(small_mirror)
    other_seed = generate_mirror(tmp_path / "seed", SYMBOL, D0, D1, SEED + 1)
    assert _digests(other_seed).keys() == _digests(small_mirror).keys()
    assert not set(_digests(other_seed).values()) & set(_digests(small_mirror).values())
    # a shorter window ending in January gives the same January days
    short = _digests(generate_mirror(tmp_path / "short", SYMBOL, D0, date(2026, 1, 31), SEED))
    for rel, digest in short.items():
        if "2026-01-3" in rel:
            assert _digests(small_mirror)[rel] == digest


def test_ensure_mirror_is_idempotent_and_regenerates_on_change(tmp_path):
    root = tmp_path / "syn"
    assert ensure_mirror(root, SYMBOL, D0, D0, SEED) is True
    assert (root / MANIFEST_NAME.format(symbol=SYMBOL)).is_file()
    assert ensure_mirror(root, SYMBOL, D0, D0, SEED) is False
    before = _digests(root)
    assert ensure_mirror(root, SYMBOL, D1, D1, SEED) is True
    after = _digests(root)
    assert not any(D0.isoformat() in rel for rel in after)  # stale files removed
    assert set(before) != set(after)


def test_ensure_mirror_extends_a_grown_window_to_the_files_of_a_fresh_one(tmp_path, monkeypatch):
    """A daily run's window ends a day later each day: the mirror gains the new days' files
    (the earlier ones left as they are), byte for byte those a fresh generation writes."""
    root = tmp_path / "syn"
    assert ensure_mirror(root, SYMBOL, D0, D0, SEED) is True
    first = root / archive_relpath("klines_1m", SYMBOL, D0.isoformat())
    written = first.stat().st_mtime_ns
    assert ensure_mirror(root, SYMBOL, D0, D1, SEED) is True  # into the next month
    assert first.stat().st_mtime_ns == written  # extended, not regenerated
    fresh = generate_mirror(tmp_path / "fresh", SYMBOL, D0, D1, SEED)
    assert _digests(root) == _digests(fresh)
    # a window that moved within the days held (same first month): nothing to write
    assert ensure_mirror(root, SYMBOL, D0 + timedelta(days=1), D1, SEED) is False
    # a day later within the same months: the kept simulation is mapped, not simulated again
    simulated = []
    real = archive.simulate_market
    monkeypatch.setattr(archive, "simulate_market", lambda *a: simulated.append(a) or real(*a))
    later = D1 + timedelta(days=1)
    assert ensure_mirror(root, SYMBOL, D0, later, SEED) is True and simulated == []
    fresh = generate_mirror(tmp_path / "fresh2", SYMBOL, D0, later, SEED)
    assert _digests(root) == _digests(fresh)
    # another seed: regenerated whole
    assert ensure_mirror(root, SYMBOL, D0, later, SEED + 1) is True
    assert _digests(root).keys() == _digests(fresh).keys()
    assert not set(_digests(root).values()) & set(_digests(fresh).values())


def test_ensure_mirror_in_two_places_at_once_writes_the_files_of_one(tmp_path):
    """The fetch-ahead child generates later symbols' mirrors while the run's process asks
    for them (transforms.raw.fetch_ahead.mirrors_ahead): the symbol's lock lets one write
    and the other find it written. Two threads stand for the two processes (a lock taken
    through another open of the lock file excludes either)."""
    root = tmp_path / "syn"
    start = threading.Barrier(2)

    def ensure() -> bool:
        start.wait()
        return ensure_mirror(root, SYMBOL, D0, D1, SEED)

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(lambda _: ensure(), range(2)))
    assert results == [False, True]
    assert _digests(root) == _digests(generate_mirror(tmp_path / "fresh", SYMBOL, D0, D1, SEED))


def test_the_fetch_ahead_child_generates_the_later_symbols_mirrors(tmp_path):
    """What the child is asked to generate (the later symbols, the last first, only for the
    synthetic Binance mirror loaded by the run's process) and what it writes: the files a
    generation in the run's process writes."""
    settings = make_settings(
        tmp_path, symbols=(SYMBOL, "ETHUSDT", "SOLUSDT"), venues=("binance", "bybit")
    )
    assert fetch_ahead.mirrors_ahead(settings) == ("SOLUSDT", "ETHUSDT")
    assert fetch_ahead.mirrors_ahead(replace(settings, venues=("bybit", "binance"))) == ()
    assert fetch_ahead.mirrors_ahead(replace(settings, source="mirror")) == ()
    one = replace(settings, symbols=("ETHUSDT",), start_date=D0, end_date=D1)
    request = fetch_ahead.Request("bybit", one, "klines_1m", D0, D1, {}, ("ETHUSDT",))
    fetch_ahead._generate_mirrors(request)
    fresh = generate_mirror(tmp_path / "fresh", "ETHUSDT", D0, D1, SEED)
    assert _digests(one.synthetic_dir) == _digests(fresh)
    assert ensure_mirror(one.synthetic_dir, "ETHUSDT", D0, D1, SEED) is False  # found written


def test_synthetic_source_generates_once_and_serves_verified_files(tmp_path):
    settings = make_settings(tmp_path, start_date=D0, end_date=D0)
    source = make_source(settings)
    fetched = source.fetch("metrics", SYMBOL, D0.isoformat())
    assert fetched.path.is_relative_to(settings.cache_dir)
    assert (settings.synthetic_dir / fetched.relpath).is_file()
    assert make_source(settings).fetch("metrics", SYMBOL, D0.isoformat()) == fetched


def test_price_level_volatility_and_ohlc(year):
    assert year.close.min() > 50_000 and year.close.max() < 135_000
    daily = np.log(year.close[1439::1440])
    vol = np.diff(daily).std()
    assert 0.015 < vol < 0.045
    assert (year.low <= np.minimum(year.open, year.close)).all()
    assert (year.high >= np.maximum(year.open, year.close)).all()
    assert (year.mark_low <= year.mark_high).all()
    assert np.abs(year.mark_close / year.close - 1).max() < 0.01
    assert (year.taker_buy_volume <= year.volume).all() and (year.volume > 0).all()


def test_crash_flushes_open_interest_and_funding_cycles(year):
    hourly = year.close[59::60]
    # a drop of at least 25 % within 5 days
    window = 5 * 24
    worst = min(
        hourly[i + window] / hourly[i : i + window].max() for i in range(0, len(hourly) - window, 6)
    )
    assert worst < 0.75
    # open interest falls sharply somewhere (a flush of >= 15 % in 3 days) and builds elsewhere
    oi_daily = year.oi_base[::288]
    change3 = oi_daily[3:] / oi_daily[:-3] - 1
    assert change3.min() < -0.15 and change3.max() > 0.05
    # funding runs hot in build-ups, goes negative after flushes, and mostly sits at 0.01 %
    assert year.funding_rate.max() >= 0.0005 and year.funding_rate.min() < 0
    assert 0.2 < (year.funding_rate == 0.0001).mean() < 0.9


def test_taker_ratio_follows_moves_and_volume_follows_size(year):
    close5 = np.log(year.close[4::5])
    r5 = np.diff(close5)[:-1]  # r5[i] is the return of bar i + 1
    ratio_of_bar = year.taker_ratio[2:]  # metrics at create_time k describe bar k - 1
    assert ratio_of_bar[r5 > 0.002].mean() > 1.2
    assert ratio_of_bar[r5 < -0.002].mean() < 0.85
    ret = np.abs(np.log(year.close / year.open))
    big, small = ret > np.quantile(ret, 0.9), ret < np.quantile(ret, 0.5)
    assert year.volume[big].mean() > 1.5 * year.volume[small].mean()


def test_generated_klines_match_the_genuine_file_format(real_data_dir, small_mirror, tmp_path):
    genuine_zip = real_data_dir / GENUINE
    genuine_header = read_member(genuine_zip).split(b"\n")[0].decode().strip()
    day = next(
        d for d in periods_for_window("klines_1m", D0, D1) if not headerless(date.fromisoformat(d))
    )
    ours_zip = small_mirror / archive_relpath("klines_1m", SYMBOL, day)
    ours = read_member(ours_zip).decode().splitlines()
    assert ours[0] == genuine_header
    genuine_row = read_member(genuine_zip).decode().splitlines()[1].split(",")
    assert len(ours[1].split(",")) == len(genuine_row) == 12
    g = parse_zip(genuine_zip, "klines_1m", tmp_path)
    o = parse_zip(ours_zip, "klines_1m", tmp_path)
    assert list(g.columns) == list(o.columns)
    assert list(g.dtypes) == list(o.dtypes)
    assert len(o) == 1440
    # close_time = open_time + interval - 1 ms in both (ms epochs, same convention)
    for df in (g, o):
        step = df["open_time"].iloc[1] - df["open_time"].iloc[0]
        assert (df["close_time"] - df["open_time"] == step - timedelta(milliseconds=1)).all()
    assert (o["taker_buy_volume"] <= o["volume"]).all() and (o["trade_count"] > 0).all()
