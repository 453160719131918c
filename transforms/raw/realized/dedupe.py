"""Drop redeliveries after a reconnect without merging genuine identical events.

A venue never repeats an event within one connection, but a new connection (after a drop,
a restart, or while a connection is being replaced) may deliver again what an earlier one
already did. Keys are therefore counted per connection: an event is a redelivery while the
connection delivering it has seen its key fewer times than the connection before it did.
Keys not seen for `horizon_ms` (2 minutes; neither venue replays older events) are forgotten,
so memory stays bounded during a cascade.
"""

from __future__ import annotations

from collections import Counter, deque

SEEDED = -1  # the connection id of keys read back from disk at start


class RedeliveryFilter:
    """Per-venue filter; `accept` says whether an event from connection `conn` is new."""

    def __init__(self, horizon_ms: int = 2 * 60 * 1000) -> None:
        self.horizon_ms = horizon_ms
        # key -> [connection, times seen on it, most seen on an earlier connection, last seen]
        self._state: dict[int, list[int]] = {}
        self._seen_at: deque[tuple[int, int]] = deque()

    def seed(self, keys: list[int], at_ms: int) -> None:
        """Treat keys already on disk (e.g. from before a restart) as an earlier connection."""
        for key, count in Counter(keys).items():
            self._state[key] = [SEEDED, count, 0, at_ms]
            self._seen_at.append((at_ms, key))

    def accept(self, key: int, now_ms: int, conn: int = 0) -> bool:
        """True if the event is new and should be written, False for a redelivery."""
        self._forget_before(now_ms - self.horizon_ms)
        self._seen_at.append((now_ms, key))
        entry = self._state.get(key)
        if entry is None:
            self._state[key] = [conn, 1, 0, now_ms]
            return True
        if entry[0] != conn:
            entry[0], entry[1], entry[2] = conn, 0, max(entry[1], entry[2])
        is_new = entry[1] >= entry[2]
        entry[1] += 1
        entry[3] = now_ms
        return is_new

    def __len__(self) -> int:
        return len(self._state)

    def _forget_before(self, cutoff_ms: int) -> None:
        while self._seen_at and self._seen_at[0][0] < cutoff_ms:
            at_ms, key = self._seen_at.popleft()
            entry = self._state.get(key)
            if entry is not None and entry[3] == at_ms:
                del self._state[key]
