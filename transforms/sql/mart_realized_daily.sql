-- Realized beside modelled liquidations per venue, symbol and day of [$start, $end): one row
-- for every (venue, symbol, day), whether or not anything was collected.
-- collected: 'complete' when the stream was received all day, 'partial' when part of it (or
-- when events exist without coverage marks), else 'not collected' with NULL realized figures.
-- Modelled figures come from the base scenario of the same venue's mart.daily_metrics rows
-- for the venues the model runs on ($model_venues); other venues say 'no model for this venue'.
-- Parameters: $venues, $completeness (parallel lists), $symbols, $model_venues, $start, $end.
INSERT INTO mart.realized_daily
WITH venues AS (
    SELECT unnest($venues) AS venue, unnest($completeness) AS completeness
),
symbols AS (SELECT unnest($symbols) AS symbol),
days AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY)
),
realized AS (
    SELECT venue, symbol, day,
           count(*) AS events,
           coalesce(sum(notional) FILTER (WHERE side = 'long'), 0) AS realized_long,
           coalesce(sum(notional) FILTER (WHERE side = 'short'), 0) AS realized_short
    FROM raw.liquidations
    WHERE day >= $start AND day < $end
    GROUP BY venue, symbol, day
),
coverage AS (
    SELECT venue, day, collected_seconds, complete
    FROM raw.liquidation_coverage
    WHERE day >= $start AND day < $end
),
model AS (
    SELECT venue, symbol, day, liquidated_long_24h, liquidated_short_24h, params_hash
    FROM mart.daily_metrics
    WHERE scenario = 'base' AND day >= $start AND day < $end
),
joined AS (
    SELECT v.venue, s.symbol, d.day, v.completeness,
           coalesce(c.collected_seconds, 0) AS collected_seconds,
           coalesce(c.complete, false) AS complete,
           r.events, r.realized_long, r.realized_short,
           list_contains($model_venues, v.venue) AS has_model,
           m.day IS NOT NULL AS modelled,
           m.liquidated_long_24h, m.liquidated_short_24h, m.params_hash
    FROM venues v
    CROSS JOIN symbols s
    CROSS JOIN days d
    LEFT JOIN coverage c ON c.venue = v.venue AND c.day = d.day
    LEFT JOIN realized r ON r.venue = v.venue AND r.symbol = s.symbol AND r.day = d.day
    LEFT JOIN model m ON m.venue = v.venue AND m.symbol = s.symbol AND m.day = d.day
)
SELECT venue,
       symbol,
       day,
       CASE
           WHEN complete THEN 'complete'
           WHEN collected_seconds > 0 OR events > 0 THEN 'partial'
           ELSE 'not collected'
       END AS collected,
       least(collected_seconds / 86400.0, 1.0) AS coverage_share,
       completeness,
       CASE WHEN complete OR collected_seconds > 0 OR events > 0
            THEN coalesce(events, 0) END AS events,
       CASE WHEN complete OR collected_seconds > 0 OR events > 0
            THEN coalesce(realized_long, 0) END AS realized_long,
       CASE WHEN complete OR collected_seconds > 0 OR events > 0
            THEN coalesce(realized_short, 0) END AS realized_short,
       CASE
           WHEN NOT has_model THEN 'no model for this venue'
           WHEN modelled THEN 'base'
           ELSE 'not modelled'
       END AS model,
       CASE WHEN has_model THEN liquidated_long_24h END AS modelled_long,
       CASE WHEN has_model THEN liquidated_short_24h END AS modelled_short,
       CASE WHEN has_model THEN params_hash END AS params_hash
FROM joined
ORDER BY venue, symbol, day
