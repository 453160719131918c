"""The methodology page: docs/methodology.md rendered, or a short note when it is missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import markdown

from reports.honesty import AT_RISK_CAVEAT, LIQUIDATED_CAVEAT
from reports.pages.common import SiteInfo, render


@dataclass(frozen=True)
class MethodologyContext:
    body: str  # HTML
    missing: bool
    # the "How to read a day page" section: what every day page would otherwise repeat
    at_risk_long: str = AT_RISK_CAVEAT.long
    liquidated_long: str = LIQUIDATED_CAVEAT.long


def methodology_context(md_path: Path | None) -> MethodologyContext:
    if md_path is not None and Path(md_path).is_file():
        body = markdown.markdown(
            Path(md_path).read_text(encoding="utf-8"),
            extensions=["tables", "fenced_code", "toc", "sane_lists"],
            output_format="html",
        )
        return MethodologyContext(body=body, missing=False)
    return MethodologyContext(body="", missing=True)


def render_methodology(env: jinja2.Environment, site: SiteInfo, md_path: Path | None) -> str:
    chrome = site.chrome("../", "Methodology")
    return render(env, "methodology.html.j2", chrome, methodology_context(md_path))
