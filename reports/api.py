"""The API's stable URLs: one per symbol and venue for its latest day.

    site/api/v3/<SYMBOL>/latest.json          the aggregate across venues
    site/api/v3/<SYMBOL>/<venue>/latest.json  one venue alone (two or more venues)

each with a `.js` twin for pages opened from disk. A latest file names its day and links to
that day's data file and the symbol's daily series (reports.datafiles); the versioned schema
of every file is docs/api/schema-v3.json, described in docs/api.md.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from reports import datafiles
from reports.day_packs import pack_key
from reports.loaders import MartData

LATEST_COLUMNS = (
    "close_price",
    "longs_at_risk",
    "shorts_at_risk",
    "shorts_per_long",
    "longs_at_risk_10pct",
    "shorts_at_risk_10pct",
    "nearest_cluster_above_price",
    "nearest_cluster_above_notional",
    "nearest_cluster_below_price",
    "nearest_cluster_below_notional",
    "p90_above_price",
    "p90_below_price",
    "liquidated_long_24h",
    "liquidated_short_24h",
    "oi_value",
    "oi_change_1d",
    "funding_rate_last",
    "funding_7d_mean",
    "funding_pctile_1y",
    "funding_state",
    "params_hash",
)


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return v


def latest_path(symbol: str, venue: str) -> str:
    """The stable path of a symbol's (and venue's) latest file, from the site root, no suffix."""
    return f"api/v{datafiles.API_VERSION}/{symbol}/" + (
        "latest" if venue == "all" else f"{venue}/latest"
    )


def latest(
    data: MartData, near: dict[float, tuple[float, float]], whatif: dict | None, synthetic: bool
) -> dict[str, Any]:
    """The latest day of one symbol and venue: its headline figures, the near-spot totals
    (mart.daily_metrics' 5 % and 10 % bands), the day's map bands and where the rest lives."""
    d = data.days[-1]
    cur = data.base(d)
    day_key = datafiles.key(data.symbol, data.venue, f"day-{d}")
    return datafiles.envelope(
        "latest",
        data.symbol,
        data.venue,
        synthetic,
        {
            "day": d.isoformat(),
            "figures": {k: _json_value(cur.get(k)) for k in LATEST_COLUMNS},
            "near_spot": [
                {"pct": pct, "shorts": shorts, "longs": longs}
                for pct, (shorts, longs) in sorted(near.items())
            ],
            "map": whatif,
            "links": {
                "page": f"{data.symbol}/{d.isoformat()}/index.html",
                # the month file holding the day's document (reports.day_packs)
                "day_data": f"data/{pack_key(day_key)}.js",
                "daily": f"data/{datafiles.key(data.symbol, data.venue, 'daily')}.js",
            },
        },
    )
