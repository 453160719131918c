"""For the few tests whose product path reads the system clock and cannot be pinned with
LIQMAP_NOW (a live collector's coverage, a REST source deciding which day is still in
progress): they start clear of a UTC midnight, so the day they read at their start is still
the day when they end, whatever hour the suite runs at."""

from __future__ import annotations

import time
from collections.abc import Callable

DAY_S = 86_400


def clear_of_midnight(
    margin_s: float = 120.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait for the next UTC day to begin when less than `margin_s` seconds are left of this
    one (a test takes a few seconds, a minute on a loaded machine); else return at once."""
    left = DAY_S - clock() % DAY_S  # POSIX time: every UTC day is 86 400 s
    if left < margin_s:
        sleep(left + 1.0)
