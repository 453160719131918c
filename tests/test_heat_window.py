"""The heatmap's price rows: one stored window per UTC day (no bin leaves the heatmap within a
day because price moved), and each view's rows kept inside every shown day's window."""

from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.rules import NS_PER_DAY, heat_day_window, view_window

H = NS_PER_DAY // 24


def test_every_hour_of_a_day_stores_the_days_window() -> None:
    ts = np.arange(48) * H  # two days
    close = np.r_[np.linspace(200.0, 240.0, 24), np.linspace(240.0, 180.0, 24)]
    lo, hi = heat_day_window(ts, close, 0.5)
    np.testing.assert_allclose(lo[:24], 100.0)
    np.testing.assert_allclose(hi[:24], 360.0)
    np.testing.assert_allclose(lo[24:], 90.0)
    np.testing.assert_allclose(hi[24:], 360.0)
    # the SOL day: shorts at $330 sit inside the window all day, though they are more
    # than 50 % above the early closes (per-hour windows dropped them until price rose)
    assert (hi[:24] > 330.0).all() and (close[:6] * 1.5 < 330.0).all()


def test_a_view_stays_inside_every_days_window() -> None:
    day_lo, day_hi = np.array([100.0, 120.0, 90.0]), np.array([130.0, 150.0, 110.0])
    # common window: max(lows) x 0.5 = 60 .. min(highs) x 1.5 = 165
    assert view_window(50.0, 200.0, day_lo, day_hi, 0.5) == (60.0, 165.0)
    assert view_window(70.0, 150.0, day_lo, day_hi, 0.5) == (70.0, 150.0)  # already inside
    # price moved more than the window spans: nothing common, the view is left as it was
    assert view_window(10.0, 900.0, np.array([10.0, 100.0]), np.array([11.0, 110.0]), 0.1) == (
        10.0,
        900.0,
    )
    assert view_window(1.0, 2.0, np.zeros(0), np.zeros(0), 0.5) == (1.0, 2.0)


def test_model_heatmap_rows_follow_the_day_window() -> None:
    from tests.model_helpers import flat_brackets, random_bars
    from transforms.marts.build import build_marts
    from transforms.model.params import ModelParams

    bars = random_bars(5 * 288, seed=4, vol=0.01)
    p = ModelParams(lookback_days=5, heatmap_range_pct=0.03)
    day = pd.Timestamp(bars["ts"].iloc[-1]).normalize().date()
    f = build_marts(
        bars, flat_brackets(), p, "BTCUSDT", day, day + pd.Timedelta(days=1), venue="binance"
    )
    closes = bars.set_index("ts")["close"].resample("1h").last()
    closes = closes[closes.index.normalize() == pd.Timestamp(day)]
    lo, hi = closes.min() * 0.97, closes.max() * 1.03
    heat = f.liq_heatmap
    assert (heat["price_high"] > lo).all() and (heat["price_low"] < hi).all()
    # bins far from an hour's own close but inside the day's window are kept
    ref = closes.reindex(heat["ts"]).to_numpy()
    outside_hour = (heat["price_low"] >= ref * 1.03) | (heat["price_high"] <= ref * 0.97)
    assert outside_hour.any()


def test_day_close_range_is_each_days_lowest_and_highest_close() -> None:
    """reports.cards.heatmap.day_close_range (a slice of the hours, each day's run reduced):
    every UTC day's lowest and highest hourly close in (t0, t1], NaN skipped, a day of
    NaN only as the infinities, as a look at each day alone gives."""
    from types import SimpleNamespace

    from reports.cards.heatmap import day_close_range

    hour = 3_600_000
    x = np.arange(1, 24 * 12) * hour + 1_700_006_400_000  # hour ends, a day boundary at 0
    c = np.random.default_rng(2).uniform(1, 100, len(x))
    c[20:60] = np.nan  # a whole day (hours 25 to 48) and parts of its neighbours
    history = SimpleNamespace(hour_x=x, hour_c=c)
    rng = np.random.default_rng(3)
    for _ in range(100):
        t0 = int(x[0] + rng.integers(-5 * hour, 10 * 24 * hour))
        t1 = t0 + int(rng.integers(0, 6 * 24 * hour))
        sel = (x > t0) & (x <= t1)
        day = (x[sel] - 1) // (24 * hour)
        want_lo, want_hi = [], []
        for d in np.unique(day):
            got = c[sel][day == d]
            got = got[~np.isnan(got)]
            want_lo.append(got.min() if len(got) else np.inf)
            want_hi.append(got.max() if len(got) else -np.inf)
        lo, hi = day_close_range(history, t0, t1)
        assert lo.tolist() == want_lo and hi.tolist() == want_hi
