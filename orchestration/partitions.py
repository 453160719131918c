"""The one daily partitions definition every partitioned asset shares.

Sharing a single definition (same start date, UTC) keeps single-run backfills from being
chunked unpredictably when assets disagree about their first day.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from transforms.config import load_settings

START_DATE: date = load_settings().start_date

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), timezone="UTC", fmt="%Y-%m-%d"
)


def partition_window(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """[start, end) of the run's partitions as dates; works for one day and for a range."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def window_label(start: date, end_exclusive: date) -> str:
    """A partition window as users read dates: inclusive ('2026-01-01..2026-01-07', or one
    day alone), never the exclusive end Dagster's time window carries."""
    last = end_exclusive - timedelta(days=1)
    return start.isoformat() if last <= start else f"{start}..{last}"
