"""After a Bybit 403 ban nothing is sent to Bybit for the ban's duration: not by the rest of
the asset, not by the run's other assets, not by the next run; then requests resume.

Real local FakeBybitServer; each ingest builds its own client, as each asset (and each run)
does, so the ban can only travel through the file in the data dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from contextlib import contextmanager
from datetime import date

import pytest
from ingest_helpers import SEED, SYMBOL, make_settings

from transforms.db import warehouse
from transforms.raw.ingest import VenuesFailed, ingest_window
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.bybit.fake_server import FakeBybitServer, Fault
from transforms.raw.venues.bybit.feed import shadow_market
from transforms.raw.venues.bybit.settings import BAN_FILE
from transforms.venue_ban import VenueBan

LOG = logging.getLogger("test_bybit_ban")
D0, D1 = date(2025, 11, 26), date(2025, 11, 28)
KLINE = "/v5/market/kline"
# Long enough that no machine, however busy, sees it pass during the test's banned calls; its
# end is then moved into the past in the ban file (time passing), not waited out.
BAN_S = 600.0


def _let_the_ban_pass(ban: VenueBan) -> None:
    """What the ban file holds once its time has passed: an end a second ago."""
    record = json.loads(ban.path.read_text())
    ban.path.write_text(json.dumps({**record, "until": time.time() - 1.0}))


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LIQMAP_BYBIT_DEADLINE_S", "2")
    monkeypatch.setenv("LIQMAP_BYBIT_BAN_BACKOFF_S", str(BAN_S))
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    s = make_settings(tmp_path, source="mirror", mirror_dir=mirror, venues=("bybit",))
    return dataclasses.replace(s, symbols=(SYMBOL, "ETHUSDT"))


def _connect(settings):
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    return connect


def test_a_ban_holds_across_assets_and_runs_then_lifts(settings, monkeypatch):
    with FakeBybitServer([shadow_market(settings, SYMBOL)]) as server:
        monkeypatch.setenv("LIQMAP_BYBIT_URL", server.url)
        server.add_fault(Fault("status", KLINE, status=403, body=b"access too frequent"))
        with pytest.raises(VenuesFailed, match="HTTP 403"):
            ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
        assert server.requests == 1
        assert (settings.cache_dir / BAN_FILE).is_file()
        # the run's next assets, and a next run: new clients, same data dir
        for name in ("mark_klines_1m", "metrics", "funding", "klines_1m"):
            with pytest.raises(VenuesFailed, match="banned"):
                ingest_window(_connect(settings), settings, name, D0, D1, LOG)
        assert server.requests == 1  # nothing was sent during the ban
        # the ban has passed: requests resume and the days load
        ban = VenueBan(settings.cache_dir / BAN_FILE)
        assert BAN_S - 60 < ban.seconds_left() <= BAN_S
        _let_the_ban_pass(ban)
        assert ban.seconds_left() == 0
        one = dataclasses.replace(settings, symbols=(SYMBOL,))
        result = ingest_window(_connect(one), one, "klines_1m", D0, D1, LOG)
        assert result.failed_venues == {}
        assert server.requests > 1
