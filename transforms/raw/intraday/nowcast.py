"""One nowcast refresh: every configured market's day in progress from REST, staged, modelled.

For each market, the days to refresh are those of the last `back_days` days (and today) whose
rows are not final yet: Binance days without their archive files, Bybit days its source has not
cached as final. Binance comes from its keyless REST API (binance_rest.py), Bybit from its
existing REST source (the shared REST loop, transforms.raw.rest.ingest, with the nowcast's
clock), its day in progress cut at the last whole 5-minute bar like Binance's (so no venue's
last bar is half-built and the aggregate adds up the same bars). A market's days are
all fetched before any is loaded, and each is loaded in one transaction with its provisional
markers, so a failure loads nothing of the failing market: its previous rows (the last good
nowcast) stay, and `mart.nowcast` marks it stale with the one-line reason. A venue-wide failure
(418 ban, 451) skips that venue's remaining symbols without sending anything.

Then per symbol the staged bars of the refreshed days are rebuilt and the marts are rebuilt
through `transforms.marts.update.update_marts` (the daily build's own entry point) from the
newest stored day-end model state: only the day so far is modelled and written (and an
earlier refreshed day only while its bars are still changing), and the day in progress gets
no stored state. All of it on one warehouse connection, released while Binance is asked.
Nothing here imports Dagster or the site.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from transforms.changes import note_days
from transforms.config import Settings
from transforms.db import HeldConnection, transaction
from transforms.marts.update import IncompleteRawWindow, NoStagedBars, update_marts
from transforms.model.params import ModelParams
from transforms.raw.intraday.provisional import REST_DATASETS, load_rest_day, mark, prune
from transforms.raw.intraday.state import MarketState, record, sync_provisional_marts
from transforms.raw.rest.ingest import ingest_days
from transforms.raw.synthetic.market import shared_simulations
from transforms.raw.venues.binance.datasets import VENUE as ARCHIVE_VENUE
from transforms.raw.venues.binance.rest import (
    BanState,
    BinanceRestClient,
    RestBanned,
    RestDay,
    RestError,
    RestRestricted,
)
from transforms.raw.venues.bybit.feed import open_bybit_feed
from transforms.raw.venues.bybit.ingest import BYBIT as BYBIT_VENUE
from transforms.raw.venues.bybit.source import VENUE as BYBIT
from transforms.reference import load_tiers, tiers_file_from_env
from transforms.staging.bars import build_bars_5m
from transforms.venues import AGGREGATE_VENUE

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
#: days before today refreshed while their archive has not been published (it lands ~08:45)
DEFAULT_BACK_DAYS = 2
BYBIT_DATASETS = ("klines_1m", "mark_klines_1m", "metrics", "funding")
BINANCE_SOURCE, BYBIT_SOURCE = "binance-rest", "bybit-rest"

ARCHIVED_DAYS_SQL = """
SELECT CAST(period AS DATE) FROM raw.files
WHERE venue = $venue AND symbol = $symbol AND dataset = 'klines_1m'
  AND period >= $lo AND period <= $hi AND length(period) = 10
"""
#: days whose end-of-day model state is stored for every market ($markets) of the symbol
STATE_DAYS_SQL = """
SELECT day FROM mart.model_state
WHERE symbol = $symbol AND day >= $lo AND day < $today AND list_contains($markets, venue)
GROUP BY day HAVING count(DISTINCT venue) = len($markets)
"""
#: a day in progress ends at its last whole 5-minute bar, as Binance's REST rows do
#: (BinanceRestClient.fetch_day): minutes and points after `end` are dropped
TRIMMED_TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m")
TRIM_SQL = tuple(
    f"DELETE FROM raw.{table} WHERE venue = $venue AND symbol = $symbol AND day = $day "
    f"AND {column} {op} $end"
    for table, column, op in (
        ("klines_1m", "open_time", ">="),
        ("mark_klines_1m", "open_time", ">="),
        ("metrics_5m", "create_time", ">"),
    )
)
LAST_BAR_SQL = """
SELECT max(open_time) + INTERVAL 1 MINUTE FROM raw.klines_1m
WHERE venue = $venue AND symbol = $symbol AND day = $day
"""


class Log:
    """The logger protocol of the raw loaders (info / warning / error)."""

    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...

    def error(self, msg: str) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class NowcastResult:
    """What one refresh did: each market's state, the symbols modelled, the failures."""

    now: datetime
    day: date
    markets: list[MarketState] = field(default_factory=list)
    modelled: list[str] = field(default_factory=list)
    #: symbol -> (the stored day-end state its model continued from, None: the first bar;
    #: the first day whose mart rows it wrote)
    continued: dict[str, tuple[date | None, date]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # one line each
    seconds: float = 0.0
    #: seconds per step: prune, binance REST, binance load, bybit REST + load, staging,
    #: marts (model and mart rows), record
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def requests(self) -> dict[str, int]:
        """REST requests per market ("venue SYMBOL")."""
        return {f"{m.venue} {m.symbol}": m.requests for m in self.markets}


def _days(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def days_to_refresh(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, today: date, back_days: int
) -> list[date]:
    """Today and the recent days whose klines are not final (no raw.files row) yet."""
    lo = today - timedelta(days=back_days)
    params = {"venue": venue, "symbol": symbol, "lo": lo.isoformat(), "hi": today.isoformat()}
    final = {r[0] for r in conn.execute(ARCHIVED_DAYS_SQL, params).fetchall()}
    pending = [d for d in _days(lo, today) if d not in final]
    # only the run of days after the last final one: an older gap is the daily run's job
    last_final = max(final, default=None)
    return [d for d in pending if last_final is None or d > last_final]


@contextlib.contextmanager
def binance_client(
    settings: Settings,
    url: str | None,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    request_deadline_s: float,
) -> Iterator[BinanceRestClient]:
    """The REST client: `url`, else the synthetic market's local fake (offline demo), else
    LIQMAP_BINANCE_FAPI_URL. A 418 ban is remembered in the data folder across refreshes."""
    ban = BanState(settings.data_dir / "nowcast" / "binance-ban.json")
    server = None
    if url is None and settings.source == "synthetic":
        from transforms.raw.venues.binance.fake_rest import FakeBinanceRest, simulated_markets

        markets = simulated_markets(
            settings.symbols, settings.start_date, now().date(), settings.synthetic_seed
        )
        server = FakeBinanceRest(markets, now=now).start()
        url = server.url
    client = BinanceRestClient(
        url or settings.binance_fapi_url,
        now=now,
        sleep=sleep,
        request_deadline_s=request_deadline_s,
        ban=ban,
    )
    try:
        yield client
    finally:
        client.close()
        if server is not None:
            server.close()


def _refresh_binance(
    connect: Connect,
    settings: Settings,
    client: BinanceRestClient,
    today: date,
    back_days: int,
    now: datetime,
    log: Log,
    steps: dict[str, float],
) -> list[MarketState]:
    """Every symbol fetched (no warehouse connection held meanwhile), then the good ones
    loaded, each day in its own transaction."""
    t = time.perf_counter()
    states: list[MarketState] = []
    venue_down: str | None = None
    with connect() as conn:
        wanted = {
            s: days_to_refresh(conn, ARCHIVE_VENUE, s, today, back_days) for s in settings.symbols
        }
    if isinstance(connect, HeldConnection):
        connect.release()  # no warehouse lock held while waiting on the network
    fetched: dict[str, list[RestDay]] = {}
    for symbol in settings.symbols:
        state = MarketState(ARCHIVE_VENUE, symbol, today)
        states.append(state)
        if venue_down is not None:
            state.error = f"{ARCHIVE_VENUE} {symbol}: skipped, {venue_down}"
            continue
        before = client.requests
        days: list[RestDay] = []
        try:
            for day in wanted[symbol]:
                days.append(client.fetch_day(symbol, day))
        except RestError as exc:
            state.error = str(exc)
            if isinstance(exc, RestBanned | RestRestricted):
                venue_down = str(exc)
            continue
        finally:
            state.requests = client.requests - before
        fetched[symbol] = days
        state.days = wanted[symbol]
        today_rest = [r for r in days if r.day == today]
        if today_rest:
            state.as_of, state.premium = today_rest[0].as_of, today_rest[0].premium
    steps["binance REST"] = time.perf_counter() - t
    t = time.perf_counter()
    with connect() as conn:
        for symbol, days in fetched.items():
            for rest in days:
                if load_rest_day(conn, rest, BINANCE_SOURCE, now) is None:
                    log.info(f"nowcast {ARCHIVE_VENUE} {symbol} {rest.day}: archive loaded, kept")
    steps["binance load"] = time.perf_counter() - t
    return states


def _last_whole_bar_end(now: datetime) -> datetime:
    """The end of the last whole 5-minute bar at `now` (naive UTC)."""
    t = now.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
    return t - timedelta(minutes=t.minute % 5)


def _refresh_bybit(
    connect: Connect,
    settings: Settings,
    today: date,
    back_days: int,
    clock: Callable[[], datetime],
    log: Log,
) -> list[MarketState]:
    lo = today - timedelta(days=back_days)
    firsts: dict[str, date] = {}
    with connect() as conn:
        for symbol in settings.symbols:
            days = days_to_refresh(conn, BYBIT, symbol, today, back_days)
            firsts[symbol] = days[0] if days else today
    lo = min(firsts.values(), default=today)
    app = dataclasses.replace(settings, end_date=max(settings.end_date, today))
    states = {s: MarketState(BYBIT, s, today) for s in settings.symbols}
    provisional: set[str] = set()
    with open_bybit_feed(app, None, clock) as shared:

        @contextlib.contextmanager
        def feed(app_settings: Settings) -> Iterator[Any]:
            """One feed on the nowcast's clock (which days are over, what the demo serves)
            for every dataset: one client, one local server in the demo."""
            yield shared

        venue = dataclasses.replace(BYBIT_VENUE, open_feed=feed)
        for name in BYBIT_DATASETS:
            before = shared.source.client.requests
            result = ingest_days(venue, connect, app, name, lo, today + timedelta(days=1), log)
            provisional.update(result.provisional)
            sent = shared.source.client.requests - before
            share = sent // max(len(settings.symbols), 1)
            for symbol, state in states.items():
                state.requests += share
                if symbol in result.failures and state.error is None:
                    state.error = result.failures[symbol]
    now = clock()
    whole = _last_whole_bar_end(now)
    with connect() as conn:
        for symbol, state in states.items():
            state.days = _days(firsts[symbol], today)
            trim = {"venue": BYBIT, "symbol": symbol, "day": today, "end": whole}
            with transaction(conn):
                note_days(conn, TRIMMED_TABLES, [today])  # for the snapshot
                for sql in TRIM_SQL:
                    conn.execute(sql, trim)
            if not state.ok:
                continue
            for item in sorted(provisional):
                sym, _, day_text = item.partition(" ")
                if sym != symbol:
                    continue
                day = date.fromisoformat(day_text)
                as_of = conn.execute(
                    LAST_BAR_SQL, {"venue": BYBIT, "symbol": symbol, "day": day}
                ).fetchone()[0]
                if as_of is None:
                    continue
                mark(
                    conn,
                    BYBIT,
                    symbol,
                    day,
                    REST_DATASETS,
                    as_of,
                    now.astimezone(UTC).replace(tzinfo=None),
                    BYBIT_SOURCE,
                )
                if day == today:
                    state.as_of = as_of.replace(tzinfo=UTC)
    return list(states.values())


def refresh_nowcast(
    connect: Connect,
    settings: Settings,
    log: Log,
    *,
    now: Callable[[], datetime] = _utcnow,
    binance_url: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    params: ModelParams | None = None,
    back_days: int = DEFAULT_BACK_DAYS,
    request_deadline_s: float = 20.0,
) -> NowcastResult:
    """Refresh every configured market's day in progress and rebuild its marts (module doc).
    Never raises for a venue's failure: it is a line in `failures` and the market is stale."""
    started = time.perf_counter()
    t0 = now()
    today = t0.date()
    result = NowcastResult(t0, today)
    params = params or ModelParams()
    held = connect if isinstance(connect, HeldConnection) else HeldConnection(connect)
    try:
        with shared_simulations():  # the offline demo's fake venues: one simulation each
            _refresh(held, settings, log, now, binance_url, sleep, params, back_days,
                     request_deadline_s, result)  # fmt: skip
    finally:
        if held is not connect:
            held.release()
    result.failures = list(dict.fromkeys(m.error for m in result.markets if m.error))
    for line in result.failures:
        log.error(f"nowcast: {line}")
    result.seconds = time.perf_counter() - started
    return result


def _refresh(
    connect: HeldConnection,
    settings: Settings,
    log: Log,
    now: Callable[[], datetime],
    binance_url: str | None,
    sleep: Callable[[float], None],
    params: ModelParams,
    back_days: int,
    request_deadline_s: float,
    result: NowcastResult,
) -> None:
    """The steps of `refresh_nowcast` on one held warehouse connection (released while
    Binance is asked), each timed into `result.steps`."""
    t0, today, steps = result.now, result.day, result.steps
    t = time.perf_counter()
    with connect() as conn:
        prune(conn)
    steps["prune"] = time.perf_counter() - t
    if ARCHIVE_VENUE in settings.venues:
        with binance_client(settings, binance_url, now, sleep, request_deadline_s) as client:
            result.markets += _refresh_binance(
                connect, settings, client, today, back_days, t0, log, steps
            )
    if BYBIT in settings.venues:
        t = time.perf_counter()
        result.markets += _refresh_bybit(connect, settings, today, back_days, now, log)
        steps[f"{BYBIT} REST + load"] = time.perf_counter() - t
    with connect() as conn:
        load_tiers(conn, tiers_file_from_env())
        for symbol in settings.symbols:
            _model_symbol(conn, settings, symbol, today, params, result, log)
        t = time.perf_counter()
        record(conn, result.markets, t0)
        sync_provisional_marts(conn)
        steps["record"] = time.perf_counter() - t


def _add(steps: dict[str, float], name: str, since: float) -> None:
    steps[name] = steps.get(name, 0.0) + time.perf_counter() - since


def first_day_to_model(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    days: list[date],
    today: date,
    venues: tuple[str, ...],
) -> date:
    """The first refreshed day (of `days`, ascending) whose end-of-day model state is not
    stored for every market of the symbol, else today: the marts continue from the newest
    stored day-end state and model only the day so far. A stored state whose day's staged
    bars have changed since (a day completed from REST, its last bar refreshed by today's
    first open-interest point) is found stale by update_marts (transforms.marts.state), which
    then rewrites that day too: only the days whose bars changed are modelled again."""
    markets = [*venues, AGGREGATE_VENUE]
    params = {"symbol": symbol, "lo": days[0], "today": today, "markets": markets}
    stored = {r[0] for r in conn.execute(STATE_DAYS_SQL, params).fetchall()}
    return next((d for d in days if d < today and d not in stored), today)


def _model_symbol(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    symbol: str,
    today: date,
    params: ModelParams,
    result: NowcastResult,
    log: Log,
) -> None:
    """Stage the refreshed days of the symbol's good markets and rebuild its marts from the
    first day that needs it (first_day_to_model); a market that failed keeps its last good
    rows (modelled as they were). The day in progress gets no stored state."""
    markets = [m for m in result.markets if m.symbol == symbol]
    good = [m for m in markets if m.ok and m.days]
    if not good:
        return
    t = time.perf_counter()
    for m in good:
        build_bars_5m(conn, symbol, m.days[0], today + timedelta(days=1), m.venue)
    _add(result.steps, "staging", t)
    days = sorted({d for m in good for d in m.days})
    lo = first_day_to_model(conn, symbol, days, today, settings.venues)
    end = today + timedelta(days=1)
    t = time.perf_counter()
    try:
        update = update_marts(
            conn, symbol, params, lo, end, True, settings.venues, keep_last_state=False
        )
    except (NoStagedBars, IncompleteRawWindow) as exc:
        for m in good:
            m.error = f"nowcast model {symbol}: {exc}"
        return
    finally:
        _add(result.steps, "marts", t)
    result.modelled.append(symbol)
    result.continued[symbol] = (update.state_day, update.rewritten_from or lo)
    for venue, why in update.failed.items():
        log.warning(f"nowcast model {venue} {symbol}: {why}")
