"""The moves card: modelled and realized liquidations per price swing, as known at the end
of a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from reports.cards.card import ChartCard, Table
from reports.charts.moves import MOVES_DESC, moves_template
from reports.charts.spec import fill_text, text_ref
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


# a swing as the symbol's shared moves file holds it (a confirmed one) and a day file (the
# running one): start, the first day it is known on (ISO), its label, modelled longs and
# shorts, realized longs and shorts (null where not collected) and what was collected
MOVE_COLS = ["start", "known", "label", "ml", "ms", "rl", "rs", "collected"]


def _sig4(v: float | None) -> float | None:
    return None if v is None else float(f"{v:.4g}")


def known_day(m: Record) -> date:
    """The first day whose page lists swing `m` (`day_moves`): the day of its confirming
    reversal (`confirmed_ts`), else its own day."""
    ts = m.get("confirmed_ts")
    return ts.date() if ts is not None else m["day"]


def move_entry(m: Record, r: Record | None) -> list:
    """Swing `m` with its realized row `r` (None: not collected), `MOVE_COLS`."""
    arrow = "▲" if m["pct_change"] >= 0 else "▼"
    # start day and both prices (compact dollars, so the label fits under its bars)
    prices = f"{fmt_compact_price(m['from_price'])}→{fmt_compact_price(m['to_price'])}"
    label = f"{m['start_ts']:%d %b %y} {prices} {arrow}{abs(m['pct_change']) * 100:.0f}%" + (
        "" if m["confirmed"] else " running"
    )
    return [
        f"{m['start_ts']:%Y-%m-%d %H:%M}",
        known_day(m).isoformat(),
        label,
        _sig4(m["long_liquidated"]),
        _sig4(m["short_liquidated"]),
        _sig4(_realized(r, "realized_long")),
        _sig4(_realized(r, "realized_short")),
        _collected(r),
    ]


def entry_rows(entries: list[list]) -> list[Record]:
    """The chart's rows of the swings `entries` (`move_entry`), in order: per swing,
    modelled and realized longs and shorts (no realized bar where nothing was collected;
    the label says so, and "partial" when part of the span was). The page script builds
    the same rows (liqdata.js moveRows)."""
    rows: list[Record] = []
    labels: list[str] = []
    # when none of the swings was collected the description says so once, not every label
    any_collected = any(e[7] != NOT_COLLECTED for e in entries)
    for i, (start, _, label, ml, ms, rl, rs, collected) in enumerate(entries):
        if collected != "complete" and any_collected:
            label += f" ({collected})"
        while label in labels:
            label += " "
        labels.append(label)
        for side, short, modelled, real in (
            ("Longs liquidated", "longs", ml, rl),
            ("Shorts liquidated", "shorts", ms, rs),
        ):
            for kind, v in (("Modelled", modelled), ("Realized", real)):
                if v is None:
                    continue
                rows.append({"label": label, "order": i, "start": start, "side": side,
                             "kind": kind, "series": f"{kind} {short}",
                             "collected": collected, "v": v})  # fmt: skip
    return rows


def moves_chart_rows(mv: list[Record], realized: dict[datetime, Record]) -> list[Record]:
    """The chart's rows of the swings `mv` with their realized rows by start."""
    return entry_rows([move_entry(m, realized.get(m["start_ts"])) for m in mv])


def shared_moves(moves: list[Record], realized_moves: list[Record], venue: str) -> list[list]:
    """The shared moves file's rows (`MOVE_COLS`): every confirmed swing of `moves` (one
    venue's `mart.moves`) in start order, with the venue's realized rows; a day page lists
    the last of those known on its day (`moves_value`)."""
    realized = realized_by_start(realized_moves, venue)
    done = sorted((m for m in moves if m["confirmed"]), key=lambda m: m["start_ts"])
    return [move_entry(m, realized.get(m["start_ts"])) for m in done]


def moves_value(mv: list[Record], realized: dict[datetime, Record], key: str, d: date) -> dict:
    """The chart's rows of `mv` (`day_moves` of day `d`) as a day file holds them: the last
    `n` swings of the shared moves file `key` known on `d`, then the running swing, if any,
    written here (`resolve_moves`; the page script does the same)."""
    running = [move_entry(m, realized.get(m["start_ts"])) for m in mv if not m["confirmed"]]
    return {"$moves": key, "day": d.isoformat(), "n": len(mv) - len(running), "run": running}


def resolve_moves(value: dict, rows: list[list]) -> list[Record]:
    """The chart rows a `moves_value` stands for, given the shared file's `rows`."""
    known = [r for r in rows if r[1] <= value["day"]]
    return entry_rows(known[max(0, len(known) - value["n"]) :] + value["run"])


def moves_card(
    mv: list[Record],
    symbol: str,
    d: date,
    realized_moves: list[Record],
    venue: str,
    moves_key: str,
) -> ChartCard | None:
    """The card for the swings `mv` (from `day_moves`) with the realized liquidations of
    `realized_moves` (`mart.realized_moves` rows of those swings) for the page's `venue`,
    the confirmed swings read from the venue's shared moves file `moves_key` (a data file
    key, `shared_moves`); None when there are no swings."""
    if not mv:
        return None
    realized = realized_by_start(realized_moves, venue)
    # the confirmed swings are the venue's shared moves file's (every page of the venue
    # lists some of the same), the running one is the day's own
    rows = moves_value(mv, realized, moves_key, d)
    last = mv[-1]
    last_r = realized.get(last["start_ts"])
    venues = "every collecting venue summed" if venue == AGGREGATE_VENUE else venue.title()
    realized_text = (
        f"longs {_fmt(_realized(last_r, 'realized_long'))}, "
        f"shorts {_fmt(_realized(last_r, 'realized_short'))} ({_collected(last_r)})"
        if _realized(last_r, "realized_long") is not None
        else NOT_COLLECTED
    )
    desc_ref = text_ref(
        MOVES_DESC,
        symbol=symbol,
        n=str(len(mv)),
        day=str(d),
        venues=venues,
        latest=f"{fmt_price(last['from_price'])} to {fmt_price(last['to_price'])} "
        f"({fmt_pct(last['pct_change'], 0)}), modelled longs {fmt_usd(last['long_liquidated'])}, "
        f"shorts {fmt_usd(last['short_liquidated'])}",
        realized=realized_text,
    )
    desc = fill_text(desc_ref)
    return ChartCard(
        id="moves",
        title="Liquidations per move",
        # what a swing, running, partial and the lighter bars mean: the methodology's
        # "How to read" (read-moves), the same for every page
        intro=(
            # which venues the realized bars sum: the caption says it
            f"Modelled liquidations per price swing. {LIQUIDATED_CAVEAT.short}."
        ),
        desc=desc,
        spec=moves_template().fill({"rows": rows, "desc": desc_ref}),
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
