"""docs/methodology.md from its template and the code of the day: every figure is computed.

`docs/methodology.md.j2` holds the prose; every number in it is a Jinja expression over the
figures computed here: model parameters, worked examples run through the model's own
functions, and (when the genuine data folder exists, see ../shared/data/real/SOURCES.md or
LIQMAP_REAL_DATA) the calibration against realized liquidations and the scenario table.

Sections that need genuine data sit between `<!-- real-data -->` and `<!-- /real-data -->`
in the output. Without the data those sections cannot be recomputed: `--write` keeps the
committed ones and `--check` compares everything outside them.

    .venv/bin/python scripts/methodology_figures.py --write   # regenerate the doc in place
    .venv/bin/python scripts/methodology_figures.py --check   # exit 1 when the doc is stale
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reports import notation  # noqa: E402
from transforms.marts.aggregate import aggregate_markets  # noqa: E402
from transforms.marts.build import build_market  # noqa: E402
from transforms.model import ModelParams, liquidation_price  # noqa: E402
from transforms.model.layers import HIGH_LEVERAGE_MIN, LOW_LEVERAGE_MAX  # noqa: E402
from transforms.model.levels import QUANTILE, WINDOW_PCT, LevelParams, major_min  # noqa: E402
from transforms.model.metrics import HEADLINE_BAND, NEAR_BANDS  # noqa: E402
from transforms.model.scenarios import SCENARIOS, scenario_params  # noqa: E402
from transforms.model.zone import zone_for  # noqa: E402
from transforms.raw.synthetic.hourly import hourly_bars  # noqa: E402
from transforms.raw.venues.bybit.datasets import RISK_LIMIT_COLUMNS  # noqa: E402
from transforms.raw.venues.bybit.market import standard_tiers  # noqa: E402
from transforms.raw.venues.bybit.oi import oi_per_side  # noqa: E402
from transforms.raw.venues.bybit.source import BybitDay  # noqa: E402
from transforms.raw.venues.bybit.tiers import tiers_to_brackets  # noqa: E402
from transforms.reference import bracket_table  # noqa: E402

DOC = REPO / "docs" / "methodology.md"
TEMPLATE = REPO / "docs" / "methodology.md.j2"
REAL_DATA_DIR = Path(os.environ.get("LIQMAP_REAL_DATA", REPO.parent / "shared/data/real"))
REAL_SECTION = re.compile(r"<!-- real-data -->.*?<!-- /real-data -->", re.S)
SCENARIO_DAY = pd.Timestamp("2026-02-15")  # the day of the genuine-data scenario table
ZONE_EXAMPLE = (70_000.0, 70_500.0, 70_200.0, 70_800.0, 70_400.0, 76_500.0)


# ---------------------------------------------------------------- figures without data


def _lp(entry: float, lev: float, side: str, mmr: float) -> float:
    return float(liquidation_price(entry, lev, side, mmr, 0.0, 1.0))


def site_figures() -> dict[str, Any]:
    """What the site itself is built with: the venues modelled by default and the price
    bins each demo symbol gets (transforms.reference.bins.symbol_bins of its first price)."""
    from transforms.raw.synthetic.market import PROFILES
    from transforms.reference.bins import symbol_bins
    from transforms.venues import DEFAULT_VENUES, REGISTRY

    bins = [
        {"symbol": s, "price": prof.reference_price, "map": symbol_bins(prof.reference_price)[0],
         "heat": symbol_bins(prof.reference_price)[1]}
        for s, prof in PROFILES.items()
    ]  # fmt: skip
    return {
        "modelled": [REGISTRY[v].label for v in DEFAULT_VENUES],
        "registered": [v.label for v in REGISTRY.values()],
        "bins": bins,
    }


MAJOR_EXAMPLE = (10e9, 90_000.0)  # open interest (USDT) and spot of the worked example


def _major_example(p: ModelParams) -> dict[str, float]:
    """The major rule's size per bin on an example market (BTC-like open interest and spot,
    the default bin)."""
    oi, spot = MAJOR_EXAMPLE
    size = float(major_min(np.array([oi]), p.bin_size, np.array([spot]))[0])
    return {"oi": oi, "spot": spot, "bin": p.bin_size, "min": size}


def model_figures() -> dict[str, Any]:
    """Figures that follow from the code alone: parameters and worked examples."""
    p = ModelParams()
    ep, mmr = 100_000.0, 0.004
    lp = {(side, lev): _lp(ep, lev, side, mmr) for side in ("long", "short") for lev in (100, 10)}
    table = bracket_table("BTCUSDT", "binance")
    snaps = {d: t.sort_values("bracket") for d, t in table.groupby("effective_date")}
    dates = sorted(snaps)
    levels = list(p.leverage_levels)
    high = [w for lv, w in zip(levels, p.leverage_weights, strict=True) if lv >= 50]
    zone_lo, zone_hi, zone_days = zone_for(np.array(ZONE_EXAMPLE[:-1]), p)
    settlements = 24.0 / p.funding_interval_hours * 365.0
    return {
        "p": p,
        "scenarios": {sc: scenario_params(p, sc) for sc in SCENARIOS},
        "lp_entry": ep,
        "lp_mmr": mmr,
        "lp": lp,
        "lp_100x_long_dist": 1.0 - lp[("long", 100)] / ep,
        "cum_example": list(snaps[dates[1]]["cum"]),
        "cum_example_date": dates[1],
        "snapshot_dates": dates,
        "tiers_latest": len(snaps[dates[-1]]),
        "cohorts_per_bar": 2 * len(levels),
        "high_share": sum(high),
        "high_lp_dist": sorted(1.0 - _lp(ep, lv, "long", mmr) / ep for lv in levels if lv >= 50),
        "settlements_per_year": settlements,
        "elevated_annual": p.funding_elevated * settlements,
        "zone_closes": ZONE_EXAMPLE,
        "zone": (zone_lo, zone_hi, zone_days),
        "zone_position": notation.zone_position(ZONE_EXAMPLE[-1], zone_lo, zone_hi),
        "levels_window": WINDOW_PCT,
        "near_bands": NEAR_BANDS,
        "headline_band": HEADLINE_BAND,
        "levels_p": LevelParams(),
        "major_example": _major_example(p),
        "quantile": QUANTILE,
        "high_min": HIGH_LEVERAGE_MIN,
        "low_max": LOW_LEVERAGE_MAX,
        "min_breakout": notation.MIN_BREAKOUT,
    }


VENUE_EXAMPLE = ("BTCUSDT", pd.Timestamp("2025-11-01").date(), 60)  # symbol, start, days
VENUE_OI_SHARE = 0.6  # the demo's Bybit open interest per side, relative to Binance's


def _bybit_brackets(symbol: str) -> pd.DataFrame:
    """The demo's Bybit tiers (standard_tiers, what the fake Bybit serves) through the same
    mapping the ingest uses (tiers_to_brackets)."""
    rows = [
        (t["id"], symbol, t["riskLimitValue"], t["maintenanceMargin"], t["initialMargin"],
         t["isLowestRisk"], t["maxLeverage"], t["mmDeduction"])
        for t in standard_tiers(symbol)
    ]  # fmt: skip
    snapshot = BybitDay("risk_limit", symbol, "2020-01-01", RISK_LIMIT_COLUMNS, rows,
                        True, False, None, None)  # fmt: skip
    return tiers_to_brackets(snapshot).drop(columns="venue")


def venue_figures() -> dict[str, Any]:
    """How LIQMAP_BYBIT_OI_SIDES moves the aggregate: the demo market with a Bybit copy whose
    reported openInterest counts both sides (as the demo serves it), read as `both` and as
    `one`, each aggregated with Binance; figures on the last day."""
    symbol, start, days = VENUE_EXAMPLE
    end = start + pd.Timedelta(days=days).to_pytimedelta()
    p = ModelParams()
    binance = hourly_bars(symbol, start, days)
    reported = binance["oi_base"] * VENUE_OI_SHARE * 2.0  # Bybit's openInterest, both sides
    last = end - pd.Timedelta(days=1).to_pytimedelta()
    base = build_market(
        binance, bracket_table("BTCUSDT", "binance"), p, symbol, last, end, venue="binance"
    )
    out: dict[str, Any] = {"oi_share": VENUE_OI_SHARE, "days": days}
    for sides in ("both", "one"):
        per_side = oi_per_side(reported.to_numpy(), sides)
        bybit = binance.assign(oi_base=per_side, oi_value=per_side * binance["close"])
        other = build_market(bybit, _bybit_brackets(symbol), p, symbol, last, end, venue="bybit")
        agg = aggregate_markets([base, other], ("binance", "bybit"), p).daily_metrics
        row = agg[agg["scenario"] == "base"].iloc[-1]
        mine = other.frames.daily_metrics
        mine = mine[mine["scenario"] == "base"].iloc[-1]
        at_risk = mine["longs_at_risk"] + mine["shorts_at_risk"]
        out[sides] = {
            "bybit_at_risk": at_risk,
            "all_at_risk": row["longs_at_risk"] + row["shorts_at_risk"],
            "bybit_share": at_risk / (row["longs_at_risk"] + row["shorts_at_risk"]),
            "bybit_oi_share": mine["oi_value"] / row["oi_value"],
            "bybit_ratio": mine["shorts_per_long"],
            "all_ratio": row["shorts_per_long"],
        }
    return out


# ---------------------------------------------------------------- figures from genuine data


@dataclass
class RealFigures:
    """What the genuine-data sections quote (see benchmarks/calibration.py)."""

    cal: Any
    swapped: Any
    scenario_rows: list[dict[str, Any]]
    scenario_oi: float
    scenario_history_days: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def big_days(self) -> int:
        from benchmarks.calibration import BIG_DAYS

        return BIG_DAYS

    @property
    def warmup_days(self) -> int:
        from benchmarks.calibration import WARMUP_DAYS

        return WARMUP_DAYS


def _scenario_table(inp) -> tuple[list[dict[str, Any]], float, int]:
    """Base vs never-close at risk on SCENARIO_DAY, aggregate OI on hourly bars."""
    from benchmarks.calibration import hourly_bars
    from tests.test_model_real import _brackets
    from transforms.marts import build_marts

    bars = hourly_bars(inp)
    day = SCENARIO_DAY.date()
    frames = build_marts(
        bars,
        _brackets(),
        ModelParams(),
        "BTCUSDT",
        day,
        day + pd.Timedelta(days=1),
        scenarios=("base", "never_close"),
        venue="binance",
    )
    dm = frames.daily_metrics
    rows = [r for _, r in dm.iterrows()]
    history = (SCENARIO_DAY - bars["ts"].min().normalize()).days
    return [dict(r) for r in rows], float(rows[0]["oi_value"]), int(history)


def _extra(cal) -> dict[str, Any]:
    """Derived figures of the calibration prose."""
    from benchmarks.calibration import top_days

    base = cal.runs[("binance", "base")]
    d = base.days
    both_mod = d["long_mod"] + d["short_mod"]
    both_real = d["long_real"] + d["short_real"]
    per_day = (both_mod / both_real)[both_real > 0]
    month = d.groupby(d.index.to_period("M")).sum()
    month_ratio = (month["long_mod"] + month["short_mod"]) / (
        month["long_real"] + month["short_real"]
    )
    top = top_days(base, 5)
    rest = d.drop(top.index)
    low = cal.runs[("binance", "low_leverage")].days.loc[top.index]
    top_base = base.days.loc[top.index]
    low_more = int((low["long_mod"] > top_base["long_mod"]).sum())
    biggest = both_real.idxmax()
    interp = cal.sensitivity["oi interp"].stats
    lev_ratios = [
        cal.runs[("binance", sc)].stats[f"{s}_ratio"]
        for sc in ("base", "low_leverage", "high_leverage")
        for s in ("long", "short")
    ]
    low_gain = (low["long_mod"] - top_base["long_mod"]).idxmax()
    return {
        "per_day_median": float(per_day.median()),
        "per_day_q1": float(per_day.quantile(0.25)),
        "per_day_q3": float(per_day.quantile(0.75)),
        "month_min": float(month_ratio.min()),
        "month_max": float(month_ratio.max()),
        "without_top5_long": float(rest["long_mod"].sum() / rest["long_real"].sum()),
        "without_top5_short": float(rest["short_mod"].sum() / rest["short_real"].sum()),
        "top_days": top,
        "low_more_on_top": low_more,
        "low_gain_day": low_gain,
        "low_gain_low": float(low.loc[low_gain, "long_mod"]),
        "low_gain_base": float(top_base.loc[low_gain, "long_mod"]),
        "biggest_day": biggest,
        "biggest_day_n": int((biggest - d.index.min()).days) + 1,
        "lev_ratio_min": min(lev_ratios),
        "lev_ratio_max": max(lev_ratios),
        "interp_level_change": [
            interp[f"{s}_mod"] / base.stats[f"{s}_mod"] - 1.0 for s in ("long", "short")
        ],
        "window_start": d.index.min(),
        "window_end": d.index.max(),
    }


def real_figures(data_dir: Path) -> RealFigures:
    from benchmarks.calibration import calibrate, load_inputs

    cal = calibrate(data_dir)
    swapped = calibrate(data_dir, scenarios=("base",), swap_sides=True, sensitivity=False)
    rows, oi, history = _scenario_table(load_inputs(data_dir))
    return RealFigures(cal, swapped, rows, oi, history, _extra(cal))


# ---------------------------------------------------------------- rendering


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        usd=notation.fmt_usd,
        price=notation.fmt_price,
        ratio=notation.fmt_imbalance,
        window=notation.fmt_window,
        step=notation.fmt_step,
        pct=lambda x, d=0: notation.fmt_pct(x, d, signed=False),
        spct=lambda x, d=1: notation.fmt_pct(x, d),
        num=lambda x, d=0: f"{x:,.{d}f}",
        x=lambda x, d=1: f"{x:.{d}f}",
        musd=lambda x: f"{x / 1e6:,.0f}",
        busd=lambda x: f"{x / 1e9:.1f}",
        day=lambda d: f"{pd.Timestamp(d):%Y-%m-%d}",
    )
    return env


def render(real: RealFigures | None) -> str:
    """The methodology as it should read; genuine-data sections only when `real` is given
    (otherwise each is an empty real-data marker pair)."""
    ctx = {**model_figures(), "venues": venue_figures(), "site": site_figures(), "real": real}
    return _env().get_template(TEMPLATE.name).render(**ctx)


def _mask(text: str) -> str:
    return REAL_SECTION.sub("<!-- real-data --><!-- /real-data -->", text)


def merge_real_sections(rendered: str, committed: str) -> str:
    """`rendered` (without data) with its empty real-data sections replaced, in order, by the
    committed doc's sections."""
    kept = iter(REAL_SECTION.findall(committed))
    return REAL_SECTION.sub(lambda m: next(kept, m.group(0)), rendered)


def stale_parts(doc: str, rendered: str, compare_real: bool) -> list[str]:
    """Lines that differ between the committed doc and the rendering (empty when in sync)."""
    a, b = (doc, rendered) if compare_real else (_mask(doc), _mask(rendered))
    if a == b:
        return []
    import difflib

    return list(difflib.unified_diff(a.splitlines(), b.splitlines(), "doc", "code", lineterm=""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="regenerate docs/methodology.md")
    ap.add_argument("--check", action="store_true", help="exit 1 if the doc is stale")
    args = ap.parse_args(argv)
    have_data = REAL_DATA_DIR.is_dir()
    if not have_data:
        print(f"genuine data not present at {REAL_DATA_DIR}: real-data sections not recomputed")
    rendered = render(real_figures(REAL_DATA_DIR) if have_data else None)
    committed = DOC.read_text() if DOC.exists() else ""
    if not have_data:
        rendered = merge_real_sections(rendered, committed)
    if args.write:
        DOC.write_text(rendered)
        print(f"wrote {DOC.relative_to(REPO)}")
        return 0
    diff = stale_parts(committed, rendered, compare_real=have_data)
    if diff:
        print("\n".join(diff[:80]))
        print(f"{DOC.relative_to(REPO)} is stale: run scripts/methodology_figures.py --write")
        return 1
    print(f"{DOC.relative_to(REPO)} agrees with the code")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
