"""Two-sided key levels on small hand-built grids with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.model.levels import LEVEL_COLUMNS, LevelParams, key_levels

BIN = 1000.0
PRICE_LOW = np.arange(80_000.0, 130_000.0, BIN)  # 50 bins: 80k .. 129k


def _grid(cells: dict[float, float]) -> np.ndarray:
    """One snapshot row: {bin lower edge: notional}."""
    row = np.zeros(len(PRICE_LOW))
    for lo, v in cells.items():
        row[np.flatnonzero(lo == PRICE_LOW)[0]] = v
    return row[None, :]


SHORTS = {101_000: 1.0, 103_000: 10.0, 110_000: 50.0, 128_000: 100.0}
LONGS = {99_000: 2.0, 95_000: 20.0, 85_000: 20.0}


def _row(df: pd.DataFrame, i: int = 0) -> dict:
    return df.iloc[i].to_dict()


# Open interest 300 at spot 100,000 with 1,000-wide bins (1 % of price): the major rule asks
# a bin for 1 % of open interest per 1 % of price, i.e. 3.0 here.
OI = np.array([300.0])


def test_both_sides_by_hand() -> None:
    r = _row(key_levels(PRICE_LOW, BIN, _grid(LONGS), _grid(SHORTS), np.array([100_000.0]), OI))
    assert r["major_cluster_min"] == pytest.approx(3.0)
    # Shorts: the 1.0 bin is under the threshold of 3.0, the 10.0 bin the first major one.
    assert r["nearest_cluster_above_price"] == 103_500
    assert r["nearest_cluster_above_notional"] == 10
    assert r["nearest_cluster_above_pct"] == pytest.approx(0.035)
    assert r["peak_cluster_above_price"] == 110_500
    assert r["peak_cluster_above_notional"] == 50
    # 90 % of all 161 shorts (144.9) is reached only in the 128k bin (outside the window):
    # its upper edge.
    assert r["p90_above_price"] == 129_000
    assert r["p90_above_pct"] == pytest.approx(0.29)
    # Longs: the 2.0 bin right below spot is not major (< 3.0).
    assert r["nearest_cluster_below_price"] == 95_500
    assert r["nearest_cluster_below_notional"] == 20
    assert r["nearest_cluster_below_pct"] == pytest.approx(-0.045)
    # Two equal peaks: the one nearer spot.
    assert r["peak_cluster_below_price"] == 95_500
    # 90 % of 42 = 37.8 is reached in the 85k bin: its lower edge.
    assert r["p90_below_price"] == 85_000
    assert r["p90_below_pct"] == pytest.approx(-0.15)


def test_major_follows_the_markets_open_interest_not_the_sides_total() -> None:
    # With open interest 150 the threshold is 1.5: the 2.0 bin right below spot is major...
    spot = np.array([100_000.0])
    r = _row(key_levels(PRICE_LOW, BIN, _grid(LONGS), _grid(SHORTS), spot, np.array([150.0])))
    assert r["nearest_cluster_below_price"] == 99_500
    assert r["peak_cluster_below_price"] == 95_500
    # ...and stays major when the side grows elsewhere (a share of the side's own total would
    # demote it once a large bin appears far away)
    heavy = {**LONGS, 80_000: 5_000.0}
    r = _row(key_levels(PRICE_LOW, BIN, _grid(heavy), _grid(SHORTS), spot, np.array([150.0])))
    assert r["nearest_cluster_below_price"] == 99_500
    # the threshold scales with the bin's width relative to price (density, not bin count)
    r = _row(key_levels(PRICE_LOW, BIN, _grid(LONGS), _grid(SHORTS), spot * 2, np.array([150.0])))
    assert r["major_cluster_min"] == pytest.approx(0.75)


def test_empty_side_is_nan_and_the_other_side_stands() -> None:
    r = _row(key_levels(PRICE_LOW, BIN, _grid({}), _grid(SHORTS), np.array([100_000.0]), OI))
    for c in LEVEL_COLUMNS:
        if "_below_" in c:
            assert np.isnan(r[c]), c
        else:
            assert np.isfinite(r[c]), c


def test_thinly_spread_side_has_no_major_cluster_but_names_its_peak() -> None:
    shorts = {101_000: 1.0, 103_000: 1.0, 105_000: 2.0}  # every bin under 3.0
    r = _row(key_levels(PRICE_LOW, BIN, _grid({}), _grid(shorts), np.array([100_000.0]), OI))
    assert np.isnan(r["nearest_cluster_above_price"])
    assert np.isnan(r["nearest_cluster_above_notional"])
    assert r["peak_cluster_above_price"] == 105_500
    # without open interest nothing is major
    no_oi = np.array([np.nan])
    r = _row(key_levels(PRICE_LOW, BIN, _grid({}), _grid(SHORTS), np.array([1e5]), no_oi))
    assert np.isnan(r["nearest_cluster_above_price"]) and r["peak_cluster_above_price"] > 0


def test_bin_holding_spot_never_puts_a_cluster_on_the_wrong_side() -> None:
    # Spot 100,600 lies in the 100k bin, whose centre (100,500) is below spot.
    shorts = {100_000: 5.0, 102_000: 5.0}
    r = _row(key_levels(PRICE_LOW, BIN, _grid({}), _grid(shorts), np.array([100_600.0]), OI))
    assert r["nearest_cluster_above_price"] == r["peak_cluster_above_price"] == 102_500
    # ...but the 90 % point counts that bin's shorts like the liquidation map does:
    # cumulative 5, 10 -> 9 is reached in the 102k bin, upper edge 103k.
    assert r["p90_above_price"] == 103_000
    for key in ("nearest_cluster", "peak_cluster", "p90"):
        assert r[f"{key}_above_price"] > 100_600


def test_mirroring_the_grid_swaps_the_sides() -> None:
    rng = np.random.default_rng(7)
    spot = 105_000.0  # the centre of PRICE_LOW's span: 80k .. 130k
    lo, sh = rng.exponential(size=(1, 50)), rng.exponential(size=(1, 50))
    lo[:, spot <= PRICE_LOW] = 0
    sh[:, spot > PRICE_LOW] = 0
    oi = np.array([spot / BIN])  # threshold 1.0: about half the bins are major
    a = _row(key_levels(PRICE_LOW, BIN, lo, sh, np.array([spot]), oi))
    b = _row(key_levels(PRICE_LOW, BIN, sh[:, ::-1], lo[:, ::-1], np.array([spot]), oi))
    for kind in ("nearest_cluster", "peak_cluster", "p90"):
        assert a[f"{kind}_above_pct"] == pytest.approx(-b[f"{kind}_below_pct"])
    for kind in ("nearest_cluster", "peak_cluster"):
        assert a[f"{kind}_above_notional"] == b[f"{kind}_below_notional"]


def _reference(lo_row, sh_row, spot, oi, p: LevelParams) -> dict:
    """A plain per-bin walk from spot outward, written from the documented rules."""
    out = {}
    centre = PRICE_LOW + BIN / 2
    for side, vals, order in (
        ("above", sh_row, range(len(PRICE_LOW))),
        ("below", lo_row, range(len(PRICE_LOW) - 1, -1, -1)),
    ):
        on_side = [
            j
            for j in order
            if (centre[j] > spot if side == "above" else centre[j] <= spot)
            and abs(centre[j] / spot - 1) <= p.window_pct
        ]
        total = sum(vals[j] for j in on_side)
        peak = max(on_side, key=lambda j: (vals[j], -on_side.index(j))) if total else None
        threshold = p.major_density * oi * BIN / spot
        major = [j for j in on_side if vals[j] > 0 and vals[j] >= threshold]
        out[f"peak_{side}"] = centre[peak] if total else np.nan
        out[f"near_{side}"] = centre[major[0]] if major else np.nan
        members = [
            j
            for j in order
            if (PRICE_LOW[j] + BIN > spot if side == "above" else PRICE_LOW[j] < spot)
        ]
        grand, cum, q = sum(vals[j] for j in members), 0.0, np.nan
        for j in members:
            cum += vals[j]
            if grand > 0 and vals[j] > 0 and cum >= p.quantile * grand * (1 - 1e-12):
                q = PRICE_LOW[j] + (BIN if side == "above" else 0.0)
                break
        out[f"p90_{side}"] = q
    return out


def test_many_snapshots_match_a_plain_walk() -> None:
    rng = np.random.default_rng(11)
    m = 40
    spots = rng.uniform(90_000, 120_000, m)
    sparse = rng.random((2, m, 50)) < 0.3
    lo = np.where(sparse[0], rng.exponential(size=(m, 50)), 0.0)
    sh = np.where(sparse[1], rng.exponential(size=(m, 50)), 0.0)
    lo[PRICE_LOW[None, :] >= spots[:, None]] = 0
    sh[PRICE_LOW[None, :] + BIN <= spots[:, None]] = 0
    lo[3], sh[5] = 0.0, 0.0  # an empty side in some rows
    p = LevelParams(major_density=0.8)
    oi = rng.uniform(100, 300, m)
    got = key_levels(PRICE_LOW, BIN, lo, sh, spots, oi, p)
    for i in range(m):
        ref = _reference(lo[i], sh[i], spots[i], oi[i], p)
        for side in ("above", "below"):
            np.testing.assert_equal(got.at[i, f"peak_cluster_{side}_price"], ref[f"peak_{side}"])
            np.testing.assert_equal(got.at[i, f"nearest_cluster_{side}_price"], ref[f"near_{side}"])
            np.testing.assert_equal(got.at[i, f"p90_{side}_price"], ref[f"p90_{side}"])
    # both sides go through one pass as rows: a snapshot alone (as the site computes one
    # view's levels) gives bit for bit its row among many (as the marts compute a day's)
    for i in (0, 3, 5, m - 1):
        one = key_levels(
            PRICE_LOW, BIN, lo[i : i + 1], sh[i : i + 1], spots[i : i + 1], oi[i : i + 1], p
        )
        assert one.iloc[0].to_numpy().tobytes() == got.iloc[i].to_numpy().tobytes()


def test_bad_shapes_and_params_are_named() -> None:
    with pytest.raises(ValueError, match=r"grids must be \(snapshots, bins\)"):
        key_levels(PRICE_LOW, BIN, np.zeros((2, 50)), np.zeros((2, 49)), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="oi must have one value per snapshot"):
        key_levels(PRICE_LOW, BIN, np.zeros((2, 50)), np.zeros((2, 50)), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="major_density"):
        LevelParams(major_density=0)
