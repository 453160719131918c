"""A real two-venue warehouse for the site tests: Binance's archive (a generated mirror) and
Bybit's REST API (transforms' FakeBybitServer on 127.0.0.1, serving the demo's Bybit market:
the same simulated price path, 60 % of Binance's open interest) through the real Dagster
chain, which models both venues and their aggregate. Shared by the suite as the session
fixture `two_venue_chain` (tests/conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.pipeline_helpers import run_chain, temp_settings

SYMBOL = "BTCUSDT"
VENUES = ("binance", "bybit")


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
    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import LOCAL_REQUESTS_PER_5S, shadow_market
    from transforms.raw.venues.synthetic import generate_mirror

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
