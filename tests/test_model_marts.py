"""build_marts: schema-exact frames, one pass over a range equals day-by-day, any interval."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from tests.model_helpers import flat_brackets, make_bars, random_bars
from transforms.db import apply_schema
from transforms.marts.build import build_market, build_marts, day_mark_range, stable_levels
from transforms.marts.prev_levels import prev_from_rows
from transforms.marts.registry import MARTS, MODEL_ASSET, Windowing
from transforms.marts.store import moves_by_day, write_marts
from transforms.model import ModelParams, run_model
from transforms.model.funding import day_ends
from transforms.model.levels import LEVEL_COLUMNS, STABLE_COLUMNS
from transforms.model.metrics import risk_metrics
from transforms.model.scenarios import scenario_params

PARAMS = ModelParams(lookback_days=5)
STAGED = Windowing.STAGED_DAYS
DAYS = 12  # bars from 2025-01-01 for 12 days of 5-minute bars


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return random_bars(DAYS * 288, seed=21)


def _cut(bars: pd.DataFrame, end_exclusive: date) -> pd.DataFrame:
    return bars[bars["ts"] < pd.Timestamp(end_exclusive)].reset_index(drop=True)


def test_mart_registry_matches_schema():
    conn = duckdb.connect()
    apply_schema(conn)
    for mart in MARTS.values():
        cols = [r[0] for r in conn.execute(f"DESCRIBE {mart.table}").fetchall()]
        assert tuple(cols) == mart.columns, mart.name


def test_frames_match_schema_and_insert(bars):
    model = build_market(
        bars,
        flat_brackets(),
        PARAMS,
        "BTCUSDT",
        date(2025, 1, 8),
        date(2025, 1, 10),
        venue="binance",
    )
    frames = model.frames
    conn = duckdb.connect()
    apply_schema(conn)
    written = {**frames.by_mart(), "model_params": frames.model_params}
    model_marts = {m.name for m in MARTS.values() if m.producer == MODEL_ASSET}
    from_frames = {m for m in model_marts if MARTS[m].windowing not in (STAGED, Windowing.STATE)}
    assert set(written) == from_frames
    for name, df in written.items():
        table = MARTS[name].table
        cols = [r[0] for r in conn.execute(f"DESCRIBE {table}").fetchall()]
        assert list(df.columns) == cols, name
        assert len(df) > 0, name
        conn.register("f", df)
        conn.execute(f"INSERT INTO {table} SELECT * FROM f")
        conn.unregister("f")
    dm = frames.daily_metrics
    assert len(dm) == 2 * 4 and set(dm["scenario"]) == {
        "base",
        "never_close",
        "low_leverage",
        "high_leverage",
    }
    assert set(frames.model_params["params_hash"]) == set(dm["params_hash"])
    assert frames.liq_heatmap["params_hash"].nunique() == 1
    hm = frames.liq_heatmap
    assert hm["ts"].dt.floor("D").dt.date.eq(hm["day"]).all()
    assert hm["ts"].nunique() == 48  # every hour of both target days
    assert ((hm["long_notional"] > 0) | (hm["short_notional"] > 0)).all()
    assert not frames.moves["confirmed"].iloc[-1] and frames.moves["confirmed"].iloc[:-1].all()
    # each scenario's rows hold, bit for bit, the frames its run's metrics and levels give
    days, last = day_ends(model.bars)
    t_last = last[np.isin(days, model.t_days)]
    spots = model.bars.close[t_last]
    mark_range = day_mark_range(model.bars, model.t_days)
    for sc, grid in model.grids.items():
        rows = dm[dm["scenario"] == sc].reset_index(drop=True)
        run = run_model(model.bars, scenario_params(PARAMS, sc), flat_brackets())
        risk = risk_metrics(run, t_last, spots, grid)
        pdt.assert_frame_equal(rows[risk.columns], risk, check_exact=True)
        levels = stable_levels(grid, spots, rows["oi_value"].to_numpy(), mark_range, None)
        cols = [*LEVEL_COLUMNS, *STABLE_COLUMNS]
        pdt.assert_frame_equal(rows[cols], levels[cols], check_exact=True)


def test_heatmap_range_and_liq_map_cumulative(bars):
    p = ModelParams(lookback_days=5, heatmap_range_pct=0.05)
    f = build_marts(
        bars, flat_brackets(), p, "BTCUSDT", date(2025, 1, 9), date(2025, 1, 10), venue="binance"
    )
    closes = bars.set_index("ts")["close"]
    hour_close = closes.resample("1h").last()
    day = hour_close[hour_close.index.normalize() == pd.Timestamp("2025-01-09")]
    lo, hi = day.min() * 0.95, day.max() * 1.05  # one window for every hour of the day
    heat = f.liq_heatmap
    assert (heat["price_high"] > lo).all() and (heat["price_low"] < hi).all()
    # every hour stores the same bins: a bin holding notional all day never leaves the heatmap
    per_hour = heat.groupby("ts")["price_low"].agg(["min", "max"])
    assert per_hour["min"].nunique() <= 2 and per_hour["max"].nunique() <= 2
    assert heat["ts"].nunique() == 24
    assert (
        heat["price_low"].min() < day.min() * 0.96 and heat["price_high"].max() > day.max() * 1.04
    )
    # the layer views' 4-hour rows use the same day window
    layers = f.liq_layer_heatmap
    assert (layers["price_high"] > lo).all() and (layers["price_low"] < hi).all()
    lm = f.liq_map.sort_values("price_low")
    spot = lm["spot_price"].iloc[0]
    below = lm[lm["price_low"] < spot]
    # long cum at the lowest bin = every long in bins starting below spot = longs at risk (binned)
    assert below["long_cum_from_spot"].iloc[0] == pytest.approx(below["long_notional"].sum())
    above = lm[lm["price_low"] + p.bin_size > spot]
    assert above["short_cum_from_spot"].iloc[-1] == pytest.approx(above["short_notional"].sum())
    assert (np.diff(below["long_cum_from_spot"].to_numpy()) <= 1e-6).all()
    assert (lm.loc[lm["price_low"] >= spot, "long_cum_from_spot"] == 0).all()
    base = f.daily_metrics.query("scenario == 'base'").iloc[0]
    # exact at-risk totals vs binned map: differ at most by the spot bin's content
    spot_bin = lm[(lm["price_low"] <= spot) & (lm["price_high"] > spot)]
    assert (
        abs(base.longs_at_risk - below["long_notional"].sum())
        <= spot_bin["long_notional"].sum() + 1e-6
    )


def test_range_in_one_pass_equals_day_by_day(bars):
    start, end = date(2025, 1, 7), date(2025, 1, 11)
    whole = build_marts(bars, flat_brackets(), PARAMS, "BTCUSDT", start, end, venue="binance")
    prev = None  # each day's key levels are held against the day before (as stored)
    for k in range((end - start).days):
        d = start + timedelta(days=k)
        one = build_marts(
            _cut(bars, d + timedelta(days=1)),
            flat_brackets(),
            PARAMS,
            "BTCUSDT",
            d,
            d + timedelta(days=1),
            venue="binance",
            prev=prev,
        )
        prev = prev_from_rows(one.daily_metrics)
        for name in ("liq_heatmap", "liq_map", "daily_metrics"):
            a = whole.by_mart()[name]
            a = a[a["day"] == d].reset_index(drop=True)
            b = one.by_mart()[name].reset_index(drop=True)
            assert len(a) > 0
            pdt.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-6)
    assert len(whole.daily_metrics) == 4 * 4


def test_coarse_bars_without_taker_or_funding(bars):
    # 4-hour bars built from the 5-minute ones; no taker ratio, no funding, no mark
    g = bars.set_index("ts").resample("4h")
    coarse = pd.DataFrame(
        {
            "open": g["open"].first(),
            "high": g["high"].max(),
            "low": g["low"].min(),
            "close": g["close"].last(),
            "oi_value": g["oi_value"].first(),
        }
    ).reset_index()
    coarse["symbol"] = "BTCUSDT"
    f = build_marts(
        coarse,
        flat_brackets(),
        PARAMS,
        "BTCUSDT",
        date(2025, 1, 9),
        date(2025, 1, 11),
        venue="binance",
    )
    dm = f.daily_metrics
    assert len(dm) == 8
    assert dm["funding_7d_mean"].isna().all() and dm["funding_state"].isna().all()
    assert dm["longs_at_risk"].notna().all() and (dm["longs_at_risk"] > 0).all()
    assert dm["mark_price"].isna().all()
    assert f.liq_heatmap["ts"].nunique() == 48  # 4-hour bars still give every hour
    run = run_model(coarse, PARAMS, flat_brackets())
    assert run.bars.interval_ns == 4 * 3600 * 10**9


def test_no_bars_in_target_window_gives_empty_frames(bars):
    f = build_marts(
        bars,
        flat_brackets(),
        PARAMS,
        "BTCUSDT",
        date(2030, 1, 1),
        date(2030, 1, 2),
        venue="binance",
    )
    assert f.daily_metrics.empty and f.liq_heatmap.empty and f.liq_map.empty
    assert len(f.model_params) == 4
    empty = build_marts(
        bars.iloc[:0],
        flat_brackets(),
        PARAMS,
        "BTCUSDT",
        date(2025, 1, 1),
        date(2025, 1, 2),
        venue="binance",
    )
    assert empty.moves.empty and list(empty.moves.columns)[1] == "day"


MOVES_PARAMS = ModelParams(lookback_days=5, zigzag_pct=0.03)
MOVES_SQL = "SELECT * EXCLUDE (params_hash) FROM mart.moves ORDER BY confirmed DESC, start_ts"


def _moves_db() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    apply_schema(conn)
    return conn


def test_moves_daily_runs_equal_one_range_run():
    """20 daily runs (each fed every bar before its end, as read_bars does) must leave the same
    mart.moves as one range run: confirmed swings filed under the day of confirmation, and a
    single running swing (the latest day's)."""
    bars = random_bars(22 * 24, seed=5, freq="1h", vol=0.01)
    start, end = date(2025, 1, 3), date(2025, 1, 23)
    ranged = _moves_db()
    frames = build_marts(
        bars, flat_brackets(), MOVES_PARAMS, "BTCUSDT", start, end, ("base",), venue="binance"
    )
    write_marts(ranged, frames, "BTCUSDT", start, end, venue="binance")
    daily = _moves_db()
    for k in range((end - start).days):
        d = start + timedelta(days=k)
        one = build_marts(
            _cut(bars, d + timedelta(days=1)),
            flat_brackets(),
            MOVES_PARAMS,
            "BTCUSDT",
            d,
            d + timedelta(days=1),
            ("base",),
            venue="binance",
        )
        write_marts(daily, one, "BTCUSDT", d, d + timedelta(days=1), venue="binance")
    a, b = ranged.execute(MOVES_SQL).df(), daily.execute(MOVES_SQL).df()
    assert a["confirmed"].sum() >= 10
    assert (~a["confirmed"]).sum() == 1 and (~b["confirmed"]).sum() == 1
    pdt.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-6)
    conf = a[a["confirmed"]]
    day = pd.to_datetime(conf["day"])
    # filed under the day of the confirming bar, which comes after the extreme
    assert conf["confirmed_ts"].dt.floor("D").eq(day).all()
    assert (conf["confirmed_ts"] > conf["end_ts"]).all()
    assert (day > conf["end_ts"].dt.floor("D")).any()  # some confirmed on a later day
    running = a[~a["confirmed"]].iloc[0]
    assert pd.Timestamp(running["day"]) == pd.Timestamp(end - timedelta(days=1))
    assert pd.isna(running["confirmed_ts"])


def test_range_build_does_not_show_a_swing_finished_before_its_confirmation():
    """A drop to a low on day 2 that is only confirmed by a rally on day 6 belongs to day 6."""
    # 4-hour bars: 100 -> 80 during day 2, flat-ish until day 6, then back above 88
    close = [100.0] * 6 + [95.0, 90.0, 85.0, 80.0, 80.0, 80.0] + [81.0] * 18 + [90.0] * 6
    bars = make_bars(close, np.full(len(close), 1_000.0), freq="4h")
    p = ModelParams(lookback_days=5, zigzag_pct=0.10)
    f = build_marts(
        bars, flat_brackets(), p, "BTCUSDT", date(2025, 1, 1), date(2025, 1, 7), venue="binance"
    )
    mv = moves_by_day(f.moves, date(2025, 1, 1), date(2025, 1, 7))
    done = mv[mv["confirmed"]].iloc[0]
    assert done["end_ts"] == pd.Timestamp("2025-01-02 12:00")
    assert done["confirmed_ts"] == pd.Timestamp("2025-01-06 00:00")
    assert done["day"] == date(2025, 1, 6)
    # the daily run of day 2..5 has no confirmed swing; day 6's run writes it
    for d in range(2, 6):
        cut = _cut(bars, date(2025, 1, d + 1))
        one = build_marts(
            cut,
            flat_brackets(),
            p,
            "BTCUSDT",
            date(2025, 1, d),
            date(2025, 1, d + 1),
            venue="binance",
        )
        rows = moves_by_day(one.moves, date(2025, 1, d), date(2025, 1, d + 1))
        assert not rows["confirmed"].any() and len(rows) == 1
