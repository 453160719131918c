"""One raw dataset over a window of days, for every configured venue and symbol.

Venues (`LIQMAP_VENUES`) are looped in order: 'binance' is the archive path below, 'bybit' the
REST path of transforms.raw.bybit_ingest (same raw tables, venue = 'bybit'). A venue failing
(Bybit down, banned, rate-limited, HTTP 451, connection refused; the archive unreachable or not
published yet) is logged with one line naming venue, dataset, symbol and reason, recorded in
`IngestResult.failed_venues`, and the other venues' rows still land; only when every venue
fails does the window raise.

Binance, for each symbol: fetch the window's verified files (a daily file not yet published
stops the run with WaitingForArchive; a monthly funding file not yet published is recorded as
pending and the days proceed without it), replace the window's rows, fill pending funding from
REST (binance source), reload funding months published since their days were loaded, then run the
dataset's checks. No Dagster here: the asset calls `ingest_window` and reports the result.

Before anything is fetched, every configured symbol must have maintenance tiers (the model
needs them): `require_tiers` fails fast with one line naming the tier file. Symbols are
independent: a symbol whose daily file is not published yet is recorded in `waiting` and the
other symbols' rows still load; only when every symbol waits does the window raise
WaitingForArchive (then there is nothing to do until the archive publishes).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date

import duckdb

from transforms.config import ConfigError, Settings
from transforms.progress import Progress
from transforms.raw.bybit_ingest import ingest_bybit
from transforms.raw.datasets import (
    ARCHIVE_VENUE,
    archive_relpath,
    dataset,
    periods_for_window,
)
from transforms.raw.funding import Log, catch_up_funding, fill_pending_from_rest
from transforms.raw.loading import load_files
from transforms.raw.quality import (
    FILES_VALID_CHECK,
    CheckOutcome,
    check_dataset,
    check_files_verified,
)
from transforms.raw.validation import Rejection
from transforms.raw.venues import make_source
from transforms.raw.venues.base import FetchedFile, NotYetPublished, Source, SourceError
from transforms.raw.venues.bybit.source import VENUE as BYBIT
from transforms.reference.brackets import DEFAULT_VENUE
from transforms.reference.tiers import require_tiers, tiers_file_from_env

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


class VenuesFailed(SourceError):
    """Every configured venue failed for the window (each failure was logged)."""


class WaitingForArchive(NotYetPublished):
    """A daily file of the window is not published yet: the window must wait (retry later)."""

    def __init__(self, cause: NotYetPublished, period: str):
        super().__init__(str(cause))
        self.period = period


@dataclass
class IngestResult:
    """What one dataset's window load did, across symbols (reported as asset metadata)."""

    rows: int = 0
    files: int = 0
    pending: list[str] = field(default_factory=list)
    caught_up: list[str] = field(default_factory=list)
    rest_days: int = 0
    outcomes: list[CheckOutcome] = field(default_factory=list)
    #: files that failed validation at load (nothing of them loaded), one message each
    rejections: list[Rejection] = field(default_factory=list)
    waiting: dict[str, WaitingForArchive] = field(default_factory=dict)  # symbol -> why
    #: venue -> why it failed (wholly or for some symbols/days); the other venues' rows landed
    failed_venues: dict[str, str] = field(default_factory=dict)
    #: "<venue> <SYMBOL> <day>" loaded but not final (a day in progress): not recorded verified
    provisional: list[str] = field(default_factory=list)

    def waiting_summary(self) -> str:
        """One line per waiting symbol, for logs and metadata."""
        return "; ".join(f"{s}: {e}" for s, e in self.waiting.items()) or "none"

    def failed_summary(self) -> str:
        """One line per failed venue, for logs and metadata."""
        return "; ".join(self.failed_venues.values()) or "none"


#: consecutive files failing to fetch, with none fetched before, that mean the venue is down
#: (its other files would only wait for the same deadline)
VENUE_DOWN_STREAK = 3


def fetch_window(
    source: Source,
    name: str,
    symbol: str,
    periods: list[str],
    pending: list[str],
    log: Log,
    unavailable: list[Rejection] | None = None,
) -> list[FetchedFile]:
    """Verified files for every period. A monthly file not yet published is appended to
    `pending` (the archive publishes it after the month ends) and the window proceeds without
    it; a later run's catch-up (transforms.raw.funding.catch_up_funding) loads it once
    published. Daily files not yet published at the end of the window raise
    WaitingForArchive (the archive publishes them later).

    With `unavailable`, a file that cannot be fetched (checksum mismatch, corrupt zip, HTTP
    error, stall, a day missing between published days) is withheld alone: one Rejection
    naming file and reason is appended and the other periods go on. Only when the first
    VENUE_DOWN_STREAK files all fail is the error raised (the venue is down)."""
    monthly = dataset(name).monthly
    progress = Progress(log, f"{name} {symbol} fetch", len(periods))
    files: list[FetchedFile] = []
    missing: list[tuple[str, NotYetPublished]] = []
    failed = 0
    for period in periods:
        try:
            files.append(source.fetch(name, symbol, period))
        except NotYetPublished as exc:
            if monthly:
                log.warning(f"{exc}; it is loaded when the archive publishes it")
                pending.append(period)
            elif unavailable is None:
                raise WaitingForArchive(exc, period) from exc
            else:
                missing.append((period, exc))
        except SourceError as exc:
            failed += 1
            if unavailable is None or (not files and failed >= VENUE_DOWN_STREAK):
                raise
            unavailable.append(_unavailable(name, symbol, period, "fetch", exc))
            log.error(f"withheld {unavailable[-1].message}")
        progress.step()
    fetched = {f.period for f in files} | {r.period for r in unavailable or ()}
    for period, exc in missing:
        if not any(p > period for p in fetched):  # the window's last days: not published yet
            raise WaitingForArchive(exc, period) from exc
        assert unavailable is not None
        unavailable.append(_unavailable(name, symbol, period, "published", exc))
        log.error(f"withheld {unavailable[-1].message}")
    return files


def _unavailable(name: str, symbol: str, period: str, rule: str, exc: Exception) -> Rejection:
    """A file that could not be fetched, as a rejection of its period (nothing of it loaded)."""
    relpath = archive_relpath(name, symbol, period)
    reason = " ".join(str(exc).split()).removeprefix(f"{relpath}: ")
    return Rejection(f"unavailable:{relpath}", relpath, period, rule, None, f"{relpath}: {reason}")


def _ingest_binance(
    connect: Connect,
    settings: Settings,
    name: str,
    start: date,
    end: date,
    log: Log,
    result: IngestResult,
) -> None:
    """The Binance archive path: every configured symbol, into `result` (see module doc)."""
    spec = dataset(name)
    require_tiers([DEFAULT_VENUE], settings.symbols, tiers_file_from_env())
    source = make_source(settings)
    periods = periods_for_window(name, start, end)
    try:
        for symbol in settings.symbols:
            symbol_pending: list[str] = []
            unavailable: list[Rejection] = []
            try:
                files = fetch_window(
                    source, name, symbol, periods, symbol_pending, log, unavailable
                )
            except WaitingForArchive as exc:
                log.error(f"{spec.asset} {symbol}: {exc}; other symbols continue")
                result.waiting[symbol] = exc
                continue
            result.pending.extend(symbol_pending)
            with connect() as conn:
                loaded = load_files(
                    conn,
                    name,
                    symbol,
                    files,
                    start,
                    end,
                    source_name=settings.source,
                    unavailable=unavailable,
                )
                result.rows += loaded.rows
                cached = {f.relpath: f.path for f in files}
                for rejected in loaded.rejections:
                    if rejected.relpath not in cached:
                        continue  # not fetched: withheld (logged above), nothing cached
                    log.error(f"rejected {rejected.message}")
                    # Evict it so the next run fetches the file again (it may be republished).
                    cached[rejected.relpath].unlink(missing_ok=True)
                result.rejections.extend(loaded.rejections)
                result.outcomes.append(
                    CheckOutcome(
                        FILES_VALID_CHECK,
                        not loaded.rejections,
                        [(r.message, 1) for r in loaded.rejections],
                    )
                )
                bad = {r.period for r in loaded.rejections}
                verified = [f.period for f in files if f.period not in bad]
                if name == "funding" and settings.source == "binance":
                    result.rest_days += fill_pending_from_rest(
                        conn, settings.binance_fapi_url, symbol, symbol_pending, start, end, log
                    )
                if name == "funding":
                    # Months that were pending while their days were loaded: reload them
                    # now that the archive has published them.
                    for month, rows in catch_up_funding(
                        conn,
                        source,
                        symbol,
                        start,
                        end,
                        first_day=settings.start_date,
                        source_name=settings.source,
                        skip=symbol_pending,
                    ):
                        log.info(
                            f"{spec.asset}: caught up {symbol} {month} ({rows} rows), "
                            "published after its days were loaded"
                        )
                        result.caught_up.append(f"{symbol} {month}")
                        verified.append(month)
                        result.rows += rows
                        result.files += 1
                result.outcomes.extend(check_dataset(conn, name, symbol, start, end))
                result.outcomes.append(
                    check_files_verified(conn, name, symbol, verified, settings.cache_dir)
                )
            result.files += len(files)
    finally:
        source.close()
    if result.waiting and len(result.waiting) == len(settings.symbols):
        raise next(iter(result.waiting.values()))


def _ingest_bybit(
    connect: Connect,
    settings: Settings,
    name: str,
    start: date,
    end: date,
    log: Log,
    result: IngestResult,
) -> bool:
    """The Bybit REST path (transforms.raw.bybit_ingest), into `result`; False when every
    symbol failed."""
    bybit = ingest_bybit(connect, settings, name, start, end, log)
    result.rows += bybit.rows
    result.files += bybit.days
    result.outcomes.extend(bybit.outcomes)
    result.provisional += [f"{BYBIT} {p}" for p in bybit.provisional]
    if bybit.failures:
        result.failed_venues[BYBIT] = bybit.summary()
    return not bybit.failed_everywhere(settings.symbols)


def ingest_window(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> IngestResult:
    """Load dataset `name` for days [start, end) of every configured symbol and venue (see
    module doc). Raises only when every venue failed: Binance's own error when Binance is
    configured (e.g. WaitingForArchive, retried later), else VenuesFailed."""
    result = IngestResult()
    binance_error: SourceError | None = None
    succeeded = 0
    for venue in settings.venues:
        if venue == ARCHIVE_VENUE:
            try:
                _ingest_binance(connect, settings, name, start, end, log, result)
                succeeded += 1
            except SourceError as exc:
                binance_error = exc
                result.failed_venues[venue] = f"{venue} {name}: {exc}"
                if len(settings.venues) > 1:
                    log.error(f"{result.failed_venues[venue]}; the other venues continue")
        elif venue == BYBIT:
            succeeded += _ingest_bybit(connect, settings, name, start, end, log, result)
        else:
            raise ConfigError(f"LIQMAP_VENUES: no raw loader for venue {venue!r}")
    if not succeeded:
        if binance_error is not None:
            raise binance_error
        raise VenuesFailed(f"{name}: every venue failed: {result.failed_summary()}")
    return result
