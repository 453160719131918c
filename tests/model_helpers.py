"""Helpers for the model tests: bar builders, a one-tier bracket table and a naive reference
implementation of the cohort model (explicit loops over bars and cohorts) to check the
vectorized one against."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from transforms.model.brackets import BRACKET_COLUMNS, lp_ratios
from transforms.model.params import ModelParams

T0 = pd.Timestamp("2025-01-01 00:00:00")


def flat_brackets(mmr: float = 0.004, cum: float = 0.0, max_lev: float = 125.0) -> pd.DataFrame:
    """One tier covering every notional: LP ratios are exact hand-checkable numbers."""
    return pd.DataFrame(
        [("BTCUSDT", date(2020, 1, 1), 1, 0.0, 1e12, max_lev, mmr, cum, "test")],
        columns=BRACKET_COLUMNS,
    )


def make_bars(
    close,
    oi,
    *,
    mark_low=None,
    mark_high=None,
    taker_ratio=None,
    funding=None,
    freq: str = "5min",
    t0: pd.Timestamp = T0,
) -> pd.DataFrame:
    """stg.bars_5m-shaped frame from explicit arrays (OI in base units, value = base x close)."""
    close = np.asarray(close, dtype=float)
    n = len(close)
    ts = pd.date_range(t0, periods=n, freq=freq)
    ml = close.copy() if mark_low is None else np.asarray(mark_low, dtype=float)
    mh = close.copy() if mark_high is None else np.asarray(mark_high, dtype=float)
    oi = np.asarray(oi, dtype=float)
    return pd.DataFrame(
        {
            "symbol": "BTCUSDT",
            "day": ts.normalize(),
            "ts": ts,
            "open": close,
            "high": np.maximum(close, mh),
            "low": np.minimum(close, ml),
            "close": close,
            "volume": 1.0,
            "quote_volume": close,
            "taker_buy_quote_volume": close / 2,
            "mark_high": mh,
            "mark_low": ml,
            "mark_close": close,
            "oi_base": oi,
            "oi_value": oi * close,
            "taker_ratio": np.full(n, np.nan) if taker_ratio is None else taker_ratio,
            "funding_rate": np.full(n, np.nan) if funding is None else funding,
        }
    )


def random_bars(
    n: int, seed: int, freq: str = "5min", vol: float = 0.004, oi_vol: float = 0.01
) -> pd.DataFrame:
    """Seeded random walk with wicks, a mean-reverting OI with noise, taker ratio, funding."""
    rng = np.random.default_rng(seed)
    close = 50_000.0 * np.exp(np.cumsum(rng.normal(0, vol, n)))
    wick = np.abs(rng.normal(0, vol, (2, n))) * close
    oi = 1_000.0 * np.exp(np.cumsum(rng.normal(0, oi_vol, n)) * 0.5)
    ratio = np.exp(rng.normal(0, 0.2, n))
    funding = np.round(rng.normal(0.0001, 0.0001, n), 6)
    return make_bars(
        close,
        oi,
        mark_low=close - wick[0],
        mark_high=close + wick[1],
        taker_ratio=ratio,
        funding=funding,
        freq=freq,
    )


def reference_model(bars: pd.DataFrame, params: ModelParams, brackets: pd.DataFrame) -> dict:
    """Naive bar-by-bar simulation of design §3 (lists of cohorts, no vectorization).

    Returns per-bar liquidations and the final per-cohort sizes/status, keyed by
    (open bar, side, level).
    """
    ts = pd.to_datetime(bars["ts"]).to_numpy().astype("datetime64[ns]").view("int64")
    close = bars["close"].to_numpy(float)
    ml = bars["mark_low"].to_numpy(float)
    mh = bars["mark_high"].to_numpy(float)
    oi = bars["oi_base"].to_numpy(float)
    r = bars["taker_ratio"].to_numpy(float)
    k_long, k_short, _ = lp_ratios(brackets, params.leverage_levels, params.position_notional)
    w = params.leverage_weights
    lookback = params.lookback_days * 86_400 * 10**9
    cohorts: list[dict] = []
    liq_long = np.zeros(len(close))
    liq_short = np.zeros(len(close))
    for t in range(len(close)):
        d = oi[t] - oi[t - 1] if t > 0 else 0.0
        liq_base = 0.0
        for c in cohorts:
            if c["status"] != "alive":
                continue
            if ts[t] >= c["ts"] + lookback:
                c["status"] = "expired"
                continue
            hit = ml[t] <= c["lp"] if c["side"] == 1 else mh[t] >= c["lp"]
            if hit:
                c["status"] = "liquidated"
                liq_base += c["size"] / c["entry"]
                if c["side"] == 1:
                    liq_long[t] += c["size"]
                else:
                    liq_short[t] += c["size"]
        if d < 0 and params.closing == "total_oi":
            closes = max(0.0, -d - liq_base)
            f = max(1.0 - closes / oi[t - 1], 0.0)
            for c in cohorts:
                if c["status"] == "alive":
                    c["closed"] += c["size"] * (1 - f)
                    c["size"] *= f
        if d > 0:
            new = d * close[t]
            share = r[t] / (1 + r[t]) if params.side_split == "taker" and r[t] > 0 else 0.5
            for side, sh, ks in ((1, share, k_long), (-1, 1 - share, k_short)):
                for lvl in range(len(w)):
                    cohorts.append(
                        {
                            "key": (t, side, lvl),
                            "ts": ts[t],
                            "side": side,
                            "entry": close[t],
                            "lp": close[t] * ks[lvl],
                            "size": new * sh * w[lvl],
                            "opened": new * sh * w[lvl],
                            "closed": 0.0,
                            "status": "alive",
                        }
                    )
    return {"cohorts": {c["key"]: c for c in cohorts}, "liq_long": liq_long, "liq_short": liq_short}


def reference_risk_metrics(run, snaps, spots, grid=None, bands=None) -> pd.DataFrame:
    """Per-snapshot loop over explicit alive sizes (`run.size_at`): each side sorted by LP,
    one cumulative sum, scalar searches; the straightforward form of the documented metrics
    that the vectorized `risk_metrics` must reproduce."""
    from transforms.model.cohorts import LONG
    from transforms.model.metrics import NEAR_BANDS, NEAR_COLUMNS, RATIO_BANDS, RISK_COLUMNS

    bands = bands or NEAR_BANDS
    p = run.params
    q = p.ceiling_quantile
    nan = float("nan")
    rows = []
    for j, (t, spot) in enumerate(zip(snaps, spots, strict=True)):
        size = run.size_at(int(t))
        row: dict[str, object] = {}
        for sgn in (LONG, -LONG):
            idx = np.flatnonzero(run.side == sgn)
            order = idx[np.argsort(run.lp[idx], kind="stable")]
            lp, c = run.lp[order], np.concatenate([[0.0], np.cumsum(size[order])])
            if sgn == LONG:  # LP < spot; band [spot(1-b), spot); floor walking down
                i = int(np.searchsorted(lp, spot, side="left"))
                total = float(c[i])
                for name, pct in bands.items():
                    i_lo = int(np.searchsorted(lp, spot * (1.0 - pct), side="left"))
                    row[f"longs_at_risk_{name}"] = float(c[i] - c[min(i_lo, i)])
                k = int(np.searchsorted(c[: i + 1], (1.0 - q) * total, side="right")) - 1
                row["flush_floor"] = float(lp[min(max(k, 0), i - 1)]) if total > 0 else nan
                row["longs_at_risk"] = total
            else:  # LP > spot; band (spot, spot(1+b)]; ceiling walking up
                i = int(np.searchsorted(lp, spot, side="right"))
                total = float(c[-1] - c[i])
                for name, pct in bands.items():
                    i_hi = int(np.searchsorted(lp, spot * (1.0 + pct), side="right"))
                    row[f"shorts_at_risk_{name}"] = float(c[max(i_hi, i)] - c[i])
                k = int(np.searchsorted(c, c[i] + q * total, side="left")) - 1
                ceiling = float(lp[min(max(k, i), len(lp) - 1)]) if total > 0 else nan
                row["squeeze_ceiling"] = ceiling
                row["shorts_at_risk"] = total
        longs, shorts = row["longs_at_risk"], row["shorts_at_risk"]
        ok = longs > 0 and shorts > 0
        row["shorts_per_long"] = shorts / longs if ok else nan
        row["log_imbalance"] = float(np.log(shorts / longs)) if ok else nan
        for name in RATIO_BANDS:
            s_n, l_n = row[f"shorts_at_risk_{name}"], row[f"longs_at_risk_{name}"]
            row[f"shorts_per_long_{name}"] = s_n / l_n if s_n > 0 and l_n > 0 else nan
        for key in ("long", "short"):
            vals = getattr(grid, key)[j] if grid is not None and grid.n_bins else np.zeros(1)
            k = int(np.argmax(vals))
            peak = vals.max() > 0
            row[f"peak_cluster_{key}"] = (grid.bin_lo + k + 0.5) * grid.bin_size if peak else nan
            row[f"peak_cluster_{key}_notional"] = float(vals[k]) if peak else nan
        rows.append(row)
    return pd.DataFrame(rows, columns=RISK_COLUMNS + NEAR_COLUMNS)
