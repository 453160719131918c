"""The offline demo's fake-venue markets are kept on disk and memory-mapped
(transforms.raw.rest.demo_markets): built once per parameter set, identical to the market
simulated in memory, read-only, and not held by the process between ingests (issue 19)."""

from __future__ import annotations

import gc
import weakref
from datetime import date

import numpy as np
import pytest
from ingest_helpers import SEED, SYMBOL, make_settings

from transforms.raw.rest.demo_markets import mapped_arrays
from transforms.raw.rest.feed import demo_simulation
from transforms.raw.venues.bybit.feed import DEMO_OI_SHARE, open_bybit_feed, shadow_market
from transforms.raw.venues.bybit.market import market_from_simulation

START, END = date(2025, 11, 26), date(2025, 11, 29)


def test_built_once_then_mapped_read_only(tmp_path):
    built = []

    def build():
        built.append(1)
        return {"a": np.arange(10.0), "b": np.ones((4, 3))}

    first = mapped_arrays(tmp_path, "BTCUSDT", {"seed": 1}, build)
    again = mapped_arrays(tmp_path, "BTCUSDT", {"seed": 1}, build)
    assert len(built) == 1
    assert np.array_equal(again["a"], np.arange(10.0)) and again["b"].shape == (4, 3)
    assert isinstance(first["a"], np.memmap)
    with pytest.raises(ValueError, match="read-only"):
        again["a"][0] = 5.0
    # other parameters: built again, and the superseded folder is removed
    other = mapped_arrays(tmp_path, "BTCUSDT", {"seed": 2}, build)
    assert len(built) == 2 and np.array_equal(other["a"], np.arange(10.0))
    assert len(list(tmp_path.glob("BTCUSDT-*"))) == 1


def test_a_failed_build_leaves_nothing_and_is_redone(tmp_path):
    def broken():
        return {"a": np.arange(3.0), "b": object()}  # np.save refuses to pickle it

    with pytest.raises(ValueError):
        mapped_arrays(tmp_path, "ETHUSDT", {"seed": 1}, broken)
    assert list(tmp_path.iterdir()) == []
    got = mapped_arrays(tmp_path, "ETHUSDT", {"seed": 1}, lambda: {"a": np.arange(3.0)})
    assert list(got["a"]) == [0.0, 1.0, 2.0]


def test_the_shadow_market_is_the_simulated_one(tmp_path):
    settings = make_settings(tmp_path, start_date=START, end_date=END, synthetic_seed=SEED)
    want = market_from_simulation(
        SYMBOL,
        demo_simulation(SYMBOL, START, END, SEED),
        oi_share=DEMO_OI_SHARE,
        oi_reported_as="both",
        share_drift=True,
    )
    got = shadow_market(settings, SYMBOL)
    for name in ("klines", "mark_klines", "open_interest", "funding"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert got.risk_tiers == want.risk_tiers
    assert (settings.demo_markets_dir / "bybit").is_dir()


def test_an_ingest_does_not_keep_the_market(tmp_path):
    """Once the feed is closed and dropped nothing refers to the mapped arrays (their pages
    are unmapped then, without waiting for the cycle collector)."""
    settings = make_settings(tmp_path, start_date=START, end_date=END, synthetic_seed=SEED)
    gc.disable()
    try:
        with open_bybit_feed(settings) as feed:
            feed.prepare(SYMBOL, "klines_1m", [START])
            held = weakref.ref(feed.server.markets[SYMBOL].klines)
            assert held() is not None
        del feed
        assert held() is None
    finally:
        gc.enable()


def _shadow_of(settings, start, end):
    return market_from_simulation(
        SYMBOL,
        demo_simulation(SYMBOL, start, end, SEED),
        oi_share=DEMO_OI_SHARE,
        oi_reported_as="both",
        share_drift=True,
    )


def test_kept_while_the_window_moves_within_its_months(tmp_path):
    """A daily run's window ends a day later each day: the market (simulated in whole months)
    is the same until the window reaches a new month, so it is not built again; a new month
    builds the longer market."""
    settings = make_settings(tmp_path, start_date=START, end_date=END, synthetic_seed=SEED)
    shadow_market(settings, SYMBOL)
    (folder,) = (settings.demo_markets_dir / "bybit").iterdir()
    built = folder.stat().st_mtime_ns
    later = date(2025, 11, 30)  # the same month
    moved = make_settings(tmp_path, start_date=START, end_date=later, synthetic_seed=SEED)
    got = shadow_market(moved, SYMBOL)
    assert list((settings.demo_markets_dir / "bybit").iterdir()) == [folder]
    assert folder.stat().st_mtime_ns == built
    want = _shadow_of(moved, START, later)
    for name in ("klines", "mark_klines", "open_interest", "funding"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    december = date(2025, 12, 1)
    grown = make_settings(tmp_path, start_date=START, end_date=december, synthetic_seed=SEED)
    got = shadow_market(grown, SYMBOL)
    want = _shadow_of(grown, START, december)
    assert len(want.klines) > len(_shadow_of(moved, START, later).klines)
    for name in ("klines", "mark_klines", "open_interest", "funding"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
