"""Load one UTC day of collected liquidations into raw.liquidations, idempotently.

Rows are assigned to the day of the venue's event time. Events received just after midnight
can carry the previous day's time, so the next day's 00 files are read too. Only closed
hourly files are read, plus `.open` files whose hour ended more than a minute ago (left by a
collector that was killed and not restarted; read-only, torn tail ignored). The day's rows for
the given venues and symbols are deleted and inserted in one transaction, together with one
raw.liquidation_coverage row per venue saying how much of the day was received.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from transforms.days import day_start_ms
from transforms.db import transaction
from transforms.raw.realized.coverage import DayCoverage, day_coverage
from transforms.raw.realized.events import PayloadError
from transforms.raw.realized.hourly_files import (
    HOUR_MS,
    OPEN_SUFFIX,
    hour_files,
    hour_of_open_file,
    now_ms,
    valid_prefix,
)
from transforms.raw.realized.settings import VENUES
from transforms.venues import venue as registry_venue

STALE_OPEN_MS = 60_000

DELETE_DAY = """
DELETE FROM raw.liquidations
WHERE day = $day AND list_contains($venues, venue) AND list_contains($symbols, symbol)
"""
INSERT_ROWS = """
INSERT INTO raw.liquidations
SELECT venue, symbol, day, ts, side, price, quantity, notional, completeness,
       received_at, source_file
FROM realized_batch
"""
DELETE_COVERAGE = """
DELETE FROM raw.liquidation_coverage WHERE day = $day AND list_contains($venues, venue)
"""
INSERT_COVERAGE = """
INSERT INTO raw.liquidation_coverage VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""


class RealizedFileError(ValueError):
    """A collected line that is not the venue's format (skipped and reported, never fatal:
    realized data must not stop the modelled marts)."""


@dataclass
class VenueDay:
    """What was loaded for one venue and day, and the lines skipped (file:line: why)."""

    venue: str
    coverage: DayCoverage
    events: int = 0
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _day_files(venue_dir: Path, day: date, now: int) -> list[Path]:
    """Closed files of the day and of the next day's 00 hour, plus stale `.open` files."""
    nxt = day + timedelta(days=1)
    files = hour_files(venue_dir, day)
    files += [p for p in hour_files(venue_dir, nxt) if p.name[:2] == "00"]
    for folder, hour_prefix in ((day, "*"), (nxt, "00")):
        for path in sorted(
            (venue_dir / folder.isoformat()).glob(f"{hour_prefix}.jsonl{OPEN_SUFFIX}")
        ):
            if hour_of_open_file(path) + HOUR_MS + STALE_OPEN_MS <= now:
                files.append(path)
    return files


def _read_rows(
    venue: str,
    venue_dir: Path,
    path: Path,
    day: date,
    symbols: frozenset[str],
    rows: dict,
    skipped: list[str],
) -> int:
    stream = VENUES[venue]
    completeness = registry_venue(venue).realized
    lines = valid_prefix(path.read_bytes())[0] if path.name.endswith(OPEN_SUFFIX) else None
    if lines is None:
        lines = path.read_bytes().splitlines()
    start = day_start_ms(day)
    relpath = str(path.relative_to(venue_dir.parent))
    count = 0
    for number, line in enumerate(lines, start=1):
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
            liq = stream.normalise(record, where)
            received = int(record["recv_ms"])
        except (ValueError, KeyError, TypeError) as exc:
            detail = exc if isinstance(exc, PayloadError) else f"{where}: {exc!r}"
            skipped.append(
                f"{detail} (expected one JSON object per line with recv_ms and the {venue} event)"
            )
            continue
        if liq.symbol not in symbols or not start <= liq.ts_ms < start + 86_400_000:
            continue
        for column, value in (
            ("venue", venue),
            ("symbol", liq.symbol),
            ("day", day),
            ("ts", datetime.fromtimestamp(liq.ts_ms / 1000, UTC).replace(tzinfo=None)),
            ("side", liq.side),
            ("price", liq.price),
            ("quantity", liq.quantity),
            ("notional", liq.notional),
            ("completeness", completeness),
            ("received_at", datetime.fromtimestamp(received / 1000, UTC).replace(tzinfo=None)),
            ("source_file", relpath),
        ):
            rows[column].append(value)
        count += 1
    return count


_SCHEMA = pa.schema(
    [
        ("venue", pa.string()),
        ("symbol", pa.string()),
        ("day", pa.date32()),
        ("ts", pa.timestamp("ms")),
        ("side", pa.string()),
        ("price", pa.float64()),
        ("quantity", pa.float64()),
        ("notional", pa.float64()),
        ("completeness", pa.string()),
        ("received_at", pa.timestamp("ms")),
        ("source_file", pa.string()),
    ]
)
COLUMNS = [column.name for column in _SCHEMA]


def load_realized_day(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    day: date,
    venues: tuple[str, ...],
    symbols: tuple[str, ...],
) -> list[VenueDay]:
    """Replace `day`'s realized liquidations and coverage for these venues and symbols.

    `data_dir` is the LIQMAP data directory (files under <data_dir>/realized/<venue>/).
    A malformed line is skipped and reported in `VenueDay.skipped` (file, line and why); the
    day's other lines load.
    """
    unknown = [v for v in venues if v not in VENUES]
    if unknown:
        raise ValueError(f"unknown venue(s) {unknown}: expected some of {', '.join(VENUES)}")
    root, now, wanted = Path(data_dir) / "realized", now_ms(), frozenset(symbols)
    rows: dict[str, list] = {column: [] for column in COLUMNS}
    results = []
    for venue in venues:
        venue_dir = root / venue
        result = VenueDay(venue=venue, coverage=day_coverage(venue_dir, day))
        for path in _day_files(venue_dir, day, now):
            result.events += _read_rows(venue, venue_dir, path, day, wanted, rows, result.skipped)
            result.files.append(str(path.relative_to(root)))
        results.append(result)
    batch = pa.table(rows, schema=_SCHEMA)
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    params = {"day": day, "venues": list(venues), "symbols": list(symbols)}
    with transaction(conn):
        conn.execute(DELETE_DAY, params)
        conn.register("realized_batch", batch)
        try:
            conn.execute(INSERT_ROWS)
        finally:
            conn.unregister("realized_batch")
        conn.execute(DELETE_COVERAGE, {"day": day, "venues": list(venues)})
        for r in results:
            c = r.coverage
            conn.execute(
                INSERT_COVERAGE,
                [
                    r.venue,
                    day,
                    c.collected_seconds,
                    c.gap_seconds,
                    c.complete,
                    r.events,
                    len(r.files),
                    loaded_at,
                ],
            )
    return results
