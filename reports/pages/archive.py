"""The archive page: every published day, newest first, grouped by month."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import jinja2

from reports.headline import ratio_of
from reports.loaders import MartData
from reports.notation import fmt_price, fmt_usd
from reports.pages.common import SiteInfo, render


@dataclass(frozen=True)
class ArchiveEntry:
    iso: str
    label: str
    ratio: str
    close: str
    shorts: str
    longs: str


@dataclass(frozen=True)
class ArchiveContext:
    months: list[tuple[str, list[ArchiveEntry]]]  # ("March 2026", entries), newest first
    # the venue switch: (venue, label, key of its daily series), the aggregate first
    archive_venues: tuple[tuple[str, str, str], ...] = ()
    # "March 2026" -> the month's downloads, every venue in each file: (href from the
    # symbol's folder, name -> formats) (reports.downloads)
    month_downloads: dict[str, tuple[str, dict[str, list[str]]]] = field(default_factory=dict)


def archive_context(
    data: MartData,
    published: Iterable[date],
    venues: tuple[tuple[str, str, str], ...] = (),
    downloads: dict[str, tuple[str, dict[str, list[str]]]] | None = None,
) -> ArchiveContext:
    """`downloads`: month id (YYYY-MM) -> the month's downloads (downloads.archive_months)."""
    months: dict[str, list[ArchiveEntry]] = {}
    files: dict[str, tuple[str, dict[str, list[str]]]] = {}
    for d in sorted(published, reverse=True):
        cur = data.base(d)
        label = d.strftime("%B %Y")
        if downloads and label not in files and f"{d:%Y-%m}" in downloads:
            files[label] = downloads[f"{d:%Y-%m}"]
        months.setdefault(label, []).append(
            ArchiveEntry(
                iso=d.isoformat(),
                label=d.strftime("%a %d %b"),
                ratio=ratio_of(cur),
                close=fmt_price(cur.get("close_price")),
                shorts=fmt_usd(cur.get("shorts_at_risk")),
                longs=fmt_usd(cur.get("longs_at_risk")),
            )
        )
    return ArchiveContext(months=list(months.items()), archive_venues=venues, month_downloads=files)


def render_archive(
    env: jinja2.Environment,
    site: SiteInfo,
    data: MartData,
    published: Iterable[date],
    venues: tuple[tuple[str, str, str], ...] = (),
    downloads: dict[str, tuple[str, dict[str, list[str]]]] | None = None,
) -> str:
    """The symbol's archive; with `venues`, a switch that shows each venue's figures (from
    its shared daily series) and opens day pages on that venue's charts; `downloads`: each
    month's download files (archive_context)."""
    chrome = site.chrome("../../", f"{site.symbol} report archive", sym_root="../")
    ctx = archive_context(data, published, venues, downloads)
    return render(env, "archive.html.j2", chrome, ctx)
