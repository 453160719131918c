"""Progress of long steps: days/files done of total, throughput, in the run log.

Every update is also handed to in-process listeners (`subscribe`), which is how
`liqmap run` draws its progress bars without parsing log lines: the CLI executes the run in
its own process, so a step's Progress and the CLI's display share this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class _Logger(Protocol):
    def info(self, msg: str) -> None: ...


@dataclass(frozen=True)
class ProgressUpdate:
    """One step of a Progress: `done` of `total` `unit` after `elapsed` seconds."""

    label: str
    done: int
    total: int
    unit: str
    elapsed: float


Listener = Callable[[ProgressUpdate], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener` on every Progress step in this process; returns the unsubscribe."""
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


@dataclass
class Progress:
    """Logs "<label>: i/n <unit> (x/s)" every `every` steps and at the end (a loop of one
    step logs nothing: its step's own line says it, and each line is an event in Dagster's
    event log, 24 of a daily run's 40 lines); notifies listeners on every step."""

    log: _Logger
    label: str
    total: int
    unit: str = "files"
    every: int = 30
    done: int = 0
    started: float = field(default_factory=time.perf_counter)

    def step(self, n: int = 1) -> None:
        self.done += n
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        update = ProgressUpdate(self.label, self.done, self.total, self.unit, elapsed)
        with _lock:
            listeners = list(_listeners)
        for listener in listeners:
            listener(update)
        if (self.done == self.total and self.total > 1) or self.done % self.every == 0:
            self.log.info(
                f"{self.label}: {self.done}/{self.total} {self.unit} "
                f"({self.done / elapsed:.1f} {self.unit}/s, {elapsed:.1f}s)"
            )
