-- The aggregate's hourly path ('all') for one symbol and window [$start, $end): the
-- $reference venue's OHLC and mark close, with the open interest of the $venues that have an
-- hour summed (a venue missing that hour is left out, and the day's mart.daily_metrics row
-- names it in venues_missing). Run after the venues' own rows of the window are written.
-- Parameters: $venue ('all'), $symbol, $start (DATE), $end (DATE, exclusive), $reference,
-- $venues (list).
INSERT INTO mart.price_hourly
WITH oi AS (
    SELECT ts, sum(oi_value) AS oi_value
    FROM mart.price_hourly
    WHERE symbol = $symbol AND list_contains($venues, venue)
      AND day >= $start AND day < $end
    GROUP BY ts
)
SELECT r.symbol, r.day, r.ts, r.open, r.high, r.low, r.close, r.mark_close,
       oi.oi_value, $venue AS venue
FROM mart.price_hourly AS r
LEFT JOIN oi USING (ts)
WHERE r.venue = $reference AND r.symbol = $symbol AND r.day >= $start AND r.day < $end
ORDER BY r.ts
