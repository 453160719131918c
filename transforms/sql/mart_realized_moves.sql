-- Realized liquidations inside every swing of mart.moves for $symbols, per venue: the swings of
-- the venue's own model when it is modelled ($model_venues), else those of the aggregate ('all'). The model
-- counts a swing's liquidations in its bars (start, end], i.e. from the close of the start bar
-- to the close of the end bar: [start_ts + 5 min, end_ts + 5 min) for 5-minute bars.
-- collected over the span's UTC days: 'complete' if every day was, 'not collected' if none
-- was received at all (realized NULL), else 'partial'.
-- Parameters: $venues, $completeness (parallel lists), $symbols, $model_venues.
INSERT INTO mart.realized_moves
WITH venues AS (
    SELECT unnest($venues) AS venue, unnest($completeness) AS completeness
),
spans AS (
    SELECT v.venue, v.completeness, m.symbol, m.day, m.start_ts, m.end_ts, m.confirmed,
           m.start_ts + INTERVAL 5 MINUTE AS span_from,
           m.end_ts + INTERVAL 5 MINUTE AS span_to,
           m.long_liquidated, m.short_liquidated
    FROM mart.moves m
    JOIN venues v
      ON m.venue = CASE WHEN list_contains($model_venues, v.venue) THEN v.venue ELSE 'all' END
    WHERE list_contains($symbols, m.symbol)
),
span_days AS (
    SELECT venue, symbol, day, start_ts,
           CAST(unnest(range(
               CAST(CAST(span_from AS DATE) AS TIMESTAMP),
               span_to,
               INTERVAL 1 DAY
           )) AS DATE) AS span_day
    FROM spans
),
span_coverage AS (
    SELECT d.venue, d.symbol, d.day, d.start_ts,
           bool_and(coalesce(c.complete, false)) AS all_complete,
           bool_or(coalesce(c.collected_seconds, 0) > 0) AS any_collected
    FROM span_days d
    LEFT JOIN raw.liquidation_coverage c ON c.venue = d.venue AND c.day = d.span_day
    GROUP BY d.venue, d.symbol, d.day, d.start_ts
),
realized AS (
    SELECT s.venue, s.symbol, s.day, s.start_ts,
           count(l.ts) AS events,
           coalesce(sum(l.notional) FILTER (WHERE l.side = 'long'), 0) AS realized_long,
           coalesce(sum(l.notional) FILTER (WHERE l.side = 'short'), 0) AS realized_short
    FROM spans s
    JOIN raw.liquidations l
      ON l.venue = s.venue AND l.symbol = s.symbol
     AND l.ts >= s.span_from AND l.ts < s.span_to
    GROUP BY s.venue, s.symbol, s.day, s.start_ts
)
SELECT s.venue,
       s.symbol,
       s.day,
       s.start_ts,
       s.end_ts,
       s.confirmed,
       CASE
           WHEN c.all_complete THEN 'complete'
           WHEN c.any_collected OR r.events > 0 THEN 'partial'
           ELSE 'not collected'
       END AS collected,
       s.completeness,
       CASE WHEN c.any_collected OR r.events > 0 THEN coalesce(r.events, 0) END AS events,
       CASE WHEN c.any_collected OR r.events > 0 THEN coalesce(r.realized_long, 0) END,
       CASE WHEN c.any_collected OR r.events > 0 THEN coalesce(r.realized_short, 0) END,
       CASE WHEN list_contains($model_venues, s.venue) THEN s.long_liquidated END,
       CASE WHEN list_contains($model_venues, s.venue) THEN s.short_liquidated END
FROM spans s
LEFT JOIN span_coverage c
  ON c.venue = s.venue AND c.symbol = s.symbol AND c.day = s.day AND c.start_ts = s.start_ts
LEFT JOIN realized r
  ON r.venue = s.venue AND r.symbol = s.symbol AND r.day = s.day AND r.start_ts = s.start_ts
ORDER BY s.venue, s.symbol, s.start_ts
