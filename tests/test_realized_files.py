"""Hourly files: the hour boundary, restarts within an hour, recovery; collector settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.realized_helpers import BASE_MS
from transforms.config import ConfigError, load_settings
from transforms.raw.realized.dedupe import RedeliveryFilter
from transforms.raw.realized.hourly_files import HOUR_MS, HourlyWriter, hour_floor, valid_prefix
from transforms.raw.realized.settings import collector_config

HOUR = hour_floor(BASE_MS)


class Clock:
    """The writer's time source, advanced by the test."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def _line(i: int) -> bytes:
    return json.dumps({"recv_ms": i, "event": {"i": i}}).encode() + b"\n"


def _names(venue_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(venue_dir)) for p in venue_dir.glob("*/*") if p.is_file())


def test_hour_boundary_closes_and_renames_the_file(tmp_path: Path) -> None:
    clock = Clock(HOUR + 10)
    writer = HourlyWriter(tmp_path, clock=clock)
    writer.start()
    writer.append([_line(1), _line(2)], HOUR + 10)
    assert _names(tmp_path) == ["2025-11-30/10.jsonl.open"]
    writer.append([_line(3)], HOUR + HOUR_MS + 5)  # first event of the next hour
    clock.ms = HOUR + 2 * HOUR_MS + 1
    writer.roll_if_due()  # a quiet hour closes on the timer too
    writer.close()
    assert _names(tmp_path) == ["2025-11-30/10.jsonl", "2025-11-30/11.jsonl", "2025-11-30/12.jsonl"]
    assert (tmp_path / "2025-11-30/10.jsonl").read_bytes() == _line(1) + _line(2)
    assert (tmp_path / "2025-11-30/12.jsonl").read_bytes() == b""


def test_restart_within_an_hour_never_reopens_a_closed_file(tmp_path: Path) -> None:
    for i in range(3):
        writer = HourlyWriter(tmp_path, clock=Clock(HOUR + i))
        writer.start()
        writer.append([_line(i)], HOUR + i)
        writer.close()
    assert _names(tmp_path) == [
        "2025-11-30/10-2.jsonl",
        "2025-11-30/10-3.jsonl",
        "2025-11-30/10.jsonl",
    ]


def test_leftover_open_files_are_recovered_with_the_torn_tail_dropped(tmp_path: Path) -> None:
    killed = HourlyWriter(tmp_path, clock=Clock(HOUR))
    killed.start()
    killed.append([_line(1), _line(2)], HOUR)
    assert killed.path is not None
    with killed.path.open("ab") as handle:
        handle.write(b'{"recv_ms": 3, "ev')
    # restart in the same hour: the open file is resumed without its torn tail
    same_hour = HourlyWriter(tmp_path, clock=Clock(HOUR + 1))
    same_hour.start()
    assert same_hour.path is not None
    assert same_hour.path.read_bytes() == _line(1) + _line(2)
    same_hour.append([_line(4)], HOUR + 1)
    same_hour.sync()
    # killed again, restarted an hour later: the old hour is closed and a new one opened
    later = HourlyWriter(tmp_path, clock=Clock(HOUR + HOUR_MS))
    later.start()
    later.close()
    assert (tmp_path / "2025-11-30/10.jsonl").read_bytes() == _line(1) + _line(2) + _line(4)
    assert _names(tmp_path) == ["2025-11-30/10.jsonl", "2025-11-30/11.jsonl"]


def test_valid_prefix_cuts_only_trailing_damage() -> None:
    good = _line(1) + b"not json\n" + _line(2)
    assert valid_prefix(good + b"\x00\x00\x00\n" + b'{"x"')[1] == len(good)
    assert valid_prefix(good)[0][1] == b"not json\n"  # interior damage is reported, not hidden


def test_redelivery_filter_counts_per_connection_and_forgets_old_keys() -> None:
    seen = RedeliveryFilter(horizon_ms=1_000)
    assert seen.accept(7, 0, conn=1)
    assert not seen.accept(7, 10, conn=2)  # redelivered by the next connection
    assert seen.accept(7, 20, conn=2)  # a genuine identical event after that
    assert not seen.accept(7, 30, conn=1)  # the older, still open, sends what the newer sent twice
    assert seen.accept(7, 5_000, conn=3) and len(seen) == 1  # long after: a new event
    seen.seed([8, 8], at_ms=5_000)
    assert not seen.accept(8, 5_001, conn=3) and not seen.accept(8, 5_002, conn=3)
    assert seen.accept(8, 5_003, conn=3)


def test_collector_settings_are_validated() -> None:
    settings = load_settings({"LIQMAP_SYMBOLS": "BTCUSDT,ETHUSDT"})
    config = collector_config(settings, {"LIQMAP_BYBIT_WS_URL": "ws://127.0.0.1:1/x"})
    assert config.url("bybit") == "ws://127.0.0.1:1/x"
    assert config.url("binance") == "wss://fstream.binance.com/ws/!forceOrder@arr"
    assert config.symbols == ("BTCUSDT", "ETHUSDT")
    assert config.root == settings.data_dir / "realized"
    with pytest.raises(ConfigError, match="LIQMAP_COLLECT_VENUES='okx'"):
        collector_config(settings, {"LIQMAP_COLLECT_VENUES": "okx"})
    with pytest.raises(ConfigError, match="LIQMAP_BINANCE_WS_URL='http://x'"):
        collector_config(settings, {"LIQMAP_BINANCE_WS_URL": "http://x"})
    with pytest.raises(ConfigError, match="LIQMAP_COLLECT_PING_SECONDS='0'"):
        collector_config(settings, {"LIQMAP_COLLECT_PING_SECONDS": "0"})
