"""The per-symbol aggregate across venues ('all'): sums of the venues' grids (DESIGN v2 §3).

Two markets of one symbol on a small synthetic case: a Binance-like random walk and a second
venue with its own path and open interest. The aggregate's grids must equal the sum of the
venues' grids cell by cell, its at-risk totals the sum of theirs, and its ratios and levels
must be what the summed grid gives, never an average. Through the warehouse, the per-venue
and aggregate rows of a range run equal those of day-by-day runs, and a venue without rows
for a day is named in that day's aggregate row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from tests.model_helpers import flat_brackets
from tests.venue_helpers import in_venue_order, synthetic_warehouse, venue_bars
from transforms.marts import group_sums
from transforms.marts.aggregate import ADDITIVE_COLUMNS, aggregate_markets
from transforms.marts.build import build_market
from transforms.marts.registry import MartFrames
from transforms.marts.update import update_marts
from transforms.model import ModelParams
from transforms.model.levels import LEVEL_COLUMNS, key_levels

PARAMS = ModelParams(lookback_days=5, bin_size=250.0, heatmap_bin_size=500.0)
DAYS = 10
START, END = date(2025, 1, 6), date(2025, 1, 11)  # target days with warm-up before them
VENUES = ("binance", "bybit")


def _venue_bars(seed: int, oi_scale: float) -> pd.DataFrame:
    return venue_bars(seed, oi_scale, DAYS)


@pytest.fixture(scope="module")
def models():
    return [
        build_market(_venue_bars(21, 1.0), flat_brackets(), PARAMS, "BTCUSDT", START, END,
                     venue="binance"),
        build_market(_venue_bars(22, 0.6), flat_brackets(mmr=0.005), PARAMS, "BTCUSDT",
                     START, END, venue="bybit"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def aggregate(models):
    return aggregate_markets(models, VENUES, PARAMS)


def _summed(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    rows = pd.concat(frames, ignore_index=True)
    return rows.groupby(keys, as_index=False)[["long_notional", "short_notional"]].sum()


def test_aggregate_heatmap_and_map_are_the_sum_of_the_venues(models, aggregate):
    for name, keys in (
        ("liq_heatmap", ["ts", "price_low"]),
        ("liq_map", ["day", "price_low"]),
        ("liq_layer_heatmap", ["ts", "scenario", "layer", "price_low"]),
        ("liq_layer_map", ["day", "scenario", "layer", "price_low"]),
    ):
        venue_frames = [getattr(m.frames, name) for m in models]
        assert all(len(f) for f in venue_frames), name
        expected = _summed(venue_frames, keys).sort_values(keys).reset_index(drop=True)
        got = getattr(aggregate, name).sort_values(keys).reset_index(drop=True)
        assert set(got["venue"]) == {"all"}
        assert len(got) == len(expected), name
        assert got[keys].equals(expected[keys]), name
        np.testing.assert_allclose(got["long_notional"], expected["long_notional"], rtol=1e-12)
        np.testing.assert_allclose(got["short_notional"], expected["short_notional"], rtol=1e-12)
        # a cell with notional on one venue only still appears (nothing dropped by the sum)
        assert len(got) >= max(len(f) for f in venue_frames)


def test_aggregate_totals_are_sums_and_ratios_come_from_the_sums(models, aggregate):
    dm = aggregate.daily_metrics
    venue_rows = pd.concat([m.frames.daily_metrics for m in models])
    assert set(dm["venue"]) == {"all"} and set(dm["venues"]) == {"binance,bybit"}
    assert set(dm["venues_missing"]) == {""}
    for (day, scenario), row in dm.set_index(["day", "scenario"]).iterrows():
        parts = venue_rows[(venue_rows["day"] == day) & (venue_rows["scenario"] == scenario)]
        assert len(parts) == 2
        for col in ADDITIVE_COLUMNS:
            assert row[col] == pytest.approx(parts[col].sum(), rel=1e-12), col
        assert row["oi_value"] == pytest.approx(parts["oi_value"].sum(), rel=1e-12)
        ratio = parts["shorts_at_risk"].sum() / parts["longs_at_risk"].sum()
        assert row["shorts_per_long"] == pytest.approx(ratio, rel=1e-12)
        # not the mean of the venues' ratios (they differ, so the mean would not match)
        assert row["shorts_per_long"] != pytest.approx(parts["shorts_per_long"].mean())
        for window in ("5pct", "10pct"):  # the near-spot imbalances: from the summed bands
            near = parts[f"shorts_at_risk_{window}"].sum() / parts[f"longs_at_risk_{window}"].sum()
            assert row[f"shorts_per_long_{window}"] == pytest.approx(near, rel=1e-12), window


def test_aggregate_levels_come_from_the_summed_grid(models, aggregate):
    base = aggregate.daily_metrics[aggregate.daily_metrics["scenario"] == "base"]
    liq_map = aggregate.liq_map
    for _, row in base.iterrows():
        day_map = liq_map[liq_map["day"] == row["day"]].sort_values("price_low")
        # the map holds the bins with alive notional; fill the gaps to a dense grid
        lo, hi = day_map["price_low"].min(), day_map["price_low"].max()
        price_low = np.arange(lo, hi + 1, PARAMS.bin_size)
        notional = day_map.set_index("price_low")[["long_notional", "short_notional"]]
        dense = notional.reindex(price_low, fill_value=0.0)
        spot = row["close_price"]
        levels = key_levels(
            price_low,
            PARAMS.bin_size,
            dense["long_notional"].to_numpy()[None, :],
            dense["short_notional"].to_numpy()[None, :],
            np.array([spot]),
            np.array([row["oi_value"]]),  # the major rule: the summed open interest
        )
        assert row["major_cluster_min"] == pytest.approx(levels["major_cluster_min"].iloc[0])
        for col in LEVEL_COLUMNS:
            side = "above" if "_above_" in col else "below"
            kind = col.split(f"_{side}_")[0]
            if kind in ("nearest_cluster", "peak_cluster") and row[f"{kind}_{side}_move"] == "held":
                continue  # yesterday's cluster held (transforms.model.stable_levels)
            assert row[col] == pytest.approx(levels[col].iloc[0], rel=1e-9, nan_ok=True), col
        assert row["squeeze_ceiling"] == row["p90_above_price"]
        assert row["flush_floor"] == row["p90_below_price"]
        # the map's curves are cumulative from the aggregate's spot
        below = day_map[day_map["price_low"] < spot]
        assert day_map["long_cum_from_spot"].max() == pytest.approx(below["long_notional"].sum())


def test_aggregate_moves_count_every_venue_in_the_reference_swings(models, aggregate):
    ref = models[0].frames.moves
    agg = aggregate.moves
    assert len(agg) == len(ref) > 0
    assert (agg["start_ts"].to_numpy() == ref["start_ts"].to_numpy()).all()
    total_ref = ref["long_liquidated"].sum() + ref["short_liquidated"].sum()
    total_agg = agg["long_liquidated"].sum() + agg["short_liquidated"].sum()
    assert total_agg > total_ref  # the second venue's liquidations are in the same spans


def _relabelled(model, venue: str, note: str):
    """The model's rows as another venue's (copies), with a history note on its days."""
    frames = MartFrames(
        **{f.name: getattr(model.frames, f.name).copy() for f in fields(MartFrames)}
    )
    for frame in frames.by_mart().values():
        frame["venue"] = venue
    frames.daily_metrics["venues"] = venue
    frames.daily_metrics["history_incomplete"] = note
    return dataclasses.replace(model, venue=venue, frames=frames)


def test_group_sums_are_pandas_groupby_bit_for_bit():
    """Kahan sums in row order (where a plain sum differs), NaN skipped, min_count, firsts."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        labels = rng.integers(-1, 5, n)
        values = rng.choice([1e16, -1e16, 1.0, 3.0, 0.1, np.nan, 7e15], (n, 2))
        rows = pd.DataFrame({"g": labels, "a": values[:, 0], "b": values[:, 1]})
        rows = rows[rows["g"] >= 0]
        seen = np.isin(np.arange(5), rows["g"])
        for min_count in (0, 1):
            want = rows.groupby("g")[["a", "b"]].sum(min_count=min_count).reindex(range(5))
            got = group_sums.group_sum(values, labels, 5, min_count)
            assert np.array_equal(got[seen], want.to_numpy()[seen], equal_nan=True)
        want_cum = rows.groupby("g")["a"].cumsum().to_numpy()
        got_cum = group_sums.group_cumsum(values[:, 0], labels)[labels >= 0]
        assert np.array_equal(got_cum, want_cum, equal_nan=True)
        firsts = group_sums.first(values[:, 1], labels, 5)
        want_first = rows.groupby("g")["b"].first().reindex(range(5)).to_numpy()
        assert np.array_equal(firsts[seen], want_first[seen], equal_nan=True)
    plain = np.array([1e16, 1.0, 1.0, -1e16])
    assert group_sums.group_sum(plain, np.zeros(4, dtype=np.int64), 1)[0] != plain.sum()


def test_the_aggregate_is_pandas_groupby_of_the_venues_rows_bit_for_bit(models):
    """Three venues (the second's rows again as 'okx', with a history note): the summed marts,
    the map's cumulative curves and the daily sums, firsts, venues and notes are bit for bit
    what pandas' groupby over the venues' rows gives (the aggregate's path before
    transforms.marts.group_sums)."""
    note = "history incomplete: 2025-01-01 missing"
    three = [*models, _relabelled(models[1], "okx", note)]
    agg = aggregate_markets(three, ("binance", "bybit", "okx"), PARAMS)
    spots = pd.concat([m.frames.daily_metrics for m in three])
    spots = spots[spots["scenario"] == "base"].groupby("day")["close_price"].first()
    for name, keys, group in (
        ("liq_heatmap", ["day", "ts", "price_low", "price_high"], None),
        ("liq_layer_heatmap", ["day", "ts", "scenario", "layer", "price_low", "price_high"], None),
        ("liq_map", ["day", "price_low", "price_high"], ["day"]),
        ("liq_layer_map", ["day", "scenario", "layer", "price_low", "price_high"],
         ["day", "scenario", "layer"]),
    ):  # fmt: skip
        rows = pd.concat([getattr(m.frames, name) for m in three], ignore_index=True)
        want = rows.groupby(["symbol", *keys], as_index=False, sort=True).agg(
            long_notional=("long_notional", "sum"),
            short_notional=("short_notional", "sum"),
            params_hash=("params_hash", "first"),
        )
        got = getattr(agg, name)
        pdt.assert_frame_equal(got[want.columns], want, check_exact=True, obj=name)
        if group is None:
            continue
        spot = want["day"].map(spots).astype(float)
        below, above = want["price_low"] < spot, want["price_high"] > spot
        longs = want["long_notional"].where(below, 0.0).iloc[::-1]
        long_cum = longs.groupby(want[group].iloc[::-1].apply(tuple, axis=1)).cumsum()
        short_cum = (
            want["short_notional"]
            .where(above, 0.0)
            .groupby(want[group].apply(tuple, axis=1))
            .cumsum()
        )
        want_long = long_cum.iloc[::-1].where(below, 0.0).to_numpy()
        assert np.array_equal(got["long_cum_from_spot"].to_numpy(), want_long), name
        want_short = short_cum.where(above, 0.0).to_numpy()
        assert np.array_equal(got["short_cum_from_spot"].to_numpy(), want_short), name
    rows = pd.concat([m.frames.daily_metrics for m in three], ignore_index=True)
    dm = agg.daily_metrics
    assert list(dict.fromkeys(dm["scenario"])) == list(dict.fromkeys(rows["scenario"]))
    for scenario, own in rows.groupby("scenario", sort=False):
        by_day = own.groupby("day", sort=True)
        got = dm[dm["scenario"] == scenario].set_index("day")
        sums = by_day[list(ADDITIVE_COLUMNS)].sum(min_count=1)
        pdt.assert_frame_equal(got[sums.columns], sums, check_exact=True, check_names=False)
        firsts = by_day[["symbol", "params_hash"]].first()
        pdt.assert_frame_equal(got[firsts.columns], firsts, check_exact=True, check_names=False)
        assert got["history_days"].equals(by_day["history_days"].min().rename_axis("day"))
        assert set(got["venues"]) == {"binance,bybit,okx"}
        assert set(got["history_incomplete"]) == {f"okx: {note}"}


# --- through the warehouse: range = daily, and a missing venue is named ------------------


def _warehouse(tmp_path, bybit_days: int = DAYS) -> duckdb.DuckDBPyConnection:
    return synthetic_warehouse(tmp_path / "w.duckdb", DAYS, bybit_days=bybit_days)


def _rows(conn: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return in_venue_order(conn.execute(f"SELECT * FROM {table}").df())


TABLES = ("mart.liq_map", "mart.daily_metrics", "mart.liq_heatmap", "mart.price_hourly")


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_range_run_equals_daily_runs_per_venue_and_aggregate(tmp_path):
    (tmp_path / "range").mkdir()
    (tmp_path / "daily").mkdir()
    ranged = _warehouse(tmp_path / "range")
    update_marts(ranged, "BTCUSDT", PARAMS, START, END, auto_bins=False, venues=VENUES)
    daily = _warehouse(tmp_path / "daily")
    day = START
    while day < END:
        update_marts(daily, "BTCUSDT", PARAMS, day, day + timedelta(days=1), False, VENUES)
        day += timedelta(days=1)
    for table in TABLES:
        a, b = _rows(ranged, table), _rows(daily, table)
        assert set(a["venue"]) == {"binance", "bybit", "all"}, table
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, obj=table)
    # the key levels' hysteresis chains across days (each daily run read the day before
    # from the mart): later days are held against earlier ones, not all started afresh
    moves = _rows(ranged, "mart.daily_metrics")
    moves = moves[["nearest_cluster_above_move", "nearest_cluster_below_move"]].stack()
    assert set(moves) - {"new", "none"}, set(moves)


def test_a_missing_venue_is_named_and_the_aggregate_is_the_other_one(tmp_path):
    conn = _warehouse(tmp_path, bybit_days=DAYS - 1)  # bybit lacks the last day
    last = END - timedelta(days=1)
    update = update_marts(conn, "BTCUSDT", PARAMS, last, END, auto_bins=False, venues=VENUES)
    assert "bybit" in update.failed and "2025-01-10" in update.failed["bybit"]
    row = conn.execute(
        "SELECT venues, venues_missing, longs_at_risk FROM mart.daily_metrics "
        "WHERE venue = 'all' AND scenario = 'base' AND day = $d",
        {"d": last},
    ).fetchone()
    binance = conn.execute(
        "SELECT longs_at_risk FROM mart.daily_metrics "
        "WHERE venue = 'binance' AND scenario = 'base' AND day = $d",
        {"d": last},
    ).fetchone()
    assert row[0] == "binance" and row[1] == "bybit"
    assert row[2] == pytest.approx(binance[0])
