"""The venue split of a day page: positions at risk and open interest by venue (beside the
key figures), and the liquidation map's bands stacked by venue (inside the map card).

Both come from the per-venue mart rows; the aggregate's own rows give the totals and shares,
so a venue's share is of the figure the page prints for all venues."""

from __future__ import annotations

from datetime import date

import numpy as np

from reports.cards.card import ChartCard, Table
from reports.cards.liq_map import MAP_MAX_BARS, MAP_SPAN
from reports.charts.spec import stacked
from reports.charts.venue_split import (
    map_series,
    venue_map_template,
    venue_risk_template,
    venue_series,
)
from reports.loaders import Record
from reports.notation import chart_price, fmt_price, fmt_share, fmt_usd, ok
from reports.queries import bin_width
from reports.venue_set import VenueShare, joined_labels
from transforms.venues import AGGREGATE_VENUE, venue_label

RISK_MEASURES = (
    ("shorts_at_risk", "Shorts at risk"),
    ("longs_at_risk", "Longs at risk"),
    ("oi_value", "Open interest"),
)


def venue_risk_card(shares: list[VenueShare], agg: Record, symbol: str, d: date) -> ChartCard:
    """Shorts and longs at risk and open interest per venue, each with its share of all
    venues (the aggregate row `agg`)."""
    rows = []
    for vo, s in enumerate(shares):
        if s.row is None:
            continue
        for o, (key, label) in enumerate(RISK_MEASURES):
            value = s.row.get(key)
            if ok(value):
                share = fmt_share(value, agg.get(key))
                rows.append(
                    {
                        "m": label,
                        "o": o,
                        "venue": s.label,
                        "vo": vo,
                        "x": float(f"{value:.4g}"),
                        "txt": f"{fmt_usd(value)} ({share})",
                    }
                )
    labels = [s.label for s in shares]
    # the figures themselves are the fallback table's, right under the chart: printed once
    desc = (
        f"Positions at risk and open interest by venue, {symbol}, end of {d} UTC: "
        f"{joined_labels(labels)}, each with its share of all venues (table below)."
    )
    domain, colours = venue_series([s.venue for s in shares])
    spec = venue_risk_template().fill(
        {"rows": rows, "desc": desc, "domain": domain, "range": colours}
    )
    table_rows = [
        (s.label, s.shorts, s.shorts_share, s.longs, s.longs_share, s.oi, s.oi_share)
        for s in shares
    ]
    table_rows.append(
        (
            venue_label(AGGREGATE_VENUE),
            fmt_usd(agg.get("shorts_at_risk")),
            fmt_share(agg.get("shorts_at_risk"), agg.get("shorts_at_risk")),
            fmt_usd(agg.get("longs_at_risk")),
            fmt_share(agg.get("longs_at_risk"), agg.get("longs_at_risk")),
            fmt_usd(agg.get("oi_value")),
            fmt_share(agg.get("oi_value"), agg.get("oi_value")),
        )
    )
    return ChartCard(
        id="venue-risk",
        title="By venue: positions at risk and open interest",
        # how to read it: the methodology page (templates/_how_to_read.html.j2)
        intro=f"The figures above add up {joined_labels(labels)}.",
        desc=desc,
        spec=spec,
        table=Table(
            caption="By venue (base model)",
            head=[
                "Venue",
                "Shorts at risk",
                "Share",
                "Longs at risk",
                "Share",
                "Open interest",
                "Share of open interest",
            ],
            rows=table_rows,
        ),
    )


def _window_sums(rows: list[Record], lo_edge: float, hi_edge: float) -> tuple[float, float]:
    """(longs, shorts) notional of the bins inside the map's window."""
    inside = [r for r in rows if r["price_high"] > lo_edge and r["price_low"] < hi_edge]
    return (
        float(sum(r["long_notional"] for r in inside)),
        float(sum(r["short_notional"] for r in inside)),
    )


def _decimals(step: float) -> int:
    """Decimals that show every multiple of `step` exactly (at most 8): 0 for $250."""
    return len(f"{step:.8f}".rstrip("0").split(".")[1])


def venue_map_split(
    agg_rows: list[Record], venue_rows: dict[str, list[Record]], symbol: str, d: date
) -> ChartCard | None:
    """The day's map bands (the aggregate map's bands: same window and width) stacked by
    venue and side, from each venue's `mart.liq_map` rows; None without two venues' rows."""
    if not agg_rows or sum(1 for r in venue_rows.values() if r) < 2:
        return None
    spot = agg_rows[0]["spot_price"]
    if not ok(spot):
        return None
    lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
    width = (
        bin_width(
            np.array([r["price_low"] for r in agg_rows], dtype=np.float64),
            np.array([r["price_high"] for r in agg_rows], dtype=np.float64),
        )
        or 1.0
    )
    step = width * max(1, int(np.ceil((hi_edge - lo_edge) / width / MAP_MAX_BARS)))
    base = float(np.floor(lo_edge / step) * step)
    venues = list(venue_rows)
    # each venue's bins inside the window: their band (index from `base`) and notionals
    inside = []
    for v in venues:
        rows = [r for r in venue_rows[v] if r["price_high"] > lo_edge and r["price_low"] < hi_edge]
        inside.append(
            (
                [int((r["price_low"] - base) // step) for r in rows],
                [r["long_notional"] for r in rows],
                [r["short_notional"] for r in rows],
            )
        )
    used = sorted({i for idx, _, _ in inside for i in idx})
    # band -> [venue][side] notional: each venue's bins added in their order (bincount
    # adds its weights one after the other, as a loop of += from 0 would)
    i0 = used[0] if used else 0
    n = used[-1] - i0 + 1 if used else 0
    cells = np.zeros((n, len(venues), 2))
    for vi, (idx, longs, shorts) in enumerate(inside):
        if idx:
            at = np.asarray(idx, dtype=np.int64) - i0
            cells[:, vi, 0] = np.bincount(at, weights=longs, minlength=n)
            cells[:, vi, 1] = np.bincount(at, weights=shorts, minlength=n)
    series, colours = map_series(venues)
    data, runs = [], []
    for i, cell in ((i, cells[i - i0]) for i in used):
        blo = chart_price(base + i * step)  # once per band, not per segment
        for side in (0, 1):
            # the stack: each venue's segment starts exactly where the previous one's
            # (rounded) top is, so the page rebuilds the bottoms from the tops (stacked)
            below, top, n = 0.0, 0.0, 0
            for vi in range(len(venues)):
                value = float(cell[vi, side])
                if value <= 0:
                    continue
                below += value
                v1 = float(f"{below:.4g}")
                data.append(
                    {
                        "lo": blo,
                        "s": series[side * len(venues) + vi],
                        "v0": top,
                        "v1": v1,
                    }
                )
                top, n = v1, n + 1
            if n:
                runs.append(n)
    if not data:
        return None
    agg_long, agg_short = _window_sums(agg_rows, lo_edge, hi_edge)
    table_rows = []
    for v in venues:
        vl, vs = _window_sums(venue_rows[v], lo_edge, hi_edge)
        table_rows.append(
            (
                venue_label(v),
                fmt_usd(vl),
                fmt_share(vl, agg_long),
                fmt_usd(vs),
                fmt_share(vs, agg_short),
            )
        )
    table_rows.append(
        (
            venue_label(AGGREGATE_VENUE),
            fmt_usd(agg_long),
            fmt_share(agg_long, agg_long),
            fmt_usd(agg_short),
            fmt_share(agg_short, agg_short),
        )
    )
    window = f"±{MAP_SPAN:.0%} of spot {fmt_price(spot)}"
    # each venue's sums are the fallback table's, right under the chart: printed once
    desc = (
        f"Liquidation map by venue, {symbol}, end of {d} UTC: long and short liquidation "
        f"notional per price band within {window}, stacked by venue (sums in the table below)."
    )
    spec = venue_map_template().fill(
        {
            "bands": stacked(data, runs),
            "spot": [{"c": chart_price(spot), "label": f"Spot {fmt_price(spot)}"}],
            "desc": desc,
            "domain": series,
            "range": colours,
        },
        {
            "xdomain0": chart_price(lo_edge),
            "xdomain1": chart_price(hi_edge),
            "step": chart_price(step),
            "pdec": _decimals(chart_price(step)),
        },
    )
    return ChartCard(
        id="liqmap-venues",
        title="By venue",
        intro="The same bands, stacked by venue.",
        desc=desc,
        spec=spec,
        table=Table(
            caption=f"By venue, within {window}",
            head=["Venue", "Longs", "Share", "Shorts", "Share"],
            rows=table_rows,
        ),
    )
