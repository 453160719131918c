"""The model's parameter sets, one section per hash (`mart.model_params`): what a day page's
"Model parameters" links to, written once per site instead of into every day page (a set
never changes under its hash, so an old page's link stays true)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2

from reports.loaders import Record
from reports.pages.common import SiteInfo, render
from reports.scenarios import SCENARIO_LABELS


@dataclass(frozen=True)
class ParamSet:
    hash: str
    scenario: str
    rows: list[tuple[str, str]]  # (name, JSON text)


@dataclass(frozen=True)
class ParamsContext:
    sets: list[ParamSet]


def param_rows(row: Record | None) -> list[tuple[str, str]]:
    """A parameter set's values as (name, JSON text) rows, by name."""
    rows: list[tuple[str, str]] = []
    if row:
        with contextlib.suppress(ValueError, TypeError):
            for k, v in sorted(json.loads(row["params_json"]).items()):
                txt = v if isinstance(v, str) else json.dumps(v, separators=(", ", ": "))
                rows.append((k, txt))
    return rows


def render_params(env: jinja2.Environment, site: SiteInfo, params: Mapping[str, Record]) -> str:
    """`params/index.html`: every parameter set, in the order they were recorded."""
    sets = [
        ParamSet(h, SCENARIO_LABELS.get(r["scenario"], r["scenario"]), param_rows(r))
        for h, r in params.items()
    ]
    chrome = site.chrome("../", "Model parameter sets")
    return render(env, "params.html.j2", chrome, ParamsContext(sets))
