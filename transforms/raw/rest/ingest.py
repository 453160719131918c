"""The window loop every REST venue shares: fetch days, load them in batches, snapshot tiers.

For each symbol: fetch the window's days (`feed.source.fetch_day`: the venue's verified day
cache, else its API) a batch at a time, replacing each batch's rows of the venue in one
transaction (the venue's `replace_days`), and run the registry's checks for the venue. In the
klines ingest (once per run) each symbol's tiers are also snapshotted into
ref.leverage_brackets (effective_date = today).

A failure (the venue down, banned, HTTP 451, connection refused, error codes, a truncated or
malformed page) stops that symbol at the failing day: the days fetched before it still load,
nothing of the failing day does, and the failure is returned as one line naming venue,
dataset, symbol, day and reason. A failure that is about the venue rather than the symbol's
data (ban, rate limit, HTTP or connection errors) also skips the remaining symbols, which would
only wait for the same deadline. A day the venue no longer serves (older than it keeps,
`RestVenue.out_of_reach`) is "not collected": skipped, named in `VenueResult.not_collected`,
never a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from transforms.config import Settings
from transforms.progress import Progress
from transforms.raw.quality import (
    FILES_VALID_CHECK,
    CheckOutcome,
    check_markets,
    check_markets_files,
)
from transforms.raw.results import Connect, Log, VenueResult, progress_every

if TYPE_CHECKING:
    from transforms.raw.fetch_ahead import Ahead

#: days fetched, then loaded in one transaction (bounds memory: a month of klines ~10 MB)
BATCH_DAYS = 31


class Loaded(Protocol):
    rows: int
    days: list[date]
    verified: list[str]
    refused: dict[str, str]  # period -> why nothing of it was loaded


@dataclass(frozen=True)
class RestVenue:
    """What the shared loop needs from one REST venue's package."""

    name: str
    label: str
    #: raw dataset (transforms.raw.tables) -> the venue's dataset it is loaded from
    dataset_of: dict[str, str]
    #: the venue's base error, and those of it about one symbol's data (not the venue)
    error: type[Exception]
    symbol_errors: tuple[type[Exception], ...]
    #: raised by fetch_day for a day the venue no longer serves: "not collected"
    out_of_reach: type[Exception] | None
    open_feed: Callable[[Settings], AbstractContextManager[Any]]
    #: (conn, raw dataset, symbol, fetched days, cache_dir, feed) -> Loaded
    replace_days: Callable[..., Loaded]
    #: (conn, feed, symbol) -> tiers stored; raises `error`
    snapshot_tiers: Callable[[duckdb.DuckDBPyConnection, Any, str], int]
    #: the tier endpoint's name in failure lines
    tiers_label: str = "tiers"

    def ingest(
        self,
        connect: Connect,
        settings: Settings,
        name: str,
        start: date,
        end: date,
        log: Log,
        ahead: Ahead | None = None,
    ) -> VenueResult:
        """Load raw dataset `name` from this venue for days [start, end) of every configured
        symbol (see module doc): the venue package's `ingest`. Failures are returned, never
        raised. `ahead`: the days a fetch-ahead child sent (transforms.raw.fetch_ahead)."""
        return ingest_days(self, connect, settings, name, start, end, log, ahead)

    def prefetch(
        self, settings: Settings, name: str, start: date, end: date
    ) -> Iterator[tuple[str, date, Any]]:
        """Raw dataset `name`'s days [start, end) of every configured symbol, fetched as the
        ingest fetches them (validated, cached when final) and yielded in its order as
        (symbol, day, the day, its error or None), nothing loaded: transforms.raw.fetch_ahead
        runs it in a child process while the venues before this one load. A day already
        cached is None (the ingest reads it itself); a failing day is its error (the ingest
        raises it there, so a failure is the one the child met, not a second attempt); a
        symbol stops at its first failing day and a failure about the venue ends it, as in
        the ingest."""
        days = window_days(start, end)
        dataset = self.dataset_of[name]
        with self.open_feed(settings) as feed:
            cache = feed.source.cache
            for symbol in settings.symbols:
                cached = {
                    d
                    for d in days
                    if cache.sidecar(cache.path_for(dataset, symbol, d.isoformat())).is_file()
                }
                if len(cached) < len(days):
                    feed.prepare(symbol, dataset, days)
                failed = False
                for day in days:
                    got: Any = None
                    if not failed and day not in cached:
                        try:
                            got = feed.source.fetch_day(dataset, symbol, day)
                        except self.error as exc:
                            got = exc  # the ingest raises it for that day
                            reach = self.out_of_reach
                            if not (reach is not None and isinstance(exc, reach)):
                                if not isinstance(exc, self.symbol_errors):
                                    yield symbol, day, got
                                    return
                                failed = True
                    yield symbol, day, got


def window_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _fetch(
    venue: RestVenue,
    feed: Any,
    name: str,
    symbol: str,
    days: Sequence[date],
    progress: Progress,
    skipped: list[date],
    ahead: Ahead | None = None,
) -> tuple[list[Any], tuple[date, Exception] | None]:
    """The days fetched in order until the first failure (returned with its day); days out
    of the venue's reach are appended to `skipped`. A day `ahead` holds (or its error) is taken
    from it."""
    fetched: list[Any] = []
    for day in days:
        got = ahead.take(symbol, day) if ahead is not None else None
        if got is None and ahead is not None:
            feed.prepare(symbol, venue.dataset_of[name], [day])  # fetched here after all
        try:
            if isinstance(got, Exception):
                raise got  # the child's fetch of the day failed
            if got is None:
                got = feed.source.fetch_day(venue.dataset_of[name], symbol, day)
            fetched.append(got)
        except venue.error as exc:
            if venue.out_of_reach is not None and isinstance(exc, venue.out_of_reach):
                skipped.append(day)
            else:
                return fetched, (day, exc)
        progress.step()
    return fetched, None


def ingest_days(
    venue: RestVenue,
    connect: Connect,
    settings: Settings,
    name: str,
    start: date,
    end: date,
    log: Log,
    ahead: Ahead | None = None,
) -> VenueResult:
    """Load raw dataset `name` from `venue` for days [start, end) of every configured symbol
    (see module doc). Failures are returned, never raised. `ahead`: see RestVenue.ingest."""
    result = VenueResult()
    days = window_days(start, end)
    v = venue.name
    # (symbol, periods verified, days not collected, failure lines): checked once for all
    checked: list[tuple[str, list[str], list[date], list[str]]] = []
    with venue.open_feed(settings) as feed:
        venue_down: str | None = None
        for symbol in settings.symbols:
            if venue_down is not None:
                result.failures[symbol] = f"{v} {name} {symbol}: skipped, {venue_down}"
                log.error(result.failures[symbol])
                continue
            if ahead is None:  # else only for a day the child did not send (_fetch)
                feed.prepare(symbol, venue.dataset_of[name], days)
            progress = Progress(
                log,
                f"{v} {name} {symbol} fetch",
                len(days),
                unit="days",
                every=progress_every(len(days)),
            )
            reasons: list[str] = []
            verified: list[str] = []
            skipped: list[date] = []
            with connect() as conn:
                for first in range(0, len(days), BATCH_DAYS):
                    fetched, failure = _fetch(
                        venue, feed, name, symbol, days[first : first + BATCH_DAYS], progress,
                        skipped, ahead,
                    )  # fmt: skip
                    loaded = venue.replace_days(
                        conn, name, symbol, fetched, Path(settings.cache_dir), feed
                    )
                    result.rows += loaded.rows
                    result.files += len(loaded.days)
                    result.loaded[symbol] = result.loaded.get(symbol, 0) + len(loaded.days)
                    verified += loaded.verified
                    reasons += loaded.refused.values()
                    result.provisional += [
                        f"{symbol} {d.period}"
                        for d in fetched
                        if not d.final and d.period not in loaded.refused
                    ]
                    if failure is not None:
                        day, exc = failure
                        reasons.append(f"{v} {name} {symbol} {day}: {exc}")
                        if not isinstance(exc, venue.symbol_errors):
                            venue_down = f"{venue.label} failed on {symbol} {day}: {exc}"
                        break
                if skipped:
                    result.not_collected += [f"{symbol} {d}" for d in skipped]
                    log.warning(
                        f"{v} {name} {symbol}: {len(skipped)} day(s) not collected "
                        f"({skipped[0]}..{skipped[-1]}): older than {venue.label} keeps"
                    )
                if name == "klines_1m" and venue_down is None:
                    reasons += _snapshot_tiers(venue, conn, feed, symbol, result)
                if reasons:
                    result.failures[symbol] = "; ".join(reasons)
                    log.error(result.failures[symbol])
                checked.append((symbol, verified, skipped, reasons))
        if checked:
            with connect() as conn:
                result.outcomes += _checks(conn, v, settings, name, days, checked)
    return result


def _snapshot_tiers(
    venue: RestVenue, conn: duckdb.DuckDBPyConnection, feed: Any, symbol: str, result: VenueResult
) -> list[str]:
    """Today's tiers into ref.leverage_brackets; a failure is returned as a line."""
    feed.prepare_snapshot(symbol)
    try:
        result.tiers[symbol] = venue.snapshot_tiers(conn, feed, symbol)
    except venue.error as exc:
        return [f"{venue.name} {venue.tiers_label} {symbol}: {exc}"]
    return []


def _checks(
    conn: duckdb.DuckDBPyConnection,
    v: str,
    settings: Settings,
    name: str,
    days: list[date],
    checked: list[tuple[str, list[str], list[date], list[str]]],
) -> list[CheckOutcome]:
    """Per symbol, in load order: the registry's checks on the venue's rows of the collected
    days (a day not collected is not a failing day), checksums_verified, then files_valid
    (its failure lines); failing days are named with the market. One query each for all
    symbols (a symbol's rows are its own: checked after the loop as after its load)."""
    windows = {}
    for symbol, _, skipped, _ in checked:
        collected = [d for d in days if d not in set(skipped)]
        if collected:
            windows[symbol] = (collected[0], collected[-1] + timedelta(days=1))
    data = check_markets(conn, name, v, windows)
    files = check_markets_files(
        conn, name, {s: verified for s, verified, _, _ in checked}, settings.cache_dir, v
    )
    outcomes: list[CheckOutcome] = []
    for symbol, _, _, reasons in checked:
        mine = [*data.get(symbol, []), files[symbol]]
        outcomes += [
            CheckOutcome(o.name, o.passed, [(f"{v} {symbol} {d}", n) for d, n in o.failures])
            for o in mine
        ]
        outcomes.append(CheckOutcome(FILES_VALID_CHECK, not reasons, [(r, 1) for r in reasons]))
    return outcomes
