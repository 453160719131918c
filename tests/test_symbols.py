"""Several symbols through the whole chain: real Dagster runs on the synthetic archive.

One run handles every configured symbol; its rows equal single-symbol runs (no cross-talk);
a symbol without tiers stops the run before anything is downloaded; a symbol whose archive
day is missing is named in the run's failure while the other symbols' rows and pages land.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.pipeline_helpers import TABLES, run_range, table_frame, temp_settings
from transforms.raw.ingest import ingest_window
from transforms.raw.synthetic.archive import ensure_mirror
from transforms.raw.venues.binance.datasets import archive_relpath
from transforms.reference.bins import symbol_bins
from transforms.reference.tiers import MissingTiersError

pytestmark = pytest.mark.xdist_group("three_symbols")

D0, D1 = date(2025, 11, 1), date(2025, 11, 3)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
MART_TABLES = [t for t in TABLES if t.startswith("mart.")]
# three days hold no 10 % swing: 2 % swings so mart.moves has rows for every symbol
MODEL = {"zigzag_pct": 0.02}


def _symbol_rows(path: Path, table: str, symbol: str):
    frame = table_frame(path, table)
    return frame[frame["symbol"] == symbol].reset_index(drop=True)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi")
    settings = temp_settings(tmp, str(D0), str(D1), LIQMAP_SYMBOLS=",".join(SYMBOLS))
    assert run_range(settings, D0, D1, model_config=MODEL).success
    return settings


def test_one_run_fills_every_layer_for_every_symbol(multi):
    conn = duckdb.connect(str(multi.warehouse_path), read_only=True)
    try:
        for table in TABLES:
            got = {r[0] for r in conn.execute(f"SELECT DISTINCT symbol FROM {table}").fetchall()}
            assert got == set(SYMBOLS), table
        # per-symbol price bins, recorded with the parameters of each symbol's rows
        for symbol in SYMBOLS:
            first_close = conn.execute(
                "SELECT close FROM stg.bars_5m WHERE symbol = ? ORDER BY ts LIMIT 1", [symbol]
            ).fetchone()[0]
            bin_size, heat_bin = symbol_bins(first_close)
            widths = conn.execute(
                "SELECT DISTINCT round(price_high - price_low, 10) FROM mart.liq_map "
                "WHERE symbol = ?",
                [symbol],
            ).fetchall()
            assert [w[0] for w in widths] == [pytest.approx(bin_size)], symbol
            (params_json,) = conn.execute(
                "SELECT p.params_json FROM mart.model_params p JOIN mart.daily_metrics m "
                "USING (params_hash) WHERE m.symbol = ? AND m.scenario = 'base' LIMIT 1",
                [symbol],
            ).fetchone()
            assert f'"bin_size":{bin_size!r}' in params_json
            assert f'"heatmap_bin_size":{heat_bin!r}' in params_json
        assert symbol_bins(first_close)[0] < 1  # SOL near 150: sub-dollar bins
    finally:
        conn.close()
    site = multi.output_site_dir
    overview = (site / "index.html").read_text()
    for symbol in SYMBOLS:
        assert f'href="{symbol}/index.html"' in overview
        for d in (D0, D1):
            assert (site / symbol / d.isoformat() / "index.html").is_file()
    # only BTC had pages at the old addresses: only BTC gets redirects
    assert "BTCUSDT/2025-11-03/index.html" in (site / "2025-11-03" / "index.html").read_text()


@pytest.mark.parametrize("symbol", ["ETHUSDT", "SOLUSDT"])
def test_rows_equal_a_single_symbol_run(multi, tmp_path, symbol):
    single = temp_settings(tmp_path, str(D0), str(D1), LIQMAP_SYMBOLS=symbol)
    assert run_range(single, D0, D1, model_config=MODEL).success
    for table in TABLES:
        a = _symbol_rows(multi.warehouse_path, table, symbol)
        b = _symbol_rows(single.warehouse_path, table, symbol)
        drop = [c for c in ("loaded_at", "recorded_at", "fetched_at") if c in a.columns]
        assert len(a) > 0, table
        assert a.drop(columns=drop).equals(b.drop(columns=drop)), table


def test_a_symbol_without_tiers_fails_before_any_download(tmp_path, monkeypatch):
    monkeypatch.delenv("LIQMAP_TIERS_FILE", raising=False)
    settings = temp_settings(tmp_path, str(D0), str(D1), LIQMAP_SYMBOLS="BTCUSDT,FOOUSDT")
    with pytest.raises(MissingTiersError) as err:
        ingest_window(lambda: None, settings, "klines_1m", D0, D1, print)
    message = str(err.value)
    assert "\n" not in message
    assert "no maintenance tiers for binance FOOUSDT" in message
    assert "LIQMAP_TIERS_FILE" in message and "leverage_tiers.csv" in message
    result = run_range(settings, D0, D1, raise_on_error=False)
    assert not result.success
    failures = [e.step_failure_data.error.message for e in result.get_step_failure_events()]
    assert any("no maintenance tiers for binance FOOUSDT" in f for f in failures), failures
    # nothing was generated, downloaded or loaded
    assert not settings.synthetic_dir.exists() and not settings.cache_dir.exists()
    assert not settings.warehouse_path.exists() or _no_raw_rows(settings.warehouse_path)


def _no_raw_rows(path: Path) -> bool:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute("SELECT count(*) FROM raw.klines_1m").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_missing_archive_day_is_reported_and_the_others_land(tmp_path):
    """A missing file withholds its day of its venue and symbol alone (the failure scope is
    the day and the market): the run fails at its final gate naming that symbol's file, every
    other day of that symbol and every day of the other symbol land."""
    settings = temp_settings(tmp_path, str(D0), str(D1), LIQMAP_SYMBOLS="BTCUSDT,ETHUSDT")
    ensure_mirror(settings.synthetic_dir, "ETHUSDT", D0, D1, settings.synthetic_seed)
    missing = archive_relpath("metrics", "ETHUSDT", "2025-11-02")
    (settings.synthetic_dir / missing).unlink()
    result = run_range(settings, D0, D1, raise_on_error=False, model_config=MODEL)
    assert not result.success
    gates = [e for e in result.get_asset_check_evaluations() if e.check_name == "days_accepted"]
    assert len(gates) == 1 and not gates[0].passed
    detail = gates[0].metadata["detail"].value
    assert "2025-11-02" in gates[0].description, gates[0].description
    assert missing in detail and "not published" in detail, detail
    assert "BTCUSDT" not in detail, detail
    every = {date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3)}
    landed = {"BTCUSDT": every, "ETHUSDT": every - {date(2025, 11, 2)}}
    conn = duckdb.connect(str(settings.snapshot_path), read_only=True)  # published anyway
    try:
        for symbol in ("BTCUSDT", "ETHUSDT"):
            for table in MART_TABLES:
                days = {
                    r[0]
                    for r in conn.execute(
                        f"SELECT DISTINCT day FROM {table} WHERE symbol = ?", [symbol]
                    ).fetchall()
                }
                if table != "mart.moves":
                    assert days == landed[symbol], (symbol, table, days)
                else:
                    assert days <= landed[symbol], (symbol, table, days)
        # every file of ETH's withheld day stays out of the snapshot; BTC's day is in
        raw = dict(
            conn.execute(
                "SELECT symbol, count(*) FROM raw.mark_klines_1m WHERE day = ? GROUP BY symbol",
                [date(2025, 11, 2)],
            ).fetchall()
        )
        assert raw == {"BTCUSDT": 1440}, raw
    finally:
        conn.close()
    site = settings.output_site_dir
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert (site / symbol / "2025-11-03" / "index.html").is_file()
        assert f'href="{symbol}/index.html"' in (site / "index.html").read_text()
    assert (site / "BTCUSDT" / "2025-11-02" / "index.html").is_file()
    assert not (site / "ETHUSDT" / "2025-11-02").exists()


def test_liqmap_run_refuses_a_symbol_without_tiers_in_one_line(tmp_path, monkeypatch, capsys):
    from orchestration.cli import main

    monkeypatch.delenv("LIQMAP_TIERS_FILE", raising=False)
    monkeypatch.setenv("LIQMAP_SYMBOLS", "BTCUSDT,FOOUSDT")
    monkeypatch.setenv("LIQMAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and "no maintenance tiers for binance FOOUSDT" in err[0]
    assert not (tmp_path / "data").exists()
