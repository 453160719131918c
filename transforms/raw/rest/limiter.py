"""A sliding-window request limiter: a venue's published rate, never exceeded."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class SlidingWindowLimiter:
    """At most `max_requests` per `per_s` seconds (thread-safe); waits instead of exceeding."""

    def __init__(
        self,
        max_requests: int = 500,
        per_s: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_requests < 1 or per_s <= 0:
            raise ValueError("limiter needs max_requests >= 1 and per_s > 0")
        self.max_requests = max_requests
        self.per_s = per_s
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.per_s:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] + self.per_s - now
                self._sleep(pause)
                waited += pause
