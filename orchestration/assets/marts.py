"""Mart layer: one vectorized model pass per run writes heatmap, map, daily metrics, moves.

The marts come from the same cohorts, so they are one multi-asset. A run continues each
market's model from its state at the end of the day before (mart.model_state, written with
the marts), else from the market's first bar; a daily partition, a range backfill and a
from-scratch recompute give the same rows for a day; a range is one model pass.
Parameters come from `ModelConfig` (editable in the launchpad) and are recorded with every
row set through `params_hash` and `mart.model_params`.
"""

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.marts import MART_ASSETS, MARTS
from transforms.marts.coverage import venue_gap_segments
from transforms.marts.parallel import run_jobs, workers_for
from transforms.marts.update import (
    IncompleteRawWindow,
    MartsJob,
    NoStagedBars,
    SymbolMartsUpdate,
    prepare_marts,
)
from transforms.model import ModelParams
from transforms.raw.intraday.state import sync_provisional_marts
from transforms.raw.quality import rejected_market_days, withheld_everywhere
from transforms.reference import load_tiers, tiers_file_from_env

_D = ModelParams()


class ModelConfig(dg.Config):
    """Model assumptions, editable in the launchpad; defaults are the documented base model
    (docs/methodology.md has what each one means)."""

    leverage_levels: list[float] = list(_D.leverage_levels)
    leverage_weights: list[float] = list(_D.leverage_weights)
    side_split: str = _D.side_split
    closing: str = _D.closing
    lookback_days: int = _D.lookback_days
    position_notional: float = _D.position_notional
    # None: derived per symbol from its price (transforms.reference.bins.symbol_bins);
    # a number fixes the bin for every symbol.
    bin_size: float | None = None
    heatmap_bin_size: float | None = None
    heatmap_range_pct: float = _D.heatmap_range_pct
    zigzag_pct: float = _D.zigzag_pct
    ceiling_quantile: float = _D.ceiling_quantile
    funding_interval_hours: float = _D.funding_interval_hours
    funding_mean_days: int = _D.funding_mean_days
    funding_elevated: float = _D.funding_elevated
    funding_negative: float = _D.funding_negative
    funding_reset_days: int = _D.funding_reset_days
    funding_pctile_days: int = _D.funding_pctile_days
    zone_width_pct: float = _D.zone_width_pct
    zone_min_days: int = _D.zone_min_days
    zone_max_days: int = _D.zone_max_days
    # Not a model parameter: ignore the stored model state and model every market from its
    # first bar (`liqmap run --from-scratch`); the rows are the same, only slower.
    from_scratch: bool = False

    def to_params(self) -> ModelParams:
        """Validated ModelParams (from_dict rejects unknown keys and bad values)."""
        values = self.model_dump(exclude={"from_scratch"})
        return ModelParams.from_dict({k: v for k, v in values.items() if v is not None})

    @property
    def auto_bins(self) -> bool:
        """Both bins derived from each symbol's price (neither fixed in the launchpad)."""
        return self.bin_size is None and self.heatmap_bin_size is None


@dg.multi_asset(
    name="liquidation_model",
    description="Runs the liquidation model over the lookback window and writes the marts.",
    specs=[
        dg.AssetSpec(
            key=name,
            description=f"{MARTS[name].description} Table `{MARTS[name].table}`.",
            group_name="marts",
            kinds={"duckdb", "numpy"},
            deps=["stg_bars_5m"],
            metadata={"table": MARTS[name].table},
        )
        for name in MART_ASSETS
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def liquidation_model(
    context: dg.AssetExecutionContext,
    config: ModelConfig,
    warehouse: WarehouseResource,
    archive: ArchiveResource,
):
    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    params = config.to_params()
    totals: dict[str, int] = {}
    hashes: dict[str, str] = {}
    missing: list[str] = []
    started = time.perf_counter()
    settings = archive.settings()
    symbols = settings.symbols
    venue_failures: list[str] = []
    modelled: set[str] = set()
    with warehouse.connect() as conn:
        load_tiers(conn, tiers_file_from_env())
        # A day one venue lacks (no rows, or a file rejected at load) is modelled alone:
        # that venue fails for that day only (its earlier marts of the day stay). A day
        # rejected for every venue is not modelled at all (the run's final gate names it).
        rejected = rejected_market_days(conn, symbols, start, end)
        segments = [
            (symbol, a, b)
            for symbol in symbols
            for a, b in venue_gap_segments(conn, symbol, start, end, settings.venues)
            if a not in withheld_everywhere(rejected, settings.venues, [symbol])
            or b - a > timedelta(days=1)
        ]
        # Each round takes the next window of every symbol (a symbol's later window continues
        # from the state and levels its earlier one wrote): inputs read here, the windows
        # modelled in worker processes and written here (transforms.marts.parallel); each
        # outcome is reported below, in that order.
        outcomes: list[tuple[str, date, date, SymbolMartsUpdate | LookupError]] = []
        rounds: dict[str, list[tuple[date, date]]] = {}
        for symbol, lo, hi in segments:
            rounds.setdefault(symbol, []).append((lo, hi))

        def prepared(k: int) -> Iterator[MartsJob]:
            """The round's jobs, each prepared when a worker is free to take it."""
            for symbol, windows in rounds.items():
                if k >= len(windows):
                    continue
                lo, hi = windows[k]
                try:
                    job = prepare_marts(
                        conn,
                        symbol,
                        params,
                        lo,
                        hi,
                        config.auto_bins,
                        settings.venues,
                        config.from_scratch,
                    )
                except (NoStagedBars, IncompleteRawWindow) as exc:
                    outcomes.append((symbol, lo, hi, exc))
                    continue
                if isinstance(job, MartsJob):
                    outcomes.append((symbol, lo, hi, job.update))
                    yield job
                else:
                    outcomes.append((symbol, lo, hi, job))

        for k in range(max((len(w) for w in rounds.values()), default=0)):
            days = max((w[k][1] - w[k][0]).days for w in rounds.values() if k < len(w))
            run_jobs(conn, prepared(k), workers_for(days))
        for symbol, lo, hi, update in outcomes:
            if isinstance(update, LookupError):
                # other symbols still get their marts; warehouse_snapshot fails the run
                context.log.error(f"model {symbol}: {update}")
                missing.append(str(update))
                continue
            for venue, first in update.not_collected.items():
                since = f"collected from {first}" if first else "not collected in the window"
                context.log.warning(f"model {venue} {symbol} {lo}..{hi}: {since}")
            for venue, why in update.failed.items():
                # the other venues' rows and the aggregate (naming it missing) land
                context.log.error(f"model {venue} {symbol}: {why}")
                venue_failures.append(why)
            if update.why:  # the state was not used as is: one line saying why
                log = context.log.info if update.state_day else context.log.warning
                log(f"model {update.why}")
            for venue, days in update.incomplete.items():
                context.log.warning(
                    f"model {venue} {symbol}: history incomplete, no bars for "
                    f"{', '.join(days)}; later days say so"
                )
            started_from = update.state_day or "the first bar"
            rewritten = (
                f", rewrote from {update.rewritten_from} (its bars or tiers changed)"
                if update.rewritten_from
                else ""
            )
            context.log.info(f"model {symbol} {lo}..{hi}: continued from {started_from}{rewritten}")
            modelled.add(symbol)
            hashes[symbol] = update.params.params_hash()
            for key, n in update.rows.items():
                totals[key] = totals.get(key, 0) + n
            worker = (
                f" (worker peak RSS {update.worker_rss_mb:.0f} MB)" if update.worker_rss_mb else ""
            )
            context.log.info(
                f"model {symbol} {lo}..{hi}: {update.bars} bars -> {update.rows}{worker}"
            )
        # days the archive made final are no longer the nowcast's provisional days
        sync_provisional_marts(conn)
    elapsed = round(time.perf_counter() - started, 2)
    if missing and not modelled:  # every symbol failed every segment
        raise dg.Failure("; ".join(missing))
    # Dagster stores one event per asset and partition (a year's backfill: 7 x 365 of them,
    # each costing milliseconds in the event log), so the parameter set (JSON) goes with one
    # mart's events only; every mart row carries params_hash, and mart.model_params its JSON.
    shared = {
        "params_hash": ", ".join(f"{s} {h}" for s, h in hashes.items()) or "none",
        "window": span,
        "venues_failed": "; ".join(venue_failures) or "none",
        "seconds": elapsed,
    }
    for name in MART_ASSETS:
        extra = {}
        if name == "daily_metrics":
            extra = {
                "params": dg.MetadataValue.json(json.loads(params.to_json())),
                "venues": ", ".join(settings.venues),
            }
        yield dg.MaterializeResult(
            asset_key=name, metadata={"rows": totals.get(name, 0), **shared, **extra}
        )
