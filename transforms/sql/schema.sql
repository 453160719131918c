-- liqmap warehouse schema. Idempotent: safe to run on every connection.
-- Layers: raw (one row per archive row, partitioned by UTC day), stg (5-minute bars),
-- ref (reference tables), mart (model outputs the site reads). No PK indexes on facts:
-- loads are delete-window + insert inside one transaction.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS stg;
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE IF NOT EXISTS raw.klines_1m (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    open_time TIMESTAMP NOT NULL,
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
    volume DOUBLE,
    close_time TIMESTAMP,
    quote_volume DOUBLE,
    trade_count BIGINT,
    taker_buy_volume DOUBLE,
    taker_buy_quote_volume DOUBLE
);

CREATE TABLE IF NOT EXISTS raw.mark_klines_1m (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    open_time TIMESTAMP NOT NULL,
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
    close_time TIMESTAMP
);

CREATE TABLE IF NOT EXISTS raw.metrics_5m (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    create_time TIMESTAMP NOT NULL,
    sum_open_interest DOUBLE,            -- base asset (BTC)
    sum_open_interest_value DOUBLE,      -- USDT
    count_toptrader_long_short_ratio DOUBLE,
    sum_toptrader_long_short_ratio DOUBLE,
    count_long_short_ratio DOUBLE,
    sum_taker_long_short_vol_ratio DOUBLE
);

CREATE TABLE IF NOT EXISTS raw.funding (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    calc_time TIMESTAMP NOT NULL,        -- floored to the hour (archive has ms jitter)
    funding_interval_hours INTEGER,
    last_funding_rate DOUBLE             -- fraction: 0.0001 = 0.01 %
);

-- One row per archive file that was verified and loaded (provenance + checksum audit).
CREATE TABLE IF NOT EXISTS raw.files (
    dataset VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    period VARCHAR NOT NULL,             -- YYYY-MM-DD, or YYYY-MM for monthly funding
    relpath VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    source VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

-- Archive files rejected at load (transforms.raw.validation): nothing of them entered raw.*.
-- A later load of the same period replaces its row (deleted when the file passes).
CREATE TABLE IF NOT EXISTS raw.rejected_files (
    dataset VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    relpath VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    line BIGINT,                         -- first offending line of the CSV (1 = first line)
    message VARCHAR NOT NULL,
    rejected_at TIMESTAMP NOT NULL
);

-- 5-minute bars: the model's only input.
CREATE TABLE IF NOT EXISTS stg.bars_5m (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    ts TIMESTAMP NOT NULL,               -- bar open time (UTC)
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
    volume DOUBLE,                       -- base asset
    quote_volume DOUBLE,                 -- USDT
    taker_buy_quote_volume DOUBLE,
    mark_high DOUBLE, mark_low DOUBLE, mark_close DOUBLE,
    oi_base DOUBLE,                      -- open interest (BTC) as of bar close
    oi_value DOUBLE,                     -- open interest (USDT) as of bar close
    taker_ratio DOUBLE,                  -- taker buy/sell volume ratio from metrics, as of bar close
    funding_rate DOUBLE                  -- last settled funding rate as of bar open; NULL past interval + 1 h
);

-- Maintenance tiers per venue (Binance USDⓈ-M brackets, Bybit risk limits), dated: the model
-- uses the newest effective_date <= the bar's day. Loaded by transforms/reference/tiers.py.
CREATE TABLE IF NOT EXISTS ref.leverage_brackets (
    symbol VARCHAR NOT NULL,
    effective_date DATE NOT NULL,
    bracket INTEGER NOT NULL,
    notional_floor DOUBLE NOT NULL,
    notional_cap DOUBLE NOT NULL,
    max_leverage DOUBLE NOT NULL,
    maint_margin_rate DOUBLE NOT NULL,
    cum DOUBLE NOT NULL,
    source VARCHAR
);
-- Venue of the tier table (issue 13); added in place so older warehouses gain it too.
ALTER TABLE ref.leverage_brackets ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';

-- Every parameter set that produced mart rows; mart rows carry params_hash.
CREATE TABLE IF NOT EXISTS mart.model_params (
    params_hash VARCHAR NOT NULL,
    scenario VARCHAR NOT NULL,
    params_json VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- Hour bucket x price bin -> alive (not yet liquidated / closed / expired) notional, base model.
CREATE TABLE IF NOT EXISTS mart.liq_heatmap (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    ts TIMESTAMP NOT NULL,               -- hour bucket start
    price_low DOUBLE NOT NULL,           -- bin lower edge (USDT)
    price_high DOUBLE NOT NULL,
    long_notional DOUBLE NOT NULL,       -- USDT of longs whose liquidation price is in the bin
    short_notional DOUBLE NOT NULL,
    params_hash VARCHAR NOT NULL
);

-- As-of day (end of day) x price bin -> outstanding notional and cumulative from spot.
CREATE TABLE IF NOT EXISTS mart.liq_map (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    price_low DOUBLE NOT NULL,
    price_high DOUBLE NOT NULL,
    long_notional DOUBLE NOT NULL,
    short_notional DOUBLE NOT NULL,
    long_cum_from_spot DOUBLE NOT NULL,  -- longs liquidated if price falls to price_low
    short_cum_from_spot DOUBLE NOT NULL, -- shorts liquidated if price rises to price_high
    spot_price DOUBLE NOT NULL,
    params_hash VARCHAR NOT NULL
);

-- One row per symbol x day x scenario; scenario 'base' drives the headline.
CREATE TABLE IF NOT EXISTS mart.daily_metrics (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    scenario VARCHAR NOT NULL,           -- base | never_close | low_leverage | high_leverage
    close_price DOUBLE,
    mark_price DOUBLE,
    longs_at_risk DOUBLE,                -- alive long notional with LP below spot
    shorts_at_risk DOUBLE,               -- alive short notional with LP above spot
    longs_at_risk_10pct DOUBLE,          -- ... within 10 % of spot
    shorts_at_risk_10pct DOUBLE,
    longs_at_risk_25pct DOUBLE,
    shorts_at_risk_25pct DOUBLE,
    shorts_per_long DOUBLE,              -- whole map (context): shorts_at_risk / longs_at_risk
    log_imbalance DOUBLE,                -- ln(shorts_per_long)
    squeeze_ceiling DOUBLE,              -- price above spot where cum. shorts reach 90 % (exact)
    flush_floor DOUBLE,                  -- price below spot where cum. longs reach 90 % (exact)
    peak_cluster_long DOUBLE,            -- bin centre of largest long notional
    peak_cluster_short DOUBLE,
    peak_cluster_long_notional DOUBLE,
    peak_cluster_short_notional DOUBLE,
    liquidated_long_24h DOUBLE,          -- modelled long liquidations during the day
    liquidated_short_24h DOUBLE,
    funding_rate_last DOUBLE,
    funding_7d_mean DOUBLE,
    funding_annualized DOUBLE,           -- 7d mean x settlements per year
    funding_pctile_1y DOUBLE,            -- 0..1 percentile of the 7d mean over the past year
    funding_state VARCHAR,               -- elevated | neutral | negative | reset
    oi_value DOUBLE,
    oi_change_1d DOUBLE,                 -- fractional change
    oi_change_7d DOUBLE,
    oi_change_30d DOUBLE,
    zone_low DOUBLE,
    zone_high DOUBLE,
    zone_days INTEGER,                   -- days (up to yesterday) the zone spans
    -- key levels, both sides always (transforms/model/levels.py): above = shorts, below = longs
    nearest_cluster_above_price DOUBLE,
    nearest_cluster_above_pct DOUBLE,
    nearest_cluster_above_notional DOUBLE,
    nearest_cluster_below_price DOUBLE,
    nearest_cluster_below_pct DOUBLE,
    nearest_cluster_below_notional DOUBLE,
    peak_cluster_above_price DOUBLE,
    peak_cluster_above_pct DOUBLE,
    peak_cluster_above_notional DOUBLE,
    peak_cluster_below_price DOUBLE,
    peak_cluster_below_pct DOUBLE,
    peak_cluster_below_notional DOUBLE,
    p90_above_price DOUBLE,
    p90_above_pct DOUBLE,
    p90_below_price DOUBLE,
    p90_below_pct DOUBLE,
    history_days INTEGER,                -- days of bars the model had seen by the end of the day
    params_hash VARCHAR NOT NULL
);
-- Warehouses created before the key levels (their rows need a rebuild of the marts); the
-- columns they replace go, so no download shows an empty, obsolete column.
ALTER TABLE mart.daily_metrics DROP COLUMN IF EXISTS imbalance_ratio;
ALTER TABLE mart.daily_metrics DROP COLUMN IF EXISTS max_pain_price;
ALTER TABLE mart.daily_metrics DROP COLUMN IF EXISTS max_pain_side;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_above_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_above_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_above_notional DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_below_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_below_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_below_notional DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_above_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_above_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_above_notional DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_below_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_below_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_below_notional DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS p90_above_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS p90_above_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS p90_below_price DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS p90_below_pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS shorts_per_long DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS history_days INTEGER;

-- The liquidation map (±25 % of spot) for every view the report switches between:
-- scenario (base | never_close) x leverage layer (all | high: >= 50x | mid: between | low: <= 10x;
-- high + mid + low = all).
CREATE TABLE IF NOT EXISTS mart.liq_layer_map (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    scenario VARCHAR NOT NULL,
    layer VARCHAR NOT NULL,
    price_low DOUBLE NOT NULL,
    price_high DOUBLE NOT NULL,
    long_notional DOUBLE NOT NULL,
    short_notional DOUBLE NOT NULL,
    long_cum_from_spot DOUBLE NOT NULL,
    short_cum_from_spot DOUBLE NOT NULL,
    spot_price DOUBLE NOT NULL,
    params_hash VARCHAR NOT NULL
);

-- The heatmap every 4 hours for the views other than base/all (mart.liq_heatmap, hourly).
CREATE TABLE IF NOT EXISTS mart.liq_layer_heatmap (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    ts TIMESTAMP NOT NULL,               -- 4-hour block start; notional alive at its end
    scenario VARCHAR NOT NULL,
    layer VARCHAR NOT NULL,
    price_low DOUBLE NOT NULL,
    price_high DOUBLE NOT NULL,
    long_notional DOUBLE NOT NULL,
    short_notional DOUBLE NOT NULL,
    params_hash VARCHAR NOT NULL
);

-- Zigzag price swings with the modelled liquidations inside them (base model).
-- Partitioned by `day`: the swings confirmed on that day (price reversed by the threshold
-- from their extreme, which may be days after end_ts), plus (confirmed = false) the swing
-- still running at the end of the latest day written. Only the latest day keeps a running
-- row (older ones are deleted on write), so each swing appears once. A day's rows are
-- replaced on re-run.
CREATE TABLE IF NOT EXISTS mart.moves (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,                   -- UTC day of confirmed_ts (running: latest day)
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    direction VARCHAR NOT NULL,          -- 'up' | 'down'
    from_price DOUBLE NOT NULL,
    to_price DOUBLE NOT NULL,
    pct_change DOUBLE NOT NULL,
    long_liquidated DOUBLE NOT NULL,
    short_liquidated DOUBLE NOT NULL,
    oi_change DOUBLE,                    -- USDT change of open interest over the swing
    confirmed BOOLEAN NOT NULL,          -- false for the still-running last swing
    params_hash VARCHAR NOT NULL,
    confirmed_ts TIMESTAMP               -- bar whose close confirmed the swing; NULL if running
);
-- Warehouses created before confirmed_ts existed (their rows need a rebuild of mart.moves).
ALTER TABLE mart.moves ADD COLUMN IF NOT EXISTS confirmed_ts TIMESTAMP;

-- Hourly price from the 5-minute bars, for the report's price line. Partitioned by `day`.
CREATE TABLE IF NOT EXISTS mart.price_hourly (
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    ts TIMESTAMP NOT NULL,               -- hour start (UTC)
    open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE,
    mark_close DOUBLE,
    oi_value DOUBLE                      -- open interest (USDT), last in hour
);

-- Realized liquidations from `liqmap collect` (Bybit allLiquidation, Binance !forceOrder@arr),
-- loaded per UTC day of the venue's event time. `side` is the side that was liquidated.
CREATE TABLE IF NOT EXISTS raw.liquidations (
    venue VARCHAR NOT NULL,              -- 'bybit' | 'binance'
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,                   -- UTC day of ts
    ts TIMESTAMP NOT NULL,               -- venue event time (UTC)
    side VARCHAR NOT NULL,               -- 'long' | 'short': which side was liquidated
    price DOUBLE NOT NULL,               -- bybit: bankruptcy price; binance: average fill price
    quantity DOUBLE NOT NULL,            -- base asset
    notional DOUBLE NOT NULL,            -- price * quantity (quote, USDT)
    completeness VARCHAR NOT NULL,       -- 'complete' (bybit) | 'throttled' (binance: 1/symbol/s)
    received_at TIMESTAMP NOT NULL,      -- when the collector received it
    source_file VARCHAR NOT NULL         -- hourly file, relative to <data dir>/realized
);

-- One row per venue and day loaded: how much of the day the stream was actually received.
-- A day with any gap is complete = false; collected_seconds = 0 means "not collected".
CREATE TABLE IF NOT EXISTS raw.liquidation_coverage (
    venue VARCHAR NOT NULL,
    day DATE NOT NULL,
    collected_seconds DOUBLE NOT NULL,
    gap_seconds DOUBLE NOT NULL,
    complete BOOLEAN NOT NULL,
    events BIGINT NOT NULL,
    files BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);

-- Realized beside modelled liquidations (issue 14), from raw.liquidations, its coverage and the
-- base model. One row per venue, market and day of the window, collected or not: a day the
-- stream was not received says collected = 'not collected' with NULL realized (never zero).
-- `completeness` is the source's: 'complete' (bybit allLiquidation) or 'throttled' (binance
-- forceOrder: at most one order per symbol per second, so realized is a lower bound).
-- The model runs on Binance data only, so other venues have model = 'no model for this venue'.
CREATE TABLE IF NOT EXISTS mart.realized_daily (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    collected VARCHAR NOT NULL,          -- 'complete' | 'partial' | 'not collected'
    coverage_share DOUBLE NOT NULL,      -- share of the day the stream was received, 0..1
    completeness VARCHAR NOT NULL,       -- 'complete' | 'throttled' (the source)
    events BIGINT,                       -- NULL when not collected
    realized_long DOUBLE,                -- USDT of longs liquidated; NULL when not collected
    realized_short DOUBLE,
    model VARCHAR NOT NULL,              -- 'base' | 'not modelled' | 'no model for this venue'
    modelled_long DOUBLE,                -- mart.daily_metrics liquidated_long_24h (base)
    modelled_short DOUBLE,
    params_hash VARCHAR
);

-- Realized liquidations per venue, market and hour (hours with events only; whether the hour
-- was collected at all is in mart.realized_daily).
CREATE TABLE IF NOT EXISTS mart.realized_hourly (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    ts TIMESTAMP NOT NULL,               -- hour start (UTC)
    events BIGINT NOT NULL,
    realized_long DOUBLE NOT NULL,
    realized_short DOUBLE NOT NULL
);

-- Realized liquidations inside each swing of mart.moves (the same bars (start, end]: from
-- start_ts + 5 min to end_ts + 5 min), beside the modelled. Rebuilt whole on every run.
-- venue = 'all': the aggregate's swings with every collecting venue's realized summed
-- (completeness 'throttled' when any venue's is: the sum is then a lower bound).
CREATE TABLE IF NOT EXISTS mart.realized_moves (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,                   -- the mart.moves row's day
    start_ts TIMESTAMP NOT NULL,
    end_ts TIMESTAMP NOT NULL,
    confirmed BOOLEAN NOT NULL,
    collected VARCHAR NOT NULL,          -- 'complete' | 'partial' | 'not collected' over the span's days
    completeness VARCHAR NOT NULL,
    events BIGINT,
    realized_long DOUBLE,
    realized_short DOUBLE,
    modelled_long DOUBLE,                -- NULL for a venue without a model
    modelled_short DOUBLE
);

-- Calibration as of each day, over every fully collected day up to it (partial days are
-- excluded and counted; days not collected are counted). Daily totals are long + short.
-- Rebuilt whole on every run.
CREATE TABLE IF NOT EXISTS mart.realized_calibration (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    completeness VARCHAR NOT NULL,       -- 'complete' | 'throttled' (the source)
    model VARCHAR NOT NULL,              -- 'base' | 'no model for this venue'
    days_used INTEGER NOT NULL,          -- complete days with a model row
    days_partial INTEGER NOT NULL,       -- excluded
    days_not_collected INTEGER NOT NULL,
    first_day DATE,                      -- first and last day used
    last_day DATE,
    realized_total DOUBLE,               -- sum over the days used
    modelled_total DOUBLE,
    modelled_per_realized DOUBLE,        -- modelled_total / realized_total
    pearson DOUBLE,                      -- correlation of daily totals (>= 3 days, else NULL)
    spearman DOUBLE,                     -- rank correlation of daily totals (average ranks)
    side_agreement DOUBLE                -- share of days used whose heavier side agrees
);

-- Venues (issue 13): a market is one (venue, symbol) pair. Raw and staged rows carry the
-- venue they came from; mart rows carry the venue they were modelled on, or 'all' for the
-- per-symbol aggregate (the sum of the venues' grids). Added last and in place, so a
-- warehouse built before venues keeps its rows (as Binance rows) and its column order.
ALTER TABLE raw.klines_1m ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE raw.mark_klines_1m ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE raw.metrics_5m ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE raw.funding ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE raw.files ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE raw.rejected_files ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE stg.bars_5m ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.liq_heatmap ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.liq_map ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
-- Venues whose rows make up the row ('binance,bybit' for a full aggregate) and venues
-- configured but missing that day (empty when none): an aggregate is never silently smaller.
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS venues VARCHAR;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS venues_missing VARCHAR;
-- Venues configured but not collected that day (empty when none): a forward-collected venue
-- (transforms/venues.py FORWARD, e.g. OKX) before its first collected day, or on a gap day.
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS venues_not_collected VARCHAR;
ALTER TABLE mart.liq_layer_map ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.liq_layer_heatmap ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.moves ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
ALTER TABLE mart.price_hourly ADD COLUMN IF NOT EXISTS venue VARCHAR DEFAULT 'binance';
-- Realized markers on the heatmap (issue 14): each side's realized-weighted price per hour
-- (notional / quantity; NULL when the side had no liquidations that hour). Added last.
ALTER TABLE mart.realized_hourly ADD COLUMN IF NOT EXISTS price_long DOUBLE;
ALTER TABLE mart.realized_hourly ADD COLUMN IF NOT EXISTS price_short DOUBLE;

-- Provisional raw rows (issue 24): the day in progress loaded from REST (Binance) or a Bybit
-- day not final yet. One row per venue, symbol, day and dataset, written in the same
-- transaction as the rows. A raw.files row for the same venue, dataset, symbol and day (the
-- archive's verified file, or Bybit's final day) supersedes it: archive wins.
CREATE TABLE IF NOT EXISTS raw.provisional_days (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    dataset VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,            -- the data reaches this time (end of the last closed bar)
    loaded_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL              -- 'binance-rest' | 'bybit-rest'
);

-- The published nowcast per market (issue 24): one row per venue and symbol, replaced by
-- every refresh. A failed refresh keeps the last good as_of and sets stale_since and error.
CREATE TABLE IF NOT EXISTS mart.nowcast (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,                   -- the day in progress the marts' provisional rows hold
    as_of TIMESTAMP,                     -- last good data time (UTC); NULL before any success
    refreshed_at TIMESTAMP NOT NULL,     -- when the last refresh (good or failed) ended
    stale_since TIMESTAMP,               -- first failed refresh since the last good one
    error VARCHAR,                       -- the last failure, one line
    mark_price DOUBLE,                   -- premium index at as_of (Binance), else NULL
    index_price DOUBLE,
    funding_rate_next DOUBLE,            -- predicted rate of the next settlement
    next_funding TIMESTAMP,
    requests INTEGER                     -- REST requests the last refresh sent for the market
);

-- Alerts (issue 24): one row per firing of a rule on a market and level. A rule re-fires for
-- the same key only after it re-armed (its condition left the hysteresis band).
CREATE TABLE IF NOT EXISTS mart.alerts (
    alert_id VARCHAR NOT NULL,           -- sha256 of rule, venue, symbol, level key, fired_at
    rule VARCHAR NOT NULL,               -- the rule's name in alerts.toml
    kind VARCHAR NOT NULL,               -- near_cluster | cluster_size | imbalance_side | funding_state
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    level_key VARCHAR NOT NULL,          -- what is deduplicated: e.g. 'above:97250', 'shorts'
    fired_at TIMESTAMP NOT NULL,         -- data time of the evaluation that fired (as_of)
    day DATE NOT NULL,
    provisional BOOLEAN NOT NULL,        -- evaluated on a day in progress
    title VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    value DOUBLE,                        -- the measured value (pct, USDT, ratio)
    threshold DOUBLE,
    armed BOOLEAN NOT NULL               -- false while the condition holds; true once re-armed
);

-- Webhook deliveries of alerts: one row per alert and webhook, retried on later refreshes
-- until delivered; `liqmap status` reports the undelivered ones.
CREATE TABLE IF NOT EXISTS mart.alert_deliveries (
    alert_id VARCHAR NOT NULL,
    webhook VARCHAR NOT NULL,            -- the webhook's name in alerts.toml
    format VARCHAR NOT NULL,             -- json | slack | discord
    delivered_at TIMESTAMP,              -- NULL until a 2xx answer
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    updated_at TIMESTAMP NOT NULL
);

-- Mart days that are provisional (issue 24): the nowcast's days in progress, per venue and
-- for the aggregate ('all'), with the time their data is as of. Rewritten by every refresh;
-- a row goes once its raw rows are final (the daily run's archive load supersedes them). The
-- daily site leaves these days out; the "now" view shows them.
CREATE TABLE IF NOT EXISTS mart.provisional_days (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,
    as_of TIMESTAMP NOT NULL
);

-- History completeness (issue 19): on a day after a day of the market's history had no bars
-- (raw files missing), 'history incomplete: <day> missing' (the model ran across the gap);
-- empty when the history is whole. The aggregate names the venue: 'bybit: history ...'.
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS history_incomplete VARCHAR;

-- Model state at the end of a day (issue 19, transforms/model/state.py): per market
-- (venue, symbol; 'all' for the aggregate's day-level quantities), day, scenario (a scenario's
-- alive cohorts and closing factor; 'context' for funding, zone, zigzag and running totals)
-- and params_hash. Written in the transaction of that day's marts; the next daily run
-- continues from it. `inputs` is what the state was computed from (per-day fingerprints of
-- the staged bars, per-date fingerprints of the tier snapshots, days missing from the
-- history): when the warehouse no longer matches, the state is not used. content_hash is the
-- sha256 of the identity columns, inputs and state bytes: a corrupt or foreign state is
-- recomputed from bars, never loaded. A scenario row may hold only what changed since the
-- state of `base_day` (a delta, transforms.model.state.carry_delta): that day's rows are
-- kept while a kept row names them. The state bytes are compressed already (zstd): stored
-- uncompressed, a day's rows are read without decompressing the other days' (DuckDB
-- compresses a column segment whole), and a checkpoint copies them instead of recompressing.
-- The table is made anew each time this file is applied (a change to it: rarely), its rows
-- kept: a warehouse made before (its state column compressed, no base_day) gets this form
-- (DuckDB cannot change a column's compression in place); the table holds a few days of
-- state, so the copy is cheap. One transaction: a crash leaves the table as it was.
BEGIN TRANSACTION;
CREATE TABLE mart.model_state_next (
    venue VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    day DATE NOT NULL,                   -- the state at the end of this UTC day
    scenario VARCHAR NOT NULL,           -- base | never_close | ... | context
    params_hash VARCHAR NOT NULL,
    last_ts TIMESTAMP,                   -- open time of the last bar the state has seen
    cohorts BIGINT NOT NULL,             -- alive cohorts carried (0 for context rows)
    inputs VARCHAR NOT NULL,             -- JSON: fingerprints of the bars and tiers used
    state BLOB USING COMPRESSION uncompressed NOT NULL,  -- transforms.model.state.pack bytes
    content_hash VARCHAR NOT NULL,       -- sha256 of identity, inputs and state
    base_day DATE                        -- a delta's base (its day's rows), NULL when whole
);
CREATE TABLE IF NOT EXISTS mart.model_state AS FROM mart.model_state_next LIMIT 0;
INSERT INTO mart.model_state_next BY NAME SELECT * FROM mart.model_state;
DROP TABLE mart.model_state;
ALTER TABLE mart.model_state_next RENAME TO model_state;
COMMIT;
-- Near-spot first (v3, issue 21): the headline imbalance is the one within reach of a move.
-- Added last, so a warehouse built before keeps its column order (its rows need a rebuild).
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS longs_at_risk_5pct DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS shorts_at_risk_5pct DOUBLE;
-- shorts_at_risk_5pct / longs_at_risk_5pct (printed "X:1 <side>"), NULL unless both > 0
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS shorts_per_long_5pct DOUBLE;
-- shorts_at_risk_10pct / longs_at_risk_10pct: the headline imbalance
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS shorts_per_long_10pct DOUBLE;
-- Major clusters by an absolute rule, held steady (transforms/model/stable_levels.py): the
-- rule's threshold per price bin (USDT: 1 % of open interest per 1 % of price over the bin's
-- width) and why each side's nearest cluster is where it is: new | none | near | held |
-- price (price moved >= 5 %) | consumed (price reached it) | closed (no longer major).
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS major_cluster_min DOUBLE;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_above_move VARCHAR;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS nearest_cluster_below_move VARCHAR;
-- the same for the peak clusters (held while they keep half of the day's heaviest bin)
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_above_move VARCHAR;
ALTER TABLE mart.daily_metrics ADD COLUMN IF NOT EXISTS peak_cluster_below_move VARCHAR;
-- The days writers replaced in the big day-partitioned tables (transforms/changes.py): the
-- snapshot hashes only those days again instead of every row. One sequence number per note;
-- the first row (no table) holds the log's random origin: a log created again has another.
CREATE TABLE IF NOT EXISTS main.changed_days (
    seq BIGINT NOT NULL,
    table_name VARCHAR NOT NULL,
    day DATE NOT NULL
);
INSERT INTO main.changed_days
SELECT CAST(floor(random() * 4503599627370496) AS BIGINT), '', DATE '1970-01-01'
WHERE NOT EXISTS (SELECT 1 FROM main.changed_days);
