"""The daily-series cards: open interest with the close price, and the funding rate."""

from __future__ import annotations

from datetime import date

from reports import datafiles
from reports.cards.card import ChartCard
from reports.charts.daily import funding_template, oi_price_template
from reports.loaders import Record
from reports.notation import fmt_pct, fmt_price, fmt_rate, fmt_usd
from transforms.venues import AGGREGATE_VENUE


def daily_cards(
    rows: list[Record], symbol: str, d: date, venue: str = AGGREGATE_VENUE
) -> tuple[ChartCard, ChartCard]:
    """(open interest card, funding card) from the base rows up to `d` (`daily_rows`); the
    chart rows are the shared daily series (reports.datafiles), referenced, not copied."""
    data = datafiles.series_ref(datafiles.key(symbol, venue, "daily"), "daily", rows[0]["day"], d)
    cur = rows[-1]
    span = f"{rows[0]['day']} to {d}"
    oi_desc = (
        f"Open interest and close price, {symbol}, daily, {span}. Latest open interest "
        f"{fmt_usd(cur.get('oi_value'))} ({fmt_pct(cur.get('oi_change_1d'))} on the day), "
        f"close {fmt_price(cur.get('close_price'))}."
    )
    f_desc = (
        f"Funding rate per settlement, {symbol}, daily last rate (bars) and 7-day mean "
        f"(line), {span}. Latest 7-day mean {fmt_rate(cur.get('funding_7d_mean'))}, state "
        f"{cur.get('funding_state')}."
    )
    oi = ChartCard(
        id="oi",
        title="Open interest and price",
        intro="Open interest (area) and the daily close (line).",
        desc=oi_desc,
        spec=oi_price_template().fill({"daily": data, "desc": oi_desc}),
        table=None,  # every page would repeat it: daily.csv holds every day
    )
    funding = ChartCard(
        id="funding",
        title="Funding rate",
        intro="Positive: longs pay shorts.",
        desc=f_desc,
        spec=funding_template().fill({"daily": data, "desc": f_desc}),
        table=None,  # every page would repeat it: daily.csv holds every day
    )
    return oi, funding
