-- Hourly OHLC, mark close and open interest for one market (venue, symbol) and window [$start, $end), from
-- the 5-minute bars: open/close are the first/last bar's, high/low the extremes, mark close
-- and open interest the last non-NULL value in the hour.
-- Parameters: $venue, $symbol, $start (DATE), $end (DATE, exclusive).
INSERT INTO mart.price_hourly
WITH b AS (
    SELECT symbol, day, time_bucket(INTERVAL 1 HOUR, ts) AS hour, ts,
           open, high, low, close, mark_close, oi_value
    FROM stg.bars_5m
    WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
)
SELECT symbol,
       day,
       hour AS ts,
       arg_min(open, ts) AS open,
       max(high) AS high,
       min(low) AS low,
       arg_max(close, ts) AS close,
       arg_max(mark_close, ts) AS mark_close,
       arg_max(oi_value, ts) AS oi_value,
       $venue AS venue
FROM b
GROUP BY symbol, day, hour
ORDER BY ts
