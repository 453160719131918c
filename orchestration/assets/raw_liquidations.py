"""Raw layer: realized liquidations collected by `liqmap collect`, loaded per UTC day.

Thin: `transforms.raw.realized.window.load_realized_window` does the work. Not upstream of
the model: a day without collection loads coverage rows saying "not collected".
"""

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.raw.realized.settings import VENUES
from transforms.raw.realized.window import load_realized_window


@dg.asset(
    name="raw_liquidations",
    description=(
        "Realized liquidations from the collector's closed hourly files (Bybit allLiquidation:"
        " complete; Binance forceOrder: throttled), sides normalised to the side liquidated."
        " Tables `raw.liquidations`, `raw.liquidation_coverage`."
    ),
    group_name="raw",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata={"table": "raw.liquidations"},
)
def raw_liquidations(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    result = load_realized_window(warehouse.connect, archive.settings(), start, end)
    days = (end - start).days
    coverage = {
        f"{venue}_days_collected": f"{result.collected_days(venue)} of {days}"
        f" ({result.complete_days(venue)} complete)"
        for venue in VENUES
    }
    context.log.info(f"raw_liquidations: {result.events} events for {span}; {coverage}")
    skipped = result.skipped
    for line in skipped[:20]:  # skipped, not fatal: realized data never blocks the model
        context.log.warning(f"raw_liquidations: skipped {line}")
    return dg.MaterializeResult(
        metadata={
            "events": result.events,
            "window": span,
            "skipped_lines": len(skipped),
            "first_skipped": skipped[0] if skipped else "none",
            **coverage,
        }
    )
