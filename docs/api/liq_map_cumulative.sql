-- The cumulative columns of mart.liq_map, rebuilt from a month download's liq_map.parquet
-- (the download leaves them out: they are running sums of its notionals). With DuckDB:
--   duckdb -c "SET VARIABLE path = 'BTCUSDT/downloads/2026-06/liq_map.parquet'" \
--          -c ".read docs/api/liq_map_cumulative.sql"
-- long_cum_from_spot:  the longs liquidated if price falls from spot to the band's lower edge
--                      (bands starting below spot, summed from spot down; 0 above spot);
-- short_cum_from_spot: the shorts liquidated if price rises to the band's upper edge
--                      (bands ending above spot, summed from spot up; 0 below spot).
SELECT *,
  CASE WHEN price_low < spot_price THEN
    sum(CASE WHEN price_low < spot_price THEN long_notional ELSE 0 END)
      OVER (PARTITION BY venue, day ORDER BY price_low DESC)
  ELSE 0 END AS long_cum_from_spot,
  CASE WHEN price_high > spot_price THEN
    sum(CASE WHEN price_high > spot_price THEN short_notional ELSE 0 END)
      OVER (PARTITION BY venue, day ORDER BY price_low)
  ELSE 0 END AS short_cum_from_spot
FROM read_parquet(getvariable('path'))
ORDER BY venue, day, price_low;
