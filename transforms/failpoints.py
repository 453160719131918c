"""Named crash points for crash-safety tests: SIGKILL this process at a chosen spot.

`LIQMAP_FAILPOINT=name` kills at the first hit of `name`; `name:N` at the N-th. Unset (the
normal case) it costs one dict lookup. Tests use it to kill a real run mid-download,
mid-load, mid-model or mid-site and then check that a re-run leaves no trace of the crash.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Kill the process with SIGKILL if LIQMAP_FAILPOINT selects this hit of `name`."""
    spec = os.environ.get("LIQMAP_FAILPOINT")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
