"""`liqmap status`: what the warehouse holds, the last run, the snapshot's age, the site.

Read-only everywhere: the published snapshot (or, before one exists, the warehouse opened
read-only), DAGSTER_HOME's run storage when it exists, and the site folder. Nothing is
created, so it is safe beside a running pipeline and on a fresh clone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from transforms.config import Settings

# Tables with a (symbol, day) grain, by layer; read from the catalog, never from input.
TABLES_SQL = """
SELECT t.table_schema, t.table_name
FROM information_schema.tables t
JOIN information_schema.columns c
  ON c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.column_name = 'day'
WHERE t.table_schema IN ('raw', 'stg', 'mart') AND t.table_type = 'BASE TABLE'
ORDER BY t.table_schema, t.table_name
"""
DAYS_SQL = """
SELECT symbol, min(day) AS first_day, max(day) AS last_day, count(DISTINCT day) AS days
FROM stg.bars_5m GROUP BY symbol ORDER BY symbol
"""
VENUE_DAYS_SQL = """
SELECT symbol, venue, min(day), max(day), count(DISTINCT day)
FROM stg.bars_5m GROUP BY symbol, venue ORDER BY symbol, venue
"""
ROWS_SQL = 'SELECT symbol, count(*) FROM "{schema}"."{table}" GROUP BY symbol'
LAYER_OF_SCHEMA = {"raw": "raw", "stg": "stg", "mart": "marts"}
_DAY_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class MarketStatus:
    symbol: str
    first_day: date | None = None
    last_day: date | None = None
    days: int = 0
    rows: dict[str, int] = field(default_factory=lambda: {"raw": 0, "stg": 0, "marts": 0})
    #: venue -> (first staged day, last staged day, staged days)
    venues: dict[str, tuple[date, date, int]] = field(default_factory=dict)

    @property
    def missing_days(self) -> int:
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1 - self.days


@dataclass
class Status:
    source_path: Path | None
    source_note: str
    markets: list[MarketStatus]
    last_run: str
    snapshot_age: str
    latest_page: str
    #: the nowcast per market, the alerts and undelivered webhook deliveries (issue 24)
    nowcast: list[str] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        """The live warehouse cannot be opened: `liqmap status` exits 1."""
        return self.source_note.startswith("BROKEN")


def _markets(path: Path) -> list[MarketStatus]:
    import duckdb

    conn = duckdb.connect(str(path), read_only=True)
    try:
        tables = conn.execute(TABLES_SQL).fetchall()
        markets: dict[str, MarketStatus] = {}
        if ("stg", "bars_5m") in tables:
            for symbol, first, last, days in conn.execute(DAYS_SQL).fetchall():
                markets[symbol] = MarketStatus(symbol, first, last, int(days))
            for symbol, venue, first, last, days in conn.execute(VENUE_DAYS_SQL).fetchall():
                markets[symbol].venues[venue] = (first, last, int(days))
        for schema, table in tables:
            if not conn.execute(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = $s AND table_name = $t AND column_name = 'symbol'",
                {"s": schema, "t": table},
            ).fetchone()[0]:
                continue
            for symbol, n in conn.execute(ROWS_SQL.format(schema=schema, table=table)).fetchall():
                market = markets.setdefault(symbol, MarketStatus(symbol))
                market.rows[LAYER_OF_SCHEMA[schema]] += int(n)
        return sorted(markets.values(), key=lambda m: m.symbol)
    finally:
        conn.close()


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _last_run(home: Path) -> str:
    """The newest run in DAGSTER_HOME (CLI and UI runs alike), or why there is none."""
    if not (home / "storage").is_dir():
        return f"no runs recorded in DAGSTER_HOME={home}"
    import warnings

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    # the event log storage of our dagster.yaml finds its folder through DAGSTER_HOME
    os.environ.setdefault("DAGSTER_HOME", str(home))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        runs = instance.get_runs(limit=1)
        if not runs:
            return f"no runs recorded in DAGSTER_HOME={home}"
        run = runs[0]
        record = instance.get_run_record_by_id(run.run_id)
        tags = run.tags
        window = tags.get("dagster/partition") or (
            f"{tags.get('dagster/asset_partition_range_start', '?')}.."
            f"{tags.get('dagster/asset_partition_range_end', '?')}"
        )
        when = ""
        if record is not None and record.end_time:
            ended = datetime.fromtimestamp(record.end_time, UTC)
            when = f", ended {ended:%Y-%m-%d %H:%M} UTC"
        return f"{run.status.value.lower()} ({window}, run {run.run_id[:8]}{when})"
    finally:
        instance.dispose()


NOWCAST_SQL = """
SELECT venue, symbol, as_of, refreshed_at, stale_since, error FROM mart.nowcast
ORDER BY symbol, venue
"""
ALERTS_SQL = "SELECT count(*), max(fired_at) FROM mart.alerts"
UNDELIVERED_SQL = """
SELECT webhook, count(*), max(attempts), arg_max(last_error, updated_at)
FROM mart.alert_deliveries WHERE delivered_at IS NULL GROUP BY webhook ORDER BY webhook
"""


def _t(x: datetime | None) -> str:
    return f"{x:%Y-%m-%d %H:%M} UTC" if x else "never"


def _nowcast(path: Path) -> list[str]:
    """The nowcast per market, alerts fired and webhooks with undelivered alerts (from the
    live warehouse, read-only: the nowcast does not republish the snapshot)."""
    import duckdb

    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return [f"nowcast: warehouse busy ({' '.join(str(exc).split())[:120]})"]
    try:
        have = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'mart'"
            ).fetchall()
        }
        if "nowcast" not in have:
            return []
        rows = conn.execute(NOWCAST_SQL).fetchall()
        if not rows:
            return ["nowcast: none yet (run `liqmap now`)"]
        lines = ["nowcast:"]
        for venue, symbol, as_of, refreshed, stale, error in rows:
            state = f"STALE since {_t(stale)}: {error}" if stale else "fresh"
            lines.append(
                f"  {symbol} {venue}: as of {_t(as_of)}, provisional; {state} "
                f"(last refresh {_t(refreshed)})"
            )
        fired, latest = conn.execute(ALERTS_SQL).fetchone()
        lines.append(f"alerts: {fired} fired" + (f", latest {_t(latest)}" if fired else ""))
        for hook, n, attempts, error in conn.execute(UNDELIVERED_SQL).fetchall():
            lines.append(
                f"  webhook {hook!r}: {n} undelivered after up to {attempts} attempts; "
                f"last error: {error or 'not tried yet'}"
            )
        return lines
    finally:
        conn.close()


def _latest_page(site_dir: Path) -> str:
    if not (site_dir / "index.html").is_file():
        return f"no site yet in {site_dir}"
    days = sorted(p.name for p in site_dir.iterdir() if p.is_dir() and _DAY_DIR.match(p.name))
    if not days:
        return str(site_dir / "index.html")
    return str(site_dir / days[-1] / "index.html")


def warehouse_problem(path: Path) -> str | None:
    """Why the live warehouse cannot be opened by the next run (None when it can or when it
    does not exist yet). Reads the file's header only: no lock, safe beside a running run."""
    from transforms.db import is_duckdb_file

    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a file: expected a DuckDB database"
    if not is_duckdb_file(path):
        return (
            f"{path} is not a DuckDB database: the next `liqmap run` fails until it is moved "
            "away (a run then rebuilds it)"
        )
    return None


def collect_status(settings: Settings, home: Path) -> Status:
    snapshot = settings.snapshot_path
    now = datetime.now(UTC).timestamp()
    markets: list[MarketStatus] = []
    problem = warehouse_problem(settings.warehouse_path)
    if problem is not None:
        path, note = None, f"BROKEN: {problem}"
        age = (
            f"{_age(now - snapshot.stat().st_mtime)} old ({snapshot})"
            if snapshot.is_file()
            else "no snapshot published yet"
        )
    elif snapshot.is_file():
        path, note = snapshot, "snapshot"
        markets = _markets(snapshot)
        age = f"{_age(now - snapshot.stat().st_mtime)} old ({snapshot})"
    elif settings.warehouse_path.is_file():
        path, note = settings.warehouse_path, "warehouse (read-only; no snapshot yet)"
        age = "no snapshot published yet"
        try:
            markets = _markets(settings.warehouse_path)
        except Exception as exc:  # a run holds the write lock: say so, do not fail
            note = f"warehouse busy ({' '.join(str(exc).split())[:120]})"
    else:
        path, note = None, "nothing built yet: run `liqmap run` (or `make demo`)"
        age = "no snapshot published yet"
    nowcast = _nowcast(settings.warehouse_path) if settings.warehouse_path.is_file() else []
    return Status(
        source_path=path,
        source_note=note,
        markets=markets,
        last_run=_last_run(home),
        snapshot_age=age,
        latest_page=_latest_page(settings.output_site_dir),
        nowcast=nowcast,
    )


def render_status(status: Status) -> list[str]:
    """Plain lines (also what tests read)."""
    where = f" {status.source_path}" if status.source_path else ""
    lines = [f"warehouse: {status.source_note}{where}"]
    if status.source_path is not None and not status.markets:
        lines.append("  no market data loaded yet")
    for m in status.markets:
        span = f"{m.first_day}..{m.last_day}" if m.first_day else "no staged days"
        lines.append(
            f"  {m.symbol}: {span}, {m.days} days, {m.missing_days} missing; rows raw "
            f"{m.rows['raw']:,}, stg {m.rows['stg']:,}, marts {m.rows['marts']:,}"
        )
        for venue, (first, last, days) in m.venues.items():
            lines.append(f"    {venue}: {first}..{last}, {days} days staged")
    lines.append(f"last run: {status.last_run}")
    lines.append(f"snapshot: {status.snapshot_age}")
    lines.append(f"site: {status.latest_page}")
    lines.extend(status.nowcast)
    return lines
