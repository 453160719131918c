"""Fetch-ahead: a later venue's window fetched by a child process while this process loads the
venues before it (issue 19: both cores at work on a long window).

A demo year's raw stage is two independent halves per dataset: Binance's archive files
(parsed, validated and inserted here: DuckDB has one writer) and Bybit's pages (the fake
server formatting them, HTTP, validation, the verified day cache). Loaded one venue after the
other, one core idles. Here a venue package that offers `prefetch` (the REST venues:
transforms.raw.rest.ingest.RestVenue.prefetch) fetches its window in one long-lived child
process (`python -m transforms.raw.fetch_ahead`, started at the first long window of a
process and reused by the later ones) while the venues before it load here. The child calls
the very `fetch_day` the ingest would (validated, cached when final) and sends each day back
as it is (its rows parsed: nothing is parsed twice), or the error it raised; the ingest takes
a day (or raises its error) from it, else (cached already, or not sent) fetches it itself, so
rows, failures and their lines are the ingest's own and only the time changes. A child that dies
is replaced at the next window; the ingest fetches what it did not send. An idle child exits
after IDLE_S, so it does not stay resident through the marts. With the synthetic source, the
child also generates the later symbols' Binance mirrors meanwhile (`mirrors_ahead`): this
process, which loads every Binance file and then every Bybit day, is the longer half.

Windows shorter than MIN_DAYS skip it: a daily run's few pages cost less than the child's
start (~0.6 s of CPU for its imports, once per process).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from transforms.config import Settings
from transforms.raw.packages import venue_package
from transforms.raw.results import Log

#: windows of fewer days are fetched by the venue's own ingest alone
MIN_DAYS = 32
#: the environment variable that turns fetch-ahead off (`0`) or sets MIN_DAYS: not a product
#: setting (tests and benchmarks compare with and without it)
ENV = "LIQMAP_FETCH_AHEAD_MIN_DAYS"
_HEADER = struct.Struct("!I")
#: a child with no request for this long exits (a run's raw assets follow each other closely)
IDLE_S = 30.0


def min_days(env: dict[str, str] | None = None) -> int | None:
    """MIN_DAYS, or the LIQMAP_FETCH_AHEAD_MIN_DAYS override; None when it is `0` (off)."""
    raw = (env if env is not None else os.environ).get(ENV, "").strip()
    if not raw:
        return MIN_DAYS
    if not raw.isdigit():
        raise ValueError(f"{ENV}={raw!r}: expected a whole number of days (0: off)")
    return int(raw) or None


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("the fetch-ahead pipe closed")
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the fetch-ahead pipe closed")
    return pickle.loads(data)


@dataclass(frozen=True)
class Request:
    venue: str
    settings: Settings
    name: str
    start: date
    end: date
    #: this process's environment when sent: a venue reads its LIQMAP_<VENUE>_* settings
    #: there, and a long-lived child must not keep an earlier window's
    env: dict[str, str]
    #: symbols whose synthetic Binance mirror the child generates meanwhile (`mirrors_ahead`)
    mirrors: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Error:
    """A day's error as sent: its class, args and attributes. Pickle would rebuild it by
    calling the class with its args, which an error with its own __init__ (BybitApiError's
    endpoint and codes) refuses; this rebuilds it without calling __init__."""

    cls: type[BaseException]
    args: tuple[Any, ...]
    state: dict[str, Any]

    def rebuilt(self) -> BaseException:
        exc = self.cls.__new__(self.cls, *self.args)
        exc.args = self.args
        exc.__dict__.update(self.state)
        return exc


class _Child:
    """The long-lived child process: one request at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "transforms.raw.fetch_ahead"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """End of input: the child exits when its request is done (atexit)."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.kill()


_lock = threading.Lock()
_child: _Child | None = None
#: child pid -> its CPU seconds so far, as its last reply said
_CHILD_CPU: dict[int, float] = {}


def child_cpu_seconds() -> float:
    """CPU seconds the fetch-ahead children of this process have spent, as of their last
    replies (benchmarks add it to the process's own: os.times() counts a child only once it
    has exited)."""
    return sum(_CHILD_CPU.values())


def _the_child() -> _Child:
    global _child
    if _child is None or not _child.alive():
        _child = _Child()
        atexit.register(_child.close)
    return _child


class Ahead:
    """One window sent to the child: its days as they arrive (a reader thread drains the
    pipe, so the child never waits for this process), taken by the ingest in its order."""

    def __init__(self, child: _Child, venue: str, log: Log):
        self.child = child
        self.venue = venue
        self.log = log
        self._days: dict[tuple[str, str], Any] = {}
        self._ended = False
        self._note = ""
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True, name="fetch-ahead")
        self._reader.start()

    def _read(self) -> None:
        stream = self.child.proc.stdout
        note = ""
        try:
            while True:
                assert stream is not None
                kind, *rest = _receive(stream)
                if kind == "end":
                    note, cpu = rest
                    _CHILD_CPU[self.child.proc.pid] = cpu
                    return
                symbol, period, day = rest
                if isinstance(day, _Error):
                    day = day.rebuilt()
                with self._cond:
                    self._days[(symbol, period)] = day
                    self._cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - a pipe closed, or a day that did not unpickle
            note = f"stopped ({type(exc).__name__}: {exc})"
            self.child.kill()
        finally:
            with self._cond:
                self._ended = True
                self._note = note
                self._cond.notify_all()

    def take(self, symbol: str, day: date) -> Any | None:
        """The child's day (its `fetch_day` result, or the error it raised), or None when it
        sent none (then the ingest fetches the day itself)."""
        key = (symbol, day.isoformat())
        with self._cond:
            while key not in self._days and not self._ended:
                self._cond.wait()
            return self._days.pop(key, None)

    def close(self) -> None:
        """The venue's load ended: a child still at work after a moment (the load failed or
        stopped early) is cut short; the days not taken are dropped."""
        self._reader.join(timeout=2.0)
        if self._reader.is_alive():
            self.child.kill()
            self._reader.join()
        self._days.clear()
        if self._note:  # the ingest met the cause itself, with its own line
            self.log.info(f"{self.venue} fetch-ahead: {self._note}")


def start(settings: Settings, name: str, first: date, end: date, log: Log) -> dict[str, Ahead]:
    """Fetch-ahead of days [first, end) for the first venue after the first configured one
    that offers `prefetch` (module doc): venue -> its Ahead, empty when the window is short."""
    least = min_days()
    if least is None or (end - first).days < least:
        return {}
    later = [v for v in settings.venues[1:] if hasattr(venue_package(v), "prefetch")]
    if not later:
        return {}
    venue = later[0]
    with _lock:
        try:
            child = _the_child()
            assert child.proc.stdin is not None
            env = dict(os.environ)
            request = Request(venue, settings, name, first, end, env, mirrors_ahead(settings))
            _send(child.proc.stdin, request)
        except (OSError, ValueError) as exc:
            log.warning(f"{venue} fetch-ahead not started ({exc}); the ingest fetches")
            return {}
        return {venue: Ahead(child, venue, log)}


def mirrors_ahead(settings: Settings) -> tuple[str, ...]:
    """The symbols whose synthetic Binance mirror the child generates while this process
    generates the first symbol's and loads (the demo: ~3 s of CPU per symbol-year, ~1/6 of
    this process's raw stage otherwise): the later symbols, the last first, when Binance is
    the venue loaded here and its source is the synthetic mirror. The mirror's lock makes
    each symbol's generation happen once (transforms.raw.synthetic.archive.ensure_mirror:
    whoever comes second waits for it and finds it written)."""
    if settings.source != "synthetic" or settings.venues[0] != "binance":
        return ()
    return tuple(reversed(settings.symbols[1:]))


def _generate_mirrors(request: Request) -> None:
    """The child's side of `mirrors_ahead` (a failure is the run's process's to meet: its own
    generation raises it with its line)."""
    from transforms.raw.synthetic import SyntheticSource

    source = SyntheticSource.from_settings(request.settings)
    for symbol in request.mirrors:
        try:
            source.ensure(symbol)
        except Exception:  # noqa: BLE001 - see the docstring
            return


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop until the parent closes the pipe: each request's days, as the venue's
    `prefetch` yields them, then its end (a line saying why it stopped early, or ""), while
    a thread generates the request's `mirrors` (joined before the next request is read)."""
    mirrors: list[threading.Thread] = []
    while True:
        if not select.select([requests], [], [], IDLE_S)[0]:
            break  # the raw stage is over: free the memory (a later window starts another)
        try:
            request: Request = _receive(requests)
        except EOFError:
            break
        for thread in mirrors:
            thread.join()  # (a later window's symbols: written already, checked at once)
        os.environ.clear()
        os.environ.update(request.env)
        if request.mirrors:
            mirrors = [threading.Thread(target=_generate_mirrors, args=(request,), daemon=True)]
            mirrors[0].start()
        prefetch: Callable[..., Iterator[tuple[str, date, Any]]]
        prefetch = venue_package(request.venue).prefetch
        note = ""
        try:
            for symbol, day, got in prefetch(
                request.settings, request.name, request.start, request.end
            ):
                if isinstance(got, BaseException):
                    got = _Error(type(got), got.args, dict(vars(got)))
                _send(replies, ("day", symbol, day.isoformat(), got))
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - the ingest meets it again, with its line
            note = f"{type(exc).__name__}: {exc}"
        _send(replies, ("end", note, time.process_time()))
    for thread in mirrors:
        thread.join()  # a mirror left half-written would be written again, whole


def main() -> None:
    """The child: Ctrl-C is the parent's to handle (it kills the child), and a parent gone
    (its pipe closed) ends the child quietly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # replies on the real stdout only: anything a library prints goes to stderr
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with contextlib.suppress(BrokenPipeError):
        serve(sys.stdin.buffer, out)


if __name__ == "__main__":
    # this module's own copy, not __main__'s: what the child pickles must name the module
    from transforms.raw.fetch_ahead import main as child_main

    child_main()
