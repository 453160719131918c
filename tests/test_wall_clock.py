"""tests/wall_clock.py: a test on the system clock starts clear of a UTC midnight."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.wall_clock import clear_of_midnight


def _at(hour: int, minute: int, second: int) -> float:
    return datetime(2026, 12, 6, hour, minute, second, tzinfo=UTC).timestamp()


def test_near_midnight_it_waits_for_the_next_day_and_else_not_at_all():
    for at, waited in (
        (_at(23, 59, 0), [61.0]),  # 60 s left: waits into the next day
        (_at(23, 57, 0), []),  # 180 s left: room enough
        (_at(0, 0, 0), []),
        (_at(12, 0, 0), []),
    ):
        slept: list[float] = []
        clear_of_midnight(120.0, clock=lambda at=at: at, sleep=slept.append)
        assert slept == waited, datetime.fromtimestamp(at, UTC)
        after = datetime.fromtimestamp(at + sum(slept), UTC)
        assert after.hour < 23 or after.minute < 58  # then 120 s or more are left of the day
