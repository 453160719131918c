"""Staging layer: 5-minute bars joining last price, mark price, open interest and funding.

Thin: `transforms.staging` builds the bars and finds incomplete days; this reports them."""

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window, window_label
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.raw.quality import good_segments, rejected_market_days
from transforms.raw.tables import TABLES
from transforms.rules import FUNDING_LOOKBACK_DAYS
from transforms.staging import build_bars_5m, incomplete_bar_days


@dg.asset(
    name="stg_bars_5m",
    description="5-minute bars: OHLC, mark high/low, open interest value and taker ratio as of "
    "the bar close, and the last settled funding rate (NULL once older than its interval + 1 h). "
    f"Each run also refreshes the funding of the previous {FUNDING_LOOKBACK_DAYS} days' bars "
    "(monthly funding files "
    "land after their month) and the OI of the bar just before the window. Table "
    "`stg.bars_5m`; the model's only input.",
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[spec.asset for spec in TABLES.values()],
    check_specs=[
        dg.AssetCheckSpec(
            name="complete_bars",
            asset="stg_bars_5m",
            description="288 bars per day, each with mark price and open interest",
        )
    ],
    metadata={"table": "stg.bars_5m"},
)
def stg_bars_5m(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, archive: ArchiveResource
) -> dg.MaterializeResult:
    start, end = partition_window(context)
    span = window_label(start, end)  # inclusive, for messages
    settings = archive.settings()
    symbols = settings.symbols
    rows = 0
    failures: list[str] = []
    with warehouse.connect() as conn:
        # A market's days with a file rejected at load are not staged (their earlier bars
        # stay); the other venues' (and symbols') bars of those days are.
        rejected = rejected_market_days(conn, symbols, start, end)
        for venue in settings.venues:
            for symbol in symbols:
                for lo, hi in good_segments(start, end, rejected.get((venue, symbol), {})):
                    rows += build_bars_5m(conn, symbol, lo, hi, venue)
                    failures.extend(incomplete_bar_days(conn, symbol, lo, hi, venue))
    skipped = "".join(
        f"; skipped {venue} {symbol} rejected days {', '.join(map(str, days))}"
        for (venue, symbol), days in rejected.items()
        if venue in settings.venues
    )
    context.log.info(f"stg_bars_5m: {rows} bars for {span}{skipped}")
    return dg.MaterializeResult(
        metadata={"rows": rows, "window": span},
        check_results=[
            dg.AssetCheckResult(
                check_name="complete_bars",
                passed=not failures,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"incomplete_days": len(failures), "detail": "; ".join(failures[:20])},
            )
        ],
    )
