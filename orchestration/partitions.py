"""The one daily partitions definition every partitioned asset shares.

Sharing a single definition (same start date, UTC) keeps single-run backfills from being
chunked unpredictably when assets disagree about their first day.
"""

from __future__ import annotations

from datetime import date

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
