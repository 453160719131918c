"""The code location: every asset, check, schedule and sensor, with resources from env."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.marts import liquidation_model
from orchestration.assets.publish import report_site, warehouse_snapshot
from orchestration.assets.raw import raw_assets
from orchestration.assets.raw_liquidations import raw_liquidations
from orchestration.assets.realized_marts import realized_vs_modelled
from orchestration.assets.staging import stg_bars_5m
from orchestration.automation import daily_after_archive, daily_chain_job, late_archive_sensor
from orchestration.nowcast_job import hourly_nowcast, nowcast_job
from orchestration.resources import resources_from_settings

ALL_ASSETS = [
    *raw_assets,
    raw_liquidations,
    stg_bars_5m,
    liquidation_model,
    realized_vs_modelled,
    report_site,
    warehouse_snapshot,
]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[daily_chain_job, nowcast_job],
    schedules=[daily_after_archive, hourly_nowcast],
    sensors=[late_archive_sensor],
    resources=resources_from_settings(),
    executor=dg.in_process_executor,
)
