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
from reports.cards.card import ChartCard, Table
from reports.cards.daily import daily_cards
from reports.cards.heatmap import HeatCard, heat_card
from reports.cards.liq_map import liq_map_card
from reports.cards.moves import day_moves, moves_card
from reports.cards.realized import RealizedCard, realized_card
from reports.charts.history import (
    history_data,
    history_desc,
    history_levels_template,
    history_risk_template,
)
from reports.formats import iso_z
from reports.honesty import AT_RISK_CAVEAT, warmup_note
from reports.key_levels import LevelRow, levels_table
from reports.loaders import MartData, PriceHistory, layer_map_rows, liq_map_rows
from reports.metrics_table import MetricRow, metrics_table
from reports.notation import fmt_price, fmt_usd
from reports.pages.common import SiteInfo, render
from reports.pages.kpis import Kpi, kpis
from reports.realized_data import load_realized_day
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
    levels: list[LevelRow]
    warmup: str | None
    at_risk_caveat: str
    heat: HeatCard | None
    realized: RealizedCard | None
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


def _lookback_days(data: MartData, params_hash: str | None) -> int:
    """The lookback of the parameter set behind `params_hash` (365 when unknown)."""
    p = data.params.get(params_hash)
    with contextlib.suppress(ValueError, TypeError, KeyError):
        return int(json.loads(p["params_json"])["lookback_days"])
    return 365


def history_cards(rows: list, symbol: str, d: date) -> list[ChartCard]:
    """The headline's history over the past year: at risk per side with the imbalance, and
    the close between both 90 % levels."""
    if len(rows) < 2:
        return []
    csv, t0 = history_data(rows)
    desc = history_desc(symbol, rows)
    tail = rows[-14:][::-1]
    table = Table(
        caption="Last 14 days",
        head=["Day", "Shorts at risk", "Longs at risk", "Imbalance", "90% longs", "90% shorts"],
        rows=[
            (
                r["day"].isoformat(),
                fmt_usd(r.get("shorts_at_risk")),
                fmt_usd(r.get("longs_at_risk")),
                headline.ratio_of(r),
                fmt_price(r.get("p90_below_price")),
                fmt_price(r.get("p90_above_price")),
            )
            for r in tail
        ],
    )
    return [
        ChartCard(
            id="history-risk",
            title="Positions at risk over the past year",
            intro=(
                "Shorts at risk above spot and longs at risk below it, day by day, with the "
                "imbalance (dotted, right axis, in the same X:1 notation as the headline)."
            ),
            desc=desc,
            spec=history_risk_template().fill({"hist": csv, "desc": desc}, {"t0": t0}),
            table=table,
            downloads="daily",
        ),
        ChartCard(
            id="history-levels",
            title="Both 90% levels over the past year",
            intro=(
                "The daily close between the flush floor (90% of longs lie above it) and the "
                "squeeze ceiling (90% of shorts lie below it)."
            ),
            desc=desc,
            spec=history_levels_template().fill({"hist": csv, "desc": desc}, {"t0": t0}),
            table=table,
            downloads="daily",
        ),
    ]


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
    map_card = liq_map_card(
        liq_map_rows(conn, symbol, d, data.venue),
        cur,
        symbol,
        d,
        layer_map_rows(conn, symbol, d, data.venue),
    )
    daily = data.daily_rows(d)
    oi, funding = daily_cards(daily, symbol, d)
    shown_moves = day_moves(data, d)
    moves = moves_card(shown_moves, symbol, d)
    realized_day = load_realized_day(conn, symbol, d, [m["start_ts"] for m in shown_moves])
    charts = [c for c in (map_card, *history_cards(daily, symbol, d), oi, funding, moves) if c]
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
        kpis=kpis(scen, prev),
        spot=fmt_price(cur.get("close_price")),
        levels=levels_table(cur),
        warmup=warmup_note(
            hist if isinstance(hist, int) else None, _lookback_days(data, base_hash)
        ),
        at_risk_caveat=AT_RISK_CAVEAT.long,
        heat=heat,
        realized=realized_card(realized_day, shown_moves, symbol, d),
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
