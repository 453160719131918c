-- Realized liquidations per venue, symbol and hour for days [$start, $end) (hours with
-- events only), with each side's realized-weighted price (notional / quantity: where the
-- hour's liquidations of that side happened; NULL when the side had none), which places the
-- hour's markers on the heatmap. Parameters: $symbols, $start, $end.
INSERT INTO mart.realized_hourly BY NAME
SELECT venue,
       symbol,
       day,
       time_bucket(INTERVAL 1 HOUR, ts) AS ts,
       count(*) AS events,
       coalesce(sum(notional) FILTER (WHERE side = 'long'), 0) AS realized_long,
       coalesce(sum(notional) FILTER (WHERE side = 'short'), 0) AS realized_short,
       sum(notional) FILTER (WHERE side = 'long')
           / sum(quantity) FILTER (WHERE side = 'long') AS price_long,
       sum(notional) FILTER (WHERE side = 'short')
           / sum(quantity) FILTER (WHERE side = 'short') AS price_short
FROM raw.liquidations
WHERE list_contains($symbols, symbol) AND day >= $start AND day < $end
GROUP BY venue, symbol, day, time_bucket(INTERVAL 1 HOUR, ts)
ORDER BY venue, symbol, ts
