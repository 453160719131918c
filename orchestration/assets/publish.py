"""Publication layer: the static report site and the read-only warehouse snapshot.

The site's code (reports: Jinja2, Altair, ~0.4-1 s to import) is imported by the step that
builds it, not with the definitions: a run worker, the code server and a run without the
site do not load it.
"""

import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.nowcast import deliver, evaluate_and_publish_alerts
from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.marts.coverage import describe_missing, missing_symbol_days, not_collected_days
from transforms.marts.registry import ALL_MART_ASSETS
from transforms.publish import publish_snapshot, remove_stale_snapshot_temps
from transforms.raw.quality import MarketRejections, rejected_market_days, withheld_everywhere

DAYS_ACCEPTED_CHECK = "days_accepted"


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
    from reports.site import build_site
    from reports.writer import remove_stale_temp_files

    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    settings = archive.settings()
    methodology = settings.project_root / "docs" / "methodology.md"
    with warehouse.connect() as conn:
        # A day with a file rejected at load for every venue keeps its earlier page (or
        # gets none); a day rejected for some venues only is published naming them missing.
        rejected = withheld_everywhere(
            rejected_market_days(conn, settings.symbols, start, end),
            settings.venues,
            settings.symbols,
        )
        days = [
            start + timedelta(days=i)
            for i in range((end - start).days)
            if start + timedelta(days=i) not in rejected
        ]
        if not days:
            remove_stale_temp_files(settings.output_site_dir)
            context.log.warning(f"report_site: every day of {span} was rejected for every venue")
            return dg.MaterializeResult(
                metadata={"pages_written": 0, "rejected_days": len(rejected)}
            )
        # alerts are evaluated on every daily run too; the site's alerts feed shows them
        fired, alerts_error = evaluate_and_publish_alerts(conn, settings, datetime.now(UTC))
    # the site reads the marts only: read-only, so its symbols can be built in worker
    # processes that open the file too (reports.site_pool)
    with warehouse.connect(read_only=True) as conn:
        result = build_site(
            conn,
            settings.output_site_dir,
            settings.symbols,
            days,
            source=settings.source,
            methodology_md=methodology if methodology.exists() else None,
        )
    if alerts_error:
        context.log.error(f"alerts: {alerts_error}")
    for alert in fired:
        context.log.info(f"alert: {alert['title']}")
    context.log.info(f"report_site: {len(result.pages_written)} files for {span}")
    for symbol, why in result.skipped.items():
        context.log.error(f"report_site {symbol}: {why}")
    return dg.MaterializeResult(
        metadata={
            "pages_written": len(result.pages_written),
            "alerts_fired": len(fired),
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
    check_specs=[
        dg.AssetCheckSpec(
            name=DAYS_ACCEPTED_CHECK,
            asset="warehouse_snapshot",
            description="Every day of the run passed validation at load. Blocking and last: "
            "the good days are published first, then a rejected day fails the run, named.",
            blocking=True,
        )
    ],
)
def warehouse_snapshot(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    settings = archive.settings()
    removed = remove_stale_snapshot_temps(settings.snapshot_path, settings.exports_dir)
    if removed:
        context.log.info(f"removed {len(removed)} temp file(s) a killed run left")
    with warehouse.connect() as conn:
        # each market's rejected days: its raw rows of the day stay out of the snapshot
        markets = rejected_market_days(conn, settings.symbols, start, end)
        everywhere = withheld_everywhere(markets, settings.venues, settings.symbols)
        every_day_rejected = len(everywhere) == (end - start).days
        if not every_day_rejected:
            published = publish_snapshot(
                conn, settings.snapshot_path, withheld=markets, exports_dir=settings.exports_dir
            )
        # rejected days are named by the gate below; here only what else lacks model rows
        missing = {
            symbol: days
            for symbol, all_days in missing_symbol_days(conn, settings.symbols, start, end).items()
            if (
                days := [
                    d
                    for d in all_days
                    if d not in withheld_everywhere(markets, settings.venues, [symbol])
                ]
            )
        }
        # a venue without rows for a day: the aggregate of that day names it missing; a
        # forward-collected venue's days before its first collected day (or a gap) are named
        # not collected there instead, and do not fail the run
        for venue in settings.venues:
            for symbol, all_days in missing_symbol_days(
                conn, settings.symbols, start, end, venue
            ).items():
                skip = set(markets.get((venue, symbol), {})) | not_collected_days(
                    conn, venue, symbol, start, end
                )
                if symbol not in missing and (days := [d for d in all_days if d not in skip]):
                    missing[f"{venue} {symbol}"] = days
    # webhooks last, after publication: a hanging one never holds the site or snapshot back
    report = deliver(settings, warehouse.connect, datetime.now(UTC), time.sleep)
    for line in report.failed:
        context.log.warning(f"alerts: {line} (retried on the next refresh)")
    gate = _days_accepted(markets)
    if every_day_rejected:
        context.log.error(
            f"snapshot not republished: every day of {span} was rejected for every venue"
        )
        return dg.MaterializeResult(metadata={"published": False}, check_results=[gate])
    how = (
        f"{len(published.tables)} table(s), {published.partitions} partition(s) replaced"
        if published.mode == "incremental"
        else f"copied whole: {published.why}"
    )
    context.log.info(
        f"snapshot published: {settings.snapshot_path} ({published.size:,} bytes; {how}; "
        f"{len(published.exported)} Parquet export(s) rewritten)"
    )
    if missing:
        # the other symbols' rows are in the snapshot and on the site; the run still fails
        raise dg.Failure(
            description=f"markets without model rows for {span}: "
            f"{describe_missing(missing)} (archive day missing or venue down? see the raw "
            "assets' waiting_symbols and failed_venues)"
            + (f"; {gate.description}" if markets else ""),
            metadata={"missing": describe_missing(missing)},
        )
    return dg.MaterializeResult(
        metadata={
            "snapshot": dg.MetadataValue.path(str(settings.snapshot_path)),
            "bytes": published.size,
            "mode": published.mode,
            "tables_patched": len(published.tables),
            **{f"rows_{k}": v for k, v in published.rows.items()},
        },
        check_results=[gate],
    )


def _days_accepted(markets: MarketRejections) -> dg.AssetCheckResult:
    """The run's final gate: fails (ERROR, blocking) naming each rejected day, market and
    file (that market's day is withheld; the other venues' rows of the day are published)."""
    lines = [
        f"{day} {venue} {symbol}: {message}"
        for (venue, symbol), days in markets.items()
        for day, messages in days.items()
        for message in messages
    ]
    named = sorted(
        {(day, venue, symbol) for (venue, symbol), days in markets.items() for day in days}
    )
    return dg.AssetCheckResult(
        check_name=DAYS_ACCEPTED_CHECK,
        passed=not markets,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len({d for d, _, _ in named})} day(s) with a file rejected at load, withheld "
            "for that venue and symbol: "
            + ", ".join(f"{day} ({venue} {symbol})" for day, venue, symbol in named)
            if markets
            else "every day accepted"
        ),
        metadata={
            "rejected_days": len({d for d, _, _ in named}),
            "detail": "\n".join(lines[:50]),
        },
    )
