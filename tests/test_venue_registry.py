"""The venue registry: every registered venue is one package with the shared `ingest(...)`,
and a throwaway venue registered from a test (its package written to tmp_path) runs through
the real Dagster chain - raw, staging, model, aggregate and site - without any other module
being edited."""

from __future__ import annotations

import inspect
import sys
import textwrap
from datetime import date
from importlib import import_module

import duckdb
import pytest

from tests.pipeline_helpers import run_range, temp_settings
from transforms.config import ConfigError, parse_venues
from transforms.raw.ingest import ingest_window
from transforms.venues import (
    AGGREGATE_VENUE,
    Venue,
    reference_venue,
    register,
    unregister,
    venue_label,
    venue_names,
)

INGEST_PARAMS = ["connect", "settings", "name", "start", "end", "log"]

TOY_PACKAGE = '''
"""A throwaway venue: Binance's rows of the window with half its open interest."""

from transforms.raw.quality import check_dataset
from transforms.raw.results import VenueResult
from transforms.raw.tables import raw_table
from transforms.reference.tiers import load_tiers, tiers_file_from_env

VENUE = "toy"
SCALED = {
    "metrics": "sum_open_interest * 0.5 AS sum_open_interest, "
    "sum_open_interest_value * 0.5 AS sum_open_interest_value, "
}


def ingest(connect, settings, name, start, end, log):
    table = raw_table(name).table
    window = {"venue": VENUE, "start": start, "end": end}
    result = VenueResult()
    with connect() as conn:
        conn.execute(
            f"DELETE FROM {table} WHERE venue = $venue AND day >= $start AND day < $end", window
        )
        result.rows = conn.execute(
            f"INSERT INTO {table} BY NAME SELECT * REPLACE ({SCALED.get(name, '')}"
            f"$venue AS venue) FROM {table} "
            "WHERE venue = 'binance' AND day >= $start AND day < $end",
            window,
        ).fetchone()[0]
        if name == "klines_1m":
            toy = {"venue": VENUE}
            load_tiers(conn, tiers_file_from_env())  # Binance's, from the tier file
            conn.execute("DELETE FROM ref.leverage_brackets WHERE venue = $venue", toy)
            conn.execute(
                "INSERT INTO ref.leverage_brackets BY NAME SELECT * REPLACE ($venue AS venue) "
                "FROM ref.leverage_brackets WHERE venue = 'binance'",
                toy,
            )
        for symbol in settings.symbols:
            result.outcomes += check_dataset(conn, name, symbol, start, end, VENUE)
    return result
'''


def test_every_registered_venue_is_a_package_with_the_shared_ingest() -> None:
    assert venue_names()[:3] == ("binance", "bybit", "okx")
    assert reference_venue() == "binance" and reference_venue(("bybit", "okx")) == "bybit"
    for name in venue_names():
        package = import_module(f"transforms.raw.venues.{name}")
        assert name == package.VENUE
        assert list(inspect.signature(package.ingest).parameters)[:6] == INGEST_PARAMS
    assert venue_label("okx") == "OKX" and venue_label(AGGREGATE_VENUE) == "All venues"


def test_an_unknown_venue_is_a_config_error_naming_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match="expected comma-separated venues from binance, bybit"):
        parse_venues("binance,kraken")


@pytest.fixture
def toy_venue(tmp_path):
    package = tmp_path / "pkgs" / "liqmap_toy_venue"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(TOY_PACKAGE))
    sys.path.insert(0, str(package.parent))
    register(Venue("toy", "Toy Exchange", "liqmap_toy_venue"))
    try:
        yield
    finally:
        unregister("toy")
        sys.path.remove(str(package.parent))
        sys.modules.pop("liqmap_toy_venue", None)


def test_a_registered_throwaway_venue_runs_end_to_end(tmp_path, toy_venue) -> None:
    first, last = date(2025, 11, 1), date(2025, 11, 2)
    settings = temp_settings(tmp_path, "2025-11-01", "2025-11-03", LIQMAP_VENUES="binance,toy")
    assert settings.venues == ("binance", "toy")
    assert run_range(settings, first, last).success
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = conn.execute(
            "SELECT day, venue, venues, oi_value FROM mart.daily_metrics "
            "WHERE scenario = 'base' ORDER BY day, venue"
        ).fetchall()
    finally:
        conn.close()
    by = {(d, v): (names, oi) for d, v, names, oi in rows}
    for d in (first, last):
        assert by[(d, AGGREGATE_VENUE)][0] == "binance,toy"
        # the aggregate adds the toy venue's half of Binance's open interest
        assert by[(d, AGGREGATE_VENUE)][1] == pytest.approx(1.5 * by[(d, "binance")][1])
    page = (settings.output_site_dir / "index.html").read_text()
    assert "All venues: Binance + Toy Exchange" in page


def test_the_loop_reports_a_venue_package_that_is_not_there(tmp_path) -> None:
    register(Venue("ghost", "Ghost", "liqmap_no_such_package"))
    try:
        settings = temp_settings(tmp_path, "2025-11-01", "2025-11-02", LIQMAP_VENUES="ghost")
        with pytest.raises(ModuleNotFoundError, match="liqmap_no_such_package"):
            ingest_window(None, settings, "klines_1m", date(2025, 11, 1), date(2025, 11, 2), None)
    finally:
        unregister("ghost")
