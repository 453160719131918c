"""What every page shares: the site chrome (header, footer, data notice) and the templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import jinja2

from reports.formats import iso_z

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

SOURCE_LABELS = {
    "binance": "Binance USDⓈ-M futures public data archive (data.binance.vision)",
    "mirror": "Local mirror of the Binance USDⓈ-M futures public data archive",
    "synthetic": "Synthetic demo data from the seeded market generator",
}


@dataclass(frozen=True)
class SiteInfo:
    """The facts of one build that every page shows."""

    symbol: str | None  # None on the site-wide pages (overview, methodology)
    source: str
    generated_at: datetime  # aware, UTC
    latest: date | None
    venues: str = ""  # what the figures add up, for the footer ("" without venue rows)

    def chrome(self, root: str, title: str, sym_root: str | None = None) -> PageChrome:
        """`root`: path from the page to the site root; `sym_root`: to its symbol's folder
        (None on site-wide pages)."""
        return PageChrome(
            root=root,
            sym_root=sym_root,
            title=title,
            symbol=self.symbol or "",
            synthetic=self.source == "synthetic",
            source_label=SOURCE_LABELS.get(self.source, self.source),
            generated=self.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            generated_iso=iso_z(self.generated_at),
            latest=self.latest.isoformat() if self.latest else None,
            venues=self.venues,
        )


@dataclass(frozen=True)
class PageChrome:
    """The variables of `base.html.j2`. `root`: the relative path to the site root;
    `sym_root`: to the symbol's folder (None on site-wide pages)."""

    root: str
    sym_root: str | None
    title: str
    symbol: str
    synthetic: bool
    source_label: str
    generated: str
    generated_iso: str
    latest: str | None
    venues: str = ""


def jinja_env() -> jinja2.Environment:
    """The site's templates, each compiled once per environment: a build does not check
    the template files again on each use (every included partial was stat'ed per page)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        auto_reload=False,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render(env: jinja2.Environment, template: str, *contexts: object) -> str:
    """Render `template` with the fields of the given dataclasses as its variables."""
    variables: dict[str, object] = {}
    for ctx in contexts:
        variables.update(vars(ctx))
    return env.get_template(template).render(variables)
