"""A venue's ban, remembered across requests, assets and runs (a small file in the data dir).

After an IP ban (Bybit: HTTP 403 'access too frequent', at least 10 minutes) nothing may be
sent to the venue until the ban has passed: not by the client that was banned, not by the next
asset's client in the same run, not by the next run. The expiry is wall-clock time (epoch
seconds) so it survives the process; the file is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class VenueBan:
    """The ban recorded in `path` (absent file: no ban)."""

    def __init__(self, path: Path, clock=time.time):  # type: ignore[no-untyped-def]
        self.path = Path(path)
        self._clock = clock

    def seconds_left(self) -> float:
        """Seconds until the recorded ban ends (0 when none, expired or unreadable)."""
        try:
            until = float(json.loads(self.path.read_text())["until"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0
        return max(0.0, until - self._clock())

    def record(self, seconds: float, reason: str) -> None:
        """Remember a ban of `seconds` from now (keeps a longer one already recorded)."""
        until = max(self._clock() + seconds, self._clock() + self.seconds_left())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"until": until, "reason": reason[:300]}))
        os.replace(tmp, self.path)
