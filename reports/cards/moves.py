"""The moves card: modelled liquidations per price swing, as known at the end of a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from reports.cards.card import ChartCard, Table
from reports.charts.moves import moves_template
from reports.honesty import LIQUIDATED_CAVEAT
from reports.loaders import MartData, Record
from reports.notation import fmt_compact_price, fmt_pct, fmt_price, fmt_usd

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


def moves_card(mv: list[Record], symbol: str, d: date) -> ChartCard | None:
    """The card for the swings `mv` (from `day_moves`); None when there are none."""
    if not mv:
        return None
    data = []
    labels = []
    for i, m in enumerate(mv):
        arrow = "▲" if m["pct_change"] >= 0 else "▼"
        # start day and both prices (compact dollars, so the label fits under its bars)
        prices = f"{fmt_compact_price(m['from_price'])}→{fmt_compact_price(m['to_price'])}"
        label = f"{m['start_ts']:%d %b %y} {prices} {arrow}{abs(m['pct_change']) * 100:.0f}%" + (
            "" if m["confirmed"] else " running"
        )
        while label in labels:
            label += " "
        labels.append(label)
        for side, key in (
            ("Longs liquidated", "long_liquidated"),
            ("Shorts liquidated", "short_liquidated"),
        ):
            data.append({"label": label, "order": i, "side": side, "v": float(f"{m[key]:.3g}")})
    last = mv[-1]
    desc = (
        f"Modelled liquidations per price swing, {symbol}: the last {len(mv)} swings "
        f"beyond the zigzag threshold up to {d}, longs and shorts liquidated in each. "
        f"Latest: {fmt_price(last['from_price'])} to {fmt_price(last['to_price'])} "
        f"({fmt_pct(last['pct_change'], 0)}), longs {fmt_usd(last['long_liquidated'])}, "
        f"shorts {fmt_usd(last['short_liquidated'])}."
    )
    return ChartCard(
        id="moves",
        title="Liquidations per move",
        intro=(
            "Each price swing (zigzag) with the modelled long and short liquidations inside "
            "it: as price fell from A to B, the model liquidated this much. A swing counts "
            "as finished once price has reversed by the threshold from its extreme; the "
            "one marked running is as of the end of this day. "
            f"{LIQUIDATED_CAVEAT.short}."
        ),
        desc=desc,
        spec=moves_template().fill({"moves": data, "desc": desc}),
        table=Table(
            caption="Swings",
            head=["Start", "End", "From", "To", "Change", "Longs", "Shorts"],
            rows=[
                (
                    f"{m['start_ts']:%Y-%m-%d %H:%M}",
                    f"{m['end_ts']:%Y-%m-%d %H:%M}" + ("" if m["confirmed"] else " (running)"),
                    fmt_price(m["from_price"]),
                    fmt_price(m["to_price"]),
                    fmt_pct(m["pct_change"]),
                    fmt_usd(m["long_liquidated"]),
                    fmt_usd(m["short_liquidated"]),
                )
                for m in mv[::-1]
            ],
        ),
        downloads="moves",
    )
