-- 5-minute bars for one market (venue, symbol) and window [$start, $end). Two statements, split by
-- transforms.staging.bars on the `-- @statement <name>` markers; both take $venue, $symbol, $start (DATE)
-- and $end (DATE, exclusive).
--
-- Alignment rules (shared by both statements):
-- * last-price OHLC and volumes from 1m klines, mark high/low/close from 1m mark klines;
-- * open interest and taker ratio: the latest 5-min metrics snapshot at or before the bar
--   CLOSE (create_time <= ts + 5 min), so OI change on a bar is what happened during it. The
--   last bar of a day uses the next day's 00:00 snapshot once that day is loaded, falling back
--   to the latest earlier snapshot, never one after the close;
-- * funding: the last settlement at or before the bar open (calc_time <= ts, possibly from an
--   earlier day or month), and NULL once it is older than funding_interval_hours + 1 h: a stale
--   rate is worse than an honest n/a.

-- @statement insert_bars
INSERT INTO stg.bars_5m
WITH k AS (
    SELECT time_bucket(INTERVAL 5 MINUTE, open_time) AS ts, open_time, open, high, low, close,
           volume, quote_volume, taker_buy_quote_volume
    FROM raw.klines_1m
    WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
),
bars AS (
    SELECT ts,
           ts + INTERVAL 5 MINUTE AS close_ts,
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
    WHERE venue = $venue AND symbol = $symbol AND day >= $start AND day < $end
    GROUP BY 1
),
metrics AS (
    SELECT create_time, sum_open_interest, sum_open_interest_value,
           sum_taker_long_short_vol_ratio
    FROM raw.metrics_5m
    WHERE venue = $venue AND symbol = $symbol
      AND day >= CAST($start AS DATE) - INTERVAL 1 DAY AND day <= $end
      AND create_time <= CAST($end AS TIMESTAMP) + INTERVAL 5 MINUTE
),
funding AS (
    SELECT calc_time, last_funding_rate,
           calc_time + to_hours(coalesce(funding_interval_hours, 8) + 1) AS valid_until
    FROM raw.funding
    WHERE venue = $venue AND symbol = $symbol
      AND day >= CAST($start AS DATE) - to_days(CAST($lookback_days AS INTEGER)) AND day < $end
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
       CASE WHEN b.ts < f.valid_until THEN f.last_funding_rate END AS funding_rate,
       $venue AS venue
FROM bars AS b
LEFT JOIN mark AS m ON m.ts = b.ts
ASOF LEFT JOIN metrics AS mt ON b.close_ts >= mt.create_time
ASOF LEFT JOIN funding AS f ON b.ts >= f.calc_time
ORDER BY b.ts;

-- @statement refresh_before_window
-- Bars staged earlier than the data they depend on: refresh funding_rate of the bars in
-- [$start - $lookback_days days, $start) (a monthly funding file lands after its month, see the raw_funding
-- catch-up), and OI / taker ratio of the last bar before $start (its close snapshot is the
-- window's first metrics row). Same rules as insert_bars, so the result equals a range build.
UPDATE stg.bars_5m AS s
SET funding_rate = r.funding_rate,
    oi_base = CASE WHEN r.is_last THEN r.oi_base ELSE s.oi_base END,
    oi_value = CASE WHEN r.is_last THEN r.oi_value ELSE s.oi_value END,
    taker_ratio = CASE WHEN r.is_last THEN r.taker_ratio ELSE s.taker_ratio END
FROM (
    WITH bars AS (
        SELECT ts,
               ts + INTERVAL 5 MINUTE AS close_ts,
               ts + INTERVAL 5 MINUTE >= CAST($start AS TIMESTAMP) AS is_last
        FROM stg.bars_5m
        WHERE venue = $venue AND symbol = $symbol
          AND day >= CAST($start AS DATE) - to_days(CAST($lookback_days AS INTEGER)) AND day < $start
    ),
    metrics AS (
        SELECT create_time, sum_open_interest, sum_open_interest_value,
               sum_taker_long_short_vol_ratio
        FROM raw.metrics_5m
        WHERE venue = $venue AND symbol = $symbol
          AND day >= CAST($start AS DATE) - INTERVAL 1 DAY AND day <= $start
          AND create_time <= CAST($start AS TIMESTAMP) + INTERVAL 5 MINUTE
    ),
    funding AS (
        SELECT calc_time, last_funding_rate,
               calc_time + to_hours(coalesce(funding_interval_hours, 8) + 1) AS valid_until
        FROM raw.funding
        WHERE venue = $venue AND symbol = $symbol
          AND day >= CAST($start AS DATE) - INTERVAL 41 DAY AND day < $start
    )
    SELECT b.ts, b.is_last,
           mt.sum_open_interest AS oi_base,
           mt.sum_open_interest_value AS oi_value,
           mt.sum_taker_long_short_vol_ratio AS taker_ratio,
           CASE WHEN b.ts < f.valid_until THEN f.last_funding_rate END AS funding_rate
    FROM bars AS b
    ASOF LEFT JOIN metrics AS mt ON b.close_ts >= mt.create_time
    ASOF LEFT JOIN funding AS f ON b.ts >= f.calc_time
) AS r
WHERE s.venue = $venue AND s.symbol = $symbol AND s.ts = r.ts;
