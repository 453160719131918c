"""Which stop signal ended a run, so `liqmap run` can say `interrupted` and exit 128 + signal.

Dagster replaces the SIGINT/SIGTERM handlers during a run (it turns both into an interrupt of
the current step and ends the run failed), so the handler cannot tell which signal arrived.
The signal module's wakeup fd can: Python writes the number of every handled signal to it,
whatever handler is installed. SIGTERM is also made an interrupt (KeyboardInterrupt) before
Dagster starts, so a stop during planning ends the same way instead of killing the process.
"""

from __future__ import annotations

import os
import signal
import threading
from types import TracebackType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalWatch:
    """Context manager recording SIGINT/SIGTERM received while it is active (main thread)."""

    def __init__(self) -> None:
        self._read = self._write = -1
        self._previous_fd = -1
        self._previous_term = None
        self._seen: list[int] = []
        self._active = False

    def __enter__(self) -> SignalWatch:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)
        self._active = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._active:
            return
        self._drain()
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGTERM, self._previous_term)
        os.close(self._read)
        os.close(self._write)
        self._active = False

    def _drain(self) -> None:
        if self._read < 0:
            return
        while True:
            try:
                data = os.read(self._read, 512)
            except BlockingIOError:
                return
            if not data:
                return
            self._seen += [n for n in data if n in STOP_SIGNALS]

    @property
    def stopped_by(self) -> int | None:
        """The first stop signal received so far (signal number), else None."""
        self._drain()
        return self._seen[0] if self._seen else None


def exit_status(signum: int) -> int:
    """The shell's convention: 128 + signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)
