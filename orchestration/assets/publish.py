"""Publication layer: the static report site and the read-only warehouse snapshot."""

from datetime import timedelta

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window
from orchestration.resources import ArchiveResource, WarehouseResource
from reports.site import build_site
from transforms.marts.coverage import describe_missing, missing_symbol_days
from transforms.marts.registry import ALL_MART_ASSETS
from transforms.publish import export_marts, publish_snapshot


@dg.asset(
    name="report_site",
    description="Static report site (site/): the window's day pages of every symbol plus the "
    "market overview, archives, feed and methodology. Past day pages are left untouched.",
    group_name="publish",
    kinds={"html"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=list(ALL_MART_ASSETS),
)
def report_site(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    start, end = partition_window(context)
    settings = archive.settings()
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    methodology = settings.project_root / "docs" / "methodology.md"
    with warehouse.connect() as conn:
        result = build_site(
            conn,
            settings.output_site_dir,
            settings.symbols,
            days,
            source=settings.source,
            methodology_md=methodology if methodology.exists() else None,
        )
    context.log.info(f"report_site: {len(result.pages_written)} files for {start}..{end}")
    for symbol, why in result.skipped.items():
        context.log.error(f"report_site {symbol}: {why}")
    return dg.MaterializeResult(
        metadata={
            "pages_written": len(result.pages_written),
            "site_dir": dg.MetadataValue.path(str(result.out_dir)),
            "bytes_total": result.bytes_total,
            "symbols": ", ".join(result.symbols),
            "skipped": "; ".join(f"{k}: {v}" for k, v in result.skipped.items()) or "none",
        }
    )


@dg.asset(
    name="warehouse_snapshot",
    description="Read-only copy of the warehouse plus Parquet exports of the marts, published "
    "atomically after each run so ad hoc queries never touch (or block) the live file.",
    group_name="publish",
    kinds={"duckdb", "parquet"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["report_site"],
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    settings = archive.settings()
    start, end = partition_window(context)
    with warehouse.connect() as conn:
        size = publish_snapshot(conn, settings.snapshot_path)
        counts = export_marts(conn, settings.exports_dir)
        missing = missing_symbol_days(conn, settings.symbols, start, end)
    context.log.info(f"snapshot published: {settings.snapshot_path} ({size:,} bytes)")
    if missing:
        # the other symbols' rows are in the snapshot and on the site; the run still fails
        raise dg.Failure(
            description=f"symbols without model rows for {start}..{end}: "
            f"{describe_missing(missing)} (archive day missing? see the raw assets' "
            "waiting_symbols)",
            metadata={"missing": describe_missing(missing)},
        )
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(settings.snapshot_path)),
            "bytes": size,
            **{f"rows_{k}": v for k, v in counts.items()},
        }
    )
