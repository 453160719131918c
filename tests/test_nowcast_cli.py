"""`liqmap now` as a user runs it (a subprocess), on the offline demo's path: the synthetic
market's day in progress from an in-process fake Binance REST and fake Bybit, the example
alert rules, no network. The clock is pinned with LIQMAP_NOW (no dependence on the hour)."""

from __future__ import annotations

import pytest

from tests.test_cli_user import liqmap
from transforms.config import project_root

pytestmark = pytest.mark.xdist_group("cli_user")

EXAMPLE = str(project_root() / "docs" / "alerts.example.toml")


def test_now_offline_demo_shows_the_now_view_and_a_sample_alert(tmp_path):
    env = {
        "LIQMAP_START_DATE": "2026-10-01",
        "LIQMAP_END_DATE": "2026-10-03",
        "LIQMAP_VENUES": "binance,bybit",
        "LIQMAP_ALERTS_FILE": EXAMPLE,
        "LIQMAP_NOW": "2026-10-04T13:07:30Z",
    }
    built = liqmap(tmp_path, "run", timeout=300, **env)
    assert built.returncode == 0, built.stderr[-2000:]
    now = liqmap(tmp_path, "now", timeout=300, **env)
    assert now.returncode == 0, now.stderr[-2000:]
    out = now.stdout
    assert "liqmap now: binance BTCUSDT: as of 13:05 UTC, provisional (6 requests)" in out
    assert "liqmap now: bybit BTCUSDT: as of 13:05 UTC, provisional" in out  # whole bars
    site = tmp_path / "site"
    page = (site / "BTCUSDT" / "now" / "index.html").read_text()
    assert "As of 13:05 UTC, provisional" in page and "2026-10-04" in page
    feed = (site / "alerts.xml").read_text()
    assert feed.count("<entry>") >= 1, "the example rules give the demo a sample alert"
    status = liqmap(tmp_path, "status", **env)
    assert "BTCUSDT binance: as of 2026-10-04 13:05 UTC, provisional; fresh" in status.stdout


def test_now_before_any_run_and_a_bad_clock_are_one_line(tmp_path):
    first = liqmap(tmp_path, "now", LIQMAP_NOW="2026-10-04T13:07:30Z")
    assert first.returncode == 2 and "run `liqmap run`" in first.stderr
    assert len(first.stderr.strip().splitlines()) == 1
    bad = liqmap(tmp_path, "now", LIQMAP_NOW="tomorrow")
    assert bad.returncode == 2 and "LIQMAP_NOW='tomorrow'" in bad.stderr
