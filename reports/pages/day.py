"""A day page (and the index, which is the latest day's page at the site root).

`day_context` gathers everything the page shows for one day; `render_day` places it at a
path (`DayNav`: where the page lives and which neighbours it links to).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import jinja2

from reports import datafiles, headline, queries
from reports.cards.card import ChartCard
from reports.cards.daily import daily_cards
from reports.cards.heatmap import REALIZED_DAYS, HeatCard, heat_card
from reports.cards.liq_map import liq_map_card
from reports.cards.moves import day_moves, moves_card
from reports.cards.realized import RealizedCard, realized_card
from reports.cards.venue_split import venue_map_split, venue_risk_card
from reports.charts.history import (
    history_desc,
    history_desc_ref,
    history_levels_template,
    history_risk_template,
)
from reports.charts.spec import code_column, json_obj
from reports.formats import iso_z
from reports.heat_tiles import heat_months
from reports.honesty import AT_RISK_CAVEAT, warmup_note
from reports.key_levels import LevelRow, levels_of, levels_table, views_of
from reports.loaders import HISTORY_DAYS, MartData, PriceHistory, layer_views_of, map_rows_of
from reports.metrics_table import MetricRow, metrics_table
from reports.notation import fmt_price, ok
from reports.pages.common import SiteInfo, render
from reports.pages.kpis import Kpi, kpis
from reports.realized_data import load_realized_day, load_realized_span
from reports.scenarios import SCENARIO_LABELS, ScenarioRow, scenario_order, scenario_table
from reports.venue_set import VenueSet, VenueShare, joined_labels
from transforms.venues import AGGREGATE_VENUE, venue_label


@dataclass(frozen=True)
class DayContext:
    """What a day page shows, independent of where the page lives."""

    day: date
    day_iso: str
    day_long: str
    as_of: str
    as_of_iso: str
    headline: str
    metrics: list[MetricRow]
    scenarios: list[ScenarioRow]
    kpis: list[Kpi]
    spot: str
    levels: list[LevelRow]
    warmup: str | None
    at_risk_caveat: str
    heat: HeatCard | None
    realized: RealizedCard | None
    charts: list[ChartCard]
    params_hash: str | None
    scenario_hashes: list[tuple[str, str | None]]
    venue: str = AGGREGATE_VENUE  # the page's venue ('all': the aggregate)
    venue_label: str = ""  # what the figures add up: 'All venues: Binance + Bybit'
    venues_notice: str | None = None  # a configured venue missing from the day's aggregate
    venue_risk: ChartCard | None = None  # at-risk totals and open interest by venue
    whatif: dict | None = None  # the day's map for the level what-if (summed_whatif)
    level_prices: dict | None = None  # every view's level prices: the marks (levels_of)


@dataclass(frozen=True)
class VenueLink:
    """One entry of the venue switch: the aggregate or one venue's page."""

    label: str
    href: str
    current: bool


@dataclass(frozen=True)
class VenueButton:
    """One entry of a day page's chart venue switch: the venue and its day data file."""

    venue: str
    label: str
    key: str


@dataclass(frozen=True)
class DayNav:
    """Where a day page lives: `root` (path to the site root), `sym_root` (to the symbol's
    folder), `day_dir` (from the page to the day's own directory: "" for the dated page,
    "YYYY-MM-DD/" for the symbol's latest page), its published neighbours and the downloads
    it links to (name -> file formats) in `downloads_dir` (from the page to the folder of
    the day's month, reports.downloads), month `downloads_month` (YYYY-MM)."""

    root: str
    sym_root: str
    day_dir: str
    prev_day: str | None
    next_day: str | None
    is_index: bool
    download_names: dict[str, list[str]]
    venue_links: tuple[VenueLink, ...] = ()
    venue_page: bool = False  # one venue's page: links to the day's aggregate, no prev/next
    data_key: str = ""  # the page's day data file (reports.datafiles), without .js
    venue_buttons: tuple[VenueButton, ...] = ()  # the charts' venue switch
    downloads_dir: str = ""
    downloads_month: str = ""


def _param(data: MartData, params_hash: str | None, name: str) -> Any:
    """One parameter of the set behind `params_hash` (None when unknown)."""
    p = data.params.get(params_hash)
    with contextlib.suppress(ValueError, TypeError, KeyError):
        return json.loads(p["params_json"])[name]
    return None


def _lookback_days(data: MartData, params_hash: str | None) -> int:
    """The lookback of the parameter set behind `params_hash` (365 when unknown)."""
    p = data.params.get(params_hash)
    with contextlib.suppress(ValueError, TypeError, KeyError):
        return int(json.loads(p["params_json"])["lookback_days"])
    return 365


def history_cards(
    rows: list, symbol: str, d: date, venue: str = AGGREGATE_VENUE
) -> list[ChartCard]:
    """The headline's history over the past year: at risk per side with the imbalance, and
    the close between both 90 % levels. The rows are the shared daily series of the symbol
    and venue (reports.datafiles), days up to `d`: the page holds only the reference."""
    if len(rows) < 2:
        return []
    csv = datafiles.series_ref(
        datafiles.key(symbol, venue, "daily"), "hist", rows[0]["day"], d, "csv"
    )
    t0 = 0  # the shared series counts days from 1970-01-01
    # no table of the last days: every page would repeat it (daily.csv holds every day)
    table = None
    return [
        ChartCard(
            id="history-risk",
            title="Positions at risk within ±10% of price over the past year",
            intro="The headline's figure, day by day.",
            desc=history_desc(symbol, rows, "risk"),
            spec=history_risk_template().fill(
                {"hist": csv, "desc": history_desc_ref(symbol, rows, "risk")}, {"t0": t0}
            ),
            table=table,
        ),
        ChartCard(
            id="history-levels",
            title="Both 90% levels over the past year",
            intro="The daily close between both 90% levels.",
            desc=history_desc(symbol, rows, "levels"),
            spec=history_levels_template().fill(
                {"hist": csv, "desc": history_desc_ref(symbol, rows, "levels")}, {"t0": t0}
            ),
            table=table,
        ),
    ]


def _with_split(k: Kpi, shares: list[VenueShare]) -> Kpi:
    """A side's at-risk figure with each venue's part and share beneath it."""
    if k.key not in ("shorts_at_risk", "longs_at_risk"):
        return k
    value = k.key.removesuffix("_at_risk")
    share = f"{value}_share"
    text = " · ".join(f"{s.label} {getattr(s, value)} ({getattr(s, share)})" for s in shares)
    return dataclasses.replace(k, venues=text)


@dataclass(frozen=True)
class _VenueParts:
    label: str
    notice: str | None
    risk: ChartCard | None
    kpis: list[Kpi]
    map_card: ChartCard | None
    whatif_venues: dict[str, dict | None] | None = None  # each venue's what-if bands


def _venue_parts(
    conn: duckdb.DuckDBPyConnection,
    data: MartData,
    venues: VenueSet | None,
    d: date,
    map_rows: list,
    map_card: ChartCard | None,
    day_kpis: list[Kpi],
) -> _VenueParts:
    """What the page says about venues: a venue's page names its venue; an aggregate page
    names what it adds up, a missing venue, and with two or more venues the split (beneath
    the at-risk figures, its own card, and inside the map card)."""
    cur = data.base(d)
    if data.venue != AGGREGATE_VENUE:
        label = f"{venue_label(data.venue)} only"
        if venues and venues.split:
            label += f" (the aggregate adds up {joined_labels(venues.venues)})"
        return _VenueParts(label, None, None, day_kpis, map_card)
    if not (venues and venues.venues):
        return _VenueParts("", None, None, day_kpis, map_card)
    label, notice = venues.label(cur), venues.missing_notice(cur)
    if not venues.split:
        return _VenueParts(label, notice, None, day_kpis, map_card)
    shares = venues.shares(d, cur)
    per_venue = {v: map_rows_of(conn, venues.per_venue[v], d) for v in venues.venues}
    if map_card is not None:
        split = venue_map_split(map_rows, per_venue, data.symbol, d)
        map_card = dataclasses.replace(map_card, split=split)
    return _VenueParts(
        label,
        notice,
        venue_risk_card(shares, cur, data.symbol, d),
        [_with_split(k, shares) for k in day_kpis],
        map_card,
        # the venues with a day file of the day (site._venue_buttons)
        {v: whatif_data(rows) for v, rows in per_venue.items() if d in venues.per_venue[v].metrics},
    )


def whatif_data(rows: list) -> dict | None:
    """The day's `mart.liq_map` rows (base model, all leverage) as the what-if reads them:
    spot, each band's middle price and its long and short notional (bands holding nothing
    left out), exact, so sums in the page equal sums over the mart."""
    if not rows or not ok(rows[0]["spot_price"]):
        return None
    keep = [r for r in rows if (r["long_notional"] or 0) > 0 or (r["short_notional"] or 0) > 0]
    return {
        "spot": rows[0]["spot_price"],
        "mid": [(r["price_low"] + r["price_high"]) / 2 for r in keep],
        "l": [r["long_notional"] or 0.0 for r in keep],
        "s": [r["short_notional"] or 0.0 for r in keep],
    }


def summed_whatif(whatif: dict | None, per_venue: dict[str, dict | None] | None) -> dict | None:
    """The aggregate's what-if as `{"spot", "sum_of": [venue, ...]}` when its bands are
    exactly the venues' bands added up band by band, venue after venue (as the page adds
    them, whatif.js; `datafiles.whatif_bands`), so the aggregate's day file does not repeat
    what its venues' files hold; otherwise (or without two venues) the bands themselves."""
    if whatif is None or not per_venue or len(per_venue) < 2:
        return whatif
    parts = {v: w for v, w in per_venue.items() if w is not None}
    if not parts:
        return whatif
    if _summed_bands(parts.values()) != {k: whatif[k] for k in ("mid", "l", "s")}:
        return whatif
    return {"spot": whatif["spot"], "sum_of": list(parts)}


def _summed_bands(parts: Iterable[dict]) -> dict[str, list[float]]:
    """Band by band sums of what-if bands (middle price ascending), each venue's added in
    turn to the sum so far (0 + the first)."""
    sums: dict[float, list[float]] = {}
    for w in parts:
        for m, lv, sv in zip(w["mid"], w["l"], w["s"], strict=True):
            acc = sums.setdefault(m, [0.0, 0.0])
            acc[0] += lv
            acc[1] += sv
    mids = sorted(sums)
    return {"mid": mids, "l": [sums[m][0] for m in mids], "s": [sums[m][1] for m in mids]}


def day_context(
    conn: duckdb.DuckDBPyConnection,
    data: MartData,
    history: PriceHistory,
    d: date,
    venues: VenueSet | None = None,
    cache: dict | None = None,
) -> DayContext:
    """Everything day `d`'s page shows. With `venues` (the symbol's venues), an aggregate
    page names them and, with more than one, shows the split by venue; a venue's page
    (`data.venue`) names its venue. `cache`: shared by the contexts of one day (the
    aggregate's and each venue's), so the realized marts, the same for all of them, are
    read once."""
    symbol = data.symbol
    scen = data.metrics[d]
    cur = scen["base"]
    pd_ = data.prev_day(d)
    prev = data.base(pd_) if pd_ else None
    cache = {} if cache is None else cache
    held = data.maps.get("realized")  # the build's realized rows (site: many days), if any
    span_key = ("span", symbol, d)
    if span_key not in cache:
        start = d - timedelta(days=REALIZED_DAYS - 1)
        if held is not None and held.covers(start, d):
            cache[span_key] = held.span(start, d)
        else:
            cache[span_key] = load_realized_span(conn, symbol, start, d)
    realized_span = cache[span_key]
    layer_views = layer_views_of(conn, data, d)
    views = views_of(scen, layer_views)  # the level lines follow the model/leverage switch
    heat = heat_card(
        history,
        cur,
        symbol,
        d,
        realized_span,
        data.venue,
        views,
        _param(data, cur.get("params_hash"), "heatmap_range_pct"),
    )
    map_rows = map_rows_of(conn, data, d)
    map_card = liq_map_card(map_rows, cur, symbol, d, layer_views, views, data.venue)
    daily = data.daily_rows(d)
    oi, funding = daily_cards(daily, symbol, d, data.venue)
    shown_moves = day_moves(data, d)
    starts = [m["start_ts"] for m in shown_moves]
    day_key = ("day", symbol, d, tuple(starts))
    if day_key not in cache:
        if held is not None and held.covers(d, d):
            cache[day_key] = held.day(d, starts)
        else:
            cache[day_key] = load_realized_day(conn, symbol, d, starts)
    realized_day = cache[day_key]
    moves_key = datafiles.key(symbol, data.venue, datafiles.MOVES)
    moves = moves_card(shown_moves, symbol, d, realized_day.moves, data.venue, moves_key)
    v = _venue_parts(conn, data, venues, d, map_rows, map_card, kpis(scen, prev))
    hist_cards = history_cards(daily, symbol, d, data.venue)
    charts = [c for c in (v.map_card, *hist_cards, oi, funding, moves) if c]
    hist = cur.get("history_days")
    base_hash = cur.get("params_hash")
    return DayContext(
        day=d,
        day_iso=d.isoformat(),
        day_long=d.strftime("%A %d %B %Y").replace(" 0", " "),
        as_of=f"{d.isoformat()} 24:00 UTC",
        as_of_iso=iso_z(queries.day_end(d)),
        headline=headline.headline(cur, scen),
        metrics=metrics_table(cur, prev),
        scenarios=scenario_table(scen),
        kpis=v.kpis,
        spot=fmt_price(cur.get("close_price")),
        levels=levels_table(cur, prev),
        warmup=warmup_note(
            hist if isinstance(hist, int) else None, _lookback_days(data, base_hash)
        ),
        at_risk_caveat=AT_RISK_CAVEAT.short,  # the long one: methodology, "How to read"
        heat=heat,
        realized=realized_card(realized_day, shown_moves, symbol, d),
        charts=charts,
        params_hash=base_hash,
        scenario_hashes=[
            (SCENARIO_LABELS.get(k, k), r.get("params_hash"))
            for k, r in sorted(scen.items(), key=lambda kv: scenario_order(kv[0]))
        ],
        venue=data.venue,
        venue_label=v.label,
        venues_notice=v.notice,
        venue_risk=v.risk,
        whatif=summed_whatif(whatif_data(map_rows), v.whatif_venues),
        level_prices=levels_of(views),
    )


def printed_figures(ctx: DayContext) -> dict:
    """The page's figures outside the charts, as its HTML prints them, for the venue switch
    (reports/static/venuefigures.js) to show the chosen venue's: headline, close, what the
    figures add up, the key figures, and the rows (cell texts, row header first) of the
    key levels, metrics, scenarios and largest-bands tables and of each chart card's table
    (by card id). The charts' captions are their specs' descriptions; a card with a
    caption per switch view (the liquidation map) has its captions built by the page
    script from the venue's day data ("notes" and the level marks, charts.js)."""
    return {
        "headline": ctx.headline,
        "spot": ctx.spot,
        "label": ctx.venue_label,
        "kpis": [[k.key, k.value, k.venues, k.spread, k.delta] for k in ctx.kpis],
        # each table's rows, column-coded when shorter (datafiles.coded_rows)
        "rows": {k: datafiles.coded_rows(v) for k, v in _printed_rows(ctx).items()},
    }


def _printed_rows(ctx: DayContext) -> dict[str, list[list[str]]]:
    """The body rows of each table `printed_figures` holds, by table name."""
    return {
        "levels": [[r.side, r.nearest, r.peak, r.p90, r.change] for r in ctx.levels],
        "metrics": [[m.metric, m.status, m.impact, m.change] for m in ctx.metrics],
        "scenarios": [
            [s.label, s.longs, s.shorts, s.ratio, s.p90_below, s.p90_above] for s in ctx.scenarios
        ],
        "bands": [list(r) for r in ctx.heat.table.rows] if ctx.heat else [],
        # each chart card's own table (the map's largest bands, the swings), by card id
        **{c.id: [list(r) for r in c.table.rows] for c in ctx.charts if c.table},
    }


def coded_whatif(whatif: dict | None) -> dict | None:
    """The what-if bands as a day file holds them: each list in its exact column coding
    (the middle prices of a regular grid as deltas, the other side's zeros as runs, the
    exact notionals as base64 doubles), or the venues whose bands add up to them
    (`summed_whatif`)."""
    if whatif is None or "sum_of" in whatif:
        return whatif
    return {
        "spot": whatif["spot"],
        **{k: code_column(whatif[k]) for k in ("mid", "l", "s")},
    }


def day_data(ctx: DayContext, symbol: str, synthetic: bool, first_day: date) -> dict:
    """The day data file of a page (reports.datafiles): every chart's spec ref and each
    heatmap window's raster description, by element id."""
    charts: dict[str, object] = {}
    for c in [*([ctx.venue_risk] if ctx.venue_risk else []), *ctx.charts]:
        charts[c.id] = json_obj(c.spec)
        if c.split is not None:
            charts[c.split.id] = json_obj(c.split.spec)
    if ctx.realized is not None:
        if ctx.realized.totals_spec:
            charts["realized-totals"] = json_obj(ctx.realized.totals_spec)
        if ctx.realized.hourly_spec:
            charts["realized-hourly"] = json_obj(ctx.realized.hourly_spec)
    heat = {}
    if ctx.heat is not None:
        for t in ctx.heat.windows:
            heat[t.id] = {"spec": json_obj(t.w.spec), "raster": json_obj(t.w.raster)}
    return datafiles.envelope(
        "day",
        symbol,
        ctx.venue,
        synthetic,
        {
            "day": ctx.day_iso,
            "as_of": ctx.as_of_iso,
            "heat_months": heat_months(first_day, ctx.day, HISTORY_DAYS + 1),
            "charts": charts,
            "heat": heat,
            "whatif": coded_whatif(ctx.whatif),
            # every view's level prices: the charts' `$marks` values are built from them
            "levels": ctx.level_prices,
            # each switch view's caption fields (charts.js layerNotes builds the captions)
            "notes": {c.id: c.view_notes for c in ctx.charts if c.view_notes},
            # a venue's figures for the venue switch; the aggregate's are in the page itself
            **({"printed": printed_figures(ctx)} if ctx.venue != AGGREGATE_VENUE else {}),
        },
    )


def render_day(env: jinja2.Environment, site: SiteInfo, ctx: DayContext, nav: DayNav) -> str:
    title = f"{site.symbol} liquidation report {ctx.day_iso}"
    if ctx.venue != AGGREGATE_VENUE:
        title = f"{site.symbol} {venue_label(ctx.venue)} liquidation report {ctx.day_iso}"
    chrome = site.chrome(nav.root, title, sym_root=nav.sym_root)
    # the templates' indentation, written into each of a year's pages, is dropped (a day page
    # has no <pre>, <textarea> or inline script, where leading blanks would matter)
    return _INDENT.sub("\n", render(env, "day.html.j2", chrome, ctx, nav))


_INDENT = re.compile(r"\n[ \t]+")
