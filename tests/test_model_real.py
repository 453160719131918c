"""The model on genuine BTCUSDT data: hourly Binance klines + mark + funding with CoinGlass
aggregated open interest (4h, forward-filled), and 4h klines with Binance's own 4h OI and
taker ratio. Skips cleanly when ../shared/data/real is absent."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from transforms.marts.build import build_marts
from transforms.model import ModelParams, run_model
from transforms.reference import bracket_table

ROSHAN = "roshan7869-algotrading"
DENNIS = "denniskid2520-btcusdt-structure-trading"
SCENARIOS = ("base", "never_close", "low_leverage", "high_leverage")


def _feather(path) -> pd.DataFrame:
    df = pd.read_feather(path)
    df["ts"] = pd.to_datetime(df["date"], utc=True).dt.tz_convert(None).astype("datetime64[ns]")
    return df.drop(columns="date")


def _brackets() -> pd.DataFrame:
    t = bracket_table("BTCUSDT", "binance")
    return t[t["effective_date"] == date(2023, 1, 1)]


@pytest.fixture(scope="module")
def hourly_bars(real_data_dir) -> pd.DataFrame:
    k = _feather(real_data_dir / ROSHAN / "BTC_USDT_USDT-1h-futures.feather")
    mark = _feather(real_data_dir / ROSHAN / "BTC_USDT_USDT-1h-mark.feather")
    fund = _feather(real_data_dir / ROSHAN / "BTC_USDT_USDT-1h-funding_rate.feather")
    oi = pd.read_csv(real_data_dir / DENNIS / "coinglass_oi_4h.csv", parse_dates=["timestamp"])
    # CoinGlass candles are stamped at their open; `close` is the OI at the candle's end.
    oi["ts"] = (oi["timestamp"] + pd.Timedelta(hours=4)).astype("datetime64[ns]")
    bars = k[["ts", "open", "high", "low", "close", "volume"]].merge(
        mark[["ts", "high", "low", "close"]].rename(
            columns={"high": "mark_high", "low": "mark_low", "close": "mark_close"}
        ),
        on="ts",
        how="left",
    )
    bars = bars[(bars["ts"] >= oi["ts"].min()) & (bars["ts"] <= oi["ts"].max())]
    bars = pd.merge_asof(bars, oi[["ts", "close"]].rename(columns={"close": "oi_value"}), on="ts")
    # Convert OI to BTC where it was observed (at the 4h boundary, at that moment's price) and
    # hold it: dividing every hour's stale USD value by that hour's price would turn price
    # moves into fake changes of open interest.
    observed = bars["ts"].isin(oi["ts"])
    bars["oi_base"] = (bars["oi_value"] / bars["open"]).where(observed).ffill()
    fr = fund[["ts", "open"]].rename(columns={"open": "funding_rate"})
    bars = pd.merge_asof(bars, fr, on="ts")
    bars["symbol"] = "BTCUSDT"
    return bars.reset_index(drop=True)


def _check_sane(frames, bars: pd.DataFrame, oi_factor: dict[str, float]) -> None:
    dm = frames.daily_metrics
    risk = [c for c in dm.columns if "at_risk" in c]
    assert dm[risk].notna().all().all()
    assert (dm[risk] >= 0).all().all()
    assert np.isfinite(dm["shorts_per_long"]).all() and (dm["shorts_per_long"] > 0).all()
    for sc, factor in oi_factor.items():
        d = dm[dm["scenario"] == sc]
        assert ((d["longs_at_risk"] + d["shorts_at_risk"]) <= factor * d["oi_value"]).all(), sc
    assert (dm["flush_floor"] < dm["close_price"]).all()
    assert (dm["squeeze_ceiling"] > dm["close_price"]).all()
    # Every alive LP lies within the 5x band of the window's prices.
    lo, hi = bars["close"].min(), bars["close"].max()
    lm = frames.liq_map
    assert (lm["price_high"] >= 0.78 * lo).all() and (lm["price_low"] <= 1.21 * hi).all()
    assert frames.liq_heatmap[["long_notional", "short_notional"]].ge(0).all().all()


def _conserved(bars: pd.DataFrame, params: ModelParams) -> None:
    run = run_model(bars, params, _brackets())
    acc = run.accounting()
    parts = acc[["alive", "liquidated", "closed", "expired"]].sum(axis=1)
    np.testing.assert_allclose(parts, acc["opened"], rtol=1e-9, atol=1e-3)
    assert (acc[["alive", "liquidated", "closed", "expired"]] >= -1e-6).all().all()


def test_real_hourly_aggregate_oi(hourly_bars):
    bars = hourly_bars[hourly_bars["ts"] < pd.Timestamp("2026-02-20")]
    params = ModelParams()
    frames = build_marts(
        bars,
        _brackets(),
        params,
        "BTCUSDT",
        date(2026, 2, 10),
        date(2026, 2, 20),
        SCENARIOS,
        venue="binance",
    )
    dm = frames.daily_metrics
    assert len(dm) == 10 * 4
    _check_sane(
        frames, bars, {"base": 1.0, "low_leverage": 1.0, "high_leverage": 1.0, "never_close": 5.0}
    )
    _conserved(bars, params)
    base = dm[dm["scenario"] == "base"].set_index("day")
    never = dm[dm["scenario"] == "never_close"].set_index("day")
    assert (never["shorts_at_risk"] >= base["shorts_at_risk"]).all()
    d = date(2026, 2, 15)
    for name, row in (("base", base.loc[d]), ("never_close", never.loc[d])):
        print(
            f"{d} {name:12s} longs at risk {row.longs_at_risk / 1e9:6.2f} B  shorts "
            f"{row.shorts_at_risk / 1e9:6.2f} B  imbalance {row.shorts_per_long:5.2f}:1  "
            f"(aggregate OI {row.oi_value / 1e9:.1f} B)"
        )
    assert len(frames.moves) > 0 and frames.moves["long_liquidated"].ge(0).all()


def test_real_4h_binance_oi_and_taker_ratio(real_data_dir):
    k = _feather(real_data_dir / ROSHAN / "BTC_USDT_USDT-4h-futures.feather")
    oi = pd.read_csv(real_data_dir / DENNIS / "btcusdt_futures_oi.csv")
    taker = pd.read_csv(real_data_dir / DENNIS / "btcusdt_futures_taker.csv")
    for df in (oi, taker):
        df["ts"] = pd.to_datetime(df["timestamp"], unit="ms").astype("datetime64[ns]")
    bars = k.merge(
        oi[["ts", "sumOpenInterest", "sumOpenInterestValue"]].rename(
            columns={"sumOpenInterest": "oi_base", "sumOpenInterestValue": "oi_value"}
        ),
        on="ts",
    ).merge(taker[["ts", "buySellRatio"]].rename(columns={"buySellRatio": "taker_ratio"}), on="ts")
    bars["symbol"] = "BTCUSDT"
    assert len(bars) > 150
    params = ModelParams()
    frames = build_marts(
        bars, _brackets(), params, "BTCUSDT", date(2026, 3, 25), date(2026, 4, 3), venue="binance"
    )
    _check_sane(
        frames, bars, {"base": 1.0, "low_leverage": 1.0, "high_leverage": 1.0, "never_close": 5.0}
    )
    _conserved(bars, params)
    dm = frames.daily_metrics
    assert dm["funding_state"].isna().all()  # no funding column in this set
    run = run_model(bars, params, _brackets())
    assert run.bars.interval_ns == 4 * 3600 * 10**9
    assert not np.allclose(run.opened_long, run.opened_short)  # taker split in use
