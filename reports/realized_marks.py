"""Realized liquidations as markers on the heatmap: per hour and side, at the hour's
realized-weighted price, sized by notional, in the site's long/short colours.

The day page of a venue shows that venue's realized; the aggregate page ('all') sums every
collecting venue per hour and side (their prices combined by quantity: total notional ÷
total quantity). Days a venue's stream was not (fully) received are listed in the window's
note and drawn as a band along the bottom; they have no markers, never zero ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from reports.charts.side_bars import SIDES
from reports.loaders import HOUR_MS, epoch_ms
from reports.notation import chart_price, fmt_pct, fmt_price, fmt_usd
from reports.queries import day_start
from reports.realized_data import RealizedSpan, Record
from transforms.raw.realized.settings import VENUES
from transforms.venues import AGGREGATE_VENUE, venue_label
from transforms.venues import venue as registry_venue

SOURCE_WORDS = {"complete": "complete", "throttled": "throttled, a lower bound"}
NOT_COLLECTED = "not collected"


@dataclass(frozen=True)
class HeatMarks:
    """One heatmap window's realized markers (chart rows), bands over the days not fully
    collected, and the caption sentence saying which venues and how complete."""

    points: list[Record]
    gaps: list[Record]
    note: str


def members(venue: str) -> tuple[str, ...]:
    """The venues whose realized a page shows: every collecting venue for the aggregate."""
    return tuple(VENUES) if venue == AGGREGATE_VENUE else (venue,)


def _points(rows: list[Record], t0: int, t1: int) -> list[Record]:
    """Sum the member rows per hour and side; the price is total notional ÷ total quantity."""
    sums: dict[tuple[datetime, int], list] = defaultdict(lambda: [0.0, 0.0, []])
    for r in rows:
        for i, (notional, price) in enumerate(
            ((r["realized_long"], r["price_long"]), (r["realized_short"], r["price_short"]))
        ):
            if not notional or not price:
                continue
            acc = sums[(r["ts"], i)]
            acc[0] += notional
            acc[1] += notional / price
            acc[2].append(venue_label(r["venue"]))
    points = []
    for (ts, i), (notional, quantity, venues) in sorted(sums.items()):
        x = epoch_ms(ts) + HOUR_MS // 2
        if not t0 <= x < t1:
            continue
        price = notional / quantity
        points.append(
            {
                "x": x,
                "p": chart_price(price),
                "v": float(f"{notional:.6g}"),
                "side": SIDES[i],
                "venues": " + ".join(sorted(set(venues))),
                "vtxt": fmt_usd(notional),
                "ptxt": fmt_price(price),
                "when": f"{ts:%d %b %H:00}–{ts + timedelta(hours=1):%H:00} UTC",
            }
        )
    return points


def _day_status(daily: list[Record], venues: tuple[str, ...], d: date) -> dict[str, Record]:
    """Each member venue's realized_daily row for `d` (a missing row: not collected)."""
    have = {r["venue"]: r for r in daily if r["day"] == d}
    return {
        v: have.get(v, {"venue": v, "collected": NOT_COLLECTED, "coverage_share": 0.0})
        for v in venues
    }


def _status_text(r: Record) -> str:
    if r["collected"] == "partial":
        return f"partial ({fmt_pct(r['coverage_share'], 0, signed=False)} of the day)"
    return r["collected"]


def _day_gaps(span: RealizedSpan, venues: tuple[str, ...], t0: int, t1: int) -> list[Record]:
    """Runs of consecutive days within [t0, t1) with the same shortfall (some member venue
    not fully collected): x, x2 (clipped to the window), first, last and what fell short."""
    runs: list[Record] = []
    d = span.first
    while d <= span.last:
        a, b = epoch_ms(day_start(d)), epoch_ms(day_start(d + timedelta(days=1)))
        if b > t0 and a < t1:
            status = _day_status(span.daily, venues, d)
            short = ", ".join(
                f"{venue_label(v)} {_status_text(r)}"
                for v, r in status.items()
                if r["collected"] != "complete"
            )
            if short and runs and runs[-1]["short"] == short and runs[-1]["x2"] == max(a, t0):
                runs[-1].update(x2=min(b, t1), last=d)
            elif short:
                runs.append({"x": max(a, t0), "x2": min(b, t1), "first": d, "last": d,
                             "short": short})  # fmt: skip
        d += timedelta(days=1)
    return runs


def _days_text(run: Record) -> str:
    first, last = run["first"], run["last"]
    return f"{first:%d %b}" if first == last else f"{first:%d %b}–{last:%d %b}"


def heat_marks(span: RealizedSpan, venue: str, t0: int, t1: int) -> HeatMarks:
    """The realized markers of the page's `venue` within [t0, t1) (epoch ms)."""
    venues = members(venue)
    points = _points([r for r in span.hourly if r["venue"] in venues], t0, t1)
    runs = _day_gaps(span, venues, t0, t1)
    gaps = [
        {"x": r["x"], "x2": r["x2"], "label": f"Realized {_days_text(r)}: {r['short']}"}
        for r in runs
    ]
    sources = " + ".join(
        f"{venue_label(v)} ({SOURCE_WORDS.get(registry_venue(v).realized, '')})" for v in venues
    )
    nothing = ", ".join(f"{venue_label(v)} {NOT_COLLECTED}" for v in venues)
    if len(runs) == 1 and (runs[0]["x"], runs[0]["x2"]) == (t0, t1) and runs[0]["short"] == nothing:
        return HeatMarks(
            points=points,
            gaps=gaps,
            note=f"Realized liquidations ({sources}): not collected in this window, so no markers.",
        )
    summed = ", summed per hour and side" if len(venues) > 1 else ""
    note = (
        f"Markers: realized liquidations per hour from {sources}{summed}, at the hour's "
        "realized-weighted price, sized by notional (▼ longs liquidated, ▲ shorts)."
    )
    if runs:
        note += (
            " Not fully collected, so missing or incomplete markers there (grey band): "
            + "; ".join(f"{_days_text(r)} ({r['short']})" for r in runs)
            + "."
        )
    if not points:
        note += " No realized liquidations in this window."
    return HeatMarks(points=points, gaps=gaps, note=note)
