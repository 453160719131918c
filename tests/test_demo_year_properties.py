"""Properties over the demo's year: the real model on the seeded synthetic market that
`make demo` uses (BTCUSDT from 2025-11-01, seed 7), on hourly bars so the year runs in
seconds, and the site rendered for a sample of its days.

* both sides' peak clusters and 90 % points exist on every day where both sides hold
  notional, each on its side of spot (and within the map's window for the clusters); the
  nearest major cluster (an absolute rule, held from day to day) on most days, and a jump of
  more than 10 % only with its reason;
* every ratio on every rendered page reads `X:1 <heavier side>` with X >= 1, and the key
  figure agrees with the mart's `shorts_per_long_10pct` (the near-spot headline);
* the zone sentence agrees with the rounded numbers it prints.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from reports.notation import MIN_BREAKOUT, RATIO_PATTERN, fmt_imbalance
from reports.site import build_site
from transforms.db import apply_schema
from transforms.marts.aggregate import aggregate_markets
from transforms.marts.build import build_market
from transforms.model.levels import WINDOW_PCT
from transforms.model.params import ModelParams
from transforms.model.stable_levels import JUMP_MOVES
from transforms.raw.synthetic.hourly import hourly_bars
from transforms.reference import bracket_table

pytestmark = pytest.mark.xdist_group("demo_year")

SYMBOL = "BTCUSDT"
START = date(2025, 11, 1)
DAYS = 365


def hourly_demo_bars(n_days: int = DAYS) -> pd.DataFrame:
    """The demo market's minutes and 5-minute metrics as hourly bars."""
    return hourly_bars(SYMBOL, START, n_days, 7)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    bars = hourly_demo_bars()
    end = START + timedelta(days=DAYS)
    model = build_market(
        bars,
        bracket_table("BTCUSDT", "binance"),
        ModelParams(),
        SYMBOL,
        START,
        end,
        venue="binance",
    )
    aggregate = aggregate_markets([model], ("binance",), ModelParams())  # what the site shows
    db = tmp_path_factory.mktemp("demo_year") / "warehouse.duckdb"
    conn = duckdb.connect(str(db))
    try:
        apply_schema(conn)
        price = bars.assign(day=bars["day"].dt.date)[
            ["symbol", "day", "ts", "open", "high", "low", "close", "mark_close", "oi_value"]
        ]
        marts = {
            name: pd.concat([frame, aggregate.by_mart()[name]], ignore_index=True)
            for name, frame in model.frames.by_mart().items()
        }
        price = pd.concat([price.assign(venue="binance"), price.assign(venue="all")])
        tables = {**marts, "model_params": model.frames.model_params, "price_hourly": price}
        for name, frame in tables.items():
            conn.register("frame", frame)
            conn.execute(f"INSERT INTO mart.{name} BY NAME SELECT * FROM frame")
            conn.unregister("frame")
        dm = conn.execute(
            "SELECT * FROM mart.daily_metrics WHERE venue = 'all' ORDER BY day, scenario"
        ).df()
        days = sorted(dm["day"].dt.date.unique())
        sample = days[::45] + [days[-1]]
        out = tmp_path_factory.mktemp("demo_site") / "site"
        build_site(conn, out, SYMBOL, sample, source="synthetic", methodology_md=None)
    finally:
        conn.close()
    return dm, out, sample


def test_both_sides_levels_exist_every_day(demo) -> None:
    dm, _, _ = demo
    assert dm["day"].nunique() == DAYS
    both = dm[(dm["longs_at_risk"] > 0) & (dm["shorts_at_risk"] > 0)]
    assert len(both) > 0.95 * len(dm)
    for side, sign in (("above", 1), ("below", -1)):
        for kind in ("peak_cluster", "p90"):
            col = both[f"{kind}_{side}_price"]
            assert col.notna().all(), (kind, side)
            assert (np.sign(col - both["close_price"]) == sign).all(), (kind, side)
        assert (both[f"peak_cluster_{side}_pct"].abs() <= WINDOW_PCT + 0.01).all()
        assert (both[f"peak_cluster_{side}_notional"] > 0).all()
        near = both[both[f"nearest_cluster_{side}_price"].notna()]
        assert len(near) > 0.75 * len(both), side
        assert (np.sign(near[f"nearest_cluster_{side}_price"] - near["close_price"]) == sign).all()
        assert (near[f"nearest_cluster_{side}_notional"] > 0).all()
        # a fresh nearest major cluster is never farther out than a fresh peak (held ones may be)
        fresh = near[
            (near[f"nearest_cluster_{side}_move"] != "held")
            & (near[f"peak_cluster_{side}_move"] != "held")
        ]
        assert (
            fresh[f"nearest_cluster_{side}_pct"].abs() <= fresh[f"peak_cluster_{side}_pct"].abs()
        ).all()
        # a jump of more than 10 % comes with its reason
        for (scenario, kind), rows in (
            dm.assign(kind=[("nearest_cluster", "peak_cluster")] * len(dm))
            .explode("kind")
            .groupby(["scenario", "kind"])
        ):
            rows = rows.sort_values("day")
            p = rows[f"{kind}_{side}_price"].to_numpy(dtype=float)
            jump = np.flatnonzero(np.abs(p[1:] / p[:-1] - 1) > 0.10) + 1
            reasons = set(rows[f"{kind}_{side}_move"].iloc[jump])
            assert reasons <= set(JUMP_MOVES), (scenario, kind, side, reasons)


# anything written like a ratio: "X:1 ..." or the old "1:3.3" (but not a time like 24:00)
RATIO_TEXT = re.compile(r"\b\d+(?:\.\d+)?:(?:1(?![\d.])|\d+\.\d+)(?: [a-z]+)?")


def _pages(out, sample):
    for d in sample:
        yield d, html.unescape((out / SYMBOL / d.isoformat() / "index.html").read_text())


def test_every_ratio_on_every_page_is_x_to_1_heavier_side(demo) -> None:
    dm, out, sample = demo
    base = dm[dm["scenario"] == "base"].set_index(dm[dm["scenario"] == "base"]["day"].dt.date)
    for d, text in _pages(out, sample):
        visible = re.sub(r"<script.*?</script>", "", text, flags=re.S)
        found = RATIO_TEXT.findall(visible)
        assert found, d
        for r in found:
            if r.startswith("1:1"):
                assert r == "1:1 even", (d, r)
                continue
            m = RATIO_PATTERN.match(r)
            assert m and float(m.group(1)) >= 1, (d, r)
        row = base.loc[d]
        want = fmt_imbalance(row["shorts_at_risk_10pct"], row["longs_at_risk_10pct"])
        assert f'data-metric="imbalance">{want}<' in text, d
        x, side = RATIO_PATTERN.match(want).groups()
        spl = row["shorts_per_long_10pct"]
        assert side == ("shorts" if spl > 1 else "longs")
        assert float(x) == pytest.approx(max(spl, 1 / spl), abs=0.051, rel=0.01)


ZONE = re.compile(
    r"Price \(\$([\d,]+)\) (stays inside|is testing the top|is testing the bottom|"
    r"has broken above|has broken below) its \$([\d,]+)–\$([\d,]+) range"
)


def test_zone_wording_agrees_with_the_printed_numbers(demo) -> None:
    _, out, sample = demo
    seen = 0
    for d, text in _pages(out, sample):
        m = ZONE.search(text)
        if not m:
            continue
        seen += 1
        close, verb, lo, hi = m.groups()
        c, a, b = (float(x.replace(",", "")) for x in (close, lo, hi))
        if verb == "stays inside":
            assert a < c < b, (d, m.group(0))
        elif verb == "is testing the top":
            assert b <= c <= b * (1 + MIN_BREAKOUT), (d, m.group(0))
        elif verb == "is testing the bottom":
            assert a * (1 - MIN_BREAKOUT) <= c <= a, (d, m.group(0))
        elif verb == "has broken above":
            assert c > b * (1 + MIN_BREAKOUT), (d, m.group(0))
        else:
            assert c < a * (1 - MIN_BREAKOUT), (d, m.group(0))
    assert seen >= 3
