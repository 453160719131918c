"""The published report: a static, offline site rendered from `mart.*`, one folder per symbol.

    site/
      index.html                      market overview: every symbol's headline and small map
      <SYMBOL>/index.html             the symbol's latest day (same content as its dated page)
      <SYMBOL>/YYYY-MM-DD/index.html  one immutable page per symbol and day
      <SYMBOL>/downloads/YYYY-MM/     the month's downloads (CSV, Parquet): the aggregate
                                      and each venue in one file each (reports.downloads)
      <SYMBOL>/archive/index.html     every published day of the symbol, by month
      <SYMBOL>/days.js                the symbol's published days (rewritten by every build)
      data/<SYMBOL>/<venue>/          the chart data the pages load with <script src>
                                      (docs/api.md): days-YYYY-MM.js (the month's day
                                      documents, packed: reports.day_packs), heat-YYYY-MM.js
                                      (heat tiles), daily.js (daily series), moves.js (swings)
      api/v3/                         the latest data of each symbol and venue, plain JSON
      <SYMBOL>/<venue>/index.html     one venue alone, its latest day, linking its month's
                                      downloads (rewritten by every build; two or more venues)
      YYYY-MM-DD/index.html           redirect to BTCUSDT/YYYY-MM-DD/ (links from before symbols)
      archive/index.html              the symbols, each with a link to its archive
      methodology/index.html          docs/methodology.md rendered
      params/index.html               every model parameter set, by hash (day pages link here)
      feed.xml                        Atom, one entry per symbol and day
      assets/                         vega-bundle.js (once per bundle version), charts.js,
                                      daynav.js, css

This module only decides what to build and in which order. The marts are read by
`reports.loaders`, each page kind's context is built and rendered in `reports.pages`, and
every file is written atomically by `reports.writer` (temp file, then `os.replace`), so a
crash never leaves a half-written page. On a read-only connection the symbols are built in
up to two forked worker processes (reports.site_pool; a third symbol of two workers in two
parts of whole months, _Part), each with its own writer, the shared pages and the manifest
after them here: the same bytes as one after the other. An incremental build gives the site
a build from scratch gives: it renders the given days, the days whose mart inputs changed
since their page was built (reports.page_inputs: a daily run rewrites the day before its
own) and the shared pages; the page before a new day only gets its "next" link rewritten in
place (it linked the symbol's latest report while it was the latest; its script also
upgrades that link from `<SYMBOL>/days.js`, for a page an older build left); other day pages
are not touched. A dated page shows nothing that a later day changes (its venue switch does
not name the venues' latest day; its downloads are its month's as of that day). Prices on a
symbol's pages use that symbol's scale (`notation.price_scale`).

Venues: every page shows the aggregate across venues (`venue = 'all'`) and names what it adds
up. With two or more venues, each dated page carries the split by venue (from the per-venue
rows, so the split of every day stays published) and a venue switch; each venue alone gets
one full page, its latest day, not one per day: a per-venue copy of every day would triple
the site for figures the dated pages' split and the month downloads' `daily.csv` (a row per
venue and day) already keep. No symbol-wide CSV repeats the month files' rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import jinja2

from reports import api, datafiles, site_pool
from reports.cards.heatmap import REALIZED_DAYS
from reports.cards.moves import MOVE_COLS, shared_moves
from reports.charts.templates import all_specs_js
from reports.day_packs import DayPacks, packed_doc, remove_day_files
from reports.downloads import (
    archive_months,
    month_downloads,
    month_href,
    months_to_write,
    names_as_of,
    remove_other_downloads,
    remove_retired_downloads,
    remove_symbol_csvs,
    remove_venue_folders,
    write_month_downloads,
)
from reports.heat_tiles import empty_month, month_id, month_start, month_tiles, next_month
from reports.loaders import (
    BULK_DAYS,
    HISTORY_DAYS,
    MartData,
    drop_month_rows,
    load_mart_data,
    load_price_history,
    map_rows_of,
)
from reports.notation import price_scale
from reports.now_site import build_now_view
from reports.page_inputs import (
    MANIFEST,
    changed_days,
    manifest_text,
    page_fingerprints,
    read_manifest,
)
from reports.pages.archive import render_archive
from reports.pages.common import SiteInfo, jinja_env
from reports.pages.day import (
    DayContext,
    DayNav,
    VenueButton,
    VenueLink,
    day_context,
    day_data,
    render_day,
    whatif_data,
)
from reports.pages.feed import feed_xml
from reports.pages.methodology import render_methodology
from reports.pages.overview import SymbolSummary, render_overview, render_symbols_archive
from reports.pages.params import render_params
from reports.pages.redirect import redirect_page
from reports.realized_data import load_realized_moves, load_realized_range
from reports.screener import near_spot, screener_rows
from reports.static_assets import days_js, write_static_assets
from reports.venue_set import VenueSet, joined_labels, load_venue_set, venue_order
from reports.writer import SiteWriter, remove_stale_temp_files
from transforms.db import release_memory
from transforms.venues import AGGREGATE_VENUE, venue_label

# DuckDB's block cache while the site reads the marts (the connection's memory_limit, set by
# the build; transforms.db.release_memory). Under the pipeline's 256MB the cache filled with a
# symbol's heatmap blocks beside the build's own arrays and `make demo` peaked at 1.09 GiB in
# the site build; a symbol's rows are read once, so a small cache costs no measured time (a
# 30-day build of the demo year: peak RSS 744 -> 565 MB, CPU the same). Query results are not
# held to it: a read of every heatmap row (9 million) still succeeds under 64MB.
SITE_MEMORY_LIMIT = "64MB"

# Python's cyclic collector during a symbol's build: the build makes millions of small
# containers (rows, coded columns) and almost no cycles, and at the default threshold (700
# allocations) the collector ran some 1300 times a symbol, its full collections rescanning
# every object held (a year's ETHUSDT: 1.1 s of 21 s CPU in collections); from this many
# allocations on it runs ~4x less often (0.25 s), freeing the same cycles a little later.
GC_THRESHOLD0 = 20_000


@contextlib.contextmanager
def _fewer_collections():
    """The collector's first threshold raised to GC_THRESHOLD0 while a symbol is built, then
    as it was (the process may be a long-lived one: the pipeline's)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_THRESHOLD0), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


# Day pages of this symbol lived at site/YYYY-MM-DD/ before the site had several symbols;
# those addresses keep working as redirects.
LEGACY_SYMBOL = "BTCUSDT"


@dataclass
class SiteBuildResult:
    """What a build wrote. `pages_written`: the HTML pages and feed.xml written this build;
    `bytes_total` and `files_written`: bytes and count of every file written this build
    (pages, downloads, data files and assets that changed);
    `days`: the days rendered (any symbol); `skipped`: symbol -> why it has no pages."""

    pages_written: list[Path]
    out_dir: Path
    days: list[date]
    bytes_total: int
    symbols: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    files_written: int = 0


def day_dir(symbol: str, d: date) -> str:
    """A day page's folder, relative to the site root (its permalink)."""
    return f"{symbol}/{d.isoformat()}"


def _page_exists(out_dir: Path, symbol: str, d: date) -> bool:
    return (out_dir / day_dir(symbol, d) / "index.html").exists()


def _days_to_render(
    data: MartData, out_dir: Path, days: Sequence[date] | None
) -> tuple[list[date], list[date]]:
    """(days to render, requested days the symbol has no base metrics for). Every day for a
    full build; else the requested days it has, plus the latest if its page does not exist."""
    if days is None:
        return list(data.days), []
    have = set(data.days)
    missing = sorted(set(days) - have)
    render = sorted(set(days) & have)
    latest = data.days[-1]
    if latest not in render and not _page_exists(out_dir, data.symbol, latest):
        render.append(latest)
    return render, missing


@dataclass(frozen=True)
class _Incremental:
    """An incremental build's pages of one symbol beyond the days asked for: `render`, every
    day to render (the days asked for, the days whose inputs changed since their page was
    built, and a page after a new one, whose "previous" link changes); `link_next`: a page
    before a new one -> the new day, whose page it now links as "next" (rewritten in place,
    the only change to it)."""

    render: list[date]
    link_next: dict[date, date]


def _next_link(env: jinja2.Environment, next_day: date | None) -> str:
    """A dated page's "next" link as day.html.j2 writes it (`_next_link.html.j2`)."""
    nxt = next_day.isoformat() if next_day else None
    template = env.get_template("_next_link.html.j2")
    return template.render(sym_root="../", next_day=nxt, is_index=False).strip()


def _incremental(
    env: jinja2.Environment,
    data: MartData,
    out_dir: Path,
    render: list[date],
    changed: Iterable[date],
) -> _Incremental:
    """What an incremental build of `render` (and the `changed` days) must also rewrite so
    that the symbol's pages are those of a build from scratch: the neighbours of a new page
    (see _Incremental). A page before a new one whose link cannot be found is rendered."""
    existing = {d for d in data.days if _page_exists(out_dir, data.symbol, d)}
    render = sorted(set(render) | set(changed))
    published = sorted(existing | set(render))
    link_next: dict[date, date] = {}
    latest_link = _next_link(env, None)
    for d in [d for d in render if d not in existing]:
        i = published.index(d)
        after = published[i + 1] if i + 1 < len(published) else None
        before = published[i - 1] if i else None
        if after is not None and after not in render:
            render.append(after)
        if before is None or before in render:
            continue
        page = (out_dir / day_dir(data.symbol, before) / "index.html").read_text()
        if page.count(latest_link) == 1:
            link_next[before] = d
        else:
            render.append(before)
    return _Incremental(
        sorted(set(render)), {b: d for b, d in link_next.items() if b not in render}
    )


def _link_next_pages(
    writer: SiteWriter, env: jinja2.Environment, symbol: str, link_next: dict[date, date]
) -> None:
    """Point each page's "next" link at the day added after it (_Incremental.link_next)."""
    latest_link = _next_link(env, None)
    for before, d in sorted(link_next.items()):
        rel = f"{day_dir(symbol, before)}/index.html"
        page = (writer.out_dir / rel).read_text()
        writer.write(rel, page.replace(latest_link, _next_link(env, d)), page=True)


def _neighbours(published: list[date], d: date) -> tuple[str | None, str | None]:
    """The published days before and after `d` (ISO), None at either end."""
    i = published.index(d)
    prev = published[i - 1] if i else None
    nxt = published[i + 1] if i + 1 < len(published) else None
    return (prev.isoformat() if prev else None), (nxt.isoformat() if nxt else None)


def _build_symbol(
    conn: duckdb.DuckDBPyConnection,
    writer: SiteWriter,
    env: jinja2.Environment,
    data: MartData,
    render: list[date],
    source: str,
    generated_at: datetime,
    venues: VenueSet,
    link_next: dict[date, date] | None = None,
    part: _Part | None = None,
) -> tuple[SymbolSummary | None, list[date]]:
    """One symbol's day pages, latest page, archive and days.js (and with two or more
    venues, each venue's page); `link_next`: pages whose "next" link is pointed at a day
    rendered here (_Incremental). `part`: only these days' share of a full build (_Part);
    the summary is then None but for the last part."""
    out_dir, symbol = writer.out_dir, data.symbol
    latest = data.days[-1]
    if part is not None:
        published = list(part.published)
    else:
        published = sorted(set(render) | {d for d in data.days if _page_exists(out_dir, symbol, d)})
    site = SiteInfo(
        symbol=symbol,
        source=source,
        generated_at=generated_at,
        latest=latest,
        venues=_venues_footer(venues),
    )
    bulk = len(render) > BULK_DAYS
    # many days: the realized marts of every day rendered read once (reports.realized_data)
    realized = (
        load_realized_range(
            conn, symbol, min(render) - timedelta(days=REALIZED_DAYS - 1), max(render)
        )
        if bulk
        else None
    )
    extents: dict = {}  # the heatmap's extents, read once for every venue (reports.loaders)
    for held in (data, *venues.per_venue.values()):
        held.maps["bulk"] = bulk
        held.maps["realized"] = realized
        held.maps["extents"] = extents
    history = load_price_history(conn, data, [*render, latest])
    synthetic = source == "synthetic"
    vhist = _write_venue_data(conn, writer, data, venues, render, synthetic, part)
    # the month downloads before the pages that link them
    month_names = _write_month_downloads(conn, writer, data, venues, render, source, part)
    parts = _download_parts(data, venues)

    def downloads_of(d: date) -> dict[str, list[str]]:
        m = month_start(d)
        if m not in month_names:
            month_names[m] = month_downloads(out_dir, symbol, m)
        return names_as_of(month_names[m], parts, d)

    latest_ctx: DayContext | None = None
    latest_downloads: dict[str, list[str]] = {}
    venue_latest: dict[str, DayContext] = {}  # each venue's latest day, when rendered here
    for d in render:
        cache: dict = {}  # the realized marts of the day, read once for every venue
        ctx = day_context(conn, data, history, d, venues, cache)
        _write_day_data(writer, ctx, data, synthetic)
        for vdata, vh in vhist.values():
            if d in vdata.metrics:
                vctx = day_context(conn, vdata, vh, d, venues, cache)
                _write_day_data(writer, vctx, vdata, synthetic)
                if d == vdata.days[-1]:
                    venue_latest[vdata.venue] = vctx
        names = downloads_of(d)
        prev, nxt = _neighbours(published, d)
        nav = DayNav(
            root="../../",
            sym_root="../",
            day_dir="",
            prev_day=prev,
            next_day=nxt,
            is_index=False,
            download_names=names,
            downloads_dir=f"../{month_href(d)}",
            downloads_month=month_id(d),
            venue_links=_aggregate_links(venues, d, "../", dated=True),
            data_key=datafiles.key(symbol, AGGREGATE_VENUE, f"day-{d.isoformat()}"),
            venue_buttons=_venue_buttons(venues, d),
        )
        writer.write(f"{day_dir(symbol, d)}/index.html", render_day(env, site, ctx, nav), page=True)
        # the per-day downloads an older build put beside the page, which it no longer links
        # (after the page, so the previous page never links a deleted file)
        remove_other_downloads(out_dir / day_dir(symbol, d), {})
        if symbol == LEGACY_SYMBOL:
            writer.write_if_changed(f"{d.isoformat()}/index.html", redirect_page(symbol, d))
        if d == latest:
            latest_ctx, latest_downloads = ctx, names
    if part is not None and not part.last:
        return None, published
    if part is not None:
        part.wait()  # the other parts' months are on disk (the archive lists them)
    # after the pages they link, so a crash never leaves a link to a page not yet written
    _link_next_pages(writer, env, symbol, link_next or {})
    writer.write_if_changed(f"{symbol}/days.js", days_js(published))
    if latest_ctx is None:
        latest_ctx = day_context(conn, data, history, latest, venues)
        latest_downloads = downloads_of(latest)
    prev, nxt = _neighbours(published, latest)
    index_nav = DayNav(
        root="../",
        sym_root="",
        day_dir=f"{latest.isoformat()}/",
        prev_day=prev,
        next_day=nxt,
        is_index=True,
        download_names=latest_downloads,
        downloads_dir=month_href(latest),
        downloads_month=month_id(latest),
        venue_links=_aggregate_links(venues, latest, ""),
        data_key=datafiles.key(symbol, AGGREGATE_VENUE, f"day-{latest.isoformat()}"),
        venue_buttons=_venue_buttons(venues, latest),
    )
    writer.write(f"{symbol}/index.html", render_day(env, site, latest_ctx, index_nav), page=True)
    if venues.split:
        _build_venue_pages(conn, writer, env, site, venues, source, venue_latest, downloads_of)
    archive = render_archive(
        env, site, data, published, _archive_venues(venues), archive_months(out_dir, symbol)
    )
    writer.write(f"{symbol}/archive/index.html", archive, page=True)
    if part is not None or set(render) >= set(published):
        # every page of the symbol now links the month folders (each dated page rendered
        # above, the latest, venue and archive pages rewritten): an older build's per-venue
        # month folders and retired downloads go, and its day documents of a file each
        # (reports.day_packs)
        remove_venue_folders(out_dir, symbol)
        remove_retired_downloads(out_dir, symbol)
        remove_day_files(out_dir, symbol)
    summary = SymbolSummary.from_data(data, map_rows_of(conn, data, latest))
    if venues.venues:
        summary = dataclasses.replace(summary, venues=venues.label(data.base(latest)))
    summary = dataclasses.replace(summary, screener=tuple(screener_rows(data, venues)))
    _write_latest_api(conn, writer, data, venues, source == "synthetic")
    return summary, published


def _download_parts(data: MartData, venues: VenueSet) -> list[MartData]:
    """What the month downloads hold: the aggregate, then each venue with days (two or more)."""
    parts = [data]
    if venues.split:
        parts += [venues.per_venue[v] for v in venues.venues if venues.per_venue[v].days]
    return parts


def _write_month_downloads(
    conn: duckdb.DuckDBPyConnection,
    writer: SiteWriter,
    data: MartData,
    venues: VenueSet,
    render: list[date],
    source: str,
    part: _Part | None = None,
) -> dict[date, dict[str, list[str]]]:
    """The month downloads (reports.downloads) of the months this build touches, the
    aggregate and, with two or more venues, each venue in the same files; month -> name ->
    formats (`part`: its own months only)."""
    parts = _download_parts(data, venues)
    months = months_to_write(writer.out_dir, parts, render)
    if part is not None:
        months = [m for m in months if part.owns(m)]
    return {m: write_month_downloads(writer, conn, parts, m, source) for m in months}


def _write_data(writer: SiteWriter, k: str, obj: dict) -> None:
    """A data file (reports.datafiles) as the script pages load, only if changed."""
    writer.write_if_changed(f"data/{k}.js", datafiles.as_js(k, obj))


def _write_day_data(writer: SiteWriter, ctx: DayContext, data: MartData, synthetic: bool) -> None:
    """The day's document, into its month file (reports.day_packs; written by month)."""
    if writer.day_packs is None:
        writer.day_packs = DayPacks(writer)
    doc = day_data(ctx, data.symbol, synthetic, data.days[0])
    writer.day_packs.add(data.symbol, ctx.venue, synthetic, doc)


def _write_venue_data(
    conn: duckdb.DuckDBPyConnection,
    writer: SiteWriter,
    data: MartData,
    venues: VenueSet,
    render: list[date],
    synthetic: bool,
    part: _Part | None = None,
) -> dict[str, tuple[MartData, object]]:
    """The shared files of the aggregate and of each venue: its daily series (every day), its
    confirmed swings and the heat months of the days rendered. Returns each venue's data and
    price history for the days rendered (venues without rows on them are left out). A
    `part` writes its own heat months, the first part the series and swings."""
    out: dict[str, tuple[MartData, object]] = {}
    parts = [(AGGREGATE_VENUE, data)]
    if venues.split:
        parts += [(v, venues.per_venue[v]) for v in venues.venues if venues.per_venue[v].days]
    for v, vdata in parts:
        months = _heat_months(writer, vdata, render)
        if part is not None:
            months = [m for m in months if part.owns(m)]
        symbol = vdata.symbol
        if part is None or part.index == 0:  # a later part: the first writes them
            _write_series(conn, writer, vdata, v, synthetic)
        for m in months:
            if m < month_start(vdata.days[0]):
                continue  # before the first day: pages never ask for it (heat_months)
            tiles = month_tiles(conn, symbol, v, m) or empty_month(m)
            k = datafiles.key(symbol, v, f"heat-{month_id(m)}")
            heat = datafiles.envelope("heat", symbol, v, synthetic, tiles)
            writer.write_if_changed(f"data/{k}.js", packed_doc(k, heat))  # a third smaller
        if v != AGGREGATE_VENUE:
            mine = [d for d in render if d in vdata.metrics]
            if mine:
                out[v] = (vdata, load_price_history(conn, vdata, mine))
    return out


def _write_series(
    conn: duckdb.DuckDBPyConnection, writer: SiteWriter, vdata: MartData, v: str, synthetic: bool
) -> None:
    """The daily series (every day) and the confirmed swings of the aggregate or a venue."""
    symbol = vdata.symbol
    rows = [vdata.base(d) for d in vdata.days]
    series = datafiles.daily_series(rows)
    body = {"first_day": vdata.days[0].isoformat(), "last_day": vdata.days[-1].isoformat()}
    _write_data(
        writer,
        datafiles.key(symbol, v, "daily"),
        datafiles.envelope("daily", symbol, v, synthetic, {**body, "series": series}),
    )
    # every confirmed swing, which the day files' moves charts list the last of
    done = [m["start_ts"] for m in vdata.moves if m["confirmed"]]
    realized = load_realized_moves(conn, symbol, done)
    _write_data(
        writer,
        datafiles.key(symbol, v, datafiles.MOVES),
        datafiles.envelope(
            "moves",
            symbol,
            v,
            synthetic,
            {"moves": {"cols": MOVE_COLS, "rows": shared_moves(vdata.moves, realized, v)}},
        ),
    )


def _heat_months(writer: SiteWriter, data: MartData, render: list[date]) -> list[date]:
    """The heat months to write: those of the days rendered (their data changed) and any
    month the rendered pages' windows reach back to that has no file yet."""
    months = {month_start(d) for d in render}
    if render:
        m = month_start(min(render) - timedelta(days=HISTORY_DAYS))
        while m <= max(months):
            k = datafiles.key(data.symbol, data.venue, f"heat-{month_id(m)}")
            if not (writer.out_dir / "data" / f"{k}.js").exists():
                months.add(m)
            m = next_month(m)
    return sorted(months)


def _write_latest_api(
    conn: duckdb.DuckDBPyConnection,
    writer: SiteWriter,
    data: MartData,
    venues: VenueSet,
    synthetic: bool,
) -> None:
    """The stable latest-day files of the symbol and of each venue (reports.api)."""
    parts = [data]
    if venues.split:
        parts += [venues.per_venue[v] for v in venues.venues if venues.per_venue[v].days]
    for part in parts:
        d = part.days[-1]
        near = near_spot(part.base(d))
        whatif = whatif_data(map_rows_of(conn, part, d))
        obj = api.latest(part, near, whatif, synthetic)
        path = api.latest_path(part.symbol, part.venue)
        writer.write_if_changed(f"{path}.json", datafiles.as_json(obj))
        writer.write_if_changed(f"{path}.js", datafiles.as_js(path, obj))


def _archive_venues(venues: VenueSet) -> tuple[tuple[str, str, str], ...]:
    """The archive's venue switch: (venue, label, key of its daily series)."""
    if not venues.split:
        return ()
    shown = [AGGREGATE_VENUE] + [v for v in venues.venues if venues.per_venue[v].days]
    return tuple((v, venue_label(v), datafiles.key(venues.symbol, v, "daily")) for v in shown)


def _venue_buttons(venues: VenueSet, d: date) -> tuple[VenueButton, ...]:
    """The charts' venue switch of day `d`: the aggregate and every venue with that day."""
    if not venues.split:
        return ()
    symbol = venues.symbol
    out = [
        VenueButton(
            AGGREGATE_VENUE,
            venue_label(AGGREGATE_VENUE),
            datafiles.key(symbol, AGGREGATE_VENUE, f"day-{d.isoformat()}"),
        )
    ]
    for v in venues.venues:
        if d in venues.per_venue[v].metrics:
            out.append(
                VenueButton(v, venue_label(v), datafiles.key(symbol, v, f"day-{d.isoformat()}"))
            )
    return tuple(out)


def _venues_footer(venues: VenueSet) -> str:
    """The footer line naming what a symbol's pages add up."""
    if not venues.venues:
        return ""
    if not venues.split:
        return f"Venue: {joined_labels(venues.venues)}"
    return (
        f"Figures are for {venue_label(AGGREGATE_VENUE).lower()} ({joined_labels(venues.venues)})"
        " unless a page names one venue"
    )


def site_venues_footer(conn: duckdb.DuckDBPyConnection, symbols: Sequence[str]) -> str:
    """The site-wide footer line (every venue of the given symbols), as build_site writes it."""
    names = {v for s in symbols for v in load_venue_set(conn, s).venues}
    return _venues_footer(VenueSet("", tuple(sorted(names, key=venue_order)), {}))


def _aggregate_links(
    venues: VenueSet, d: date, sym_root: str, dated: bool = False
) -> tuple[VenueLink, ...]:
    """The venue switch of an aggregate page for day `d` (none with fewer than two venues);
    a venue's page shows its latest day, named on the symbol's latest page when that is
    not `d`. A `dated` page (immutable: later days must not change it) says "its latest
    day" without naming it, and lists the venues with a day up to `d`."""
    if not venues.split:
        return ()
    links = [VenueLink(venue_label(AGGREGATE_VENUE), "index.html", True)]
    for v in venues.venues:
        days = venues.per_venue[v].days
        if not days or (dated and days[0] > d):
            continue
        label = venue_label(v)
        if dated:
            label += " (its latest day)"
        elif days[-1] != d:
            label += f" (its latest day, {days[-1]})"
        links.append(VenueLink(label, f"{sym_root}{v}/index.html", False))
    return tuple(links)


def _build_venue_pages(
    conn: duckdb.DuckDBPyConnection,
    writer: SiteWriter,
    env: jinja2.Environment,
    site: SiteInfo,
    venues: VenueSet,
    source: str,
    rendered: dict[str, DayContext],
    downloads_of,
) -> None:
    """Each venue alone: `<SYMBOL>/<venue>/index.html`, its latest day (every heatmap window
    in the page: the symbol's shared long views are the aggregate's), with that day's
    month's downloads linked (they hold every venue's rows). `rendered`: venue -> its latest
    day's context when this build already made it (and wrote its data file) for the dated
    pages; `downloads_of(day)`: the files of that day's month."""
    symbol = venues.symbol
    shown = [v for v in venues.venues if venues.per_venue[v].days]
    for v in shown:
        vdata = venues.per_venue[v]
        d = vdata.days[-1]
        folder = f"{symbol}/{v}"
        ctx = rendered.get(v)
        if ctx is None or ctx.day != d:
            history = load_price_history(conn, vdata, [d])
            ctx = day_context(conn, vdata, history, d, venues)
            _write_day_data(writer, ctx, vdata, source == "synthetic")
        names = downloads_of(d)
        # the per-day files an older build put beside the page: the month's files replace them
        remove_other_downloads(writer.out_dir / folder, {})
        links = [VenueLink(venue_label(AGGREGATE_VENUE), f"../{d.isoformat()}/index.html", False)]
        links += [VenueLink(venue_label(o), f"../{o}/index.html", o == v) for o in shown]
        nav = DayNav(
            root="../../",
            sym_root="../",
            day_dir="",
            prev_day=None,
            next_day=None,
            is_index=True,
            download_names=names,
            downloads_dir=f"../{month_href(d)}",
            downloads_month=month_id(d),
            venue_links=tuple(links),
            venue_page=True,
            data_key=datafiles.key(symbol, v, f"day-{d.isoformat()}"),
        )
        writer.write(f"{folder}/index.html", render_day(env, site, ctx, nav), page=True)


@dataclass(frozen=True)
class _Part:
    """One share of a symbol's days in a full build, for a worker (reports.site_pool) when
    the symbols do not share out evenly among the workers (3 symbols, 2 workers): whole
    months, so its month files (day documents, heat months, downloads) are its own. The
    first part writes the daily series and swings; the last, once the others are done
    (`wait`), the pages that list every day or read the month folders (the latest, venue
    and archive pages, days.js, the latest API files)."""

    index: int
    count: int
    months: frozenset[date]  # its own months
    all_months: frozenset[date]  # every part's
    published: tuple[date, ...]  # the symbol's days (every page's neighbours)
    wait: Callable[[], None] = lambda: None

    @property
    def last(self) -> bool:
        return self.index == self.count - 1

    def owns(self, month: date) -> bool:
        """A month's files are this part's (the last part also takes any month outside
        every part's days, as a build of them all would write it)."""
        return month in self.months or (self.last and month not in self.all_months)


def _month_split(data: MartData, venues: VenueSet, render: list[date]) -> list[list[date]]:
    """A full build's days in two runs of whole months as near halves as can be, the later
    holding the latest day of the symbol and of each venue (its venue pages are built from
    them); one run when no month boundary allows that."""
    lasts = [data.days[-1]] + [v.days[-1] for v in venues.per_venue.values() if v.days]
    limit = month_start(min(lasts))
    best: list[list[date]] = [render]
    for b in sorted({month_start(d) for d in render}):
        if not render[0] < b <= limit:
            continue
        runs = [[d for d in render if d < b], [d for d in render if d >= b]]
        if len(best) == 1 or abs(len(runs[0]) - len(runs[1])) < abs(len(best[0]) - len(best[1])):
            best = runs
    return best


def _plan(
    loaded: list[tuple[MartData, list[date], VenueSet]],
    workers: int,
    link_next: dict[str, dict[date, date]],
) -> list[tuple[int, _Part | None]]:
    """The build's jobs, (index into `loaded`, part or None for the whole symbol): a symbol
    each, but with workers left over at the end (3 symbols, 2 workers) the last symbols are
    split in two parts (_month_split), after the whole ones, when every day of theirs is
    rendered (a full build, or `make demo`'s first: no page of theirs is left as it was)."""
    whole = len(loaded) - (len(loaded) % workers if workers > 1 else 0)
    jobs: list[tuple[int, _Part | None]] = [(k, None) for k in range(whole)]
    for k in range(whole, len(loaded)):
        data, render, venues = loaded[k]
        every_day = render == data.days and not link_next.get(data.symbol)
        runs = _month_split(data, venues, render) if every_day else [render]
        if len(runs) == 1:
            jobs.append((k, None))
            continue
        all_months = frozenset(month_start(d) for d in render)
        first = len(jobs)
        for i, run in enumerate(runs):
            earlier = range(first, first + i)
            jobs.append(
                (
                    k,
                    _Part(
                        i,
                        len(runs),
                        frozenset(month_start(d) for d in run),
                        all_months,
                        tuple(data.days),
                        lambda earlier=earlier: site_pool.wait_for(earlier),
                    ),
                )
            )
    return jobs


@dataclass(frozen=True)
class _SymbolBuilt:
    """What one symbol's build (or a part of it) gives the shared pages: its summary (None
    from a part but the last), published days, and what its writer wrote (merged into the
    build's SiteWriter counts)."""

    summary: SymbolSummary | None
    published: list[date]
    pages: list[Path]
    bytes_total: int
    files: int


def _build_whole_symbol(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    env: jinja2.Environment,
    data: MartData,
    render: list[date],
    source: str,
    generated_at: datetime,
    venues: VenueSet,
    link_next: dict[date, date] | None,
    part: _Part | None = None,
) -> _SymbolBuilt:
    """One symbol's files (_build_symbol; `part`: a share of its days) with a writer of its
    own, in this process or a worker's (reports.site_pool): its files are no other job's."""
    writer = SiteWriter(out_dir)
    if part is not None:
        render = [d for d in render if month_start(d) in part.months]
    with price_scale(data.base(data.days[-1]).get("close_price")), _fewer_collections():
        summary, published = _build_symbol(
            conn, writer, env, data, render, source, generated_at, venues, link_next, part
        )
    if writer.day_packs is not None:
        writer.day_packs.flush()  # the symbol's month files of day documents
    # the symbol's month of map rows is not needed again: memory holds one symbol's
    drop_month_rows(data)
    for vdata in venues.per_venue.values():
        drop_month_rows(vdata)
    release_memory(conn, SITE_MEMORY_LIMIT)
    return _SymbolBuilt(summary, published, writer.pages, writer.bytes_total, writer.files)


def _worker_config() -> dict[str, str]:
    """A site worker's DuckDB settings: one thread (the workers take the cores) and the
    build's small block cache (SITE_MEMORY_LIMIT)."""
    return {"threads": "1", "memory_limit": SITE_MEMORY_LIMIT}


def build_site(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    symbols: str | Sequence[str],
    days: Sequence[date] | None = None,
    *,
    source: str,
    methodology_md: Path | None,
    generated_at: datetime | None = None,
) -> SiteBuildResult:
    """Render the report site from `mart.*` into `out_dir` for every symbol in `symbols`.

    `days=None` renders every day in `mart.daily_metrics` (full rebuild); a list renders only
    those day pages (plus a symbol's latest day page if it does not exist yet) and then the
    shared pages: overview, archives, feed, methodology and assets. A symbol without base
    metrics (or without some requested days) is skipped and listed in `skipped`, the others
    are built. Raises ValueError when no symbol has anything to render.
    """
    out_dir = Path(out_dir)
    symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    generated_at = generated_at or datetime.now(UTC)
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    remove_stale_temp_files(out_dir)
    release_memory(conn, SITE_MEMORY_LIMIT)
    env = jinja_env()
    writer = SiteWriter(out_dir)
    loaded: list[tuple[MartData, list[date], VenueSet]] = []
    skipped: dict[str, str] = {}
    manifest = read_manifest(out_dir)
    inputs: dict[str, dict[str, str]] = {}  # symbol -> its pages' fingerprints now
    link_next: dict[str, dict[date, date]] = {}
    for symbol in symbols:
        data = load_mart_data(conn, symbol)
        if not data.days:
            skipped[symbol] = f"mart.daily_metrics has no base rows for {symbol}"
            continue
        render, missing = _days_to_render(data, out_dir, days)
        if missing:
            skipped[symbol] = f"no mart.daily_metrics rows for {symbol} on {missing}"
        inputs[symbol] = page_fingerprints(conn, symbol, data.days)
        if days is not None and render:
            existing = [d for d in data.days if _page_exists(out_dir, symbol, d)]
            changed = changed_days((manifest or {}).get(symbol), inputs[symbol], existing)
            more = _incremental(env, data, out_dir, render, changed)
            render, link_next[symbol] = more.render, more.link_next
        loaded.append((data, render, load_venue_set(conn, symbol)))
    if days is not None and not any(set(days) & set(data.days) for data, _, _ in loaded):
        raise ValueError("; ".join(skipped.values()) or "nothing to render")
    if not loaded:
        raise ValueError("; ".join(skipped.values()))
    write_static_assets(writer)
    writer.write_if_changed("assets/specs.js", all_specs_js())
    summaries: list[SymbolSummary] = []
    feed_items: list[tuple[MartData, list[date]]] = []
    pages_from = dict(manifest or {})  # what each symbol's pages are built from, after
    rendered: set[date] = set()

    workers = site_pool.worker_count(conn, len(loaded))
    jobs = _plan(loaded, workers, link_next)

    def build_one(c: duckdb.DuckDBPyConnection, i: int) -> _SymbolBuilt:
        k, part = jobs[i]
        data, render, venues = loaded[k]
        return _build_whole_symbol(
            c, out_dir, env, data, render, source, generated_at, venues,
            link_next.get(data.symbol), part,
        )  # fmt: skip

    names = [
        loaded[k][0].symbol + (f" (part {p.index + 1} of {p.count})" if p else "") for k, p in jobs
    ]
    built = site_pool.run(conn, names, build_one, workers, _worker_config())
    for k, (data, render, _) in enumerate(loaded):
        mine = [one for (j, _), one in zip(jobs, built, strict=True) if j == k]
        for one in mine:
            writer.pages += one.pages
            writer.bytes_total += one.bytes_total
            writer.files += one.files
        one = mine[-1]
        assert one.summary is not None  # the whole symbol, or its last part
        summaries.append(one.summary)
        feed_items.append((data, one.published))
        rendered |= set(render)
        pages_from[data.symbol] = {
            d.isoformat(): inputs[data.symbol][d.isoformat()] for d in one.published
        }
    all_venues = sorted({v for _, _, vs in loaded for v in vs.venues}, key=venue_order)
    site = SiteInfo(
        symbol=None,
        source=source,
        generated_at=generated_at,
        latest=None,
        venues=_venues_footer(VenueSet("", tuple(all_venues), {})),
    )
    writer.write("index.html", render_overview(env, site, summaries), page=True)
    writer.write("archive/index.html", render_symbols_archive(env, site, summaries), page=True)
    for data, _, _ in loaded:
        # an older build's symbol-wide daily.csv and venues.csv (the month downloads hold
        # their rows): after the symbols' archive, the one page that linked daily.csv
        remove_symbol_csvs(out_dir, data.symbol)
    writer.write("methodology/index.html", render_methodology(env, site, methodology_md), page=True)
    # every parameter set, linked from the day pages (mart.model_params: every symbol's)
    params = {h: r for data, _, _ in loaded for h, r in data.params.items()}
    writer.write("params/index.html", render_params(env, site, params), page=True)
    synthetic = source == "synthetic"
    writer.write("feed.xml", feed_xml(feed_items, generated_at, synthetic), page=True)
    # the "now" view and the alerts feed the header links to (their own page kind)
    build_now_view(conn, out_dir, symbols, source, generated_at, site.venues)
    # last: a build killed before this line renders its changed pages again next time
    writer.write_if_changed(MANIFEST, manifest_text(pages_from))
    return SiteBuildResult(
        pages_written=writer.pages,
        out_dir=out_dir,
        days=sorted(rendered),
        bytes_total=writer.bytes_total,
        symbols=[s.symbol for s in summaries],
        skipped=skipped,
        files_written=writer.files,
    )
