"""One raw dataset over a window of days from the Binance archive, for every configured symbol.

For each symbol: fetch the window's verified files (a file that cannot be fetched withholds
its day alone, see `fetch_window`; daily files not yet published at the window's end stop the
symbol with WaitingForArchive; a monthly funding file not yet published is recorded as pending
and the days proceed without it), replace the window's rows, fill pending funding from REST
(binance source), reload funding months published since their days were loaded, then run the
dataset's checks.

Before anything is fetched, every configured symbol must have maintenance tiers (the model
needs them): `require_tiers` fails fast with one line naming the tier file. Symbols are
independent: a symbol whose daily file is not published yet is recorded in `waiting` and the
other symbols' rows still load; when every symbol waits the shared loop raises
WaitingForArchive (then there is nothing to do until the archive publishes).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from transforms.config import Settings
from transforms.progress import Progress
from transforms.raw.errors import NotYetPublished, SourceError, WaitingForArchive
from transforms.raw.quality import (
    FILES_VALID_CHECK,
    CheckOutcome,
    check_markets,
    check_markets_files,
)
from transforms.raw.results import Connect, Log, VenueResult, progress_every
from transforms.raw.venues.binance.cache import FetchedFile, Source
from transforms.raw.venues.binance.datasets import (
    VENUE,
    archive_relpath,
    dataset,
    periods_for_window,
)
from transforms.raw.venues.binance.factory import make_source
from transforms.raw.venues.binance.funding import catch_up_funding, fill_pending_from_rest
from transforms.raw.venues.binance.loading import load_files
from transforms.raw.venues.binance.validation import Rejection
from transforms.reference.tiers import require_tiers, seed_tiers_path, tiers_file_from_env

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
    it; a later run's catch-up (transforms.raw.venues.binance.funding.catch_up_funding) loads
    it once published. Daily files not yet published at the end of the window raise
    WaitingForArchive (the archive publishes them later).

    With `unavailable`, a file that cannot be fetched (checksum mismatch, corrupt zip, HTTP
    error, stall, a day missing between published days) is withheld alone: one Rejection
    naming file and reason is appended and the other periods go on. Only when the first
    VENUE_DOWN_STREAK files all fail is the error raised (the venue is down)."""
    monthly = dataset(name).monthly
    progress = Progress(
        log, f"{name} {symbol} fetch", len(periods), every=progress_every(len(periods))
    )
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


#: (symbols, tier file, each file's (mtime_ns, size)) found with tiers in this process
_TIERS_FOUND: set[tuple[object, ...]] = set()


def _require_tiers(symbols: tuple[str, ...], tiers_file: Path | None) -> None:
    """`require_tiers` for this venue, read again only when a tier file changed: each raw
    dataset's ingest asks (parsing and checking the files cost ~10-20 ms each time)."""
    paths = [seed_tiers_path(), *([tiers_file] if tiers_file is not None else [])]
    try:
        stats = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    except OSError:  # a missing file: require_tiers names it
        stats = None
    key = (tuple(symbols), str(tiers_file), stats)
    if stats is not None and key in _TIERS_FOUND:
        return
    require_tiers([VENUE], symbols, tiers_file)
    if stats is not None:
        _TIERS_FOUND.add(key)


def ingest(
    connect: Connect, settings: Settings, name: str, start: date, end: date, log: Log
) -> VenueResult:
    """Load dataset `name` from the archive for days [start, end) of every configured symbol
    (see module doc)."""
    result = VenueResult()
    spec = dataset(name)
    _require_tiers(settings.symbols, tiers_file_from_env())
    source = make_source(settings)
    periods = periods_for_window(name, start, end)
    try:
        # Every symbol's files first, then their loads: the warehouse is not held while
        # files download, and the loads share one connection (transforms.raw.ingest holds
        # it for the dataset). The venue going down stops the fetches; the symbols fetched
        # before still load, then its error is raised.
        windows: list[tuple[str, list[FetchedFile], list[str], list[Rejection]]] = []
        down: SourceError | None = None
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
            except SourceError as exc:
                down = exc
                break
            windows.append((symbol, files, symbol_pending, unavailable))
        # (symbol, its files_valid outcome, periods verified): the checks run once for all
        checked: list[tuple[str, CheckOutcome, list[str]]] = []
        for symbol, files, symbol_pending, unavailable in windows:
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
                    if rejected.relpath not in cached or rejected.partial:
                        # not fetched (logged above), or only some days of it withheld: the
                        # file itself is good and stays cached
                        if rejected.partial:
                            log.error(f"withheld {rejected.message}")
                        continue
                    log.error(f"rejected {rejected.message}")
                    # Evict it so the next run fetches the file again (it may be republished).
                    cached[rejected.relpath].unlink(missing_ok=True)
                result.rejections.extend(loaded.rejections)
                files_valid = CheckOutcome(
                    FILES_VALID_CHECK,
                    not loaded.rejections,
                    [(r.message, 1) for r in loaded.rejections],
                )
                bad = {r.period for r in loaded.rejections if not r.partial}
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
                checked.append((symbol, files_valid, verified))
            result.files += len(files)
        if checked:
            result.outcomes += _checks(connect, settings, name, start, end, checked)
        if down is not None:
            raise down
    finally:
        source.close()
    return result


def _checks(
    connect: Connect,
    settings: Settings,
    name: str,
    start: date,
    end: date,
    checked: list[tuple[str, CheckOutcome, list[str]]],
) -> list[CheckOutcome]:
    """Per symbol, in load order: its files_valid outcome, the registry's checks over the
    window, then checksums_verified of its verified periods (one query each for all symbols:
    a symbol's rows are its own, so checking after every load is checking after its own)."""
    with connect() as conn:
        data = check_markets(conn, name, VENUE, {s: (start, end) for s, _, _ in checked})
        files = check_markets_files(
            conn, name, {s: verified for s, _, verified in checked}, settings.cache_dir, VENUE
        )
    return [o for s, valid, _ in checked for o in (valid, *data[s], files[s])]
