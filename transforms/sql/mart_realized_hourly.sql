-- Realized liquidations per venue, symbol and hour for days [$start, $end) (hours with
-- events only). Parameters: $symbols, $start, $end.
INSERT INTO mart.realized_hourly
SELECT venue,
       symbol,
       day,
       time_bucket(INTERVAL 1 HOUR, ts) AS ts,
       count(*) AS events,
       coalesce(sum(notional) FILTER (WHERE side = 'long'), 0) AS realized_long,
       coalesce(sum(notional) FILTER (WHERE side = 'short'), 0) AS realized_short
FROM raw.liquidations
WHERE list_contains($symbols, symbol) AND day >= $start AND day < $end
GROUP BY venue, symbol, day, time_bucket(INTERVAL 1 HOUR, ts)
ORDER BY venue, symbol, ts
