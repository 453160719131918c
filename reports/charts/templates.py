"""Every chart template of the site, built at once: what assets/specs.js must hold so that
any page, old or new, finds its template."""

from __future__ import annotations

from reports.charts.daily import funding_template, oi_price_template
from reports.charts.heatmap_spec import heatmap_quiet_template, heatmap_template
from reports.charts.history import history_levels_template, history_risk_template
from reports.charts.liq_map import liq_map_template
from reports.charts.moves import moves_template
from reports.charts.realized import realized_hourly_template, realized_totals_template
from reports.charts.spec import specs_js
from reports.charts.venue_split import venue_map_template, venue_risk_template

FACTORIES = (
    funding_template,
    oi_price_template,
    heatmap_template,
    heatmap_quiet_template,
    history_levels_template,
    history_risk_template,
    liq_map_template,
    moves_template,
    realized_hourly_template,
    realized_totals_template,
    venue_map_template,
    venue_risk_template,
)


def all_specs_js() -> str:
    """assets/specs.js with every template registered."""
    for f in FACTORIES:
        f()
    return specs_js()
