"""Daily automation: a schedule for yesterday and a sensor that catches late archive days.

Neither opens DuckDB (they run in the daemon, beside runs). A day whose files are not
published yet is skipped with a visible reason and retried on the next tick; a day still
missing after `FLAG_AFTER_DAYS` is flagged in the tick's reason and the daemon log.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import dagster as dg

from orchestration.partitions import daily_partitions
from transforms.config import current_day, load_settings
from transforms.raw.packages import unpublished

LATE_WINDOW_DAYS = 7
FLAG_AFTER_DAYS = 3
MAX_FAILED_RUNS = 3
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
LAST_ASSET = dg.AssetKey("warehouse_snapshot")
# Each venue's package says what it has not published for a day yet (transforms.raw.packages:
# Binance probes its archive's daily files; a REST venue serves a finished day at once).

daily_chain_job = dg.define_asset_job(
    "daily_chain",
    selection=dg.AssetSelection.all(),
    description="Every partitioned asset, raw files to published site and snapshot.",
)


def _today() -> date:
    return current_day()  # the system's UTC day, or LIQMAP_NOW's when it pins the clock


def _decide(day: date, today: date, run_key: str) -> dg.RunRequest | str:
    """A run request when `day` is fully published, else the reason to wait.

    The synthetic source has no archive to wait for: every day of its market (which ends
    yesterday by default) is available at once; a day outside it is skipped, never flagged."""
    settings = load_settings()
    if settings.source == "synthetic" and not settings.start_date <= day <= settings.end_date:
        return (
            f"{day} is outside the synthetic market {settings.start_date}..{settings.end_date} "
            "(LIQMAP_START_DATE/LIQMAP_END_DATE); nothing to build"
        )
    missing = [m for v in settings.venues for m in unpublished(v, settings, day)]
    if not missing:
        key = day.isoformat()
        return dg.RunRequest(partition_key=key, run_key=run_key, tags={"liqmap/day": key})
    age = (today - day).days
    flag = f"FLAGGED: still missing {age} days later; " if age > FLAG_AFTER_DAYS else ""
    return f"{flag}waiting for the archive to publish {day}: {', '.join(missing[:4])}"


@dg.schedule(
    name="daily_after_archive",
    cron_schedule="45 8 * * *",
    execution_timezone="UTC",
    job=daily_chain_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 08:45 UTC, materialize yesterday's partition of the whole chain once the "
    "archive has published it; otherwise skip (late_archive_sensor retries).",
)
def daily_after_archive(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.astimezone(UTC).date()
    day = today - timedelta(days=1)
    decision = _decide(day, today, run_key=f"daily-{day.isoformat()}")
    return decision if isinstance(decision, dg.RunRequest) else dg.SkipReason(decision)


@dg.sensor(
    name="late_archive_sensor",
    job=daily_chain_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Hourly: launches any of the last 7 days not yet materialized whose files are "
    "now published; flags days missing for more than 3 days.",
)
def late_archive_sensor(context: dg.SensorEvaluationContext):
    today = _today()
    done = context.instance.get_materialized_partitions(LAST_ASSET)
    valid = set(daily_partitions.get_partition_keys())
    requests, waits = [], []
    for age in range(1, LATE_WINDOW_DAYS + 1):
        day = today - timedelta(days=age)
        key = day.isoformat()
        # a failed last run may still have materialized the snapshot (its blocking check
        # fails after the good days are published): the day is not done, retry it
        if key not in valid or (key in done and not _last_run_failed(context.instance, key)):
            continue
        if _runs(context.instance, key, IN_FLIGHT):
            waits.append(f"{key}: a run is in progress")
            continue
        failed = len(_runs(context.instance, key, [dg.DagsterRunStatus.FAILURE]))
        if failed >= MAX_FAILED_RUNS:
            message = f"FLAGGED: {key} failed {failed} runs; fix and re-run it from the UI"
            context.log.warning(message)
            waits.append(message)
            continue
        # A fresh run key per attempt: Dagster never launches the same key twice, and a day
        # whose run failed must be retried (the in-flight and materialized checks above stop
        # duplicates).
        decision = _decide(day, today, run_key=f"late-{key}-attempt-{failed + 1}")
        if isinstance(decision, dg.RunRequest):
            requests.append(decision)
        else:
            waits.append(decision)
            if decision.startswith("FLAGGED"):
                context.log.warning(decision)
    if requests:
        return requests
    return dg.SkipReason("; ".join(waits) or "all recent days are materialized")


def _last_run_failed(instance: dg.DagsterInstance, key: str) -> bool:
    """Whether the newest run of the daily chain for partition `key` failed."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": key}), limit=1)
    return bool(runs) and runs[0].status == dg.DagsterRunStatus.FAILURE


def _runs(instance: dg.DagsterInstance, key: str, statuses: list) -> list:
    """Runs of the daily chain for partition `key` in the given statuses."""
    return instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/partition": key}, statuses=statuses), limit=10
    )
