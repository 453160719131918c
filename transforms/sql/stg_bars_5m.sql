-- 5-minute bars for one symbol and window [$start, $end): last-price OHLC and volumes from
-- 1m klines, mark high/low/close from 1m mark klines, open interest and taker ratio from the
-- 5-min metrics as of the bar open (create_time <= ts), and the last settled funding rate as
-- of the bar open (calc_time <= ts, possibly from an earlier day or month).
-- Parameters: $symbol, $start (DATE), $end (DATE, exclusive).
INSERT INTO stg.bars_5m
WITH k AS (
    SELECT time_bucket(INTERVAL 5 MINUTE, open_time) AS ts, open_time, open, high, low, close,
           volume, quote_volume, taker_buy_quote_volume
    FROM raw.klines_1m
    WHERE symbol = $symbol AND day >= $start AND day < $end
),
bars AS (
    SELECT ts,
           arg_min(open, open_time) AS open,
           max(high) AS high,
           min(low) AS low,
           arg_max(close, open_time) AS close,
           sum(volume) AS volume,
           sum(quote_volume) AS quote_volume,
           sum(taker_buy_quote_volume) AS taker_buy_quote_volume
    FROM k
    GROUP BY ts
),
mark AS (
    SELECT time_bucket(INTERVAL 5 MINUTE, open_time) AS ts,
           max(high) AS mark_high,
           min(low) AS mark_low,
           arg_max(close, open_time) AS mark_close
    FROM raw.mark_klines_1m
    WHERE symbol = $symbol AND day >= $start AND day < $end
    GROUP BY 1
),
metrics AS (
    SELECT create_time, sum_open_interest, sum_open_interest_value,
           sum_taker_long_short_vol_ratio
    FROM raw.metrics_5m
    WHERE symbol = $symbol
      AND day >= CAST($start AS DATE) - INTERVAL 1 DAY AND day < $end
),
funding AS (
    SELECT calc_time, last_funding_rate
    FROM raw.funding
    WHERE symbol = $symbol
      AND day >= CAST($start AS DATE) - INTERVAL 40 DAY AND day < $end
)
SELECT $symbol AS symbol,
       CAST(b.ts AS DATE) AS day,
       b.ts,
       b.open, b.high, b.low, b.close,
       b.volume, b.quote_volume, b.taker_buy_quote_volume,
       m.mark_high, m.mark_low, m.mark_close,
       mt.sum_open_interest AS oi_base,
       mt.sum_open_interest_value AS oi_value,
       mt.sum_taker_long_short_vol_ratio AS taker_ratio,
       f.last_funding_rate AS funding_rate
FROM bars AS b
LEFT JOIN mark AS m ON m.ts = b.ts
ASOF LEFT JOIN metrics AS mt ON b.ts >= mt.create_time
ASOF LEFT JOIN funding AS f ON b.ts >= f.calc_time
ORDER BY b.ts
