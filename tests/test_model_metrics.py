"""Metrics on tiny hand-built cohort sets, funding state, zone and zigzag."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.model_helpers import flat_brackets, make_bars, random_bars, reference_risk_metrics
from transforms.model import LONG, SHORT, BarArrays, ModelParams, ModelRun, alive_grid, run_model
from transforms.model import metrics as metrics_module
from transforms.model.funding import funding_daily
from transforms.model.metrics import risk_metrics
from transforms.model.moves import zigzag
from transforms.model.zone import zone_for


def tiny_run(params: ModelParams) -> ModelRun:
    """Five alive cohorts around spot 100: longs 90 (100), 95 (300); shorts 102 (100),
    105 (200), 120 (700); plus one dead long at 99 that must not count."""
    bars = BarArrays.from_frame(make_bars([100.0, 100.0, 100.0], [1.0, 1.0, 1.0]))
    lp = np.array([90.0, 95.0, 99.0, 102.0, 105.0, 120.0])
    side = np.array([LONG, LONG, LONG, SHORT, SHORT, SHORT], dtype=np.int8)
    k = len(lp)
    return ModelRun(
        bars=bars,
        params=params,
        start=np.zeros(k, dtype=np.int64),
        end=np.array([3, 3, 1, 3, 3, 3]),
        side=side,
        level=np.zeros(k, dtype=np.int8),
        entry=np.full(k, 100.0),
        lp=lp,
        n0=np.array([100.0, 300.0, 5000.0, 100.0, 200.0, 700.0]),
        status=np.zeros(k, dtype=np.int8),
        log_f=np.zeros(3),
        liq_long=np.zeros(3),
        liq_short=np.zeros(3),
        opened_long=np.zeros(3),
        opened_short=np.zeros(3),
    )


def test_hand_computed_metrics_on_a_tiny_cohort_set():
    params = ModelParams(bin_size=5.0)
    run = tiny_run(params)
    grid = alive_grid(run, np.array([2]), 5.0)
    m = risk_metrics(run, np.array([2]), np.array([100.0]), grid).iloc[0]
    assert m.longs_at_risk == 400 and m.shorts_at_risk == 1000
    assert m.longs_at_risk_10pct == 400  # LP 90 is exactly 10 % below: inclusive
    assert m.shorts_at_risk_10pct == 300 and m.shorts_at_risk_25pct == 1000
    assert m.shorts_per_long == 2.5 and m.log_imbalance == pytest.approx(math.log(2.5))
    # within ±5 %: longs 300 @95 (exactly 5 % below: inclusive), shorts 100 @102 + 200 @105
    assert (m.longs_at_risk_5pct, m.shorts_at_risk_5pct) == (300, 300)
    assert m.shorts_per_long_5pct == 1.0
    # within ±10 % longs are heavier (400 vs 300) though shorts lead the whole map (2.5:1)
    assert m.shorts_per_long_10pct == pytest.approx(300 / 400)
    # shorts from spot: 100 @102, 300 @105, 1000 @120 -> 90 % (900) first reached at 120
    assert m.squeeze_ceiling == 120.0
    # longs from spot down: 300 @95, 400 @90 -> 90 % (360) reached at 90
    assert m.flush_floor == 90.0
    assert (m.peak_cluster_long, m.peak_cluster_long_notional) == (97.5, 300.0)
    assert (m.peak_cluster_short, m.peak_cluster_short_notional) == (122.5, 700.0)
    # a lower quantile moves the ceiling towards spot: 50 % of 1000 -> 500 reached at 120,
    # 30 % -> 300 reached at 105
    low_q = risk_metrics(tiny_run(ModelParams(ceiling_quantile=0.3)), [2], [100.0]).iloc[0]
    assert low_q.squeeze_ceiling == 105.0 and low_q.flush_floor == 95.0


def test_both_sides_levels_when_longs_heavier_and_empty_sides():
    run = tiny_run(ModelParams())
    run.n0[:2] = [5000.0, 5000.0]
    m = risk_metrics(run, [2], [100.0]).iloc[0]
    # longs heavier: both 90 % points are still reported, none is picked by weight
    assert m.shorts_per_long < 1 and m.flush_floor == 90.0 and m.squeeze_ceiling == 120.0
    run.end[:] = 1  # nothing alive at bar 2
    m = risk_metrics(run, [2], [100.0]).iloc[0]
    assert m.longs_at_risk == 0 and math.isnan(m.shorts_per_long) and math.isnan(m.flush_floor)


def test_at_risk_totals_equal_sum_of_alive_cohorts():
    bars = random_bars(2000, seed=11)
    run = run_model(bars, ModelParams(lookback_days=3), flat_brackets())
    snaps = np.array([700, 1400, 1999])
    spots = run.bars.close[snaps]
    m = risk_metrics(run, snaps, spots)
    for j, t in enumerate(snaps):
        size = run.size_at(t)
        lo = run.side == LONG
        assert m.longs_at_risk[j] == pytest.approx(size[lo & (run.lp < spots[j])].sum())
        assert m.shorts_at_risk[j] == pytest.approx(size[~lo & (run.lp > spots[j])].sum())
        band = lo & (run.lp < spots[j]) & (run.lp >= 0.9 * spots[j])
        assert m.longs_at_risk_10pct[j] == pytest.approx(size[band].sum())
    grid = alive_grid(run, snaps, 250.0)
    total = grid.long.sum(axis=1) + grid.short.sum(axis=1)
    np.testing.assert_allclose(total, [run.size_at(t).sum() for t in snaps], rtol=1e-9)


NARROW = {"5pct": 0.001, "10pct": 0.002, "25pct": 0.01}  # band edges among the LPs


@pytest.mark.parametrize(
    ("params", "bands"),
    [
        (ModelParams(lookback_days=2), None),
        (ModelParams(lookback_days=2, closing="never"), None),  # log F == 0: the no-exp path
        (ModelParams(lookback_days=2, ceiling_quantile=1.0), NARROW),
        (
            ModelParams(lookback_days=2, ceiling_quantile=0.3, leverage_levels=(2, 20, 125, 5, 50)),
            None,
        ),
    ],
)
@pytest.mark.parametrize("block_cells", [None, 1, 5_000])
def test_vectorized_metrics_equal_per_snapshot_reference(params, bands, block_cells, monkeypatch):
    """Random path with expiries and liquidations; unsorted and repeated snapshots, spots
    beyond every LP, one-row and multi-row blocks: identical to the per-snapshot loop."""
    if block_cells is not None:
        monkeypatch.setattr(metrics_module, "MAX_BLOCK_CELLS", block_cells)
    run = run_model(random_bars(1500, seed=5, vol=0.006), params, flat_brackets())
    rng = np.random.default_rng(3)
    snaps = np.concatenate(
        [rng.choice(np.arange(0, 1500, 7), 60, replace=False), [0, 1499, 700, 700]]
    )
    spots = run.bars.close[snaps] * rng.choice([1.0, 0.97, 1.04], len(snaps))
    spots[[-4, -3]] = [1.0, 1e9]  # every LP above / below spot: one side empty
    grid = alive_grid(run, np.sort(snaps), 100.0)
    inv = np.argsort(np.argsort(snaps, kind="stable"), kind="stable")
    grid.long, grid.short = grid.long[inv], grid.short[inv]  # rows in the caller's order
    got = risk_metrics(run, snaps, spots, grid, bands)
    want = reference_risk_metrics(run, snaps, spots, grid, bands)
    assert got["longs_at_risk"].gt(0).sum() > 20 and got["shorts_at_risk"].gt(0).sum() > 20
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0.0)


def test_clamped_quantile_edge_cases_match_reference():
    """With q so small that the threshold rounds onto the spot-side prefix, floor and ceiling
    clamp to the first LP beyond spot even when that cohort is dead; keep that behaviour."""
    run = tiny_run(ModelParams(ceiling_quantile=1e-20))
    run.end[1] = 1  # longs alive at bar 2: only LP 90; dead 95 and 99 lie between it and spot
    run.lp[3], run.n0[3] = 98.0, 1e12  # a huge short below spot swallows q * shorts ...
    run.end[4] = 1  # ... and the first short above spot (105) is dead at bar 2
    for snaps in ([2], [2, 1, 0]):  # alone, bar 2's block holds no dead cohort at all
        spots = [100.0] * len(snaps)
        got = risk_metrics(run, snaps, spots)
        pd.testing.assert_frame_equal(got, reference_risk_metrics(run, snaps, spots))
        assert (got.flush_floor[0], got.squeeze_ceiling[0]) == (99.0, 105.0)


def test_funding_state_sequence():
    # daily funding: 10 days neutral, 10 elevated, 10 neutral, 40 neutral, 10 negative
    rates = [0.0001] * 10 + [0.0005] * 10 + [0.0001] * 50 + [-0.0002] * 10
    bars = make_bars(np.full(len(rates), 100.0), np.ones(len(rates)), funding=rates, freq="1D")
    p = ModelParams(funding_mean_days=1)
    f = funding_daily(BarArrays.from_frame(bars), p)
    states = f["funding_state"].tolist()
    assert states[:10] == ["neutral"] * 10
    assert states[10:20] == ["elevated"] * 10
    assert states[20:50] == ["reset"] * 30  # within 30 days after the last elevated day
    assert states[50:70] == ["neutral"] * 20
    assert states[70:] == ["negative"] * 10
    assert f["funding_annualized"].iloc[12] == pytest.approx(0.0005 * 3 * 365)
    assert f["funding_pctile_1y"].iloc[15] == pytest.approx(1.0)
    assert f["funding_pctile_1y"].iloc[75] == pytest.approx(6 / 76)
    nan = funding_daily(BarArrays.from_frame(make_bars([1.0, 1.0], [1.0, 1.0])), p)
    assert nan["funding_7d_mean"].isna().all() and nan["funding_state"].isna().all()


def test_zone_walks_back_while_closes_stay_in_band():
    p = ModelParams(zone_width_pct=0.10, zone_min_days=3)
    closes = [50, 80, 100, 104, 97, 102, 99]  # last five within (104-97)/97 = 7.2 %
    assert zone_for(np.array(closes, float), p) == (97.0, 104.0, 5)
    low, high, days = zone_for(np.array([100.0, 130.0, 100.0]), p)
    assert math.isnan(low) and math.isnan(high) and days == 1


def test_zigzag_pivots():
    c = np.array([100, 105, 95, 90, 100, 110, 99, 98, 104])
    # down from 105 to 90 (-14 %), up to 110 (+22 %), down to 98 (-10.9 %) unconfirmed
    # confirmed by the close that reversed 10 % from the extreme: 100 (>= 99) and 99 (<= 99)
    assert zigzag(c, 0.10) == [(1, 3, 4), (3, 5, 6), (5, 7, None)]
    # no look-ahead: a prefix gives the same confirmed swings up to its last bar
    assert zigzag(c[:6], 0.10) == [(1, 3, 4), (3, 5, None)]
    assert zigzag(np.array([100.0, 101, 102]), 0.10) == []
