-- mart.liq_map's rows of a month, rebuilt from the month download's liq_map.parquet. The
-- download holds each venue's rows once; what is left out is sums of them:
--   the aggregate (venue 'all', with two or more venues): every venue's notional summed per
--       price band (a band only one venue has is that venue's); its spot is the reference
--       venue's, the venue listed first in the file (Binance) that has the day; with one
--       venue the file holds its rows as venue 'all' and nothing is added;
--   long_cum_from_spot:  the longs liquidated if price falls from spot to the band's lower
--       edge (bands starting below spot, summed from spot down; 0 above spot);
--   short_cum_from_spot: the shorts liquidated if price rises to the band's upper edge
--       (bands ending above spot, summed from spot up; 0 below spot).
-- With DuckDB:
--   duckdb -c "SET VARIABLE path = 'BTCUSDT/downloads/2026-06/liq_map.parquet'" \
--          -c ".read docs/api/liq_map.sql"
WITH src AS (
  SELECT * FROM read_parquet(getvariable('path'), file_row_number = true)
),
first_venue AS (  -- per day, the first row of the first venue in the file that has the day
  SELECT day, arg_min(spot_price, file_row_number) AS spot_price,
         arg_min(params_hash, file_row_number) AS params_hash
  FROM src GROUP BY day
),
rows AS (
  SELECT venue, day, price_low, price_high, long_notional, short_notional, spot_price,
         params_hash
  FROM src
  UNION ALL
  SELECT 'all', b.day, b.price_low, b.price_high, b.long_notional, b.short_notional,
         f.spot_price, f.params_hash
  FROM (
    SELECT day, price_low, price_high,
           sum(long_notional) AS long_notional, sum(short_notional) AS short_notional
    FROM src
    WHERE NOT EXISTS (SELECT 1 FROM src WHERE venue = 'all')
    GROUP BY day, price_low, price_high
  ) AS b JOIN first_venue AS f USING (day)
)
SELECT *,
  CASE WHEN price_low < spot_price THEN
    sum(CASE WHEN price_low < spot_price THEN long_notional ELSE 0 END)
      OVER (PARTITION BY venue, day ORDER BY price_low DESC)
  ELSE 0 END AS long_cum_from_spot,
  CASE WHEN price_high > spot_price THEN
    sum(CASE WHEN price_high > spot_price THEN short_notional ELSE 0 END)
      OVER (PARTITION BY venue, day ORDER BY price_low)
  ELSE 0 END AS short_cum_from_spot
FROM rows
ORDER BY venue, day, price_low;
