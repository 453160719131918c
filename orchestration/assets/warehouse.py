"""Staging layer: 5-minute bars joining last price, mark price, open interest and funding."""

import dagster as dg

from orchestration.partitions import daily_partitions, partition_window
from orchestration.resources import ArchiveResource, WarehouseResource
from transforms.staging import build_bars_5m

BARS_COMPLETE_SQL = """
SELECT day, count(*) AS n, count(mark_low) AS with_mark, count(oi_value) AS with_oi
FROM stg.bars_5m WHERE symbol = $symbol AND day >= $start AND day < $end
GROUP BY day HAVING count(*) <> 288 OR count(mark_low) <> 288 OR count(oi_value) <> 288
ORDER BY day
"""


@dg.asset(
    name="stg_bars_5m",
    description="5-minute bars: OHLC, mark high/low, open interest value and taker ratio as of "
    "the bar close, and the last settled funding rate (NULL once older than its interval + 1 h). "
    "Each run also refreshes the funding of the previous 40 days' bars (monthly funding files "
    "land after their month) and the OI of the bar just before the window. Table "
    "`stg.bars_5m`; the model's only input.",
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["raw_klines_1m", "raw_mark_klines_1m", "raw_metrics_5m", "raw_funding"],
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
    symbols = archive.settings().symbols
    rows = 0
    failures: list[str] = []
    with warehouse.connect() as conn:
        for symbol in symbols:
            rows += build_bars_5m(conn, symbol, start, end)
            params = {"symbol": symbol, "start": start, "end": end}
            for day, n, with_mark, with_oi in conn.execute(BARS_COMPLETE_SQL, params).fetchall():
                failures.append(f"{symbol} {day}: {n} bars, {with_mark} mark, {with_oi} OI")
    context.log.info(f"stg_bars_5m: {rows} bars for {start}..{end}")
    return dg.MaterializeResult(
        metadata={"rows": rows, "window": f"{start}..{end}"},
        check_results=[
            dg.AssetCheckResult(
                check_name="complete_bars",
                passed=not failures,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"incomplete_days": len(failures), "detail": "; ".join(failures[:20])},
            )
        ],
    )
