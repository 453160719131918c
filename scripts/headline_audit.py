"""Audit what the report leads with, over every day page and `mart.daily_metrics`.

    .venv/bin/python scripts/headline_audit.py [--db WAREHOUSE.duckdb] [--site SITE_DIR]
                                               [--venue all] [--jumps 5]

Prints, per symbol (the `venue` rows, base scenario; default the aggregate 'all'):

1. days where the page's headline side differs from the ±10 % side in the mart (0 by
   construction), and, as context, days where the whole map's heavier side differs from it;
2. per key level and year, the days a level moved by more than 10 % with the close-to-close
   price move beside each (and, for the nearest clusters, the stored reason), plus how many
   days price itself moved 10 % or more;
3. the leverage layers against the whole in `mart.liq_layer_map`: high + mid + low vs all
   per scenario (the largest relative gap over every day and bin).

Read-only: the warehouse is opened read-only (use the snapshot while a run is writing).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reports.notation import row_imbalance  # noqa: E402
from transforms.config import load_settings  # noqa: E402
from transforms.model.layers import PARTITION  # noqa: E402
from transforms.model.metrics import HEADLINE_BAND  # noqa: E402

DAILY_SQL = """
SELECT *
FROM mart.daily_metrics
WHERE venue = $venue AND scenario = 'base'
ORDER BY symbol, day
"""
LAYER_SQL = """
SELECT symbol, day, scenario, layer, price_low,
       sum(long_notional) AS long_notional, sum(short_notional) AS short_notional
FROM mart.liq_layer_map
WHERE venue = $venue
GROUP BY ALL
"""
LEVELS = (
    "nearest_cluster_above",
    "nearest_cluster_below",
    "peak_cluster_above",
    "peak_cluster_below",
    "p90_above",
    "p90_below",
)
JUMP = 0.10
# the page's headline: "Within ±10% of $X the model puts … below: 1.4:1 shorts"
HEADLINE = re.compile(
    r'data-metric="headline"[^>]*>Within ±10% of .*? below: '
    r"(\d+(?:\.\d)?:1 (?:shorts|longs)|shorts only|longs only|1:1 even|n/a)"
)


def page_sides(site: Path, symbol: str) -> dict[str, str]:
    """Day (ISO) -> the heavier side the day page's headline names ('' when it names none)."""
    out = {}
    for page in sorted((site / symbol).glob("????-??-??/index.html")):
        m = HEADLINE.search(html.unescape(page.read_text(encoding="utf-8")))
        if m:
            words = set(m.group(1).split())  # "2.8:1 shorts", "longs only", "1:1 even"
            out[page.parent.name] = next((w for w in ("shorts", "longs") if w in words), "")
    return out


def side_checks(rows: pd.DataFrame, site: Path | None, symbol: str) -> list[str]:
    near = [row_imbalance(r, HEADLINE_BAND).heavier or "" for r in rows.to_dict("records")]
    whole = [row_imbalance(r, None).heavier or "" for r in rows.to_dict("records")]
    days = [d.isoformat() for d in pd.to_datetime(rows["day"]).dt.date]
    differ_whole = sum(bool(a and b and a != b) for a, b in zip(near, whole, strict=True))
    lines = [
        f"  whole map vs ±10 %: heavier side differs on {differ_whole} of {len(days)} days "
        "(context: the whole map is not the headline)"
    ]
    if site is None:
        return [*lines, "  pages: no site given"]
    shown = page_sides(site, symbol)
    checked = [(d, shown[d], n) for d, n in zip(days, near, strict=True) if d in shown]
    bad = [(d, s, n) for d, s, n in checked if s != n]
    lines.append(
        f"  headline vs ±10 %: side differs on {len(bad)} of {len(checked)} day pages"
        + "".join(f"\n    {d}: page {s or 'none'}, mart {n or 'none'}" for d, s, n in bad[:10])
    )
    return lines


def jump_checks(rows: pd.DataFrame, listed: int) -> list[str]:
    rows = rows.reset_index(drop=True)
    close = rows["close_price"].to_numpy(dtype=float)
    move = np.r_[np.nan, close[1:] / close[:-1] - 1.0]
    days = pd.to_datetime(rows["day"]).dt.date.to_numpy()
    years = np.array([d.year for d in days])
    lines = []
    for year in sorted(set(years)):
        sel = years == year
        big = int(np.sum(np.abs(move[sel]) >= JUMP))
        lines.append(f"  {year}: {sel.sum()} days, price moved >= 10 % on {big}")
        for level in LEVELS:
            p = rows[f"{level}_price"].to_numpy(dtype=float)
            change = np.r_[np.nan, p[1:] / p[:-1] - 1.0]
            idx = np.flatnonzero(sel & (np.abs(change) > JUMP))
            text = f"    {level}: {len(idx)} jumps > 10 %"
            reason_col = f"{level}_move"  # the held levels store why they moved
            for i in idx[:listed]:
                reason = rows.at[i, reason_col] if reason_col in rows else ""
                text += (
                    f"\n      {days[i]}: {p[i - 1]:,.6g} -> {p[i]:,.6g} "
                    f"({change[i]:+.1%}), price {move[i]:+.1%}" + (f", {reason}" if reason else "")
                )
            if len(idx) > listed:
                text += f"\n      … {len(idx) - listed} more"
            lines.append(text)
    return lines


def layer_checks(layers: pd.DataFrame) -> list[str]:
    if layers.empty:
        return ["  no layer rows"]
    lines = []
    for scenario, rows in layers.groupby("scenario"):
        wide = rows.pivot_table(
            index=["day", "price_low"],
            columns="layer",
            values=["long_notional", "short_notional"],
            aggfunc="sum",
            fill_value=0.0,
        )
        missing = [x for x in ("all", *PARTITION) if x not in wide["long_notional"].columns]
        if missing:
            lines.append(f"  {scenario}: no rows for layer(s) {missing}")
            continue
        gaps = []
        for side in ("long_notional", "short_notional"):
            parts = sum(wide[side][x] for x in PARTITION)
            whole = wide[side]["all"]
            gaps.append(float((parts - whole).abs().max() / max(whole.abs().max(), 1e-12)))
            total_parts, total = float(parts.sum()), float(whole.sum())
            lines.append(
                f"  {scenario} {side.split('_')[0]}s: {' + '.join(PARTITION)} = "
                f"{total_parts:,.0f} vs all {total:,.0f} ({total_parts / total - 1:+.2e})"
            )
        lines.append(f"  {scenario}: largest gap per bin {max(gaps):.2e} of the largest bin")
    return lines


def main(argv: list[str] | None = None) -> int:
    cfg = load_settings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=cfg.warehouse_path)
    ap.add_argument("--site", type=Path, default=cfg.output_site_dir)
    ap.add_argument("--venue", default="all")
    ap.add_argument("--jumps", type=int, default=5, help="jumps listed per level and year")
    args = ap.parse_args(argv)
    conn = duckdb.connect(str(args.db), read_only=True)
    daily = conn.execute(DAILY_SQL, {"venue": args.venue}).df()
    layers = conn.execute(LAYER_SQL, {"venue": args.venue}).df()
    site = args.site if args.site and args.site.is_dir() else None
    for symbol, rows in daily.groupby("symbol", sort=False):
        print(f"{symbol} ({args.venue}, base): {len(rows)} days")
        print("1. headline side")
        print("\n".join(side_checks(rows, site, symbol)))
        print("2. key level jumps > 10 % (close-to-close price move beside each)")
        print("\n".join(jump_checks(rows, args.jumps)))
        print("3. leverage layers vs all (mart.liq_layer_map)")
        print("\n".join(layer_checks(layers[layers["symbol"] == symbol])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
