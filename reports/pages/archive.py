"""The archive page: every published day, newest first, grouped by month."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


def archive_context(
    data: MartData, published: Iterable[date], venues: tuple[tuple[str, str, str], ...] = ()
) -> ArchiveContext:
    months: dict[str, list[ArchiveEntry]] = {}
    for d in sorted(published, reverse=True):
        cur = data.base(d)
        months.setdefault(d.strftime("%B %Y"), []).append(
            ArchiveEntry(
                iso=d.isoformat(),
                label=d.strftime("%a %d %b"),
                ratio=ratio_of(cur),
                close=fmt_price(cur.get("close_price")),
                shorts=fmt_usd(cur.get("shorts_at_risk")),
                longs=fmt_usd(cur.get("longs_at_risk")),
            )
        )
    return ArchiveContext(months=list(months.items()), archive_venues=venues)


def render_archive(
    env: jinja2.Environment,
    site: SiteInfo,
    data: MartData,
    published: Iterable[date],
    venues: tuple[tuple[str, str, str], ...] = (),
) -> str:
    """The symbol's archive; with `venues`, a switch that shows each venue's figures (from
    its shared daily series) and opens day pages on that venue's charts."""
    chrome = site.chrome("../../", f"{site.symbol} report archive", sym_root="../")
    return render(env, "archive.html.j2", chrome, archive_context(data, published, venues))
