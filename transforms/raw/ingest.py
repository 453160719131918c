"""One raw dataset over a window of days, for every configured venue and symbol.

Venues (`LIQMAP_VENUES`) are looped in order; each is one package named in the venue registry
(transforms/venues.py) whose `ingest(connect, settings, name, start, end, log)` loads the
window into the shared raw tables (venue column set) and returns a `VenueResult`
(transforms.raw.results). A venue failing (down, banned, rate-limited, HTTP 451, connection
refused; an archive unreachable or not published yet) is logged with one line naming venue,
dataset, symbol and reason, recorded in `IngestResult.failed_venues`, and the other venues'
rows still land. On a long window a later venue's days are fetched ahead, in a child process,
while the venues before it load (transforms.raw.fetch_ahead: only the time changes). A venue
whose every symbol waits for an unpublished day has failed with WaitingForArchive. Only when
every venue fails does the window raise: the first venue's own error (e.g. WaitingForArchive,
retried later), else VenuesFailed.
No Dagster here: the asset calls `ingest_window` and reports the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb

from transforms.config import Settings
from transforms.db import HeldConnection, threads
from transforms.raw import fetch_ahead
from transforms.raw.errors import SourceError, VenuesFailed, WaitingForArchive
from transforms.raw.packages import venue_package
from transforms.raw.results import Connect, IngestResult, Log, VenueResult

__all__ = ["IngestResult", "VenueResult", "VenuesFailed", "WaitingForArchive", "ingest_window"]


#: windows of at most this many days run DuckDB on one thread: a day's statements are small
#: (a few thousand rows), and scheduling a second thread cost more than it shared: ~10 % of
#: a daily raw stage's CPU, more of its wall time on a busy machine (issue 19)
ONE_THREAD_DAYS = 7


def _one_thread(connect: Connect) -> Connect:
    """`connect` whose connection runs one thread while held, its setting restored after."""

    @contextmanager
    def opened() -> Iterator[duckdb.DuckDBPyConnection]:
        with connect() as conn, threads(conn, 1):
            yield conn

    return opened


def ingest_window(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> IngestResult:
    """Load dataset `name` for days [start, end) of every configured symbol and venue (see
    module doc)."""
    result = IngestResult()
    errors: list[SourceError] = []

    def failed(v: str, exc: SourceError) -> None:
        errors.append(exc)
        result.failed_venues[v] = f"{v} {name}: {exc}"
        if len(settings.venues) > 1:
            log.error(f"{result.failed_venues[v]}; the other venues continue")

    succeeded = 0
    # One warehouse connection for the dataset's markets: each open applies the schema and
    # each close checkpoints, a fixed cost per market otherwise (issue 19).
    short = (end - start).days <= ONE_THREAD_DAYS
    held = HeldConnection(_one_thread(connect) if short else connect)
    ahead = fetch_ahead.start(settings, name, start, end, log)
    try:
        for v in settings.venues:
            extra = {"ahead": ahead[v]} if v in ahead else {}
            try:
                part = venue_package(v).ingest(held, settings, name, start, end, log, **extra)
            except SourceError as exc:
                failed(v, exc)
                continue
            result.add(v, part)
            if part.waiting and len(part.waiting) == len(settings.symbols):
                failed(v, next(iter(part.waiting.values())))  # every symbol waits its archive
            else:
                succeeded += not part.failed_everywhere(settings.symbols)
    finally:
        for a in ahead.values():
            a.close()
        held.release()
    if not succeeded:
        if errors:
            raise errors[0]
        raise VenuesFailed(f"{name}: every venue failed: {result.failed_summary()}")
    return result
