"""Drop redeliveries after a reconnect without merging genuine identical events.

A venue never repeats an event within one connection, but after a reconnect it may deliver
again what the previous connection already did. Keys are therefore counted as multisets: an
event is a redelivery while the current connection has seen its key fewer times than any
earlier connection did. Keys older than `horizon_ms` (2 minutes, by receive time; neither
venue replays older events) are forgotten, so memory stays bounded during a cascade.
"""

from __future__ import annotations

from collections import Counter, deque


class RedeliveryFilter:
    """Per-venue filter; call `new_connection()` on every (re)connect."""

    def __init__(self, horizon_ms: int = 2 * 60 * 1000) -> None:
        self.horizon_ms = horizon_ms
        self._earlier: Counter[int] = Counter()
        self._current: Counter[int] = Counter()
        self._seen_at: deque[tuple[int, int]] = deque()
        self._last_seen: dict[int, int] = {}

    def seed(self, keys: list[int], at_ms: int) -> None:
        """Treat keys already on disk (e.g. from before a restart) as an earlier connection."""
        seeded: Counter[int] = Counter(keys)
        for key, count in seeded.items():
            self._earlier[key] = max(self._earlier[key], count)
            self._note(key, at_ms)

    def new_connection(self) -> None:
        for key, count in self._current.items():
            self._earlier[key] = max(self._earlier[key], count)
        self._current = Counter()

    def accept(self, key: int, now_ms: int) -> bool:
        """True if the event is new and should be written, False for a redelivery."""
        self._forget_before(now_ms - self.horizon_ms)
        seen_now = self._current[key]
        self._current[key] = seen_now + 1
        self._note(key, now_ms)
        return seen_now >= self._earlier.get(key, 0)

    def __len__(self) -> int:
        return len(self._last_seen)

    def _note(self, key: int, at_ms: int) -> None:
        self._last_seen[key] = at_ms
        self._seen_at.append((at_ms, key))

    def _forget_before(self, cutoff_ms: int) -> None:
        while self._seen_at and self._seen_at[0][0] < cutoff_ms:
            at_ms, key = self._seen_at.popleft()
            if self._last_seen.get(key) == at_ms:
                del self._last_seen[key]
                self._earlier.pop(key, None)
                self._current.pop(key, None)
