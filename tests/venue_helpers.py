"""A real two-venue warehouse for the site tests: Binance's archive (a generated mirror) and
Bybit's REST API (transforms' FakeBybitServer on 127.0.0.1, serving the demo's Bybit market:
the same simulated price path, 60 % of Binance's open interest) through the real Dagster
chain, which models both venues and their aggregate. Shared by the suite as the session
fixture `two_venue_chain` (tests/conftest.py). Below it, a synthetic two-venue warehouse
without the chain, for the model and marts tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from tests.model_helpers import flat_brackets, random_bars
from tests.pipeline_helpers import run_chain, temp_settings
from transforms.db import apply_schema

SYMBOL = "BTCUSDT"
VENUES = ("binance", "bybit")

# --- the offline venues' clock, and range = daily over a built warehouse -------------------

#: the clock of the tests running the offline OKX/Hyperliquid demo venues through the chain
#: (LIQMAP_NOW): noon, far from either midnight; the six days before it lie in one month (one
#: simulated month) and hold a swing of the synthetic market (rows in mart.moves), also in the
#: days OKX still serves (its open interest reaches five days back)
PINNED_NOW = datetime(2026, 9, 27, 12, 0, tzinfo=UTC)
MART_TABLES = ("mart.daily_metrics", "mart.liq_map", "mart.liq_heatmap", "mart.moves")


def pin_clock(monkeypatch: pytest.MonkeyPatch, now: datetime = PINNED_NOW) -> None:
    """The product's clock pinned to `now` through LIQMAP_NOW alone: yesterday, the archive's
    last day, and what the offline OKX and Hyperliquid exchanges serve (OKX keeps about five
    days of open interest before its clock, so unpinned the days it covers would follow the
    hour the suite runs at)."""
    monkeypatch.setenv("LIQMAP_NOW", now.isoformat())


def in_venue_order(df: pd.DataFrame) -> pd.DataFrame:
    """A mart's rows in a canonical order: by venue, then its first six columns (they leave
    the venue out, and a venue's row can equal another's in all six: the aggregate's hourly
    prices are the reference venue's, empty map bins are alike)."""
    return df.sort_values(["venue", *df.columns[:6]], kind="stable").reset_index(drop=True)


def mart_rows(conn: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """A mart's rows (but the parameter hash) in a canonical order (in_venue_order)."""
    return in_venue_order(conn.execute(f"SELECT * EXCLUDE (params_hash) FROM {table}").df())


def assert_range_update_equals_daily(
    warehouse: Path, tmp: Path, first: date, last: date, venues: tuple[str, ...]
) -> dict[str, pd.DataFrame]:
    """Over the staged bars of `warehouse` (two copies in `tmp`), one model update of
    [first, last] gives the same MART_TABLES rows as one update per day, for every venue and
    the aggregate. Returns the range update's rows by table."""
    from transforms.marts.update import update_marts
    from transforms.model import ModelParams

    end = last + timedelta(days=1)
    copies = []
    for name in ("range", "daily"):
        path = tmp / f"{name}.duckdb"
        shutil.copy(warehouse, path)
        copies.append(duckdb.connect(str(path)))
    ranged, daily = copies
    rows: dict[str, pd.DataFrame] = {}
    try:
        update_marts(ranged, SYMBOL, ModelParams(), first, end, True, venues)
        day = first
        while day < end:
            update_marts(daily, SYMBOL, ModelParams(), day, day + timedelta(days=1), True, venues)
            day += timedelta(days=1)
        for table in MART_TABLES:
            rows[table] = a = mart_rows(ranged, table)
            b = mart_rows(daily, table)
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, obj=table)
    finally:
        for conn in copies:
            conn.close()
    return rows


# --- a REST venue's source against its fake server (test_{bybit,okx,hyperliquid}_source) ---

#: the source tests' market starts on REST_FIRST_DAY; most fetch REST_DAY
REST_SYMBOL, REST_FIRST_DAY, REST_DAY = "BTCUSDT", date(2026, 10, 1), date(2026, 10, 2)


def cached_files(tmp_path: Path) -> list[Path]:
    """Every file a source made under `tmp_path / "cache"` (none: nothing was cached)."""
    root = tmp_path / "cache"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_cache_hit_then_tampering_named(
    fetch: Callable[[], Any], server: Any, error: type[Exception], tamper: tuple[bytes, bytes]
) -> None:
    """A day fetched twice: the second comes from the verified cache (same rows, no request).
    Then a byte of the cached file changed (`tamper`: old, new) makes the next fetch raise
    `error` naming the file. `fetch()` fetches the day with a new source."""
    first = fetch()
    sent = server.requests
    again = fetch()
    assert again.from_cache and again.rows == first.rows and server.requests == sent
    first.path.write_bytes(first.path.read_bytes().replace(*tamper, 1))
    with pytest.raises(error, match=str(first.path.name)):
        fetch()


# --- a two-venue warehouse through the chain (Binance archive, Bybit REST) ----------------


@dataclass(frozen=True)
class TwoVenueWarehouse:
    path: Path
    days: list[date]  # days with aggregate marts, ascending
    second_venue_last: date  # the last day the second venue has rows for


def build_two_venue_warehouse(
    tmp: Path,
    first: date = date(2025, 11, 1),
    last: date = date(2025, 11, 5),
    second_venue_missing_last_day: bool = False,
) -> TwoVenueWarehouse:
    """A warehouse in `tmp/data` whose marts hold 'binance', 'bybit' and their aggregate 'all'
    for [first, last], as one range run. With `second_venue_missing_last_day`, the last day
    runs on its own with Bybit down (its port refuses connections), so that day's aggregate is
    Binance alone and names Bybit in `venues_missing`."""
    from transforms.raw.synthetic import generate_mirror
    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import LOCAL_REQUESTS_PER_5S, shadow_market

    until = last - timedelta(days=1) if second_venue_missing_last_day else last
    mirror = tmp / "mirror"
    settings = temp_settings(
        tmp,
        first.isoformat(),
        last.isoformat(),
        LIQMAP_VENUES=",".join(VENUES),
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
    )
    generate_mirror(mirror, SYMBOL, first, last, seed=settings.synthetic_seed)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIQMAP_BYBIT_REQUESTS_PER_5S", str(LOCAL_REQUESTS_PER_5S))
        with FakeBybitServer([shadow_market(settings, SYMBOL)]) as bybit:
            env.setenv("LIQMAP_BYBIT_URL", bybit.url)
            assert run_chain(settings, first, until).success
        if until < last:
            # the server is closed: its port refuses connections, as in a Bybit outage
            env.setenv("LIQMAP_BYBIT_DEADLINE_S", "1")
            down = run_chain(settings, last, raise_on_error=False)
            failed = [e.step_key for e in down.all_events if e.is_step_failure]
            assert failed == ["warehouse_snapshot"], failed  # named at the run's end
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


def build_two_venue_site(wh: TwoVenueWarehouse, out: Path) -> Path:
    """The site of `wh` in `out`, as the pipeline writes it (the fixture clock, no methodology)."""
    from tests.site_fixtures import site_from_warehouse

    site_from_warehouse(wh.path, out)
    return out
