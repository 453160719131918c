"""The "now" view: each symbol's day in progress (nowcast), and the alerts feed.

    site/now/index.html             every symbol's nowcast in one table (a small screener)
    site/<SYMBOL>/now/index.html    the day-so-far heatmap, current levels and near-spot
                                    imbalance, "as of HH:MM UTC, provisional", the latest
                                    alerts; "stale since ..." when the last refresh failed
    site/alerts.xml                 Atom, the latest alerts of every rule and market

Read from `mart.*` only (the nowcast's provisional rows, mart.nowcast, mart.alerts), so the
view shows the last good nowcast whatever the last refresh did. A separate page kind: the
daily pages are untouched (they leave provisional days out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape as html_escape
from typing import Any
from xml.etree import ElementTree as ET

import duckdb
import numpy as np

from reports.charts.raster import VIRIDIS, png_data_url, quantize, window_vmax
from reports.formats import iso_z
from reports.notation import (
    fmt_imbalance,
    fmt_level,
    fmt_price,
    fmt_rate,
    fmt_usd,
    ok,
    price_scale,
)
from reports.pages.common import SiteInfo, jinja_env, render
from transforms.venues import AGGREGATE_VENUE

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 100

NOW_DAY = """
SELECT day, as_of FROM mart.provisional_days WHERE venue = $venue AND symbol = $symbol
ORDER BY day DESC LIMIT 1
"""
METRICS_DAY = """
SELECT * FROM mart.daily_metrics
WHERE venue = $venue AND symbol = $symbol AND day = $day AND scenario = 'base'
"""
HEAT_DAY = """
SELECT epoch_ms(ts) AS t, price_low, price_high, long_notional + short_notional AS v
FROM mart.liq_heatmap WHERE venue = $venue AND symbol = $symbol AND day = $day
"""
STATE = "SELECT * FROM mart.nowcast WHERE symbol = $symbol ORDER BY venue"
ALERTS = """
SELECT * FROM mart.alerts WHERE ($symbol IS NULL OR symbol = $symbol)
ORDER BY fired_at DESC, alert_id LIMIT $n
"""


def _dicts(conn: duckdb.DuckDBPyConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _hhmm(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "never"


@dataclass
class NowSymbol:
    """One symbol's nowcast as the page shows it."""

    symbol: str
    day: str | None
    as_of: str
    stale: str | None  # "stale since ... (error)" or None
    price: str
    imbalance: str
    imbalance_all: str
    above: str
    below: str
    peak_above: str
    peak_below: str
    funding: str
    funding_next: str
    open_interest: str
    heat_url: str | None
    heat_caption: str
    alerts: list[dict[str, str]] = field(default_factory=list)
    markets: list[dict[str, str]] = field(default_factory=list)
    imbalance_v: float | None = None  # shorts / longs within ±10 % (the screener sorts by it)
    stale_since: str | None = None  # the earliest failed refresh still unrecovered


def _heat(conn: duckdb.DuckDBPyConnection, symbol: str, d: date) -> tuple[str | None, str]:
    rows = conn.execute(
        HEAT_DAY, {"venue": AGGREGATE_VENUE, "symbol": symbol, "day": d}
    ).fetchnumpy()
    if len(rows["t"]) == 0:
        return None, "No heatmap rows for the day so far."
    t, lo, hi, v = rows["t"], rows["price_low"], rows["price_high"], rows["v"]
    step = float(np.min(hi - lo))
    hours = np.unique(t)
    p0 = float(lo.min())
    n_bins = int(round((float(hi.max()) - p0) / step))
    grid = np.zeros((len(hours), n_bins))
    grid[np.searchsorted(hours, t), np.rint((lo - p0) / step).astype(int)] = v
    vmax = window_vmax(grid)
    url = png_data_url(quantize(grid, vmax), VIRIDIS)
    last = datetime.fromtimestamp(int(hours[-1]) / 1000, tz=UTC)
    caption = (
        f"Alive liquidation notional (longs + shorts) per hour from 00:00 to {last:%H:%M} UTC, "
        f"price {fmt_price(p0)} (bottom) to {fmt_price(p0 + n_bins * step)} (top); brightest "
        f"= {fmt_usd(vmax)} or more per {fmt_price(step)} band."
    )
    return url, caption


def _symbol(conn: duckdb.DuckDBPyConnection, symbol: str) -> NowSymbol:
    states = _dicts(conn, STATE, symbol=symbol)
    marked = conn.execute(NOW_DAY, {"venue": AGGREGATE_VENUE, "symbol": symbol}).fetchone()
    alerts = [
        {
            "title": a["title"],
            "when": _hhmm(a["fired_at"]),
            "status": "provisional" if a["provisional"] else "final",
        }
        for a in _dicts(conn, ALERTS, symbol=symbol, n=10)
    ]
    markets = [
        {
            "venue": s["venue"],
            "as_of": _hhmm(s["as_of"]),
            "state": f"stale since {_hhmm(s['stale_since'])}: {s['error']}"
            if s["stale_since"]
            else "fresh",
        }
        for s in states
    ]
    stale = [v for v in states if v["stale_since"] is not None]
    stale_line = (
        "; ".join(
            f"{s['venue']} stale since {_hhmm(s['stale_since'])} ({s['error']})" for s in stale
        )
        or None
    )
    since = min((s["stale_since"] for s in stale), default=None)
    binance = next((s for s in states if s["mark_price"] is not None), {})
    if marked is None:
        empty = "n/a"
        return NowSymbol(
            symbol, None, "no nowcast yet", stale_line, empty, empty, empty, empty, empty, empty,
            empty, empty, empty, empty, None, "", alerts, markets, None,
            _hhmm(since) if since else None,
        )  # fmt: skip
    d, as_of = marked
    m = _dicts(conn, METRICS_DAY, venue=AGGREGATE_VENUE, symbol=symbol, day=d)
    cur = m[0] if m else {}
    spot = cur.get("close_price")
    s10, l10 = cur.get("shorts_at_risk_10pct"), cur.get("longs_at_risk_10pct")
    with price_scale(spot):
        heat_url, caption = _heat(conn, symbol, d)
        return NowSymbol(
            symbol=symbol,
            day=d.isoformat(),
            as_of=as_of.strftime("%H:%M UTC"),
            stale=stale_line,
            price=fmt_price(spot),
            imbalance=fmt_imbalance(s10, l10),
            imbalance_all=fmt_imbalance(cur.get("shorts_at_risk"), cur.get("longs_at_risk")),
            above=fmt_level(cur.get("nearest_cluster_above_price"), spot),
            below=fmt_level(cur.get("nearest_cluster_below_price"), spot),
            peak_above=f"{fmt_level(cur.get('peak_cluster_above_price'), spot)}, "
            f"{fmt_usd(cur.get('peak_cluster_above_notional'))}",
            peak_below=f"{fmt_level(cur.get('peak_cluster_below_price'), spot)}, "
            f"{fmt_usd(cur.get('peak_cluster_below_notional'))}",
            funding=f"{cur.get('funding_state') or 'n/a'} (7-day mean "
            f"{fmt_rate(cur.get('funding_7d_mean'))})",
            funding_next=f"{fmt_rate(binance.get('funding_rate_next'))} at "
            f"{_hhmm(binance.get('next_funding'))}"
            if binance
            else "n/a",
            open_interest=fmt_usd(cur.get("oi_value")),
            heat_url=heat_url,
            heat_caption=caption,
            alerts=alerts,
            markets=markets,
            imbalance_v=s10 / l10 if ok(s10) and ok(l10) and l10 > 0 else None,
            stale_since=_hhmm(since) if since else None,
        )


@dataclass(frozen=True)
class NowPages:
    """Relative path -> text of every file of the now view."""

    files: dict[str, str]


def now_pages(
    conn: duckdb.DuckDBPyConnection, symbols: tuple[str, ...], info: SiteInfo
) -> NowPages:
    """The now view's pages and the alerts feed (module doc), rendered, not written."""
    env = jinja_env()
    entries = [_symbol(conn, s) for s in symbols]
    files: dict[str, str] = {}
    for e in entries:
        chrome = info.chrome("../../", f"{e.symbol} now", sym_root="../")
        files[f"{e.symbol}/now/index.html"] = render(env, "now.html.j2", chrome, e)
    chrome = info.chrome("../", "Now")
    files["now/index.html"] = render(env, "now_index.html.j2", chrome, _Index(entries))
    files["alerts.xml"] = alerts_xml(conn, info.generated_at)
    files[NOW_JS] = now_js(entries)
    return NowPages(files)


NOW_JS = "now/now.js"  # the screener's "now" column (reports/static/screener.js)


def now_js(entries: list[NowSymbol]) -> str:
    """now/now.js: each symbol's nowcast as the index's screener shows it (a script, so it
    loads from file://), rewritten by every refresh; no symbol when no nowcast has run."""
    rows = {
        e.symbol: {
            "day": e.day,
            "as_of": e.as_of,
            "price": e.price,
            "imbalance": e.imbalance,
            "v": e.imbalance_v,
            "stale_since": e.stale_since,
            "stale": e.stale,
            "href": f"{e.symbol}/now/index.html",
        }
        for e in entries
        if e.day is not None
    }
    body = json.dumps({"symbols": rows}, separators=(",", ":"), ensure_ascii=False)
    return (
        "/* The nowcast of every symbol for the index's screener (reports/pages/now.py). */\n"
        f"window.LIQMAP_NOW = {body};\n"
    )


@dataclass(frozen=True)
class _Index:
    entries: list[NowSymbol]


def alerts_xml(conn: duckdb.DuckDBPyConnection, generated_at: datetime) -> str:
    """Atom: the latest FEED_ENTRIES alerts, newest first; each entry names its market, its
    data time and whether it was evaluated on a provisional day."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "title", "liqmap alerts")
    sub(feed, "id", "urn:liqmap:alerts")
    sub(feed, "updated", iso_z(generated_at))
    sub(feed, "link", href="alerts.xml", rel="self")
    for a in _dicts(conn, ALERTS, symbol=None, n=FEED_ENTRIES):
        entry = sub(feed, "entry")
        status = "provisional" if a["provisional"] else "final"
        sub(entry, "title", a["title"])
        sub(entry, "id", f"urn:liqmap:alert:{a['alert_id']}")
        sub(entry, "updated", iso_z(a["fired_at"].replace(tzinfo=UTC)))
        sub(entry, "link", href=f"{a['symbol']}/now/index.html", rel="alternate")
        items = [
            a["detail"],
            f"Rule: {a['rule']} ({a['kind']}), market {a['venue']} {a['symbol']}",
            f"As of {_hhmm(a['fired_at'])}, {status}",
        ]
        html = "<ul>" + "".join(f"<li>{html_escape(i)}</li>" for i in items) + "</ul>"
        sub(entry, "content", html, type="html")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
