"""Cohorts on small synthetic paths with known answers, plus property tests against a naive
bar-by-bar reference implementation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.model_helpers import flat_brackets, make_bars, random_bars, reference_model
from transforms.model import ALIVE, EXPIRED, LIQUIDATED, LONG, SHORT, ModelParams, run_model

ONE_10X = ModelParams(leverage_levels=(10,), leverage_weights=(1.0,), side_split="symmetric")
LP_LONG_10X = 100.0 * 0.9 / 0.996  # 90.3614...
LP_SHORT_10X = 100.0 * 1.1 / 1.004  # 109.5617...


def _cohort(run, side):
    i = np.flatnonzero(run.side == side)
    assert len(i) == 1
    return int(i[0])


def test_consumed_exactly_at_first_crossing_bar_not_before_not_same_bar():
    n = 8
    close = np.full(n, 100.0)
    oi = np.array([1000, 1010, 1010, 1010, 1010, 1010, 1010, 1010], dtype=float)
    ml = np.full(n, 99.0)
    mh = np.full(n, 101.0)
    ml[1], mh[1] = 50.0, 150.0  # the opening bar itself crosses both LPs: must not count
    ml[2] = LP_LONG_10X + 1e-6  # just above the LP: not consumed
    ml[4] = LP_LONG_10X  # touches: consumed here (mark low <= LP)
    mh[3] = LP_SHORT_10X - 1e-6
    mh[6] = LP_SHORT_10X + 5  # crosses: consumed here
    ml[5] = 10.0  # later deeper crossing changes nothing
    run = run_model(make_bars(close, oi, mark_low=ml, mark_high=mh), ONE_10X, flat_brackets())
    lo, sh = _cohort(run, LONG), _cohort(run, SHORT)
    assert run.start[lo] == 1 and run.lp[lo] == pytest.approx(LP_LONG_10X)
    assert run.lp[sh] == pytest.approx(LP_SHORT_10X)
    assert (run.end[lo], run.status[lo]) == (4, LIQUIDATED)
    assert (run.end[sh], run.status[sh]) == (6, LIQUIDATED)
    # opened 10 BTC x 100 = 1000 USDT, 50/50
    assert run.liq_long[4] == pytest.approx(500.0) and run.liq_long.sum() == pytest.approx(500.0)
    assert run.liq_short[6] == pytest.approx(500.0) and run.liq_short.sum() == pytest.approx(500)
    assert run.size_at(3)[lo] == pytest.approx(500.0) and run.size_at(4)[lo] == 0.0


def test_oi_decrease_closes_pro_rata_against_total_oi():
    close = np.full(5, 100.0)
    oi = np.array([1000, 1100, 1100, 1045, 1045], dtype=float)  # +100 BTC, then -55 BTC
    run = run_model(make_bars(close, oi), ONE_10X, flat_brackets())
    # 10,000 USDT opened at bar 1, 5,000 per side; bar 3 closes 55/1100 = 5 % of everything.
    assert run.size_at(2).tolist() == pytest.approx([5000.0, 5000.0])
    assert run.size_at(4).tolist() == pytest.approx([4750.0, 4750.0])
    acc = run.accounting()
    assert acc["closed"].tolist() == pytest.approx([250.0, 250.0])
    never = run_model(
        make_bars(close, oi),
        ModelParams(**{**ONE_10X.to_dict(), "closing": "never"}),
        flat_brackets(),
    )
    assert never.size_at(4).tolist() == pytest.approx([5000.0, 5000.0])


def test_closing_is_net_of_the_bars_modelled_liquidations():
    params = ModelParams(
        leverage_levels=(100, 10), leverage_weights=(0.5, 0.5), side_split="symmetric"
    )
    close = np.full(5, 100.0)
    oi = np.array([1000, 1100, 1100, 1045, 1045], dtype=float)
    ml = np.full(5, 99.9)
    ml[3] = 99.0  # liquidates the 100x long (LP 99.398) in the same bar OI falls 55 BTC
    run = run_model(make_bars(close, oi, mark_low=ml), params, flat_brackets())
    # 2,500 USDT = 25 BTC liquidated explains part of the drop; 30 BTC is voluntary closing.
    f = 1 - 30 / 1100
    sizes = run.size_at(4)
    liq = (run.side == LONG) & (run.level == 0)
    assert run.status[liq].tolist() == [LIQUIDATED]
    assert run.liq_long[3] == pytest.approx(2500.0)
    assert sorted(sizes[~liq].tolist()) == pytest.approx([2500 * f] * 3)


def test_taker_split():
    close = np.full(3, 100.0)
    oi = np.array([1000, 1100, 1100], dtype=float)
    params = ModelParams(leverage_levels=(10,), leverage_weights=(1.0,))
    run = run_model(
        make_bars(close, oi, taker_ratio=np.array([1.0, 3.0, 1.0])), params, flat_brackets()
    )
    # long share = r / (1 + r) = 0.75
    assert run.n0[run.side == LONG].tolist() == pytest.approx([7500.0])
    assert run.n0[run.side == SHORT].tolist() == pytest.approx([2500.0])
    nan_ratio = run_model(make_bars(close, oi), params, flat_brackets())
    assert nan_ratio.n0.tolist() == pytest.approx([5000.0, 5000.0])


def test_nothing_older_than_lookback_survives():
    n = 2 * 288 + 10  # just over two days of 5-minute bars
    close = np.full(n, 100.0)
    oi = 1000.0 + np.arange(n)  # every bar opens a cohort
    params = ModelParams(**{**ONE_10X.to_dict(), "lookback_days": 1})
    run = run_model(make_bars(close, oi), params, flat_brackets())
    first = np.flatnonzero(run.start == 1)
    # opened at 00:05 on day 1 -> expires at the first bar >= 00:05 on day 2 = bar 289
    assert run.status[first].tolist() == [EXPIRED, EXPIRED]
    assert run.end[first].tolist() == [289, 289]
    assert (run.size_at(288)[first] > 0).all() and (run.size_at(289)[first] == 0).all()
    ts = run.bars.ts
    alive = run.status == ALIVE
    assert alive.any()
    assert (ts[-1] - ts[run.start[alive]] < 86_400 * 10**9).all()
    assert (run.accounting()["expired"] > 0).sum() == 2 * (n - 1 - 288)


def test_matches_reference_on_a_random_path():
    bars = random_bars(1500, seed=3)
    params = ModelParams(lookback_days=2)
    run = run_model(bars, params, flat_brackets())
    ref = reference_model(bars, params, flat_brackets())
    assert run.status.tolist().count(EXPIRED) > 0 and run.status.tolist().count(LIQUIDATED) > 0
    np.testing.assert_allclose(run.liq_long, ref["liq_long"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(run.liq_short, ref["liq_short"], rtol=1e-9, atol=1e-6)
    _assert_cohorts_match(run, ref)


def _assert_cohorts_match(run, ref):
    acc = run.accounting()
    names = {ALIVE: "alive", LIQUIDATED: "liquidated", EXPIRED: "expired"}
    assert len(ref["cohorts"]) == run.n_cohorts
    for i in range(run.n_cohorts):
        c = ref["cohorts"][(int(run.start[i]), int(run.side[i]), int(run.level[i]))]
        assert names[int(run.status[i])] == c["status"]
        assert acc["closed"][i] == pytest.approx(c["closed"], rel=1e-9, abs=1e-6)
        assert acc[c["status"]][i] == pytest.approx(c["size"], rel=1e-9, abs=1e-6)


@st.composite
def paths(draw):
    n = draw(st.integers(3, 60))
    steps = draw(st.lists(st.floats(-0.04, 0.04), min_size=n, max_size=n))
    close = 100.0 * np.exp(np.cumsum(steps))
    wick = np.array(draw(st.lists(st.floats(0, 0.03), min_size=n, max_size=n)))
    d_oi = draw(st.lists(st.floats(-80, 80), min_size=n, max_size=n))
    oi = np.maximum(1000.0 + np.cumsum(d_oi), 1.0)
    ratio = np.array(draw(st.lists(st.floats(0.2, 5.0), min_size=n, max_size=n)))
    closing = draw(st.sampled_from(["total_oi", "never"]))
    freq = draw(st.sampled_from(["5min", "1h", "4h"]))
    lookback = draw(st.integers(1, 3))
    bars = make_bars(
        close,
        oi,
        mark_low=close * (1 - wick),
        mark_high=close * (1 + wick[::-1]),
        taker_ratio=ratio,
        freq=freq,
    )
    return bars, ModelParams(closing=closing, lookback_days=lookback)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths())
def test_property_conservation_and_reference(case):
    bars, params = case
    run = run_model(bars, params, flat_brackets())
    acc = run.accounting()
    total = acc[["alive", "liquidated", "closed", "expired"]].sum(axis=1)
    np.testing.assert_allclose(total, acc["opened"], rtol=1e-9, atol=1e-9)
    assert (acc[["alive", "liquidated", "closed", "expired"]] >= -1e-9).all().all()
    # per-bar liquidation series and per-cohort accounting agree
    assert run.liq_long.sum() + run.liq_short.sum() == pytest.approx(
        acc["liquidated"].sum(), rel=1e-9, abs=1e-9
    )
    assert acc["opened"].sum() == pytest.approx(
        run.opened_long.sum() + run.opened_short.sum(), rel=1e-9, abs=1e-9
    )
    ref = reference_model(bars, params, flat_brackets())
    np.testing.assert_allclose(run.liq_long, ref["liq_long"], rtol=1e-9, atol=1e-9)
    _assert_cohorts_match(run, ref)


@settings(max_examples=40, deadline=None)
@given(paths(), st.data())
def test_property_no_alive_lp_beyond_the_mark_path(case, data):
    bars, params = case
    run = run_model(bars, params, flat_brackets())
    t = data.draw(st.integers(0, run.n_bars - 1))
    alive = (run.start <= t) & (run.end > t)
    ml = bars["mark_low"].to_numpy()
    mh = bars["mark_high"].to_numpy()
    for i in np.flatnonzero(alive):
        s = run.start[i]
        if s == t:
            continue
        if run.side[i] == LONG:
            assert run.lp[i] < ml[s + 1 : t + 1].min()
        else:
            assert run.lp[i] > mh[s + 1 : t + 1].max()


def test_any_interval_and_missing_inputs():
    base = random_bars(24 * 20, seed=5, freq="1h")
    for freq in ("1h", "4h"):
        bars = base.copy()
        bars["ts"] = pd.date_range("2025-01-01", periods=len(bars), freq=freq)
        bars[["mark_high", "mark_low", "mark_close", "taker_ratio", "funding_rate"]] = np.nan
        bars["oi_base"] = np.nan  # only USDT value: base is derived from value / open
        run = run_model(bars, ModelParams(), flat_brackets())
        assert run.bars.interval_ns == pd.Timedelta(freq).value
        assert run.n_cohorts > 0 and np.isfinite(run.lp).all()
        # mark falls back to last-price high/low; taker ratio to 50/50
        np.testing.assert_array_equal(run.bars.mark_low, bars["low"].to_numpy())
        assert np.allclose(run.opened_long, run.opened_short)
