"""The mart registry: every `mart.*` table, declared once.

Each entry names the table (also its Dagster asset key), its columns in table order, what it
means, how a run replaces its rows, and whether it is exported as Parquet. The model writes
`MartFrames`; the store, the snapshot exports, the Dagster assets and the report's
dependencies all derive from `MARTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

import pandas as pd

from transforms.model.funding import FUNDING_COLUMNS, OI_COLUMNS
from transforms.model.levels import LEVEL_COLUMNS, STABLE_COLUMNS
from transforms.model.metrics import NEAR_COLUMNS, RISK_COLUMNS

HEATMAP_COLUMNS = [
    "symbol",
    "day",
    "ts",
    "price_low",
    "price_high",
    "long_notional",
    "short_notional",
    "params_hash",
    "venue",
]
LIQ_MAP_COLUMNS = [
    "symbol",
    "day",
    "price_low",
    "price_high",
    "long_notional",
    "short_notional",
    "long_cum_from_spot",
    "short_cum_from_spot",
    "spot_price",
    "params_hash",
    "venue",
]
DAILY_METRICS_COLUMNS = [
    "symbol",
    "day",
    "scenario",
    "close_price",
    "mark_price",
    *RISK_COLUMNS,
    "liquidated_long_24h",
    "liquidated_short_24h",
    *FUNDING_COLUMNS,
    *OI_COLUMNS,
    "zone_low",
    "zone_high",
    "zone_days",
    *LEVEL_COLUMNS,
    "history_days",
    "params_hash",
    "venue",
    "venues",
    "venues_missing",
    "venues_not_collected",
    "history_incomplete",
    *NEAR_COLUMNS,
    *STABLE_COLUMNS,
]
LAYER_MAP_COLUMNS = [
    "symbol",
    "day",
    "scenario",
    "layer",
    "price_low",
    "price_high",
    "long_notional",
    "short_notional",
    "long_cum_from_spot",
    "short_cum_from_spot",
    "spot_price",
    "params_hash",
    "venue",
]
LAYER_HEATMAP_COLUMNS = [
    "symbol",
    "day",
    "ts",
    "scenario",
    "layer",
    "price_low",
    "price_high",
    "long_notional",
    "short_notional",
    "params_hash",
    "venue",
]
MOVES_COLUMNS = [
    "symbol",
    "day",
    "start_ts",
    "end_ts",
    "direction",
    "from_price",
    "to_price",
    "pct_change",
    "long_liquidated",
    "short_liquidated",
    "oi_change",
    "confirmed",
    "params_hash",
    "confirmed_ts",
    "venue",
]
MODEL_PARAMS_COLUMNS = ["params_hash", "scenario", "params_json", "recorded_at"]
MODEL_STATE_COLUMNS = [
    "venue",
    "symbol",
    "day",
    "scenario",
    "params_hash",
    "last_ts",
    "cohorts",
    "inputs",
    "state",
    "content_hash",
    "base_day",
]


PRICE_HOURLY_COLUMNS = [
    "symbol",
    "day",
    "ts",
    "open",
    "high",
    "low",
    "close",
    "mark_close",
    "oi_value",
    "venue",
]

REALIZED_DAILY_COLUMNS = [
    "venue",
    "symbol",
    "day",
    "collected",
    "coverage_share",
    "completeness",
    "events",
    "realized_long",
    "realized_short",
    "model",
    "modelled_long",
    "modelled_short",
    "params_hash",
]
REALIZED_HOURLY_COLUMNS = [
    "venue",
    "symbol",
    "day",
    "ts",
    "events",
    "realized_long",
    "realized_short",
    "price_long",
    "price_short",
]
REALIZED_MOVES_COLUMNS = [
    "venue",
    "symbol",
    "day",
    "start_ts",
    "end_ts",
    "confirmed",
    "collected",
    "completeness",
    "events",
    "realized_long",
    "realized_short",
    "modelled_long",
    "modelled_short",
]
REALIZED_CALIBRATION_COLUMNS = [
    "venue",
    "symbol",
    "as_of",
    "completeness",
    "model",
    "days_used",
    "days_partial",
    "days_not_collected",
    "first_day",
    "last_day",
    "realized_total",
    "modelled_total",
    "modelled_per_realized",
    "pearson",
    "spearman",
    "side_agreement",
]

NOWCAST_COLUMNS = [
    "venue",
    "symbol",
    "day",
    "as_of",
    "refreshed_at",
    "stale_since",
    "error",
    "mark_price",
    "index_price",
    "funding_rate_next",
    "next_funding",
    "requests",
]
PROVISIONAL_DAYS_COLUMNS = ["venue", "symbol", "day", "as_of"]
ALERTS_COLUMNS = [
    "alert_id",
    "rule",
    "kind",
    "venue",
    "symbol",
    "level_key",
    "fired_at",
    "day",
    "provisional",
    "title",
    "detail",
    "value",
    "threshold",
    "armed",
]
ALERT_DELIVERIES_COLUMNS = [
    "alert_id",
    "webhook",
    "format",
    "delivered_at",
    "attempts",
    "last_error",
    "updated_at",
]

#: the Dagster (multi-)asset that writes a mart
MODEL_ASSET = "liquidation_model"
REALIZED_ASSET = "realized_vs_modelled"
#: the hourly nowcast (orchestration/assets/nowcast.py) and the alert evaluation it runs
NOWCAST_ASSET = "nowcast"


class Windowing(Enum):
    """How a run over days [start, end) replaces a mart's rows."""

    #: the window's rows (by `day`) are replaced by the model's frame
    MODEL_DAYS = "model_days"
    #: the window's rows (by `day`) are rebuilt in SQL from the staged bars
    STAGED_DAYS = "staged_days"
    #: rows keyed by (params_hash, scenario), replaced when the same set is used again
    BY_PARAMS = "by_params"
    #: the window's rows (by `day`) are rebuilt in SQL from raw.liquidations and the model marts
    REALIZED_DAYS = "realized_days"
    #: every row of the configured symbols is rebuilt on each run (small, spans many days)
    WHOLE = "whole"
    #: the model state at the end of the window's last day, written with its marts
    STATE = "state"
    #: rows kept per key (market, alert, delivery) and updated by every nowcast refresh and
    #: alert evaluation; never replaced by a day window
    BY_KEY = "by_key"


@dataclass(frozen=True)
class Mart:
    name: str
    columns: tuple[str, ...]
    description: str
    windowing: Windowing
    #: a Dagster asset of its own (model_params is bookkeeping written with every run)
    asset: bool = True
    #: which Dagster asset writes it
    producer: str = MODEL_ASSET
    #: published in the read-only snapshot's Parquet exports (not the model's internal state)
    exported: bool = True

    @property
    def table(self) -> str:
        return f"mart.{self.name}"


_ENTRIES = (
    Mart(
        "liq_heatmap",
        tuple(HEATMAP_COLUMNS),
        "Hour x price bin -> alive long/short liquidation notional (base model).",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "liq_map",
        tuple(LIQ_MAP_COLUMNS),
        "End-of-day outstanding long/short liquidation notional by price, cumulative "
        "from spot (base model).",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "liq_layer_map",
        tuple(LAYER_MAP_COLUMNS),
        "End-of-day liquidation map within ±25 % of spot for every view the report can "
        "switch to: scenario (base, never_close) x leverage layer (all, high >= 50x, "
        "mid between, low <= 10x: high + mid + low = all), cumulative from spot.",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "liq_layer_heatmap",
        tuple(LAYER_HEATMAP_COLUMNS),
        "Every 4 hours x price bin -> alive notional for the heatmap views other than "
        "base/all (which is liq_heatmap, hourly): never_close and the leverage layers.",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "daily_metrics",
        tuple(DAILY_METRICS_COLUMNS),
        "Headline numbers per day and scenario: at risk, imbalance (shorts per long) "
        "within ±5 % and ±10 % of price (the headline) and over the whole map (context), "
        "two-sided key levels (nearest and peak cluster, 90 % point per side), funding "
        "state, open-interest change, consolidation zone, days of history seen.",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "moves",
        tuple(MOVES_COLUMNS),
        "Zigzag price swings with the modelled long/short liquidations inside each.",
        Windowing.MODEL_DAYS,
    ),
    Mart(
        "price_hourly",
        tuple(PRICE_HOURLY_COLUMNS),
        "Hourly OHLC, mark close and open interest from the staged bars: the "
        "price path the report draws over the heatmap.",
        Windowing.STAGED_DAYS,
    ),
    Mart(
        "model_params",
        tuple(MODEL_PARAMS_COLUMNS),
        "Every parameter set (JSON) behind a params_hash, per scenario.",
        Windowing.BY_PARAMS,
        asset=False,
    ),
    Mart(
        "model_state",
        tuple(MODEL_STATE_COLUMNS),
        "The model's state at the end of a day per market, scenario and params_hash (alive "
        "cohorts, closing factor, day-level running quantities), so the next day's run "
        "models that day's bars only.",
        Windowing.STATE,
        asset=False,
        exported=False,
    ),
    Mart(
        "realized_daily",
        tuple(REALIZED_DAILY_COLUMNS),
        "Realized long/short liquidations per venue, market and day beside the modelled, "
        "with how much of the day was collected ('not collected' is never zero).",
        Windowing.REALIZED_DAYS,
        producer=REALIZED_ASSET,
    ),
    Mart(
        "realized_hourly",
        tuple(REALIZED_HOURLY_COLUMNS),
        "Realized long/short liquidations per venue, market and hour (hours with events), "
        "with each side's realized-weighted price.",
        Windowing.REALIZED_DAYS,
        producer=REALIZED_ASSET,
    ),
    Mart(
        "realized_moves",
        tuple(REALIZED_MOVES_COLUMNS),
        "Realized liquidations inside each price swing of mart.moves, beside the modelled, "
        "per venue and for the aggregate ('all': every collecting venue summed).",
        Windowing.WHOLE,
        producer=REALIZED_ASSET,
    ),
    Mart(
        "realized_calibration",
        tuple(REALIZED_CALIBRATION_COLUMNS),
        "Model vs realized as of each day over every fully collected day: modelled / "
        "realized, Pearson and Spearman correlation of daily totals, side agreement.",
        Windowing.WHOLE,
        producer=REALIZED_ASSET,
    ),
    Mart(
        "nowcast",
        tuple(NOWCAST_COLUMNS),
        "The published nowcast per market: the day in progress, the time its data is as of, "
        "when the last refresh ended and, when it failed, since when the nowcast is stale "
        "and why; the premium index (mark, index, next funding).",
        Windowing.BY_KEY,
        asset=False,
        producer=NOWCAST_ASSET,
    ),
    Mart(
        "provisional_days",
        tuple(PROVISIONAL_DAYS_COLUMNS),
        "Days whose mart rows are provisional (a day in progress built from REST), per venue "
        "and for the aggregate, with the time their data is as of; gone once the day is final.",
        Windowing.BY_KEY,
        asset=False,
        producer=NOWCAST_ASSET,
    ),
    Mart(
        "alerts",
        tuple(ALERTS_COLUMNS),
        "Alerts fired by the rules of alerts.toml: one row per firing of a rule on a market "
        "and level, re-fired only after the condition re-armed (hysteresis).",
        Windowing.BY_KEY,
        asset=False,
        producer=NOWCAST_ASSET,
    ),
    Mart(
        "alert_deliveries",
        tuple(ALERT_DELIVERIES_COLUMNS),
        "Each alert's delivery to each configured webhook: attempts, last error, when "
        "delivered (undelivered ones are retried on the next refresh).",
        Windowing.BY_KEY,
        asset=False,
        producer=NOWCAST_ASSET,
    ),
)

#: name -> Mart, in build and export order
MARTS: MappingProxyType[str, Mart] = MappingProxyType({m.name: m for m in _ENTRIES})
#: marts that are assets of the liquidation model's multi-asset
MART_ASSETS: tuple[str, ...] = tuple(
    m.name for m in _ENTRIES if m.asset and m.producer == MODEL_ASSET
)
#: marts that are assets of the realized-vs-modelled multi-asset
REALIZED_MART_ASSETS: tuple[str, ...] = tuple(
    m.name for m in _ENTRIES if m.asset and m.producer == REALIZED_ASSET
)
#: every mart asset (the report depends on these)
ALL_MART_ASSETS: tuple[str, ...] = MART_ASSETS + REALIZED_MART_ASSETS


@dataclass
class MartFrames:
    """The model's output for one symbol: DataFrames whose columns match the `mart.*` tables
    exactly (names and order). Field names are the mart names."""

    liq_heatmap: pd.DataFrame
    liq_map: pd.DataFrame
    liq_layer_map: pd.DataFrame
    liq_layer_heatmap: pd.DataFrame
    daily_metrics: pd.DataFrame
    moves: pd.DataFrame
    model_params: pd.DataFrame

    def by_mart(self) -> dict[str, pd.DataFrame]:
        """The frames of the MODEL_DAYS marts, keyed by mart name."""
        return {
            "liq_heatmap": self.liq_heatmap,
            "liq_map": self.liq_map,
            "liq_layer_map": self.liq_layer_map,
            "liq_layer_heatmap": self.liq_layer_heatmap,
            "daily_metrics": self.daily_metrics,
            "moves": self.moves,
        }
