"""Calibration: the model's modelled liquidations against realized ones, on genuine data.

Inputs (see ../shared/data/real/SOURCES.md; override the folder with LIQMAP_REAL_DATA):

* Binance USD-M BTCUSDT hourly klines and hourly mark-price candles (freqtrade feather).
* CoinGlass aggregated BTC open interest, 4h, all exchanges (`coinglass_oi_4h.csv`).
* Binance `openInterestHist` BTCUSDT, 4h, one month (`btcusdt_futures_oi.csv`): used only to
  measure Binance's share of the aggregate, so that the aggregate can be scaled to Binance.
* CoinGlass realized liquidations, BTC, Binance only, 4h (`coinglass_liquidation_4h.csv`).

The model runs on the hourly bars with the 4h open interest; its per-bar long/short
liquidations are summed per 4h candle and per UTC day and compared with the realized series:
totals, ratio modelled/realized, Pearson and Spearman correlation per side, how often the
dominant side (more longs or more shorts liquidated) agrees, and the biggest realized days.

Open interest is put on the hourly bars in **base units at the 4h boundary**: the CoinGlass
candle stamped T (its open) closes at T+4h, so its `close` (USD) is divided by the BTC price
at T+4h (the close of the hourly bar ending then) and held until the next boundary. The
whole 4h change therefore lands on the hourly bar that closes at the boundary, using no
future data. Two alignments are run as sensitivities: `usd_ffill` (hold the USD value and
let the model derive base units from each hourly open, as tests/test_model_real.py does;
this turns price moves into fake open-interest changes every hour) and `interp` (base units
linearly interpolated across the 4 hourly bars; uses up to 3 h of future OI).

Scaling the open interest by a constant k scales every cohort and every close by k and leaves
the closing factor unchanged, so modelled liquidations scale exactly by k: the Binance-scaled
run differs from the aggregate run in level only, not in timing or side.

    .venv/bin/python benchmarks/calibration.py
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_model_real import DENNIS, ROSHAN, _brackets, _feather  # noqa: E402
from transforms.model import ModelParams, run_model, scenario_params  # noqa: E402

REAL_DATA_DIR = Path(os.environ.get("LIQMAP_REAL_DATA", REPO.parent / "shared/data/real"))
CAL_SCENARIOS = ("base", "low_leverage", "high_leverage")
H4 = pd.Timedelta(hours=4)
H1 = pd.Timedelta(hours=1)
BIG_DAYS = 20  # "big days": the top-N days by realized liquidations (both sides)
WARMUP_DAYS = 30  # rows "binance+30d": the first 30 days left out of the comparison


@dataclass
class Inputs:
    bars: pd.DataFrame  # hourly: ts (open), end, OHLC, mark_high/low/close, funding_rate
    oi: pd.DataFrame  # aggregate OI: end (boundary time), oi_usd
    oi_binance: pd.DataFrame  # Binance BTCUSDT OI: end, oi_usd, oi_btc
    realized: pd.DataFrame  # ts (4h candle open), long, short (USD)
    taker: pd.DataFrame  # CoinGlass Binance taker volume 4h: ts (open), buy, sell (USD)


def load_inputs(data_dir: Path = REAL_DATA_DIR) -> Inputs:
    k = _feather(data_dir / ROSHAN / "BTC_USDT_USDT-1h-futures.feather")
    mark = _feather(data_dir / ROSHAN / "BTC_USDT_USDT-1h-mark.feather")
    fund = _feather(data_dir / ROSHAN / "BTC_USDT_USDT-1h-funding_rate.feather")
    bars = k[["ts", "open", "high", "low", "close", "volume"]].merge(
        mark[["ts", "high", "low", "close"]].rename(
            columns={"high": "mark_high", "low": "mark_low", "close": "mark_close"}
        ),
        on="ts",
        how="left",
    )
    bars = pd.merge_asof(
        bars, fund[["ts", "open"]].rename(columns={"open": "funding_rate"}), on="ts"
    )
    bars["end"] = bars["ts"] + H1

    def cg(name: str) -> pd.DataFrame:
        df = pd.read_csv(data_dir / DENNIS / name, parse_dates=["timestamp"])
        df["ts"] = df["timestamp"].astype("datetime64[ns]")
        return df

    oi = cg("coinglass_oi_4h.csv")
    oi = pd.DataFrame({"end": oi["ts"] + H4, "oi_usd": oi["close"]})
    bn = pd.read_csv(data_dir / DENNIS / "btcusdt_futures_oi.csv")
    oi_bn = pd.DataFrame(
        {
            "end": pd.to_datetime(bn["timestamp"], unit="ms").astype("datetime64[ns]"),
            "oi_usd": bn["sumOpenInterestValue"],
            "oi_btc": bn["sumOpenInterest"],
        }
    )
    liq = cg("coinglass_liquidation_4h.csv")
    realized = pd.DataFrame({"ts": liq["ts"], "long": liq["long_usd"], "short": liq["short_usd"]})
    tk = cg("coinglass_taker_volume_4h.csv")
    taker = pd.DataFrame({"ts": tk["ts"], "buy": tk["buy_usd"], "sell": tk["sell_usd"]})
    return Inputs(bars, oi, oi_bn, realized, taker)


def binance_share(inp: Inputs) -> tuple[float, float, int]:
    """Binance BTCUSDT OI / aggregate OI at the same 4h boundaries: (mean, std, n).

    Binance's `openInterestHist` at T equals the CoinGlass candle that closes at T (their
    4h changes correlate 0.82 with that alignment, 0.30 with the candle opening at T)."""
    m = inp.oi_binance.merge(inp.oi, on="end", suffixes=("_bn", "_agg"))
    share = m["oi_usd_bn"] / m["oi_usd_agg"]
    return float(share.mean()), float(share.std()), len(m)


def hourly_bars(
    inp: Inputs, oi_scale: float = 1.0, oi_mode: str = "base_step", taker: bool = False
) -> pd.DataFrame:
    """Hourly bars carrying the 4h open interest (scaled by `oi_scale`), see module doc."""
    oi = inp.oi.assign(oi_usd=inp.oi["oi_usd"] * oi_scale)
    b = inp.bars
    b = b[(b["end"] >= oi["end"].min()) & (b["end"] <= oi["end"].max())]
    b = b.merge(oi, on="end", how="left").reset_index(drop=True)
    if oi_mode == "base_step":
        b["oi_base"] = (b["oi_usd"] / b["close"]).ffill()
    elif oi_mode == "interp":
        b["oi_base"] = (b["oi_usd"] / b["close"]).interpolate(limit_area="inside").ffill()
    elif oi_mode == "usd_ffill":  # the model derives base units = value / each bar's open
        b["oi_value"] = b.pop("oi_usd").ffill()
    else:
        raise ValueError(f"unknown oi_mode {oi_mode!r}")
    if taker:  # Binance taker buy/sell ratio of the 4h candle containing the bar
        t = inp.taker.assign(taker_ratio=inp.taker["buy"] / inp.taker["sell"])
        b = pd.merge_asof(b, t[["ts", "taker_ratio"]], on="ts")
    b["symbol"] = "BTCUSDT"
    return b.drop(columns=["oi_usd"], errors="ignore")


def modelled(bars: pd.DataFrame, params: ModelParams, swap_sides: bool = False) -> pd.DataFrame:
    """Per hourly bar (ts = open): modelled long / short liquidations in USD."""
    run = run_model(bars, params, _brackets())
    long, short = run.liq_long, run.liq_short
    if swap_sides:  # only for checking that the comparison can tell the sides apart
        long, short = short, long
    return pd.DataFrame({"ts": bars["ts"].to_numpy(), "long": long, "short": short})


def _spearman(a: pd.Series, b: pd.Series) -> float:
    return float(np.corrcoef(a.rank(), b.rank())[0, 1])


def _dominant(df: pd.DataFrame) -> np.ndarray:
    """+1 longs, -1 shorts, 0 neither (a tie, e.g. a day with no modelled liquidations)."""
    return np.sign(df["long"].to_numpy() - df["short"].to_numpy())


@dataclass
class Comparison:
    label: str
    days: pd.DataFrame  # day, long_mod, short_mod, long_real, short_real
    h4: pd.DataFrame  # same per 4h candle
    stats: dict[str, float] = field(default_factory=dict)


def compare(
    label: str, mod: pd.DataFrame, realized: pd.DataFrame, warmup_days: int = 0
) -> Comparison:
    """Daily and 4h comparison over the full UTC days both series cover, optionally leaving
    out the first `warmup_days` (while positions opened before the window are invisible)."""
    real = realized.copy()
    first = mod["ts"].min().ceil("D") + pd.Timedelta(days=warmup_days)
    last = min(mod["ts"].max() + H1, real["ts"].max() + H4).floor("D")  # exclusive
    frames = {}
    for name, freq in (("days", "D"), ("h4", "4h")):
        m = mod.groupby(mod["ts"].dt.floor(freq))[["long", "short"]].sum()
        r = real.groupby(real["ts"].dt.floor(freq))[["long", "short"]].sum()
        j = m.add_suffix("_mod").join(r.add_suffix("_real"), how="inner")
        frames[name] = j[(j.index >= first) & (j.index < last)]
    d = frames["days"]
    s: dict[str, float] = {"n_days": len(d)}
    for side in ("long", "short"):
        mo, re = d[f"{side}_mod"], d[f"{side}_real"]
        s[f"{side}_mod"] = float(mo.sum())
        s[f"{side}_real"] = float(re.sum())
        s[f"{side}_ratio"] = s[f"{side}_mod"] / s[f"{side}_real"]
        s[f"{side}_pearson"] = float(np.corrcoef(mo, re)[0, 1])
        s[f"{side}_spearman"] = _spearman(mo, re)
        h = frames["h4"]
        s[f"{side}_spearman_4h"] = _spearman(h[f"{side}_mod"], h[f"{side}_real"])
    dm = _dominant(d[["long_mod", "short_mod"]].set_axis(["long", "short"], axis=1))
    dr = _dominant(d[["long_real", "short_real"]].set_axis(["long", "short"], axis=1))
    s["side_agree"] = float(np.mean(dm == dr))
    big = (d["long_real"] + d["short_real"]).to_numpy().argsort()[::-1][:BIG_DAYS]
    s["side_agree_big"] = float(np.mean(dm[big] == dr[big]))
    s["model_zero_days"] = float(np.mean((d["long_mod"] + d["short_mod"]) == 0))
    return Comparison(label, d, frames["h4"], s)


def price_baseline(inp: Inputs, days: pd.DatetimeIndex) -> dict[str, float]:
    """A no-model yardstick from the day's Binance price path alone: the fall from the open
    to the low stands in for long liquidations, the rise to the high for short ones, and the
    dominant side is "longs" on a down day. The model should at least match it."""
    b = inp.bars
    g = b.groupby(b["ts"].dt.floor("D")).agg(
        o=("open", "first"), h=("high", "max"), lo=("low", "min"), c=("close", "last")
    )
    g = g.reindex(days)
    return {
        "down": (g["o"] - g["lo"]) / g["o"],
        "up": (g["h"] - g["o"]) / g["o"],
        "sign": np.sign(g["o"] - g["c"]),
    }


def baseline_stats(inp: Inputs, c: Comparison) -> dict[str, float]:
    d = c.days
    p = price_baseline(inp, d.index)
    dr = _dominant(d[["long_real", "short_real"]].set_axis(["long", "short"], axis=1))
    big = (d["long_real"] + d["short_real"]).to_numpy().argsort()[::-1][:BIG_DAYS]
    sign = p["sign"].to_numpy()
    return {
        "long_spearman": _spearman(p["down"], d["long_real"]),
        "short_spearman": _spearman(p["up"], d["short_real"]),
        "long_pearson": float(np.corrcoef(p["down"], d["long_real"])[0, 1]),
        "short_pearson": float(np.corrcoef(p["up"], d["short_real"])[0, 1]),
        "side_agree": float(np.mean(sign == dr)),
        "side_agree_big": float(np.mean(sign[big] == dr[big])),
    }


def top_days(c: Comparison, n: int = 5) -> pd.DataFrame:
    d = c.days.assign(total_real=c.days["long_real"] + c.days["short_real"])
    return d.sort_values("total_real", ascending=False).head(n)


@dataclass
class Calibration:
    share: tuple[float, float, int]
    runs: dict[tuple[str, str], Comparison]  # (oi label, scenario) -> comparison
    sensitivity: dict[str, Comparison]
    baseline: dict[str, float]  # price-path yardstick over the same days
    share_window: tuple[pd.Timestamp, pd.Timestamp]


def calibrate(
    data_dir: Path = REAL_DATA_DIR,
    scenarios: tuple[str, ...] = CAL_SCENARIOS,
    swap_sides: bool = False,
    sensitivity: bool = True,
) -> Calibration:
    inp = load_inputs(data_dir)
    share = binance_share(inp)
    base = ModelParams()
    runs = {}
    for oi_label, scale in (("aggregate", 1.0), ("binance", share[0])):
        bars = hourly_bars(inp, oi_scale=scale)
        for sc in scenarios:
            mod = modelled(bars, scenario_params(base, sc), swap_sides)
            runs[(oi_label, sc)] = compare(f"{oi_label}/{sc}", mod, inp.realized)
            if oi_label == "binance":
                runs[("binance+30d", sc)] = compare(
                    f"binance/{sc} after warm-up", mod, inp.realized, WARMUP_DAYS
                )
    sens = {}
    if sensitivity:
        variants = {
            "never_close": (dict(), "never_close"),
            "oi usd_ffill": (dict(oi_mode="usd_ffill"), "base"),
            "oi interp": (dict(oi_mode="interp"), "base"),
            "taker split": (dict(taker=True), "base"),
        }
        for name, (kw, sc) in variants.items():
            bars = hourly_bars(inp, oi_scale=share[0], **kw)
            mod = modelled(bars, scenario_params(base, sc), swap_sides)
            sens[name] = compare(f"binance/{name}", mod, inp.realized)
    bl = baseline_stats(inp, runs[("binance", scenarios[0])])
    span = (inp.oi_binance["end"].min(), inp.oi_binance["end"].max())
    return Calibration(share, runs, sens, bl, span)


def _row(label: str, s: dict[str, float]) -> str:
    b = 1e9
    return (
        f"{label:26s} {s['long_mod'] / b:7.2f} {s['short_mod'] / b:7.2f} "
        f"{s['long_ratio']:6.2f} {s['short_ratio']:6.2f} "
        f"{s['long_pearson']:6.2f} {s['short_pearson']:6.2f} "
        f"{s['long_spearman']:6.2f} {s['short_spearman']:6.2f} "
        f"{s['long_spearman_4h']:6.2f} {s['short_spearman_4h']:6.2f} "
        f"{s['side_agree']:5.0%} {s['side_agree_big']:5.0%}"
    )


def report(cal: Calibration) -> str:
    first = next(iter(cal.runs.values()))
    d, s = first.days, first.stats
    mean, std, n = cal.share
    lines = [
        f"window: {d.index.min():%Y-%m-%d} .. {d.index.max():%Y-%m-%d} ({s['n_days']} UTC days)",
        f"Binance share of aggregate OI: {mean:.4f} (sd {std:.4f}, {n} 4h points, "
        f"{cal.share_window[0]:%Y-%m-%d} .. {cal.share_window[1]:%Y-%m-%d})",
        f"realized (CoinGlass, Binance): longs {s['long_real'] / 1e9:.2f} B, "
        f"shorts {s['short_real'] / 1e9:.2f} B",
        "",
        f"{'run':26s} {'modL $B':>7s} {'modS $B':>7s} {'L m/r':>6s} {'S m/r':>6s} "
        f"{'L prs':>6s} {'S prs':>6s} {'L spr':>6s} {'S spr':>6s} {'L sp4h':>6s} "
        f"{'S sp4h':>6s} {'side':>5s} {'big':>5s}",
    ]
    for (oi_label, sc), c in cal.runs.items():
        lines.append(_row(f"{oi_label}/{sc}", c.stats))
    bl = cal.baseline
    lines.append(
        f"{'price path (no model)':26s} {'':7s} {'':7s} {'':6s} {'':6s} "
        f"{bl['long_pearson']:6.2f} {bl['short_pearson']:6.2f} "
        f"{bl['long_spearman']:6.2f} {bl['short_spearman']:6.2f} {'':6s} {'':6s} "
        f"{bl['side_agree']:5.0%} {bl['side_agree_big']:5.0%}"
    )
    if cal.sensitivity:
        lines.append("sensitivity (Binance-scaled):")
        for name, c in cal.sensitivity.items():
            lines.append(_row(f"  {name}", c.stats))
    lines += ["", "biggest realized days ($M; model = Binance-scaled, per scenario):"]
    scen = [sc for (oi_label, sc) in cal.runs if oi_label == "binance"]
    hdr = f"{'day':10s} {'real L':>8s} {'real S':>8s}"
    for sc in scen:
        hdr += f" {sc[:9] + ' L':>11s} {sc[:9] + ' S':>11s}"
    lines.append(hdr)
    for day, row in top_days(cal.runs[("binance", scen[0])]).iterrows():
        line = f"{day:%Y-%m-%d} {row.long_real / 1e6:8.0f} {row.short_real / 1e6:8.0f}"
        for sc in scen:
            r = cal.runs[("binance", sc)].days.loc[day]
            line += f" {r.long_mod / 1e6:11.0f} {r.short_mod / 1e6:11.0f}"
        lines.append(line)
    return "\n".join(lines)


def main() -> int:
    if not REAL_DATA_DIR.is_dir():
        print(f"skipped: real market data not present at {REAL_DATA_DIR} (set LIQMAP_REAL_DATA)")
        return 0
    print(report(calibrate()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
