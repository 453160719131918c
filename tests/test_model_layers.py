"""Leverage layers: each layer's grid holds exactly its tranches' alive notional, and the
layers of a partition add up to the whole run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.model_helpers import flat_brackets, make_bars, random_bars
from transforms.model import ModelParams, alive_grid, run_model
from transforms.model.grid import alive_grids, bin_range_for
from transforms.model.layers import (
    LAYER_VIEWS,
    LAYERS,
    PARTITION,
    layer_grids,
    layer_map_columns,
    layer_mask,
    layer_run,
    subset_run,
)


@pytest.fixture(scope="module")
def run():
    return run_model(random_bars(3000, seed=5), ModelParams(), flat_brackets())


def _brute_grid(run, mask, snaps, bin_size, lo, hi):
    """Alive notional per (snapshot, bin) from size_at, cohorts outside `mask` left out."""
    bins = np.floor(run.lp / bin_size).astype(int) - lo
    out = {"long": np.zeros((len(snaps), hi - lo)), "short": np.zeros((len(snaps), hi - lo))}
    for r, t in enumerate(snaps):
        size = run.size_at(int(t))
        for key, sign in (("long", 1), ("short", -1)):
            sel = mask & (run.side == sign) & (size > 0) & (bins >= 0) & (bins < hi - lo)
            np.add.at(out[key][r], bins[sel], size[sel])
    return out


def test_high_and_low_layers_hold_only_their_tranches(run) -> None:
    lev = np.asarray(run.params.leverage_levels)[run.level]
    assert set(lev[layer_mask(run, "high")]) == {50.0, 100.0}
    assert set(lev[layer_mask(run, "low")]) == {5.0, 10.0}
    assert set(lev[layer_mask(run, "mid")]) == {25.0}
    assert layer_mask(run, "all").all()
    snaps = np.arange(200, 3000, 400)
    lo, hi = bin_range_for(run, snaps, 250.0)
    grids = layer_grids(run, snaps, 250.0, lo, hi)
    assert set(grids) == set(LAYERS)
    for name in ("high", "low"):
        want = _brute_grid(run, layer_mask(run, name), snaps, 250.0, lo, hi)
        np.testing.assert_allclose(grids[name].long, want["long"], rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(grids[name].short, want["short"], rtol=1e-9, atol=1e-6)
        assert grids[name].long.sum() > 0 and grids[name].short.sum() > 0


def test_layers_of_a_partition_add_up_to_the_run(run) -> None:
    snaps = np.arange(100, 3000, 97)
    lo, hi = bin_range_for(run, snaps, 500.0)
    g = layer_grids(run, snaps, 500.0, lo, hi)
    # the named layers partition every cohort: each in exactly one of them
    in_layers = sum(layer_mask(run, name).astype(int) for name in PARTITION)
    assert (in_layers == 1).all()
    for key in ("long", "short"):
        total = sum(getattr(g[name], key) for name in PARTITION)
        np.testing.assert_allclose(total, getattr(g["all"], key), rtol=1e-9, atol=1e-6)
    parts = [layer_run(run, name) for name in PARTITION]
    for series in ("liq_long", "liq_short", "opened_long", "opened_short"):
        np.testing.assert_allclose(
            sum(getattr(p, series) for p in parts), getattr(run, series), rtol=1e-9, atol=1e-6
        )


def _same_grid(a, b) -> None:
    assert a.bin_lo == b.bin_lo and np.array_equal(a.snaps, b.snaps)
    for key in ("long", "short", "long_count", "short_count"):
        x, y = getattr(a, key), getattr(b, key)
        assert x.dtype == y.dtype and np.array_equal(x.view(np.int64), y.view(np.int64)), key


def test_layer_grids_in_one_pass_are_each_layers_own_run_bit_for_bit(run) -> None:
    """The layers binned together (alive_grids) give each layer's run's grid exactly, over
    several segments too; the map's 'all' views cut from the scenario's own grid (window)
    give the rows of binning its cohorts again."""
    snaps = np.arange(100, 3000, 97)
    lo, hi = bin_range_for(run, snaps, 500.0)
    grids = layer_grids(run, snaps, 500.0, lo, hi)
    for name in LAYERS:
        _same_grid(grids[name], alive_grid(layer_run(run, name), snaps, 500.0, lo, hi))
    codes = np.select([layer_mask(run, n) for n in PARTITION], [0, 1, 2], -1)
    _, parts = alive_grids(run, snaps, 500.0, lo, hi, [None, (codes, 3)], max_segment=4)
    for name, g in zip(PARTITION, parts, strict=True):
        _same_grid(g, alive_grid(layer_run(run, name), snaps, 500.0, lo, hi, max_segment=4))
    ends = np.array([1000, 2999])
    spots = run.bars.close[ends]
    own = {"base": alive_grid(run, ends, 250.0)}
    views = [(sc, layer) for sc, layer in LAYER_VIEWS if sc == "base"]
    cut = layer_map_columns({"base": run}, ends, spots, 250.0, 0.25, views, own)
    binned = layer_map_columns({"base": run}, ends, spots, 250.0, 0.25, views)
    assert list(cut) == list(binned) and len(cut["snap"]) > 0
    for col, values in binned.items():
        assert values.dtype == cut[col].dtype and np.array_equal(values, cut[col]), col


def test_a_100x_cohort_is_high_and_not_low() -> None:
    # One opening bar: OI rises once, price stays flat, so every tranche stays alive.
    bars = make_bars([100_000.0] * 6, [10, 10, 11, 11, 11, 11])
    r = run_model(bars, ModelParams(), flat_brackets())
    high = layer_run(r, "high")
    assert sorted(set(np.asarray(r.params.leverage_levels)[high.level])) == [50.0, 100.0]
    g = alive_grid(high, np.array([5]), 100.0)
    # 1 BTC opened at 100k, 50/50 split (no taker ratio), 20 % + 15 % of each side is high.
    assert g.long.sum() == pytest.approx(100_000 * 0.5 * 0.35)
    assert g.short.sum() == pytest.approx(100_000 * 0.5 * 0.35)


def test_unknown_layer_and_bad_mask_are_named(run) -> None:
    with pytest.raises(ValueError, match="unknown leverage layer 'medium'"):
        layer_mask(run, "medium")
    with pytest.raises(ValueError, match="one entry per cohort"):
        subset_run(run, np.ones(3, dtype=bool))


def test_layer_map_rows_cover_every_view_within_the_window(run) -> None:
    from transforms.model.layers import LAYER_VIEWS
    from transforms.model.scenarios import scenario_params

    nc = run_model(
        random_bars(3000, seed=5), scenario_params(run.params, "never_close"), flat_brackets()
    )
    snaps = np.array([1000, 2999])
    spots = run.bars.close[snaps]
    rows = pd.DataFrame(
        layer_map_columns({"base": run, "never_close": nc}, snaps, spots, 250.0, 0.25)
    )
    assert set(zip(rows["scenario"], rows["layer"], strict=True)) == set(LAYER_VIEWS)
    for (sc, layer), g in rows.groupby(["scenario", "layer"]):
        r = {"base": run, "never_close": nc}[sc]
        for i, t in enumerate(snaps):
            d = g[g["snap"] == t]
            assert ((d["price_high"] > spots[i] * 0.75) & (d["price_low"] < spots[i] * 1.25)).all()
            # the window's notional equals the run's alive notional there, cohort by cohort
            size = layer_run(r, layer).size_at(int(t))
            lr = layer_run(r, layer)
            b = np.floor(lr.lp / 250.0) * 250.0
            inside = (b + 250 > spots[i] * 0.75) & (b < spots[i] * 1.25)
            want = size[inside & (lr.side == 1)].sum()
            assert d["long_notional"].sum() == pytest.approx(want, rel=1e-9)


def test_layer_map_cumulative_curves_match_the_base_map(run) -> None:
    """The base/all view of the layer map equals mart.liq_map's rows in the window."""
    snaps = np.array([2999])
    spot = run.bars.close[snaps]
    views = (("base", "all"),)
    rows = pd.DataFrame(layer_map_columns({"base": run}, snaps, spot, 250.0, 0.25, views=views))
    g = alive_grid(run, snaps, 250.0, *bin_range_for(run, snaps, 250.0))
    pl = g.price_low()
    below = pl < spot[0]
    want_long = np.cumsum(np.where(below, g.long[0], 0)[::-1])[::-1]
    for _, r in rows.iterrows():
        j = int(np.flatnonzero(pl == r["price_low"])[0])
        expect = want_long[j] if below[j] else 0.0
        assert r["long_cum_from_spot"] == pytest.approx(expect, rel=1e-9, abs=1e-6)
