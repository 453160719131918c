"""The hourly nowcast in Dagster: one op job (`nowcast`) and its schedule (running by default,
so `liqmap dev` refreshes the day in progress every hour). Not an asset of the daily chain:
the day in progress is no daily partition, and the daily job stays as it is.
"""

import functools
from datetime import UTC, datetime

import dagster as dg

from orchestration.nowcast import run_nowcast
from orchestration.resources import ArchiveResource, WarehouseResource


class NowcastConfig(dg.Config):
    """`now`: a pinned clock (ISO time, UTC) to replay a refresh; empty: the system clock."""

    now: str = ""


@dg.op(
    name="refresh_nowcast",
    description="Refresh every market's day in progress from REST (provisional rows), rebuild "
    "its marts, evaluate alerts.toml, publish the now view and the alerts feed, then deliver "
    "pending alerts to the webhooks. A failed market stays published, marked stale.",
)
def refresh_nowcast_op(
    context: dg.OpExecutionContext,
    config: NowcastConfig,
    warehouse: WarehouseResource,
    archive: ArchiveResource,
) -> dg.Output:
    settings = archive.settings()
    clock = {}
    if config.now:
        pinned = datetime.fromisoformat(config.now.replace("Z", "+00:00"))
        pinned = pinned if pinned.tzinfo else pinned.replace(tzinfo=UTC)
        clock["now"] = lambda: pinned
    # opened per use, not held for the run: the refresh frees the file during its REST fetches
    connect = functools.partial(warehouse.connect, hold=False)
    run = run_nowcast(settings, log=context.log, connect=connect, **clock)
    r = run.refresh
    metadata = {
        "day": r.day.isoformat(),
        "markets_ok": sum(m.ok for m in r.markets),
        "markets_stale": sum(not m.ok for m in r.markets),
        "requests": dg.MetadataValue.json(r.requests()),
        "alerts_fired": len(run.alerts),
        "delivered": run.delivery.delivered,
        "failures": "; ".join(run.lines()) or "none",
        "seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in run.seconds.items()}),
    }
    if not r.ok:
        # the stale markets stay published (with their last good as_of); the run says why
        raise dg.Failure(description="; ".join(r.failures), metadata=metadata)
    return dg.Output(None, metadata=metadata)


@dg.job(name="nowcast", description="Refresh the day in progress once (see refresh_nowcast).")
def nowcast_job() -> None:
    refresh_nowcast_op()


hourly_nowcast = dg.ScheduleDefinition(
    name="hourly_nowcast",
    job=nowcast_job,
    cron_schedule="7 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :07 UTC, refresh the day in progress (liqmap now).",
)
