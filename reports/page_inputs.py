"""What each day page was built from, so an incremental build re-renders exactly the pages
whose inputs changed since (and its site equals a build from scratch).

A daily run does not only add a day: it rewrites the day before (the next day's first
snapshot refreshes that day's last bar), and a re-loaded raw day or a changed tier snapshot
rewrites every day from then on. Each day page's inputs are fingerprinted in SQL (row count
and sum of row hashes, per day, of the marts in `MODEL_MARTS` and `REALIZED_MARTS`; a year
of them costs DuckDB a few tens of milliseconds) and recorded per symbol in the site's
manifest (`MANIFEST`, a dot file: not a published page). A build re-renders every published
day whose fingerprint differs from the recorded one. A site without a manifest (built before
it existed) has no record to compare: its pages are taken as current, and the manifest is
started.

The hourly heatmaps (mart.liq_heatmap, mart.liq_layer_heatmap: most of the warehouse) are
not scanned: they come from the same bars and model run as the day's rows fingerprinted
here, and every change to those inputs shows in them: a staged bar in `price_hourly` (its
hour's prices and open interest), a tier or parameter change in the end-of-day maps and
`params_hash`. The realized marts enter a page's fingerprint over the REALIZED_DAYS up to its
day (the day page shows that span); the model marts by the page's own day only: a change to
an earlier day's model rows changes the model state carried into every later day, so their
own rows change too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

import duckdb

from reports.cards.heatmap import REALIZED_DAYS

MANIFEST = ".page-inputs.json"
MANIFEST_VERSION = 1

#: the day's rows a day page is built from (besides the heatmaps, see the module doc)
MODEL_MARTS = ("daily_metrics", "moves", "liq_map", "liq_layer_map", "price_hourly")
#: read over the REALIZED_DAYS up to the page's day
REALIZED_MARTS = ("realized_daily", "realized_hourly", "realized_moves")

_EXISTING_SQL = """
SELECT table_name FROM duckdb_columns()
WHERE schema_name = 'mart' AND column_name IN ('day', 'symbol')
GROUP BY table_name HAVING count(*) = 2
"""
#: one mart's (day, rows, hash sum) of a symbol; `{table}` is one of the names above
_PARTS_SQL = (
    "SELECT '{table}', day, count(*), sum(hash(_row))::VARCHAR "
    "FROM mart.{table} AS _row WHERE symbol = $symbol GROUP BY day"
)


def _marts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    have = {r[0] for r in conn.execute(_EXISTING_SQL).fetchall()}
    return [t for t in (*MODEL_MARTS, *REALIZED_MARTS) if t in have]


def page_fingerprints(
    conn: duckdb.DuckDBPyConnection, symbol: str, days: Iterable[date]
) -> dict[str, str]:
    """ISO day -> fingerprint of what the symbol's page of that day reads (module doc)."""
    marts = _marts(conn)
    by_day: dict[date, list] = {}
    if marts:
        sql = " UNION ALL ".join(_PARTS_SQL.format(table=t) for t in marts)
        for table, d, n, h in conn.execute(sql, {"symbol": symbol}).fetchall():
            by_day.setdefault(d, []).append([table, int(n), h])
    for parts in by_day.values():
        parts.sort()
    realized = {d: [p for p in parts if p[0] in REALIZED_MARTS] for d, parts in by_day.items()}
    out = {}
    for d in days:
        own = [p for p in by_day.get(d, []) if p[0] not in REALIZED_MARTS]
        span = [
            [x.isoformat(), realized.get(x, [])]
            for x in (d - timedelta(days=k) for k in range(REALIZED_DAYS - 1, -1, -1))
        ]
        text = json.dumps([own, span], separators=(",", ":"))
        out[d.isoformat()] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return out


def read_manifest(out_dir: Path) -> dict[str, dict[str, str]] | None:
    """Symbol -> ISO day -> fingerprint the site's pages were built from; None without a
    readable manifest."""
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return None
    symbols = data.get("symbols")
    return symbols if isinstance(symbols, dict) else None


def changed_days(
    recorded: Mapping[str, str] | None, now: Mapping[str, str], published: Iterable[date]
) -> list[date]:
    """The published days whose inputs differ from those their page was built from (a day
    the manifest lacks counts as changed); none without a record for the symbol."""
    if recorded is None:
        return []
    return sorted(d for d in published if recorded.get(d.isoformat()) != now.get(d.isoformat()))


def manifest_text(symbols: Mapping[str, Mapping[str, str]]) -> str:
    return json.dumps(
        {"version": MANIFEST_VERSION, "symbols": symbols}, sort_keys=True, separators=(",", ":")
    )
