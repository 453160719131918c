"""Progress lines for long steps: days done / total, rows, throughput, in the run log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol


class _Logger(Protocol):
    def info(self, msg: str) -> None: ...


@dataclass
class Progress:
    """Logs "<label>: i/n <unit> (x/s)" every `every` steps and at the end."""

    log: _Logger
    label: str
    total: int
    unit: str = "files"
    every: int = 30
    done: int = 0
    started: float = field(default_factory=time.perf_counter)

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.done == self.total or self.done % self.every == 0:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.log.info(
                f"{self.label}: {self.done}/{self.total} {self.unit} "
                f"({self.done / elapsed:.1f} {self.unit}/s, {elapsed:.1f}s)"
            )
