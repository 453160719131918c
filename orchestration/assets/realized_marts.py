"""Mart layer: realized liquidations beside the modelled ones, and the running calibration.

Thin: `transforms.marts.realized.update_realized_marts` does the work. Downstream of both the
loaded realized liquidations and the model's marts; a day without collection gets rows saying
"not collected", never zero.
"""

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.marts.realized import update_realized_marts
from transforms.marts.registry import MARTS, REALIZED_ASSET, REALIZED_MART_ASSETS


@dg.multi_asset(
    name=REALIZED_ASSET,
    description="Realized liquidations (collected) beside the modelled, per day, hour and "
    "move, and the calibration over every fully collected day.",
    specs=[
        dg.AssetSpec(
            key=name,
            description=f"{MARTS[name].description} Table `{MARTS[name].table}`.",
            group_name="marts",
            kinds={"duckdb"},
            deps=["raw_liquidations", "daily_metrics", "moves"],
            metadata={"table": MARTS[name].table},
        )
        for name in REALIZED_MART_ASSETS
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def realized_vs_modelled(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
):
    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    settings = archive.settings()
    with warehouse.connect() as conn:
        update = update_realized_marts(conn, tuple(settings.symbols), start, end, settings.venues)
    collected = {
        f"{venue}_days": f"{c} complete, {p} partial, {n} not collected"
        for venue, (c, p, n) in update.collected.items()
    }
    context.log.info(f"realized marts {span}: {update.rows}; {collected}")
    for name in REALIZED_MART_ASSETS:
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "rows": update.rows.get(name, 0),
                "window": span,
                **collected,
            },
        )
