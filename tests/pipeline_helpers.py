"""Helpers to run the real Dagster chain in-process against temp directories: `run_chain`
(with its shorthands `run_range` and `run_day`) is the only chain runner of the suite."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from orchestration.definitions import ALL_ASSETS
from orchestration.resources import resources_from_settings
from transforms.config import Settings, load_settings

TABLES = (
    "raw.klines_1m",
    "raw.mark_klines_1m",
    "raw.metrics_5m",
    "raw.funding",
    "stg.bars_5m",
    "mart.liq_heatmap",
    "mart.liq_map",
    "mart.liq_layer_map",
    "mart.liq_layer_heatmap",
    "mart.daily_metrics",
    "mart.moves",
    "mart.price_hourly",
)


def temp_settings(tmp: Path, start: str, end: str, **extra: str) -> Settings:
    """Settings for a synthetic market in `tmp`, covering [start, end]."""
    return load_settings(
        {
            "LIQMAP_DATA_DIR": str(tmp / "data"),
            "LIQMAP_SITE_DIR": str(tmp / "site"),
            "LIQMAP_START_DATE": start,
            "LIQMAP_END_DATE": end,
            "LIQMAP_SYMBOLS": "BTCUSDT",  # the suite's default; multi-symbol tests pass more
            "LIQMAP_VENUES": "binance",  # likewise; two-venue tests pass binance,bybit
            **extra,
        }
    )


def run_chain(
    settings: Settings,
    first: date,
    last: date | None = None,
    *,
    assets: Sequence[dg.AssetsDefinition] = ALL_ASSETS,
    selection: Sequence[dg.AssetsDefinition] | None = None,
    model_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """The one way the tests run the Dagster chain, in-process with the real resources.

    `first` alone: its daily partition; `first` and `last`: [first, last] as one single-run
    backfill (as the UI's range backfill), even when they are the same day. `assets` (with
    `selection` to run only some of them), `model_config` (launchpad values for the
    liquidation_model asset), `instance` (a test instance whose runs a sensor then reads).
    """
    if last is None:
        partition: dict = {"partition_key": first.isoformat()}
    else:
        partition = {
            "tags": {
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            }
        }
    return dg.materialize(
        assets,
        resources=resources_from_settings(settings),
        selection=selection,
        run_config={"ops": {"liquidation_model": {"config": model_config}}}
        if model_config
        else None,
        instance=instance,
        raise_on_error=raise_on_error,
        **partition,
    )


def run_range(
    settings: Settings,
    first: date,
    last: date,
    raise_on_error: bool = True,
    model_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """Every asset for [first, last] as one single-run backfill (see run_chain)."""
    return run_chain(
        settings, first, last, model_config=model_config, raise_on_error=raise_on_error
    )


def run_day(settings: Settings, day: date) -> dg.ExecuteInProcessResult:
    """Every asset for one daily partition (see run_chain)."""
    return run_chain(settings, day)


def _fingerprint(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    excluded = "EXCLUDE (recorded_at)" if table == "mart.model_params" else ""
    count, digest = conn.execute(
        f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR "
        f"FROM (SELECT * {excluded} FROM {table}) t"
    ).fetchone()
    return int(count), str(digest)


def table_fingerprint(path: Path, table: str) -> tuple[int, str]:
    """Row count and an order-independent hash of every row of `table`."""
    return fingerprints(path, (table,))[table]


def fingerprints(path: Path, tables: Sequence[str] = TABLES) -> dict[str, tuple[int, str]]:
    """`table_fingerprint` of each of `tables` (default TABLES), read in one connection."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {t: _fingerprint(conn, t) for t in tables}
    finally:
        conn.close()


def canonical_order(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame`'s rows in an order of their values alone, for tolerant comparisons of two
    warehouses' rows: by every column but the floats, then by the floats. The first alone
    leave ties (the price bins of one hour or day), whose order would be the order the rows
    were stored in, which two build paths need not share."""
    keys = [c for c in frame.columns if frame[c].dtype.kind != "f"]
    floats = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return frame.sort_values([*keys, *floats], kind="stable").reset_index(drop=True)


def table_frame(path: Path, table: str) -> pd.DataFrame:
    """All rows of `table`, in a canonical order (canonical_order)."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        frame = conn.execute(f"SELECT * FROM {table}").df()
    finally:
        conn.close()
    return canonical_order(frame)


def assert_same_warehouse(path: Path, reference: Path) -> None:
    """Every table of TABLES holds the same rows in both warehouses: raw and staged rows
    exactly, mart floats within 1e-9 relative (issue 19's contract: a model continued from a
    stored state equals another path's to rounding, not bit for bit)."""
    exact = [t for t in TABLES if not t.startswith("mart.")]
    assert fingerprints(path, exact) == fingerprints(reference, exact)
    for table in (t for t in TABLES if t.startswith("mart.")):
        got, want = table_frame(path, table), table_frame(reference, table)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, obj=table)
