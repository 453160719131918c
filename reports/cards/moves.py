"""The moves card: modelled and realized liquidations per price swing, as known at the end
of a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from reports.cards.card import ChartCard, Table
from reports.charts.moves import moves_template
from reports.honesty import LIQUIDATED_CAVEAT
from reports.loaders import MartData, Record
from reports.notation import fmt_compact_price, fmt_pct, fmt_price, fmt_usd
from transforms.venues import AGGREGATE_VENUE

MOVES_SHOWN = 12


def day_moves(data: MartData, d: date) -> list[Record]:
    """Swings known at the end of day `d`: those confirmed by then (by `confirmed_ts`,
    not by the day of their extreme, so none is shown finished before its confirming
    reversal), then the swing running as of `d` from its own row, if the mart has one
    (it keeps only the latest day's running swing)."""
    day_end = datetime.combine(d + timedelta(days=1), datetime.min.time())

    def known(m: Record) -> bool:
        ts = m.get("confirmed_ts")
        return ts < day_end if ts is not None else m["day"] <= d

    done = [m for m in data.moves if m["confirmed"] and known(m)]
    running = [m for m in data.moves if not m["confirmed"] and m["day"] == d]
    return (
        sorted(done, key=lambda m: m["start_ts"])[-(MOVES_SHOWN - len(running[:1])) :]
        + (running[:1])
    )


NOT_COLLECTED = "not collected"


def realized_by_start(realized_moves: list[Record], venue: str) -> dict[datetime, Record]:
    """The page venue's `mart.realized_moves` rows by swing start: the venue's own, or for
    the aggregate ('all') every collecting venue summed over the aggregate's swings."""
    return {r["start_ts"]: r for r in realized_moves if r["venue"] == venue}


def _collected(r: Record | None) -> str:
    return NOT_COLLECTED if r is None else r["collected"]


def _realized(r: Record | None, key: str) -> float | None:
    return None if r is None or r["collected"] == NOT_COLLECTED else r[key]


def _fmt(v: float | None) -> str:
    return NOT_COLLECTED if v is None else fmt_usd(v)


def moves_chart_rows(mv: list[Record], realized: dict[datetime, Record]) -> list[Record]:
    """The chart's rows: per swing, modelled and realized longs and shorts (no realized bar
    where nothing was collected; the label says so, and "partial" when part of the span was)."""
    rows: list[Record] = []
    labels: list[str] = []
    # when none of the swings was collected the description says so once, not every label
    any_collected = any(_collected(realized.get(m["start_ts"])) != NOT_COLLECTED for m in mv)
    for i, m in enumerate(mv):
        arrow = "▲" if m["pct_change"] >= 0 else "▼"
        r = realized.get(m["start_ts"])
        collected = _collected(r)
        # start day and both prices (compact dollars, so the label fits under its bars)
        prices = f"{fmt_compact_price(m['from_price'])}→{fmt_compact_price(m['to_price'])}"
        label = f"{m['start_ts']:%d %b %y} {prices} {arrow}{abs(m['pct_change']) * 100:.0f}%" + (
            "" if m["confirmed"] else " running"
        )
        if collected != "complete" and any_collected:
            label += f" ({collected})"
        while label in labels:
            label += " "
        labels.append(label)
        for side, short, key, realized_key in (
            ("Longs liquidated", "longs", "long_liquidated", "realized_long"),
            ("Shorts liquidated", "shorts", "short_liquidated", "realized_short"),
        ):
            values = (("Modelled", m[key]), ("Realized", _realized(r, realized_key)))
            for kind, v in values:
                if v is None:
                    continue
                rows.append({"label": label, "order": i, "start": f"{m['start_ts']:%Y-%m-%d %H:%M}",
                             "side": side, "kind": kind,
                             "series": f"{kind} {short}", "collected": collected,
                             "v": float(f"{v:.4g}")})  # fmt: skip
    return rows


def moves_card(
    mv: list[Record],
    symbol: str,
    d: date,
    realized_moves: list[Record] | None = None,
    venue: str = AGGREGATE_VENUE,
) -> ChartCard | None:
    """The card for the swings `mv` (from `day_moves`) with the realized liquidations of
    `realized_moves` (`mart.realized_moves` rows of those swings) for the page's `venue`;
    None when there are no swings."""
    if not mv:
        return None
    realized = realized_by_start(realized_moves or [], venue)
    data = moves_chart_rows(mv, realized)
    last = mv[-1]
    last_r = realized.get(last["start_ts"])
    venues = "every collecting venue summed" if venue == AGGREGATE_VENUE else venue.title()
    desc = (
        f"Modelled and realized liquidations per price swing, {symbol}: the last {len(mv)} "
        f"swings beyond the zigzag threshold up to {d}, longs and shorts liquidated in each, "
        f"realized ({venues}) beside modelled. "
        f"Latest: {fmt_price(last['from_price'])} to {fmt_price(last['to_price'])} "
        f"({fmt_pct(last['pct_change'], 0)}), modelled longs {fmt_usd(last['long_liquidated'])}, "
        f"shorts {fmt_usd(last['short_liquidated'])}; realized "
        + (
            f"longs {_fmt(_realized(last_r, 'realized_long'))}, "
            f"shorts {_fmt(_realized(last_r, 'realized_short'))} ({_collected(last_r)})."
            if _realized(last_r, "realized_long") is not None
            else f"{NOT_COLLECTED}."
        )
    )
    return ChartCard(
        id="moves",
        title="Liquidations per move",
        # what a swing, running, partial and the lighter bars mean: the methodology's
        # "How to read" (read-moves), the same for every page
        intro=(
            f"Modelled liquidations per price swing, realized ({venues}) beside them. "
            f"{LIQUIDATED_CAVEAT.short}."
        ),
        desc=desc,
        spec=moves_template().fill({"rows": data, "desc": desc}),
        table=Table(
            caption="Swings",
            head=[
                "Start",
                "End",
                "From",
                "To",
                "Change",
                "Modelled longs",
                "Modelled shorts",
                "Realized longs",
                "Realized shorts",
                "Realized collected",
            ],  # fmt: skip
            rows=[
                (
                    f"{m['start_ts']:%Y-%m-%d %H:%M}",
                    f"{m['end_ts']:%Y-%m-%d %H:%M}" + ("" if m["confirmed"] else " (running)"),
                    fmt_price(m["from_price"]),
                    fmt_price(m["to_price"]),
                    fmt_pct(m["pct_change"]),
                    fmt_usd(m["long_liquidated"]),
                    fmt_usd(m["short_liquidated"]),
                    _fmt(_realized(realized.get(m["start_ts"]), "realized_long")),
                    _fmt(_realized(realized.get(m["start_ts"]), "realized_short")),
                    _collected(realized.get(m["start_ts"])),
                )
                for m in mv[::-1]
            ],
        ),
    )
