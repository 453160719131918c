"""Write the "now" view and the alerts feed (reports.pages.now) into the site, atomically."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reports.pages.common import SiteInfo
from reports.pages.now import NOW_JS, now_js, now_pages
from reports.writer import SiteWriter


def build_now_view(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    symbols: tuple[str, ...],
    source: str,
    generated_at: datetime | None = None,
    venues: str | None = None,
) -> list[Path]:
    """Render and write site/now/, site/<SYMBOL>/now/ and site/alerts.xml; returns the paths
    (from a warehouse older than the nowcast's tables, only the screener's empty now/now.js,
    so the index it loads from finds it)."""
    have = conn.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'mart' AND table_name IN ('nowcast', 'alerts', 'provisional_days')"
    ).fetchone()[0]
    if have < 3:
        writer = SiteWriter(Path(out_dir))
        writer.write_if_changed(NOW_JS, now_js([]))
        return []
    if venues is None:  # the footer line every page carries: what the figures add up
        from reports.site import site_venues_footer

        venues = site_venues_footer(conn, symbols)
    info = SiteInfo(None, source, generated_at or datetime.now(UTC), None, venues)
    writer = SiteWriter(Path(out_dir))
    for rel, text in now_pages(conn, symbols, info).files.items():
        writer.write(rel, text, page=rel != NOW_JS)
    return writer.pages
