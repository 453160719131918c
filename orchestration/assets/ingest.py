"""Raw layer: one asset per archive dataset, loading one UTC day per partition.

Each asset fetches the window's files through the configured source (checksummed cache),
then replaces the window's rows in one transaction, then runs its data-quality checks.
"""

import time
from datetime import date

import dagster as dg
import duckdb

from orchestration.partitions import daily_partitions, partition_window
from orchestration.progress import Progress
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.loading import catch_up_funding, load_dataset, replace_funding_days
from transforms.quality import RAW_TABLES, check_dataset, check_files_verified
from transforms.sources import (
    FetchedFile,
    NotYetPublished,
    Source,
    SourceError,
    make_source,
    period_bounds,
    periods_for_window,
)
from transforms.sources.base import MONTHLY_DATASETS
from transforms.sources.funding_rest import fetch_funding_rest

RAW_ASSETS = {
    "klines_1m": ("raw_klines_1m", "1-minute last-price klines (OHLCV, taker volume)."),
    "mark_klines_1m": (
        "raw_mark_klines_1m",
        "1-minute mark-price klines: liquidations trigger on mark.",
    ),
    "metrics": (
        "raw_metrics_5m",
        "5-minute open interest (base/USDT), long/short and taker ratios.",
    ),
    "funding": (
        "raw_funding",
        "Funding settlements, split from the archive's monthly files into days (binance "
        "source: the running month from the REST API until its monthly file lands).",
    ),
}

_COMMON_CHECKS = ("checksums_verified", "no_duplicate_timestamps", "monotone_timestamps")
CHECK_NAMES = {
    "klines_1m": ("complete_days", *_COMMON_CHECKS, "prices_sane"),
    "mark_klines_1m": ("complete_days", *_COMMON_CHECKS, "prices_sane"),
    "metrics": ("complete_days", *_COMMON_CHECKS, "open_interest_non_negative"),
    "funding": _COMMON_CHECKS,
}

# Incomplete days happen in the real archive (and are backfilled later): warn, don't block.
WARN_ONLY = {"complete_days"}


def _build_raw_asset(dataset: str) -> dg.AssetsDefinition:
    name, description = RAW_ASSETS[dataset]
    table = RAW_TABLES[dataset][0]
    check_specs = [
        dg.AssetCheckSpec(name=check, asset=name, description=f"{check} on {table}")
        for check in CHECK_NAMES[dataset]
    ]

    @dg.asset(
        name=name,
        description=f"{description} Table `{table}`.",
        group_name="raw",
        kinds={"duckdb"},
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=check_specs,
        metadata={"table": table, "dataset": dataset},
    )
    def _raw_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
    ) -> dg.MaterializeResult:
        start, end = partition_window(context)
        settings = archive.settings()
        source = make_source(settings)
        periods = periods_for_window(dataset, start, end)
        total_rows = 0
        files_loaded = 0
        started = time.perf_counter()
        outcomes = []
        pending: list[str] = []
        caught_up: list[str] = []
        rest_days = 0
        try:
            for symbol in settings.symbols:
                symbol_pending: list[str] = []
                files = _fetch_window(context, source, dataset, symbol, periods, symbol_pending)
                pending.extend(symbol_pending)
                with warehouse.connect() as conn:
                    total_rows += load_dataset(
                        conn, dataset, symbol, files, start, end, source_name=settings.source
                    )
                    verified = [f.period for f in files]
                    if dataset == "funding" and settings.source == "binance":
                        rest_days += _fill_pending_funding_from_rest(
                            context,
                            conn,
                            settings.binance_fapi_url,
                            symbol,
                            symbol_pending,
                            start,
                            end,
                        )
                    if dataset in MONTHLY_DATASETS:
                        # Months that were pending while their days were loaded: reload them
                        # now that the archive has published them.
                        for month, rows in catch_up_funding(
                            conn,
                            source,
                            symbol,
                            start,
                            end,
                            first_day=settings.start_date,
                            source_name=settings.source,
                            skip=symbol_pending,
                        ):
                            context.log.info(
                                f"{name}: caught up {symbol} {month} ({rows} rows), "
                                "published after its days were loaded"
                            )
                            caught_up.append(f"{symbol} {month}")
                            verified.append(month)
                            total_rows += rows
                            files_loaded += 1
                    outcomes.extend(check_dataset(conn, dataset, symbol, start, end))
                    outcomes.append(
                        check_files_verified(conn, dataset, symbol, verified, settings.cache_dir)
                    )
                files_loaded += len(files)
        finally:
            source.close()
        elapsed = time.perf_counter() - started
        context.log.info(
            f"{name}: {files_loaded} files, {total_rows} rows for {start}..{end} "
            f"in {elapsed:.1f}s ({total_rows / max(elapsed, 1e-9):,.0f} rows/s)"
            + (f"; caught up {', '.join(caught_up)}" if caught_up else "")
        )
        extra = (
            {"caught_up_months": ", ".join(caught_up) or "none", "rest_days": rest_days}
            if dataset == "funding"
            else {}
        )
        return dg.MaterializeResult(
            metadata={
                "rows": total_rows,
                "files": files_loaded,
                "window": f"{start}..{end}",
                "source": settings.source,
                "seconds": round(elapsed, 2),
                "pending_periods": ", ".join(pending) or "none",
                **extra,
            },
            check_results=_merge_outcomes(name, outcomes),
        )

    return _raw_asset


def _fetch_window(
    context: dg.AssetExecutionContext,
    source: Source,
    dataset: str,
    symbol: str,
    periods: list[str],
    pending: list[str],
) -> list[FetchedFile]:
    """Verified files for every period. A daily file not yet published fails the step with a
    clear "waiting" message; a monthly funding file not yet published is recorded as pending
    (the archive publishes it after the month ends) and the day proceeds without it; a later
    run's catch-up (transforms.loading.catch_up_funding) loads it once published."""
    progress = Progress(context.log, f"{dataset} {symbol} fetch", len(periods))
    files = []
    for period in periods:
        try:
            files.append(source.fetch(dataset, symbol, period))
        except NotYetPublished as exc:
            if dataset not in MONTHLY_DATASETS:
                raise dg.Failure(
                    description=f"waiting for the archive: {exc}",
                    metadata={"not_yet_published": str(exc), "period": period},
                    allow_retries=True,
                ) from exc
            context.log.warning(f"{exc}; it is loaded when the archive publishes it")
            pending.append(period)
        progress.step()
    return files


def _fill_pending_funding_from_rest(
    context: dg.AssetExecutionContext,
    conn: duckdb.DuckDBPyConnection,
    fapi_url: str,
    symbol: str,
    pending_months: list[str],
    start: date,
    end: date,
) -> int:
    """Funding of the window's days in pending months from the REST API (binance source).

    The rows get no raw.files record, so the month stays a catch-up candidate and its archive
    file replaces them once published. A REST failure leaves the days pending (NULL funding in
    staging) with a warning. Returns the number of days that received rows."""
    filled = 0
    for month in pending_months:
        month_start, month_end = period_bounds("funding", month)
        lo, hi = max(month_start, start), min(month_end, end)
        if hi <= lo:
            continue
        try:
            frame = fetch_funding_rest(fapi_url, symbol, lo, hi)
        except SourceError as exc:
            context.log.warning(
                f"funding {symbol} {lo}..{hi} from REST failed, left pending: {exc}"
            )
            continue
        replace_funding_days(conn, symbol, frame, lo, hi)
        days = frame["calc_time"].dt.date.nunique() if len(frame) else 0
        context.log.info(f"funding {symbol} {lo}..{hi}: {len(frame)} settlements from REST")
        filled += int(days)
    return filled


def _merge_outcomes(asset_name: str, outcomes: list) -> list[dg.AssetCheckResult]:
    """One check result per check name across symbols."""
    merged: dict[str, list] = {}
    for outcome in outcomes:
        merged.setdefault(outcome.name, []).append(outcome)
    results = []
    for check, items in merged.items():
        passed = all(o.passed for o in items)
        results.append(
            dg.AssetCheckResult(
                asset_key=asset_name,
                check_name=check,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN
                if check in WARN_ONLY
                else dg.AssetCheckSeverity.ERROR,
                metadata={"detail": "; ".join(o.describe() for o in items)},
            )
        )
    return results


raw_assets = [_build_raw_asset(dataset) for dataset in RAW_ASSETS]
