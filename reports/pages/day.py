"""A day page (and the index, which is the latest day's page at the site root).

`day_context` gathers everything the page shows for one day; `render_day` places it at a
path (`DayNav`: where the page lives and which neighbours it links to).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date

import duckdb
import jinja2

from reports import headline, queries
from reports.cards.card import ChartCard
from reports.cards.daily import daily_cards
from reports.cards.heatmap import HeatCard, heat_card
from reports.cards.liq_map import liq_map_card
from reports.cards.moves import day_moves, moves_card
from reports.formats import fmt_price, iso_z
from reports.loaders import MartData, PriceHistory, liq_map_rows
from reports.metrics_table import MetricRow, metrics_table
from reports.pages.common import SiteInfo, render
from reports.pages.kpis import Kpi, kpis
from reports.scenarios import SCENARIO_LABELS, ScenarioRow, scenario_order, scenario_table


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
    heat: HeatCard | None
    charts: list[ChartCard]
    params_hash: str | None
    params_rows: list[tuple[str, str]]
    scenario_hashes: list[tuple[str, str | None]]


@dataclass(frozen=True)
class DayNav:
    """Where a day page lives: `root` (path to the site root), `sym_root` (to the symbol's
    folder), `day_dir` (from the page to the day's own directory: "" for the dated page,
    "YYYY-MM-DD/" for the symbol's latest page), its published neighbours and the downloads
    it links to (name -> file formats)."""

    root: str
    sym_root: str
    day_dir: str
    prev_day: str | None
    next_day: str | None
    is_index: bool
    download_names: dict[str, list[str]]


def _params_rows(data: MartData, params_hash: str | None) -> list[tuple[str, str]]:
    """The base scenario's model parameters as (name, JSON text) rows."""
    p = data.params.get(params_hash)
    rows: list[tuple[str, str]] = []
    if p:
        with contextlib.suppress(ValueError, TypeError):
            for k, v in sorted(json.loads(p["params_json"]).items()):
                txt = v if isinstance(v, str) else json.dumps(v, separators=(", ", ": "))
                rows.append((k, txt))
    return rows


def day_context(
    conn: duckdb.DuckDBPyConnection,
    data: MartData,
    history: PriceHistory,
    d: date,
    shared: frozenset[str] = frozenset(),
) -> DayContext:
    """Everything day `d`'s page shows; heatmap windows in `shared` come from the symbol's
    shared file instead of the page (reports.cards.heatmap.SHARED_WINDOWS)."""
    symbol = data.symbol
    scen = data.metrics[d]
    cur = scen["base"]
    pd_ = data.prev_day(d)
    prev = data.base(pd_) if pd_ else None
    heat = heat_card(history, cur, symbol, d, shared)
    map_card = liq_map_card(liq_map_rows(conn, symbol, d), cur, symbol, d)
    oi, funding = daily_cards(data.daily_rows(d), symbol, d)
    moves = moves_card(day_moves(data, d), symbol, d)
    charts = [c for c in (map_card, oi, funding, moves) if c]
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
        kpis=kpis(scen, prev),
        spot=fmt_price(cur.get("close_price")),
        heat=heat,
        charts=charts,
        params_hash=base_hash,
        params_rows=_params_rows(data, base_hash),
        scenario_hashes=[
            (SCENARIO_LABELS.get(k, k), r.get("params_hash"))
            for k, r in sorted(scen.items(), key=lambda kv: scenario_order(kv[0]))
        ],
    )


def render_day(env: jinja2.Environment, site: SiteInfo, ctx: DayContext, nav: DayNav) -> str:
    title = f"{site.symbol} liquidation report {ctx.day_iso}"
    chrome = site.chrome(nav.root, title, sym_root=nav.sym_root)
    return render(env, "day.html.j2", chrome, ctx, nav)
