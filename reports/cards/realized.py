"""The "Realized vs modelled" card: what the collector saw liquidated on each venue that day,
beside the model's liquidations, the day's realized per hour and per swing, and the running
calibration. A venue whose stream was not received says "not collected", never zero.

The day's realized per hour is drawn here per venue, and as markers on the heatmap
(reports.realized_marks); the realized per swing also sits in the moves chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reports.cards.card import Table
from reports.charts.realized import SIDES, realized_hourly_template, realized_totals_template
from reports.notation import fmt_corr, fmt_pct, fmt_times, fmt_usd, ok
from reports.realized_data import RealizedDay, Record
from transforms.raw.realized.settings import VENUES
from transforms.venues import venue as registry_venue
from transforms.venues import venue_label

NOT_COLLECTED = "not collected"
NO_MODEL = "no model for this venue"
SOURCE_LABELS = {
    "complete": "complete stream (every liquidation)",
    "throttled": "throttled stream (at most one order per symbol per second: a lower bound)",
}


@dataclass(frozen=True)
class VenueRow:
    """One venue's day: realized beside modelled, every figure already formatted."""

    venue: str
    source: str
    collected: str
    events: str
    realized_long: str
    realized_short: str
    modelled_long: str
    modelled_short: str
    modelled_per_realized: str


@dataclass(frozen=True)
class CalibrationRow:
    """One venue's calibration as of the day, over its fully collected days."""

    venue: str
    source: str
    days: str
    modelled_per_realized: str
    pearson: str
    spearman: str
    side_agreement: str


@dataclass(frozen=True)
class RealizedCard:
    id: str
    title: str
    intro: str
    venues: list[VenueRow]
    totals_spec: str | None
    totals_desc: str
    hourly_spec: str | None
    hourly_desc: str
    calibration: list[CalibrationRow]
    calibration_note: str
    moves: Table | None
    #: one line instead of the card when no venue's stream was received that day and none
    #: has been so far (nothing to compare: "not collected", never words that read as zero)
    collapsed: str | None = None


def _venue(v: str) -> str:
    return venue_label(v)


def _collected(row: Record) -> str:
    if row["collected"] == "partial":
        return f"partial ({fmt_pct(row['coverage_share'], 0, signed=False)} of the day)"
    return row["collected"]


def _realized(row: Record, key: str) -> str:
    return NOT_COLLECTED if row["collected"] == NOT_COLLECTED else fmt_usd(row[key])


def _modelled(row: Record, key: str) -> str:
    if row["model"] == NO_MODEL:
        return NO_MODEL
    return fmt_usd(row[key]) if row["model"] == "base" else "not modelled"


def _day_ratio(row: Record) -> str:
    """Modelled ÷ realized for a fully collected, modelled day; else why not."""
    if row["model"] != "base":
        return "n/a"
    if row["collected"] != "complete":
        return f"n/a ({_collected(row)})"
    realized = (row["realized_long"] or 0.0) + (row["realized_short"] or 0.0)
    return (
        fmt_times((row["modelled_long"] + row["modelled_short"]) / realized) if realized else "n/a"
    )


def _uncollected(venue: str) -> Record:
    """A venue with no row for the day (the realized marts were not built): not collected."""
    return {"venue": venue, "collected": NOT_COLLECTED, "coverage_share": 0.0, "events": None,
            "completeness": registry_venue(venue).realized, "realized_long": None,
            "realized_short": None, "model": NO_MODEL, "modelled_long": None,
            "modelled_short": None}  # fmt: skip


def venue_rows(day: RealizedDay) -> list[Record]:
    """The day's realized_daily rows, plus a "not collected" row for any missing venue."""
    have = {r["venue"] for r in day.daily}
    return day.daily + [_uncollected(v) for v in VENUES if v not in have]


def _venue_row(r: Record) -> VenueRow:
    return VenueRow(
        venue=_venue(r["venue"]),
        source=SOURCE_LABELS.get(r["completeness"], r["completeness"]),
        collected=_collected(r),
        events=NOT_COLLECTED if r["events"] is None else f"{r['events']:,}",
        realized_long=_realized(r, "realized_long"),
        realized_short=_realized(r, "realized_short"),
        modelled_long=_modelled(r, "modelled_long"),
        modelled_short=_modelled(r, "modelled_short"),
        modelled_per_realized=_day_ratio(r),
    )


def _totals(rows: list[Record], symbol: str, d: date) -> tuple[str | None, str]:
    bars, parts = [], []
    for r in rows:
        name = _venue(r["venue"])
        series = []
        if r["collected"] != NOT_COLLECTED:
            series.append((f"{name} realized", r["realized_long"], r["realized_short"]))
        if r["model"] == "base":
            series.append((f"{name} modelled", r["modelled_long"], r["modelled_short"]))
        for label, longs, shorts in series:
            parts.append(f"{label}: longs {fmt_usd(longs)}, shorts {fmt_usd(shorts)}")
            for side, v in zip(SIDES, (longs, shorts), strict=True):
                if ok(v):
                    bars.append({"series": label, "order": len(bars), "side": side,
                                 "v": float(f"{v:.4g}")})  # fmt: skip
        if r["collected"] == NOT_COLLECTED:
            parts.append(f"{name} realized: {NOT_COLLECTED}")
    desc = f"Realized and modelled liquidations, {symbol}, {d}: " + "; ".join(parts) + "."
    if not bars:
        return None, desc
    return realized_totals_template().fill({"rows": bars, "desc": desc}), desc


def _hourly(day: RealizedDay, rows: list[Record], symbol: str, d: date) -> tuple[str | None, str]:
    hours = []
    for h in day.hourly:
        for side, v in zip(SIDES, (h["realized_long"], -h["realized_short"]), strict=True):
            if v:
                hours.append({"hour": f"{h['ts']:%H}", "venue": _venue(h["venue"]),
                              "side": side, "v": float(f"{v:.4g}"),
                              "abs_v": float(f"{abs(v):.4g}"), "events": h["events"]})  # fmt: skip
    missing = [
        f"{_venue(r['venue'])} {_collected(r)}" for r in rows if r["collected"] != "complete"
    ]
    gaps = f" Not all hours were received: {', '.join(missing)}." if missing else ""
    if not hours:
        return None, f"No realized liquidations were recorded for {symbol} on {d}.{gaps}"
    peak = max(day.hourly, key=lambda h: h["realized_long"] + h["realized_short"])
    desc = (
        f"Realized liquidations per hour (UTC) on {d}, {symbol}, longs above zero and shorts "
        f"below, one bar per venue. Largest hour: {peak['ts']:%H}:00 on "
        f"{_venue(peak['venue'])}, {fmt_usd(peak['realized_long'] + peak['realized_short'])}."
        f"{gaps}"
    )
    spec = realized_hourly_template().fill({"rows": hours, "desc": desc})
    return spec, desc


def _calibration(rows: list[Record]) -> list[CalibrationRow]:
    out = []
    for c in rows:
        span = f" ({c['first_day']} to {c['last_day']})" if c["days_used"] else ""
        no_model = c["model"] == NO_MODEL
        out.append(
            CalibrationRow(
                venue=_venue(c["venue"]),
                source=SOURCE_LABELS.get(c["completeness"], c["completeness"]),
                days=(
                    f"{c['days_used']} fully collected{span}; {c['days_partial']} partial "
                    f"(excluded); {c['days_not_collected']} not collected"
                ),
                modelled_per_realized=NO_MODEL
                if no_model
                else fmt_times(c["modelled_per_realized"]),
                pearson=NO_MODEL if no_model else fmt_corr(c["pearson"]),
                spearman=NO_MODEL if no_model else fmt_corr(c["spearman"]),
                side_agreement=NO_MODEL if no_model else fmt_pct(c["side_agreement"], 0, False),
            )
        )
    return out


def _moves_table(day: RealizedDay, moves: list[Record]) -> Table | None:
    by_start = {m["start_ts"]: m for m in moves}
    rows = []
    venue_rows_ = [r for r in day.moves if r["venue"] in VENUES]  # not the aggregate's sum
    for r in sorted(venue_rows_, key=lambda r: (r["start_ts"], r["venue"]), reverse=True):
        m = by_start.get(r["start_ts"])
        if m is None:
            continue
        running = "" if m["confirmed"] else " (running)"
        rows.append(
            (
                f"{m['start_ts']:%d %b %H:%M} → {m['end_ts']:%d %b %H:%M}{running}",
                fmt_pct(m["pct_change"]),
                _venue(r["venue"]),
                r["collected"],
                NOT_COLLECTED if r["realized_long"] is None else fmt_usd(r["realized_long"]),
                NOT_COLLECTED if r["realized_short"] is None else fmt_usd(r["realized_short"]),
                NO_MODEL if r["modelled_long"] is None else fmt_usd(r["modelled_long"]),
                NO_MODEL if r["modelled_short"] is None else fmt_usd(r["modelled_short"]),
            )
        )
    if not rows:
        return None
    head = ["Move", "Change", "Venue", "Collected", "Realized longs", "Realized shorts",
            "Modelled longs", "Modelled shorts"]  # fmt: skip
    return Table(caption="Realized vs modelled per move", head=head, rows=rows)


def _model_note(rows: list[Record]) -> str:
    """Which venues the model runs on (each compared with its own model), from the rows."""
    modelled = [_venue(r["venue"]) for r in rows if r["model"] != NO_MODEL]
    others = [_venue(r["venue"]) for r in rows if r["model"] == NO_MODEL]
    if not modelled:
        return "The model does not run on these venues."
    note = f"The model runs on {' and '.join(modelled)} data, each venue beside its own model"
    return note + (f"; {' and '.join(others)} has no model here." if others else ".")


def collapsed_line(
    rows: list[Record], calibration: list[Record], symbol: str, d: date
) -> str | None:
    """The card's one line when nothing was collected: every venue 'not collected' that day
    and no collected day to calibrate on so far; None otherwise."""
    if any(r["collected"] != NOT_COLLECTED for r in rows):
        return None
    if any(c["days_used"] or c["days_partial"] for c in calibration):
        return None
    names = ", ".join(_venue(r["venue"]) for r in rows)
    return f"Realized liquidations: {NOT_COLLECTED} for {symbol} on {d} ({names})."


def realized_card(day: RealizedDay, moves: list[Record], symbol: str, d: date) -> RealizedCard:
    """The card for day `d` from its realized marts and the swings the moves card shows."""
    rows = venue_rows(day)
    collapsed = collapsed_line(rows, day.calibration, symbol, d)
    totals_spec, totals_desc = _totals(rows, symbol, d)
    hourly_spec, hourly_desc = _hourly(day, rows, symbol, d)
    return RealizedCard(
        id="realized",
        title="Realized vs modelled",
        intro=(
            "Liquidations the venues actually reported that day (collected live from their "
            "public streams), beside the model's. Bybit's stream carries every liquidation; "
            "Binance's is throttled to one order per symbol per second, so its realized "
            "figures are a lower bound and the model's dollars are expected to be several "
            f"times higher there. {_model_note(rows)} A day whose stream was not received "
            "says not collected, never zero."
        ),
        venues=[_venue_row(r) for r in rows],
        totals_spec=totals_spec,
        totals_desc=totals_desc,
        hourly_spec=hourly_spec,
        hourly_desc=hourly_desc,
        calibration=_calibration(day.calibration),
        calibration_note=(
            "As of this day, over every fully collected day so far; partial days are "
            "excluded and counted. Daily totals are longs + shorts; correlations need at "
            "least 3 days. Side agreement: share of days on which the model and the venue "
            "agree which side was liquidated more."
        ),
        moves=_moves_table(day, moves),
        collapsed=collapsed,
    )
