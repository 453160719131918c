"""Raw layer: one asset per registered dataset, loading one UTC day per partition.

Thin: `transforms.raw.ingest.ingest_window` fetches, loads, fills, catches up and checks;
this module turns its result into materialization metadata and check results.
"""

import time

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.raw.ingest import VenuesFailed, WaitingForArchive, ingest_window
from transforms.raw.quality import (
    FILES_VALID_CHECK,
    WARN_ONLY_CHECKS,
    CheckOutcome,
    check_names,
)
from transforms.raw.tables import TABLES
from transforms.reference.tiers import MissingTiersError, TierFileError

#: reported but not blocking on the raw asset (see README "Quality gates")
_NON_BLOCKING = WARN_ONLY_CHECKS | {FILES_VALID_CHECK}


def _build_raw_asset(name: str) -> dg.AssetsDefinition:
    spec = TABLES[name]
    check_specs = [
        dg.AssetCheckSpec(
            name=check,
            asset=spec.asset,
            description=f"{check} on {spec.table}",
            blocking=check not in _NON_BLOCKING,
        )
        for check in check_names(name)
    ]
    # Rules comparing with another dataset (mark vs last, OI value vs price) need it loaded.
    deps = [TABLES[spec.after].asset] if spec.after else []

    @dg.asset(
        name=spec.asset,
        description=f"{spec.description} Table `{spec.table}`.",
        group_name="raw",
        kinds={"duckdb"},
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=check_specs,
        deps=deps,
        metadata={"table": spec.table, "dataset": name},
    )
    def _raw_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
    ) -> dg.MaterializeResult:
        start, end = partition_window(context)
        span = window_label(start, end)  # inclusive, for messages
        settings = archive.settings()
        started = time.perf_counter()
        try:
            result = ingest_window(warehouse.connect, settings, name, start, end, context.log)
        except (MissingTiersError, TierFileError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        except VenuesFailed as exc:
            raise dg.Failure(description=str(exc), allow_retries=True) from exc
        except WaitingForArchive as exc:
            raise dg.Failure(
                description=f"waiting for the archive: {exc}",
                metadata={"not_yet_published": str(exc), "period": exc.period},
                allow_retries=True,
            ) from exc
        elapsed = time.perf_counter() - started
        context.log.info(
            f"{spec.asset}: {result.files} files, {result.rows} rows for {span} "
            f"in {elapsed:.1f}s ({result.rows / max(elapsed, 1e-9):,.0f} rows/s)"
            + (f"; caught up {', '.join(result.caught_up)}" if result.caught_up else "")
        )
        if result.failed_venues:
            # the other venues' rows are loaded; each failure was logged with its reason
            context.log.error(f"{spec.asset}: venue failed: {result.failed_summary()}")
        if result.waiting:
            # the other symbols' rows are loaded; warehouse_snapshot fails the run at its end
            context.log.error(f"{spec.asset}: waiting for the archive: {result.waiting_summary()}")
        extra = (
            {
                "caught_up_months": ", ".join(result.caught_up) or "none",
                "rest_days": result.rest_days,
            }
            if name == "funding"
            else {}
        )
        return dg.MaterializeResult(
            metadata={
                "rows": result.rows,
                "files": result.files,
                "window": span,
                "source": settings.source,
                "seconds": round(elapsed, 2),
                "pending_periods": ", ".join(result.pending) or "none",
                "waiting_symbols": result.waiting_summary(),
                "venues": ", ".join(settings.venues),
                "failed_venues": result.failed_summary(),
                # files withheld (rejected at load or not fetchable): their days only
                "rejected_files": "; ".join(r.message for r in result.rejections) or "none",
                "provisional_days": ", ".join(result.provisional) or "none",
                "not_collected_days": ", ".join(result.not_collected) or "none",
                **extra,
            },
            check_results=_merge_outcomes(spec.asset, result.outcomes),
        )

    return _raw_asset


def _merge_outcomes(asset_name: str, outcomes: list[CheckOutcome]) -> list[dg.AssetCheckResult]:
    """One check result per check name across symbols."""
    merged: dict[str, list[CheckOutcome]] = {}
    for outcome in outcomes:
        merged.setdefault(outcome.name, []).append(outcome)
    return [
        dg.AssetCheckResult(
            asset_key=asset_name,
            check_name=check,
            passed=all(o.passed for o in items),
            severity=dg.AssetCheckSeverity.WARN
            if check in _NON_BLOCKING
            else dg.AssetCheckSeverity.ERROR,
            metadata={"detail": "; ".join(o.describe() for o in items)},
        )
        for check, items in merged.items()
    ]


raw_assets = [_build_raw_asset(name) for name in TABLES]
