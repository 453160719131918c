-- mart.daily_metrics' rows of a month, rebuilt from the month download's scenarios.parquet.
-- The download leaves out the columns that are arithmetic on its other columns, as the
-- model computes them (transforms/model/metrics.py ratio_columns, levels.py):
--   shorts_per_long[_5pct|_10pct]: shorts at risk / longs at risk (whole map, within ±5 %,
--       within ±10 % of spot), empty unless both sides hold notional; log_imbalance: its log;
--   <level>_<side>_pct: a level's price relative to the day's close (price / close - 1).
-- With DuckDB:
--   duckdb -c "SET VARIABLE path = 'BTCUSDT/downloads/2026-06/scenarios.parquet'" \
--          -c ".read docs/api/scenarios.sql"
SELECT *,
  CASE WHEN longs_at_risk > 0 AND shorts_at_risk > 0
    THEN shorts_at_risk / longs_at_risk END AS shorts_per_long,
  ln(shorts_per_long) AS log_imbalance,
  CASE WHEN longs_at_risk_5pct > 0 AND shorts_at_risk_5pct > 0
    THEN shorts_at_risk_5pct / longs_at_risk_5pct END AS shorts_per_long_5pct,
  CASE WHEN longs_at_risk_10pct > 0 AND shorts_at_risk_10pct > 0
    THEN shorts_at_risk_10pct / longs_at_risk_10pct END AS shorts_per_long_10pct,
  nearest_cluster_above_price / close_price - 1 AS nearest_cluster_above_pct,
  nearest_cluster_below_price / close_price - 1 AS nearest_cluster_below_pct,
  peak_cluster_above_price / close_price - 1 AS peak_cluster_above_pct,
  peak_cluster_below_price / close_price - 1 AS peak_cluster_below_pct,
  p90_above_price / close_price - 1 AS p90_above_pct,
  p90_below_price / close_price - 1 AS p90_below_pct
FROM read_parquet(getvariable('path'))
ORDER BY venue, day, scenario;
