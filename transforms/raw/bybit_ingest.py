"""One raw dataset over a window of days from Bybit, for every configured symbol.

For each symbol: fetch the window's days (`BybitSource.fetch_day`: verified day cache, else the
API) a month at a time, replacing each batch's venue 'bybit' rows in one transaction
(transforms.raw.bybit_load), and run the registry's checks for venue 'bybit'. In the klines
ingest (once per run) each symbol's risk-limit tiers are also snapshotted into
ref.leverage_brackets (venue 'bybit', effective_date = today).

A failure (Bybit down, HTTP 403 ban or 451, connection refused, retCode errors, a truncated or
malformed page) stops that symbol at the failing day: the days fetched before it still load,
nothing of the failing day does, and the failure is returned as one line naming venue,
dataset, symbol, day and reason. A failure that is about the venue rather than the symbol's
data (ban, rate limit, HTTP or connection errors) also skips the remaining symbols, which would
only wait for the same deadline. No Dagster here; transforms.raw.ingest calls `ingest_bybit`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

import duckdb

from transforms.config import Settings
from transforms.progress import Progress
from transforms.raw.bybit_load import (
    BYBIT_DATASET,
    BybitLoadError,
    replace_days,
    replace_tier_snapshot,
)
from transforms.raw.quality import (
    FILES_VALID_CHECK,
    CheckOutcome,
    check_dataset,
    check_files_verified,
)
from transforms.raw.venues.bybit.errors import (
    BybitApiError,
    BybitError,
    BybitFormatError,
    CacheCorrupt,
)
from transforms.raw.venues.bybit.feed import BybitFeed, open_bybit_feed
from transforms.raw.venues.bybit.settings import BybitSettings
from transforms.raw.venues.bybit.source import VENUE, BybitDay

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

#: days fetched, then loaded in one transaction (bounds memory: a month of klines ~10 MB)
BATCH_DAYS = 31
#: errors about one symbol's data; any other BybitError is about the venue (skip the rest)
_SYMBOL_ERRORS = (BybitFormatError, BybitApiError, CacheCorrupt, BybitLoadError)


class Log(Protocol):
    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...

    def error(self, msg: str) -> None: ...


@dataclass
class BybitIngest:
    """What one dataset's Bybit window did, across symbols."""

    rows: int = 0
    days: int = 0
    outcomes: list[CheckOutcome] = field(default_factory=list)
    #: symbol -> one line naming venue, dataset, symbol, day and reason
    failures: dict[str, str] = field(default_factory=dict)
    #: "<SYMBOL> <day>": loaded but not final (in progress or short), so not recorded verified
    provisional: list[str] = field(default_factory=list)
    tiers: dict[str, int] = field(default_factory=dict)  # symbol -> tiers snapshotted
    requests: int = 0  # HTTP requests sent to Bybit (retries included)

    def failed_everywhere(self, symbols: tuple[str, ...]) -> bool:
        return bool(symbols) and all(s in self.failures for s in symbols)

    def summary(self) -> str:
        return "; ".join(self.failures.values())


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _venue_wide(exc: BybitError) -> bool:
    return not isinstance(exc, _SYMBOL_ERRORS)


def _fetch(
    feed: BybitFeed, name: str, symbol: str, days: list[date], progress: Progress
) -> tuple[list[BybitDay], tuple[date, BybitError] | None]:
    """The days fetched in order until the first failure (returned with its day)."""
    fetched: list[BybitDay] = []
    for day in days:
        try:
            fetched.append(feed.source.fetch_day(BYBIT_DATASET[name], symbol, day))
        except BybitError as exc:
            return fetched, (day, exc)
        progress.step()
    return fetched, None


def ingest_bybit(
    connect: Connect,
    settings: Settings,
    name: str,
    start: date,
    end: date,
    log: Log,
    bybit: BybitSettings | None = None,
    now: Callable[[], datetime] | None = None,
) -> BybitIngest:
    """Load registry dataset `name` from Bybit for days [start, end) of every configured
    symbol (see module doc). Failures are returned, never raised. `now` is the clock that
    decides which days are over (the nowcast passes its own)."""
    result = BybitIngest()
    days = _days(start, end)
    with open_bybit_feed(settings, bybit, now) as feed:
        venue_down: str | None = None
        for symbol in settings.symbols:
            if venue_down is not None:
                result.failures[symbol] = f"{VENUE} {name} {symbol}: skipped, {venue_down}"
                log.error(result.failures[symbol])
                continue
            feed.prepare(symbol, BYBIT_DATASET[name], days)
            progress = Progress(log, f"{VENUE} {name} {symbol} fetch", len(days), unit="days")
            reasons: list[str] = []
            verified: list[str] = []
            with connect() as conn:
                for first in range(0, len(days), BATCH_DAYS):
                    fetched, failure = _fetch(
                        feed, name, symbol, days[first : first + BATCH_DAYS], progress
                    )
                    loaded = replace_days(
                        conn, name, symbol, fetched, settings.cache_dir, feed.settings.oi_sides
                    )
                    result.rows += loaded.rows
                    result.days += len(loaded.days)
                    verified += loaded.verified
                    reasons += loaded.refused.values()
                    result.provisional += [
                        f"{symbol} {d.period}"
                        for d in fetched
                        if not d.final and d.period not in loaded.refused
                    ]
                    if failure is not None:
                        day, exc = failure
                        reasons.append(f"{VENUE} {name} {symbol} {day}: {exc}")
                        if _venue_wide(exc):
                            venue_down = f"Bybit failed on {symbol} {day}: {exc}"
                        break
                if name == "klines_1m" and venue_down is None:
                    reasons += _snapshot_tiers(conn, feed, symbol, result)
                if reasons:
                    result.failures[symbol] = "; ".join(reasons)
                    log.error(result.failures[symbol])
                result.outcomes += _checks(conn, settings, name, symbol, start, end, verified)
                result.outcomes.append(
                    CheckOutcome(FILES_VALID_CHECK, not reasons, [(r, 1) for r in reasons])
                )
        result.requests = feed.source.client.requests
    return result


def _snapshot_tiers(
    conn: duckdb.DuckDBPyConnection, feed: BybitFeed, symbol: str, result: BybitIngest
) -> list[str]:
    """Today's risk-limit tiers into ref.leverage_brackets; a failure is returned as a line."""
    feed.prepare_snapshot(symbol)
    try:
        snapshot = feed.source.fetch_risk_limits(symbol)
        result.tiers[symbol] = replace_tier_snapshot(conn, snapshot)
    except BybitError as exc:
        return [f"{VENUE} risk_limit {symbol}: {exc}"]
    return []


def _checks(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    name: str,
    symbol: str,
    start: date,
    end: date,
    verified: list[str],
) -> list[CheckOutcome]:
    """The registry's checks on venue 'bybit' rows; failing days are named with the market."""
    outcomes = check_dataset(conn, name, symbol, start, end, venue=VENUE)
    outcomes.append(
        check_files_verified(conn, name, symbol, verified, settings.cache_dir, venue=VENUE)
    )
    return [
        CheckOutcome(o.name, o.passed, [(f"{VENUE} {symbol} {d}", n) for d, n in o.failures])
        for o in outcomes
    ]
