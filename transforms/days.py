"""UTC day arithmetic shared by every source: a day is [midnight, next midnight) in epoch ms."""

from __future__ import annotations

from datetime import UTC, date, datetime

DAY_MS = 86_400_000


def day_start_ms(day: date) -> int:
    """Midnight UTC of `day` in epoch milliseconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
