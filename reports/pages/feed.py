"""feed.xml: an Atom feed, one entry per published symbol and day with the headline numbers
(titled by the near-spot imbalance, the headline's; the whole map is context).

Entries are ordered newest day first, symbols in configured order within a day; each links to
the day's permalink `<SYMBOL>/YYYY-MM-DD/index.html` and its prices use the symbol's scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape as html_escape
from xml.etree import ElementTree as ET

from reports import headline, queries
from reports.formats import iso_z
from reports.honesty import LIQUIDATED_CAVEAT, SYNTHETIC_MARKER
from reports.loaders import MartData, Record
from reports.notation import (
    fmt_level,
    fmt_pct,
    fmt_price,
    fmt_rate,
    fmt_usd,
    fmt_window,
    price_scale,
    row_sides,
)
from reports.venue_set import joined_labels, split_names

ATOM_NS = "http://www.w3.org/2005/Atom"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def venue_items(cur: Record) -> list[str]:
    """What the entry's figures add up, and a configured venue missing that day."""
    present, missing = split_names(cur.get("venues")), split_names(cur.get("venues_missing"))
    if not present:
        return []
    items = [f"Venues: {joined_labels(present)}"]
    if missing:
        items.append(
            f"Missing: {joined_labels(missing)} (no data that day; the figures add up "
            f"{joined_labels(present)} only)"
        )
    late = split_names(cur.get("venues_not_collected"))
    if late:
        items.append(
            f"Not collected: {joined_labels(late)} (kept only a few days by the venue; the "
            f"figures add up {joined_labels(present)} only)"
        )
    return items


def _entry(feed: ET.Element, data: MartData, d: date, synthetic: bool) -> None:
    symbol = data.symbol
    scen = data.metrics[d]
    cur = scen["base"]
    mark = f"[{SYNTHETIC_MARKER}] " if synthetic else ""
    title = mark + headline.feed_title(symbol, d.isoformat(), cur)
    entry = _sub(feed, "entry")
    _sub(entry, "title", title)
    _sub(entry, "id", f"urn:liqmap:{symbol}:{d.isoformat()}")
    _sub(entry, "updated", iso_z(queries.day_end(d)))
    href = f"{symbol}/{d.isoformat()}/index.html"
    _sub(entry, "link", href=href, rel="alternate", type="text/html")
    _sub(entry, "summary", mark + headline.headline(cur, scen))
    spot = cur.get("close_price")
    items = [
        *([f"{SYNTHETIC_MARKER}: generated demo market, not real exchange data"] if mark else []),
        f"Shorts at risk: {fmt_usd(cur.get('shorts_at_risk'))}",
        f"Longs at risk: {fmt_usd(cur.get('longs_at_risk'))}",
        f"Imbalance within {fmt_window(headline.NEAR)}: {headline.ratio_of(cur)} "
        "({} shorts · {} longs)".format(*map(fmt_usd, row_sides(cur, headline.NEAR))),
        f"Imbalance within {fmt_window(headline.CONTEXT_BAND)}: "
        f"{headline.ratio_of(cur, headline.CONTEXT_BAND)}",
        f"Imbalance over the whole map (context): {headline.whole_map_ratio_of(cur)}",
        f"Nearest short cluster: {fmt_level(cur.get('nearest_cluster_above_price'), spot)}; "
        f"90% of shorts below {fmt_level(cur.get('p90_above_price'), spot)}",
        f"Nearest long cluster: {fmt_level(cur.get('nearest_cluster_below_price'), spot)}; "
        f"90% of longs above {fmt_level(cur.get('p90_below_price'), spot)}",
        f"Modelled liquidations (24h): longs {fmt_usd(cur.get('liquidated_long_24h'))}, shorts "
        f"{fmt_usd(cur.get('liquidated_short_24h'))} ({LIQUIDATED_CAVEAT.short})",
        f"Close: {fmt_price(cur.get('close_price'))}",
        f"Funding: {cur.get('funding_state')} (7-day mean {fmt_rate(cur.get('funding_7d_mean'))})",
        f"Open interest: {fmt_usd(cur.get('oi_value'))} ({fmt_pct(cur.get('oi_change_1d'))})",
    ]
    items += venue_items(cur)
    html = "<ul>" + "".join(f"<li>{html_escape(i)}</li>" for i in items) + "</ul>"
    _sub(entry, "content", html, type="html")


FEED_DAYS = 60  # entries per symbol: its latest days (older ones stay in the archive)


def feed_xml(
    symbols: Sequence[tuple[MartData, Iterable[date]]],
    generated_at: datetime,
    synthetic: bool = False,
) -> bytes:
    """The feed over (symbol data, published days) pairs, each symbol's latest FEED_DAYS
    days, newest day first; `updated` is the
    build time. With `synthetic` every title, summary and content says so (a feed reader
    shows no site banner)."""
    names = ", ".join(data.symbol for data, _ in symbols)
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    mark = f"[{SYNTHETIC_MARKER}] " if synthetic else ""
    _sub(feed, "title", f"{mark}liqmap: {names} liquidation reports")
    _sub(
        feed,
        "subtitle",
        mark
        + "Daily model estimates of leveraged positions at risk."
        + (" Built from a generated demo market, not real exchange data." if synthetic else ""),
    )
    _sub(feed, "id", "urn:liqmap:feed")
    _sub(feed, "updated", iso_z(generated_at))
    _sub(feed, "link", href="feed.xml", rel="self", type="application/atom+xml")
    _sub(feed, "link", href="index.html", rel="alternate", type="text/html")
    author = _sub(feed, "author")
    _sub(author, "name", "liqmap")
    entries = [
        (d, i, data)
        for i, (data, published) in enumerate(symbols)
        for d in sorted(set(published))[-FEED_DAYS:]
    ]
    for d, _, data in sorted(entries, key=lambda e: (-e[0].toordinal(), e[1])):
        with price_scale(data.base(d).get("close_price")):
            _entry(feed, data, d, synthetic)
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")
