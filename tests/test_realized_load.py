"""Loading collected hourly files into raw.liquidations: sides, days, coverage, idempotency."""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.realized_helpers import BASE_MS, binance_message, bybit_item, bybit_push
from transforms.days import day_start_ms
from transforms.db import warehouse
from transforms.raw.realized.coverage import CoverageLog
from transforms.raw.realized.hourly_files import HourlyWriter
from transforms.raw.realized.load import load_realized_day
from transforms.raw.venues.binance import stream as binance_stream
from transforms.raw.venues.bybit import stream as bybit_stream

DAY = date(2025, 11, 30)
SYMBOLS = frozenset({"BTCUSDT"})


def _lines(venue: str, messages: list[dict], recv_ms: int) -> list[bytes]:
    stream = bybit_stream if venue == "bybit" else binance_stream
    return [e.line for m in messages for e in stream.parse_message(m, recv_ms, SYMBOLS)]


def _write_hour(root: Path, venue: str, recv_ms: int, messages: list[dict]) -> None:
    """Write (and close) one hourly file with the collector's own writer."""
    writer = HourlyWriter(root / venue, clock=lambda: recv_ms)
    writer.start()
    writer.append(_lines(venue, messages, recv_ms), recv_ms)
    writer.close()


def _collected(tmp_path: Path) -> Path:
    root = tmp_path / "realized"
    start = day_start_ms(DAY)
    # Bybit: Buy = long liquidated; one push carries two symbols' topics apart
    _write_hour(
        root,
        "bybit",
        BASE_MS + 300,
        [
            bybit_push([bybit_item(0, side="Buy"), bybit_item(1, side="Sell"), bybit_item(2)]),
            bybit_push([bybit_item(3, symbol="ETHUSDT")], symbol="ETHUSDT"),
        ],
    )
    # received at 00:00:00.4 next day, event time 23:59:59.9 of DAY: belongs to DAY
    late = {"T": start + 86_400_000 - 100, "s": "BTCUSDT", "S": "Sell", "v": "2", "p": "90000"}
    _write_hour(root, "bybit", start + 86_400_000 + 400, [bybit_push([late])])
    # received at 00:00:00.2 of DAY, event time the day before: not DAY's
    early = {"T": start - 300, "s": "BTCUSDT", "S": "Buy", "v": "1", "p": "90000"}
    _write_hour(root, "bybit", start + 200, [bybit_push([early])])
    # Binance: SELL = long liquidated
    _write_hour(
        root,
        "binance",
        BASE_MS + 500,
        [
            binance_message(0, side="SELL"),
            binance_message(1, side="BUY"),
        ],
    )
    bybit_cov, binance_cov = CoverageLog(root / "bybit"), CoverageLog(root / "binance")
    bybit_cov.mark(start - 5_000, start + 40_000_000)  # starts the day before
    bybit_cov.mark(start + 40_000_000, start + 86_400_000 + 5_000)
    binance_cov.mark(start, start + 3_600_000)
    binance_cov.mark(start + 7_200_000, start + 86_400_000)
    return tmp_path


def _rows(conn, sql: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return conn.execute(sql).fetchall()


def test_sides_days_and_coverage_are_normalised(tmp_path: Path) -> None:
    data_dir = _collected(tmp_path)
    with warehouse(tmp_path / "wh.duckdb") as conn:
        results = load_realized_day(conn, data_dir, DAY, ("bybit", "binance"), ("BTCUSDT",))
        rows = _rows(
            conn,
            "SELECT venue, side, quantity, price, notional, completeness, ts "
            "FROM raw.liquidations ORDER BY venue, ts",
        )
        coverage = _rows(
            conn,
            "SELECT venue, collected_seconds, gap_seconds, complete, events "
            "FROM raw.liquidation_coverage ORDER BY venue",
        )
    assert [r.events for r in results] == [4, 2]
    binance_rows = [r for r in rows if r[0] == "binance"]
    assert [r[1] for r in binance_rows] == ["long", "short"]  # SELL = long liquidated
    assert binance_rows[0][3] == pytest.approx(90612.3)  # average fill price
    assert binance_rows[0][4] == pytest.approx(90612.3 * 0.001)
    bybit_rows = [r for r in rows if r[0] == "bybit"]
    assert [r[1] for r in bybit_rows] == ["long", "short", "long", "short"]  # Buy = long
    assert bybit_rows[-1][6].date() == DAY and bybit_rows[-1][2] == 2.0  # received next day
    assert {r[5] for r in bybit_rows} == {"complete"}
    assert {r[5] for r in binance_rows} == {"throttled"}
    assert coverage == [
        ("binance", 82_800.0, 3_600.0, False, 2),
        ("bybit", 86_400.0, 0.0, True, 4),
    ]


def test_reload_replaces_the_day_without_duplicates(tmp_path: Path) -> None:
    data_dir = _collected(tmp_path)
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_realized_day(conn, data_dir, DAY, ("bybit", "binance"), ("BTCUSDT",))
        first = _rows(conn, "SELECT * EXCLUDE (source_file) FROM raw.liquidations ORDER BY ALL")
        load_realized_day(conn, data_dir, DAY, ("bybit", "binance"), ("BTCUSDT",))
        second = _rows(conn, "SELECT * EXCLUDE (source_file) FROM raw.liquidations ORDER BY ALL")
        cov = _rows(conn, "SELECT count(*) FROM raw.liquidation_coverage")
        # another hour collected later (e.g. a recovered file): the reload picks it up
        _write_hour(data_dir / "realized", "binance", BASE_MS + 3_600_000, [binance_message(7)])
        load_realized_day(conn, data_dir, DAY, ("binance",), ("BTCUSDT",))
        third = _rows(conn, "SELECT venue, count(*) FROM raw.liquidations GROUP BY 1 ORDER BY 1")
    assert first == second and len(first) == 6
    assert cov == [(2,)]
    assert third == [("binance", 3), ("bybit", 4)]


def test_day_without_collection_is_recorded_as_not_collected(tmp_path: Path) -> None:
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_realized_day(conn, tmp_path, DAY - timedelta(days=30), ("bybit",), ("BTCUSDT",))
        assert _rows(
            conn, "SELECT collected_seconds, complete, events FROM raw.liquidation_coverage"
        ) == [(0.0, False, 0)]


def test_a_malformed_line_is_skipped_and_named_and_the_others_load(tmp_path: Path) -> None:
    """Realized data never blocks the model: a bad line is skipped and reported (file, line,
    why), the day's other lines load."""
    data_dir = _collected(tmp_path)
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_realized_day(conn, data_dir, DAY, ("bybit", "binance"), ("BTCUSDT",))
        before = _rows(conn, "SELECT count(*) FROM raw.liquidations")[0][0]
        bad = data_dir / "realized/binance" / DAY.isoformat() / "10.jsonl"
        lines = bad.read_text().splitlines()
        record = json.loads(lines[1])
        record["event"]["o"]["S"] = "LONG"
        lines[1] = json.dumps(record)
        lines.append('{"recv_ms": "notanint"')  # a torn, unparsable line too
        bad.write_text("\n".join(lines) + "\n")
        days = load_realized_day(conn, data_dir, DAY, ("bybit", "binance"), ("BTCUSDT",))
        skipped = [line for d in days for line in d.skipped]
        assert len(skipped) == 2, skipped
        assert re.search(r"10\.jsonl:2: S='LONG', expected 'SELL' or", skipped[0])
        assert f"10.jsonl:{len(lines)}:" in skipped[1]
        assert _rows(conn, "SELECT count(*) FROM raw.liquidations") == [(before - 1,)]


def test_open_file_left_by_a_killed_collector_is_read_but_not_changed(tmp_path: Path) -> None:
    root = tmp_path / "realized"
    writer = HourlyWriter(root / "bybit", clock=lambda: BASE_MS)
    writer.start()
    writer.append(_lines("bybit", [bybit_push([bybit_item(0), bybit_item(1)])], BASE_MS), BASE_MS)
    writer.sync()  # then "killed": no close
    assert writer.path is not None and writer.path.name.endswith(".open")
    with writer.path.open("ab") as handle:
        handle.write(b'{"recv_ms": 1, "ev')  # torn tail
    before = writer.path.read_bytes()
    with warehouse(tmp_path / "wh.duckdb") as conn:
        results = load_realized_day(conn, tmp_path, DAY, ("bybit",), ("BTCUSDT",))
    assert results[0].events == 2
    assert writer.path.read_bytes() == before
    os.close(writer._fd)  # type: ignore[arg-type]


def test_collector_output_loads_end_to_end(tmp_path: Path) -> None:
    """Events received by a running collector land in raw.liquidations for their day."""
    import asyncio
    from datetime import UTC, datetime

    from tests.realized_helpers import FakeVenue, Script, wait_until
    from tests.wall_clock import clear_of_midnight
    from transforms.raw.realized.collector import collect
    from transforms.raw.realized.settings import CollectorConfig

    # the collector's coverage is on the system clock: a midnight between the events' time
    # and the connection would leave `today` without coverage
    clear_of_midnight()
    now = int(datetime.now(UTC).timestamp() * 1000)
    items = [
        {
            "T": now - 2_000 + i,
            "s": "BTCUSDT",
            "S": "Buy" if i % 3 else "Sell",
            "v": "0.5",
            "p": "1",
        }
        for i in range(30)
    ]
    pushes = [bybit_push(items[:15]), bybit_push(items[15:])]
    today = datetime.fromtimestamp((now - 2_000) / 1000, UTC).date()

    async def scenario() -> None:
        async with FakeVenue("bybit", [Script(pushes)]) as by:
            config = CollectorConfig(
                root=tmp_path / "realized", symbols=("BTCUSDT",), venues=("bybit",),
                urls=(("bybit", by.url),), coverage_seconds=0.2,
            )  # fmt: skip
            stop = asyncio.Event()
            task = asyncio.create_task(collect(config, stop))
            venue_dir = tmp_path / "realized/bybit"
            count = lambda: sum(  # noqa: E731
                len(p.read_text().splitlines()) for p in venue_dir.glob("*/*.open")
            )
            await wait_until(lambda: count() == 30, "30 events")
            stop.set()
            await task

    asyncio.run(scenario())
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_realized_day(conn, tmp_path, today, ("bybit",), ("BTCUSDT",))
        sides = _rows(conn, "SELECT side, count(*) FROM raw.liquidations GROUP BY 1 ORDER BY 1")
        (collected,) = _rows(conn, "SELECT collected_seconds FROM raw.liquidation_coverage")[0]
    assert sides == [("long", 20), ("short", 10)]
    assert collected > 0
