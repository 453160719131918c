"""The site's shared data files: a documented JSON API (docs/api.md), also loadable by pages.

Every data file exists twice under `site/data/`: `<key>.json` (the API) and `<key>.js`, a
script assigning the same object to `window.LIQMAP_DATA["<key>"]`, because a page opened
from disk (file://) may load scripts but not fetch JSON. Keys are paths:

    <SYMBOL>/<venue>/daily           every day's figures (the daily series of the charts)
    <SYMBOL>/<venue>/heat-YYYY-MM    the month's hourly heatmap (a log-coded PNG) and OHLC
    <SYMBOL>/<venue>/day-YYYY-MM-DD  one day's charts: values filled into assets/specs.js
    <SYMBOL>/<venue>/latest          the latest day's figures and map (stable URL)

`venue` is `all` for the aggregate or a venue id (transforms/venues.py). Inside chart
values, `{"$series": key, "name", "from", "to", "as"}` stands for rows of a shared daily
series between two days (inclusive) and `{"$path": ...}` for a price path built from the
heat months' OHLC, so no day file repeats what another file holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from reports import queries
from reports.loaders import Record, epoch_ms
from reports.notation import ok

API_VERSION = 1
SCHEMA_ID = "https://liqmap.invalid/api/v1/schema.json"
DAY_MS = 86_400_000


def key(symbol: str, venue: str, name: str) -> str:
    return f"{symbol}/{venue}/{name}"


def envelope(kind: str, symbol: str, venue: str, synthetic: bool, body: Mapping[str, Any]) -> dict:
    """Every data file's top level: what it is, of which symbol and venue, and whether the
    figures come from synthetic data."""
    return {
        "api_version": API_VERSION,
        "kind": kind,
        "symbol": symbol,
        "venue": venue,
        "synthetic_data": synthetic,
        **body,
    }


def as_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def as_js(k: str, obj: Any) -> str:
    """The script twin of a data file (loads from file://)."""
    text = as_json(obj).replace("</", "<\\/")
    return f"(window.LIQMAP_DATA=window.LIQMAP_DATA||{{}})[{json.dumps(k)}]={text};\n"


def _g(x: Any, fmt: str) -> float | None:
    return float(format(x, fmt)) if ok(x) else None


def epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


# the daily series: columns after "day" (ISO), the chart's field names
HIST_COLS = ["d", "L", "S", "c", "qa", "qb"]
DAILY_COLS = ["x", "c", "oi", "f", "f7"]


def daily_series(rows: Sequence[Record]) -> dict[str, Any]:
    """`series`: the history charts' rows (`hist`, d = days since 1970-01-01) and the open
    interest / funding charts' rows (`daily`), one per day, oldest first."""
    hist, daily = [], []
    for r in rows:
        d = r["day"]
        hist.append(
            [
                d.isoformat(),
                epoch_day(d),
                _g(r.get("longs_at_risk"), ".4g"),
                _g(r.get("shorts_at_risk"), ".4g"),
                _g(r.get("close_price"), ".6g"),
                _g(r.get("p90_above_price"), ".6g"),
                _g(r.get("p90_below_price"), ".6g"),
            ]
        )
        daily.append(
            [
                d.isoformat(),
                epoch_ms(queries.day_start(d)),
                _g(r.get("close_price"), ".2f"),
                _g(r.get("oi_value"), ".4g"),
                _g(r.get("funding_rate_last"), ".4g"),
                _g(r.get("funding_7d_mean"), ".4g"),
            ]
        )
    return {
        "hist": {"cols": ["day", *HIST_COLS], "rows": hist},
        "daily": {"cols": ["day", *DAILY_COLS], "rows": daily},
    }


def series_ref(k: str, name: str, first: date, last: date, as_: str = "rows") -> dict[str, Any]:
    """A chart value standing for the rows of series `name` of data file `k` from `first`
    to `last` (inclusive): objects (`rows`) or CSV text with a header (`csv`)."""
    return {
        "$series": k,
        "name": name,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "as": as_,
    }


def resolve(value: Any, files: Mapping[str, Any]) -> Any:
    """A chart value with its `$series` references replaced by their rows (what the page
    script does), for tests and exports."""
    if isinstance(value, dict) and "$series" in value:
        s = files[value["$series"]]["series"][value["name"]]
        cols = s["cols"][1:]
        rows = [r[1:] for r in s["rows"] if value["from"] <= r[0] <= value["to"]]
        if value["as"] == "csv":
            lines = [",".join(cols)]
            lines += [",".join("" if v is None else _csv_num(v) for v in r) for r in rows]
            return "\n".join(lines)
        return [dict(zip(cols, r, strict=True)) for r in rows]
    return value


def _csv_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def utc_now_iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
