"""The published report: a static, offline site rendered from `mart.*`.

    site/
      index.html                  the latest day (same content as its dated page)
      YYYY-MM-DD/index.html       one immutable page per day, plus its chart data as CSV/Parquet
      archive/index.html          every published day, by month
      methodology/index.html      docs/methodology.md rendered
      feed.xml                    Atom, one entry per day with the headline numbers
      assets/                     vega-bundle.js (written once per bundle version), charts.js,
                                  daynav.js, css, and days.js (the published days, every build)

This module only decides what to build and in which order. The marts are read by
`reports.loaders`, each page kind's context is built and rendered in `reports.pages`, and
every file is written atomically by `reports.writer` (temp file, then `os.replace`), so a
crash never leaves a half-written page. An incremental build renders only the given days plus
the shared pages; other day pages are not touched. A day page links to the next day only if
that page already exists when it is rendered; otherwise it links to the latest report, and its
script upgrades that link from assets/days.js (the published days, rewritten by every build),
so old pages never need rewriting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from reports.downloads import existing_downloads, write_day_downloads
from reports.loaders import MartData, load_mart_data, load_price_history
from reports.pages.archive import render_archive
from reports.pages.common import SiteInfo, jinja_env
from reports.pages.day import DayContext, DayNav, day_context, render_day
from reports.pages.feed import feed_xml
from reports.pages.methodology import render_methodology
from reports.static_assets import DAYS_JS, days_js, write_static_assets
from reports.writer import SiteWriter, remove_stale_temp_files


@dataclass
class SiteBuildResult:
    """What a build wrote. `pages_written`: the HTML pages and feed.xml written this build;
    `bytes_total`: bytes of every file written this build (pages, downloads, changed assets)."""

    pages_written: list[Path]
    out_dir: Path
    days: list[date]
    bytes_total: int


def _page_exists(out_dir: Path, d: date) -> bool:
    return (out_dir / d.isoformat() / "index.html").exists()


def _days_to_render(data: MartData, out_dir: Path, days: Sequence[date] | None) -> list[date]:
    """Every day for a full build; else the requested days, plus the latest day if its page
    does not exist yet. Raises ValueError for a requested day without base metrics."""
    if days is None:
        return list(data.days)
    missing = sorted(set(days) - set(data.days))
    if missing:
        raise ValueError(f"no mart.daily_metrics rows for {data.symbol} on {missing}")
    render = sorted(set(days))
    latest = data.days[-1]
    if latest not in render and not _page_exists(out_dir, latest):
        render.append(latest)
    return render


def _neighbours(published: list[date], d: date) -> tuple[str | None, str | None]:
    """The published days before and after `d` (ISO), None at either end."""
    i = published.index(d)
    prev = published[i - 1] if i else None
    nxt = published[i + 1] if i + 1 < len(published) else None
    return (prev.isoformat() if prev else None), (nxt.isoformat() if nxt else None)


def build_site(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    symbol: str,
    days: Sequence[date] | None = None,
    *,
    source: str,
    methodology_md: Path | None,
    generated_at: datetime | None = None,
) -> SiteBuildResult:
    """Render the report site from `mart.*` into `out_dir`.

    `days=None` renders every day in `mart.daily_metrics` (full rebuild); a list renders only
    those day pages (plus the latest day's page if it does not exist yet) and then the shared
    pages: index, archive, feed, methodology and assets. Raises ValueError for a requested day
    that has no base-scenario metrics.
    """
    out_dir = Path(out_dir)
    generated_at = generated_at or datetime.now(UTC)
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    remove_stale_temp_files(out_dir)
    data = load_mart_data(conn, symbol)
    if not data.days:
        raise ValueError(f"mart.daily_metrics has no base rows for {symbol}")
    render = _days_to_render(data, out_dir, days)
    latest = data.days[-1]
    published = sorted(set(render) | {d for d in data.days if _page_exists(out_dir, d)})
    site = SiteInfo(symbol=symbol, source=source, generated_at=generated_at, latest=latest)
    env = jinja_env()
    writer = SiteWriter(out_dir)
    write_static_assets(writer)
    history = load_price_history(conn, data, [*render, latest])
    latest_ctx: DayContext | None = None
    latest_downloads: list[str] = []
    for d in render:
        ctx = day_context(conn, data, history, d)
        names = write_day_downloads(writer, conn, data, d, source)
        prev, nxt = _neighbours(published, d)
        nav = DayNav(
            root="../",
            day_dir="",
            prev_day=prev,
            next_day=nxt,
            is_index=False,
            download_names=names,
        )
        writer.write(f"{d.isoformat()}/index.html", render_day(env, site, ctx, nav), page=True)
        if d == latest:
            latest_ctx, latest_downloads = ctx, names
    # after the pages it lists, so a crash never leaves a link to a page not yet written
    writer.write_if_changed(DAYS_JS, days_js(published))
    if latest_ctx is None:
        latest_ctx = day_context(conn, data, history, latest)
        latest_downloads = existing_downloads(out_dir / latest.isoformat())
    prev, nxt = _neighbours(published, latest)
    index_nav = DayNav(
        root="",
        day_dir=f"{latest.isoformat()}/",
        prev_day=prev,
        next_day=nxt,
        is_index=True,
        download_names=latest_downloads,
    )
    writer.write("index.html", render_day(env, site, latest_ctx, index_nav), page=True)
    writer.write("archive/index.html", render_archive(env, site, data, published), page=True)
    writer.write("methodology/index.html", render_methodology(env, site, methodology_md), page=True)
    synthetic = source == "synthetic"
    writer.write("feed.xml", feed_xml(data, published, generated_at, synthetic), page=True)
    return SiteBuildResult(
        pages_written=writer.pages,
        out_dir=out_dir,
        days=sorted(render),
        bytes_total=writer.bytes_total,
    )


def iter_site_files(out_dir: Path) -> Iterable[Path]:
    """Every published file (for size reports)."""
    return (p for p in Path(out_dir).rglob("*") if p.is_file() and not p.name.startswith("."))
