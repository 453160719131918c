"""A real two-venue warehouse for the site tests, until Bybit's raw data runs through the
pipeline: the synthetic market is built for Binance by the real Dagster chain, its staged bars
and raw day rows are copied as a second venue with open interest scaled, Binance's tiers are
copied as that venue's, and the real `update_marts` models both venues and their aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from tests.model_helpers import flat_brackets, random_bars
from tests.pipeline_helpers import run_range, temp_settings
from transforms.db import apply_schema
from transforms.marts.update import update_marts
from transforms.model import ModelParams

SYMBOL = "BTCUSDT"
VENUES = ("binance", "bybit")
OI_SCALE = 0.6  # the second venue's open interest, relative to Binance's
# raw tables the model's presence check (and funding) reads
RAW_TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding")


@dataclass(frozen=True)
class TwoVenueWarehouse:
    path: Path
    days: list[date]  # days with aggregate marts, ascending
    second_venue_last: date  # the last day the second venue has rows for


def _copy_venue(conn: duckdb.DuckDBPyConnection, venue: str, oi_scale: float, until: date) -> None:
    """Binance's staged bars (OI scaled), raw day rows and tiers, as `venue`, up to `until`."""
    conn.execute(
        "INSERT INTO stg.bars_5m BY NAME SELECT * REPLACE "
        "($venue AS venue, oi_base * $k AS oi_base, oi_value * $k AS oi_value) "
        "FROM stg.bars_5m WHERE venue = 'binance' AND day <= $until",
        {"venue": venue, "k": oi_scale, "until": until},
    )
    for table in RAW_TABLES:
        conn.execute(
            f"INSERT INTO {table} BY NAME SELECT * REPLACE ($venue AS venue) FROM {table} "
            "WHERE venue = 'binance' AND day <= $until",
            {"venue": venue, "until": until},
        )
    conn.execute(
        "INSERT INTO ref.leverage_brackets BY NAME SELECT * REPLACE ($venue AS venue) "
        "FROM ref.leverage_brackets WHERE venue = 'binance'",
        {"venue": venue},
    )


def build_two_venue_warehouse(
    tmp: Path,
    first: date = date(2025, 11, 1),
    last: date = date(2025, 11, 5),
    second_venue_missing_last_day: bool = False,
    oi_scale: float = OI_SCALE,
) -> TwoVenueWarehouse:
    """A warehouse in `tmp/data` whose marts hold 'binance', 'bybit' and their aggregate 'all'
    for [first, last]. With `second_venue_missing_last_day`, Bybit has no rows on `last`, so
    that day's aggregate is Binance alone and names Bybit in `venues_missing`."""
    settings = temp_settings(tmp, first.isoformat(), (last + timedelta(days=1)).isoformat())
    assert run_range(settings, first, last).success
    until = last - timedelta(days=1) if second_venue_missing_last_day else last
    conn = duckdb.connect(str(settings.warehouse_path))
    try:
        _copy_venue(conn, VENUES[1], oi_scale, until)
        # the days both venues have, then (if any) the day only Binance has
        end = until + timedelta(days=1)
        assert not update_marts(conn, SYMBOL, ModelParams(), first, end, True, VENUES).failed
        if until < last:
            after = last + timedelta(days=1)
            update = update_marts(conn, SYMBOL, ModelParams(), end, after, True, VENUES)
            assert set(update.failed) == {VENUES[1]}
    finally:
        conn.close()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return TwoVenueWarehouse(settings.warehouse_path, days, until)


# --- a synthetic two-venue warehouse without the Dagster chain (model and marts tests) ---

SEEDS = {"binance": (21, 1.0, 0.004), "bybit": (22, 0.6, 0.005)}  # seed, OI scale, MMR
DAILY_RAW = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m")


def venue_bars(seed: int, oi_scale: float, days: int) -> pd.DataFrame:
    """`days` of seeded random 5-minute bars from 2025-01-01 with open interest scaled."""
    bars = random_bars(days * 288, seed=seed)
    for col in ("oi_base", "oi_value"):
        bars[col] = bars[col] * oi_scale
    return bars


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    conn.register("_frame", frame)
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
    conn.unregister("_frame")


def synthetic_warehouse(
    path: Path,
    days: int,
    bybit_days: int | None = None,
    first: date = date(2025, 1, 1),
    skip: dict[str, set[date]] | None = None,
) -> duckdb.DuckDBPyConnection:
    """A warehouse at `path` with staged bars and tiers of binance and bybit (bybit's ending
    after `bybit_days`) and the raw rows the model's presence check looks for (one per day
    and daily dataset); days in `skip[venue]` have neither (a day the archive lacks)."""
    conn = duckdb.connect(str(path))
    apply_schema(conn)
    for venue, (seed, scale, mmr) in SEEDS.items():
        n = days if venue == "binance" or bybit_days is None else bybit_days
        bars = venue_bars(seed, scale, days)
        bars = bars[bars["ts"] < pd.Timestamp(first + timedelta(days=n))]
        day = pd.to_datetime(bars["ts"]).dt.date
        gone = (skip or {}).get(venue, set())
        bars, day = bars[~day.isin(gone)], day[~day.isin(gone)]
        insert_frame(conn, "stg.bars_5m", bars.assign(symbol=SYMBOL, venue=venue, day=day))
        insert_frame(conn, "ref.leverage_brackets", flat_brackets(mmr=mmr).assign(venue=venue))
        kept = [first + timedelta(days=i) for i in range(n)]
        days_frame = pd.DataFrame({"day": [d for d in kept if d not in gone]})
        raw = days_frame.assign(venue=venue, symbol=SYMBOL, t=pd.to_datetime(days_frame["day"]))
        insert_frame(conn, "raw.klines_1m", raw.rename(columns={"t": "open_time"}))
        insert_frame(conn, "raw.mark_klines_1m", raw.rename(columns={"t": "open_time"}))
        insert_frame(conn, "raw.metrics_5m", raw.rename(columns={"t": "create_time"}))
    return conn
