"""What a venue's `ingest(...)` returns, and what the shared loop adds up across venues.

Every venue package exposes `ingest(connect, settings, name, start, end, log) -> VenueResult`
for one raw dataset over days [start, end) of every configured symbol. A failure about some
symbols or days is returned in `failures` (one line each, naming venue, dataset, symbol, day
and reason), never raised; a venue raises a SourceError only when nothing of the window can
load (e.g. WaitingForArchive when every symbol waits for its archive).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb

from transforms.raw.errors import WaitingForArchive
from transforms.raw.quality import CheckOutcome

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

#: progress lines a fetch loop writes to the run log before its last: each line is an event
#: in Dagster's event log (~10-100 ms on SQLite), so a year's loop writes 4, not one a month
PROGRESS_LINES = 4


def progress_every(total: int) -> int:
    """How many steps between a fetch loop's progress lines (at least 30, as before)."""
    return max(30, -(-total // PROGRESS_LINES))


class Log(Protocol):
    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...

    def error(self, msg: str) -> None: ...


@dataclass
class VenueResult:
    """What one venue's ingest of one dataset did, across symbols."""

    rows: int = 0
    #: files or days fetched and loaded
    files: int = 0
    outcomes: list[CheckOutcome] = field(default_factory=list)
    #: symbol -> one line naming venue, dataset, symbol, day and reason
    failures: dict[str, str] = field(default_factory=dict)
    #: "<SYMBOL> <day>": loaded but not final (in progress or short), so not recorded verified
    provisional: list[str] = field(default_factory=list)
    #: symbol -> days loaded (REST venues): a symbol failing on some days still loaded others
    loaded: dict[str, int] = field(default_factory=dict)
    #: periods not published yet (loaded once they are)
    pending: list[str] = field(default_factory=list)
    caught_up: list[str] = field(default_factory=list)
    rest_days: int = 0
    #: files rejected at load (the venue's own type, each with a one-line `message`)
    rejections: list[Any] = field(default_factory=list)
    waiting: dict[str, WaitingForArchive] = field(default_factory=dict)  # symbol -> why
    tiers: dict[str, int] = field(default_factory=dict)  # symbol -> tiers snapshotted
    #: "<SYMBOL> <day>": older than the venue keeps, never fetched (not collected, not failed)
    not_collected: list[str] = field(default_factory=list)

    def failed_everywhere(self, symbols: tuple[str, ...]) -> bool:
        """Every symbol failed and none loaded a day (a failure's scope is its day)."""
        return bool(symbols) and all(s in self.failures and not self.loaded.get(s) for s in symbols)

    def summary(self) -> str:
        return "; ".join(self.failures.values())


@dataclass
class IngestResult:
    """What one dataset's window load did, across venues and symbols (asset metadata)."""

    rows: int = 0
    files: int = 0
    pending: list[str] = field(default_factory=list)
    caught_up: list[str] = field(default_factory=list)
    rest_days: int = 0
    outcomes: list[CheckOutcome] = field(default_factory=list)
    #: files that failed validation at load (nothing of them loaded), one message each
    rejections: list[Any] = field(default_factory=list)
    waiting: dict[str, WaitingForArchive] = field(default_factory=dict)  # symbol -> why
    #: venue -> why it failed (wholly or for some symbols/days); the other venues' rows landed
    failed_venues: dict[str, str] = field(default_factory=dict)
    #: "<venue> <SYMBOL> <day>" loaded but not final (a day in progress): not recorded verified
    provisional: list[str] = field(default_factory=list)
    #: "<venue> <SYMBOL> <day>" the venue no longer serves: not collected (not a failure)
    not_collected: list[str] = field(default_factory=list)

    def add(self, venue: str, part: VenueResult) -> None:
        """Fold one venue's result in."""
        self.rows += part.rows
        self.files += part.files
        self.pending += part.pending
        self.caught_up += part.caught_up
        self.rest_days += part.rest_days
        self.outcomes += part.outcomes
        self.rejections += part.rejections
        self.waiting.update(part.waiting)
        self.provisional += [f"{venue} {p}" for p in part.provisional]
        self.not_collected += [f"{venue} {p}" for p in part.not_collected]
        if part.failures:
            self.failed_venues[venue] = part.summary()

    def waiting_summary(self) -> str:
        """One line per waiting symbol, for logs and metadata."""
        return "; ".join(f"{s}: {e}" for s, e in self.waiting.items()) or "none"

    def failed_summary(self) -> str:
        """One line per failed venue, for logs and metadata."""
        return "; ".join(self.failed_venues.values()) or "none"
