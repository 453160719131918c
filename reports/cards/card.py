"""What a chart card shows: a filled chart spec, its description and a fallback table."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.charts.spec import JsonRef


@dataclass(frozen=True)
class Table:
    """The accessible fallback under a chart: a caption, column heads and text rows."""

    caption: str
    head: list[str]
    rows: list[tuple[str, ...]]


@dataclass(frozen=True)
class ChartCard:
    """One chart section of the day page (`day.html.j2`, loop over `charts`).

    `split`: a second figure in the same card (the chart by venue), None without one;
    `view_descs`: a caption per switch view ('scenario/layer' -> text) when the chart
    follows the page's model and leverage switch (the page prints the first; the page
    script builds the others from the day data: `view_notes`, each view's caption fields
    other than its lines, which are its level marks' labels)."""

    id: str
    title: str
    intro: str
    desc: str
    spec: str | JsonRef  # a filled template (spec.Template.fill)
    table: Table | None  # None: the figures are the shared daily series (daily.csv)
    split: ChartCard | None = None
    view_descs: dict[str, str] = field(default_factory=dict)
    view_notes: dict[str, dict[str, str]] = field(default_factory=dict)
