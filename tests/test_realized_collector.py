"""`liqmap collect` against local WebSocket servers speaking Bybit's and Binance's formats."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
from collections import Counter
from pathlib import Path

from tests.realized_helpers import (
    FakeVenue,
    Script,
    binance_message,
    bybit_item,
    bybit_push,
    collector_env,
    event_ids,
    start_collector,
    stop_collector,
    stored_lines,
    wait_until,
)
from transforms.raw.realized.collector import collect
from transforms.raw.realized.coverage import (
    COVERAGE_FILE,
    DAY_MS,
    GAPS_FILE,
    day_coverage,
    day_start_ms,
)
from transforms.raw.realized.hourly_files import day_of
from transforms.raw.realized.settings import CollectorConfig


def _config(tmp_path: Path, urls: dict[str, str], **overrides: float) -> CollectorConfig:
    settings = dict(
        fsync_seconds=0.1, coverage_seconds=0.2, backoff_seconds=0.05, backoff_max_seconds=0.2
    )
    settings.update(overrides)
    return CollectorConfig(
        root=tmp_path / "realized",
        symbols=("BTCUSDT",),
        venues=tuple(urls),
        urls=tuple(urls.items()),
        **settings,  # type: ignore[arg-type]
    )


def _gaps(venue_dir: Path) -> list[dict]:
    paths = venue_dir.glob(f"*/{GAPS_FILE}")
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def _marks(venue_dir: Path) -> list[dict]:
    paths = venue_dir.glob(f"*/{COVERAGE_FILE}")
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def _open_count(venue_dir: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in venue_dir.glob("*/*.jsonl.open"))


def test_every_event_lands_exactly_once_in_both_formats(tmp_path: Path) -> None:
    bybit_pushes = [bybit_push([bybit_item(10 * b + k) for k in range(10)]) for b in range(5)]
    binance = [binance_message(i) for i in range(30)]
    binance += [binance_message(100 + i, symbol="ETHUSDT") for i in range(5)]  # not configured
    binance.insert(3, {"result": None, "id": 1})  # a control reply: ignored

    async def scenario() -> None:
        async with (
            FakeVenue("bybit", [Script(bybit_pushes)]) as by,
            FakeVenue("binance", [Script(binance)]) as bn,
        ):
            config = _config(tmp_path, {"bybit": by.url, "binance": bn.url})
            stop = asyncio.Event()
            task = asyncio.create_task(collect(config, stop))
            await wait_until(lambda: _open_count(tmp_path / "realized/bybit") == 50, "bybit")
            await wait_until(lambda: _open_count(tmp_path / "realized/binance") == 30, "binance")
            stop.set()
            stats = await task
            assert stats["bybit"].events_written == 50
            assert stats["binance"].events_written == 30

    asyncio.run(scenario())
    for venue, expected in (("bybit", range(50)), ("binance", range(30))):
        venue_dir = tmp_path / "realized" / venue
        assert not list(venue_dir.glob("*/*.open")), "a clean stop leaves no open file"
        assert sorted(event_ids(venue, stored_lines(venue_dir))) == list(expected)
    line = stored_lines(tmp_path / "realized/bybit")[0]
    assert set(line["event"]) == {"T", "s", "S", "v", "p"} and line["recv_ms"] > 0
    assert set(stored_lines(tmp_path / "realized/binance")[0]["event"]) == {"e", "E", "o"}


def test_dropped_connection_reconnects_records_gap_and_skips_redeliveries(tmp_path: Path) -> None:
    first = [bybit_push([bybit_item(10 * b + k) for k in range(10)]) for b in range(4)]
    # after the drop the venue re-sends the last two pushes before carrying on
    second = first[2:] + [bybit_push([bybit_item(10 * b + k) for k in range(10)]) for b in (4, 5)]
    binance_first = [binance_message(i) for i in range(8)]
    binance_second = [binance_message(i) for i in range(5, 12)]

    async def scenario() -> None:
        by_scripts = [Script(first, abort_after=True), Script(second)]
        bn_scripts = [Script(binance_first, abort_after=True), Script(binance_second)]
        async with FakeVenue("bybit", by_scripts) as by, FakeVenue("binance", bn_scripts) as bn:
            config = _config(tmp_path, {"bybit": by.url, "binance": bn.url})
            stop = asyncio.Event()
            task = asyncio.create_task(collect(config, stop))
            await wait_until(lambda: by.done.is_set() and bn.done.is_set(), "both replays")
            await wait_until(lambda: _open_count(tmp_path / "realized/bybit") == 60, "bybit")
            await wait_until(lambda: _open_count(tmp_path / "realized/binance") == 12, "binance")
            stop.set()
            stats = await task
            assert by.connections == 2 and bn.connections == 2
            assert stats["bybit"].redeliveries_dropped == 20
            assert stats["binance"].redeliveries_dropped == 3

    asyncio.run(scenario())
    for venue, count in (("bybit", 60), ("binance", 12)):
        venue_dir = tmp_path / "realized" / venue
        ids = event_ids(venue, stored_lines(venue_dir))
        assert sorted(ids) == list(range(count)), f"{venue}: each event exactly once"
        gaps = [
            json.loads(x)
            for p in venue_dir.glob(f"*/{GAPS_FILE}")
            for x in p.read_text().splitlines()
        ]
        assert len(gaps) == 1 and gaps[0]["end_ms"] > gaps[0]["start_ms"]
        reason = gaps[0]["reason"]  # abnormal closure: no close frame (code 1006)
        assert "1006" in reason or "no close frame" in reason, reason
        start, end = gaps[0]["start_ms"], gaps[0]["end_ms"]
        # the day the drop happened in (not "today": the test may run across midnight)
        coverage = day_coverage(venue_dir, day_of(start))
        day_end = day_start_ms(day_of(start)) + DAY_MS
        holes = [g for g in coverage.gaps if g[0] <= start and g[1] >= min(end, day_end)]
        assert holes, "the disconnected interval is missing from coverage"
        assert not coverage.complete
        # every event was received inside the coverage of its own connection
        marks = _marks(venue_dir)
        for line in stored_lines(venue_dir):
            covered = [m for m in marks if m["from_ms"] <= line["recv_ms"] < m["to_ms"]]
            assert covered, f"{venue}: event received at {line['recv_ms']} outside coverage"


def test_genuine_repeats_within_one_connection_are_kept(tmp_path: Path) -> None:
    item = bybit_item(1)
    pushes = [bybit_push([item, dict(item)]), bybit_push([bybit_item(2)])]

    async def scenario() -> None:
        async with FakeVenue("bybit", [Script(pushes)]) as by:
            stop = asyncio.Event()
            task = asyncio.create_task(collect(_config(tmp_path, {"bybit": by.url}), stop))
            await wait_until(lambda: _open_count(tmp_path / "realized/bybit") == 3, "3 events")
            stop.set()
            await task

    asyncio.run(scenario())
    assert Counter(event_ids("bybit", stored_lines(tmp_path / "realized/bybit"))) == {1: 2, 2: 1}


def test_bybit_ping_is_sent_on_schedule(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with FakeVenue("bybit", [Script([])]) as by:
            stop = asyncio.Event()
            config = _config(tmp_path, {"bybit": by.url}, bybit_ping_seconds=0.1)
            task = asyncio.create_task(collect(config, stop))
            await wait_until(lambda: by.pings >= 3, "three {op: ping} messages")
            stop.set()
            await task
            subscribe = [m for m in by.received if m.get("op") == "subscribe"]
            assert subscribe[0]["args"] == ["allLiquidation.BTCUSDT"]

    asyncio.run(scenario())


def test_malformed_message_is_kept_with_its_reason_and_nothing_else_lost(tmp_path: Path) -> None:
    bad = {"topic": "allLiquidation.BTCUSDT", "ts": 1, "data": {"not": "an array"}}
    pushes = [bybit_push([bybit_item(0)]), bad, "not json", bybit_push([bybit_item(1)])]

    async def scenario() -> None:
        async with FakeVenue("bybit", [Script(pushes)]) as by:
            stop = asyncio.Event()
            task = asyncio.create_task(collect(_config(tmp_path, {"bybit": by.url}), stop))
            await wait_until(lambda: _open_count(tmp_path / "realized/bybit") == 2, "2 events")
            stop.set()
            stats = await task
            assert stats["bybit"].rejected_messages == 2

    asyncio.run(scenario())
    rejected = [
        json.loads(x)
        for p in (tmp_path / "realized/bybit").glob("*/rejected.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert [r["raw"] for r in rejected][1] == "not json"
    assert "'data' must be an array" in rejected[0]["error"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_loses_at_most_the_open_tail_and_sigterm_closes_everything(tmp_path: Path) -> None:
    """Real `liqmap collect` subprocesses: SIGTERM, then SIGKILL mid-burst, then recovery."""
    venue_dir = tmp_path / "realized" / "bybit"

    async def scenario() -> None:
        burst = [bybit_push([bybit_item(1000 + 5 * b + k) for k in range(5)]) for b in range(400)]
        scripts = [
            Script([bybit_push([bybit_item(i)]) for i in range(20)]),
            Script(burst, interval=0.005),
            Script([bybit_push([bybit_item(5000 + i)]) for i in range(10)]),
        ]
        async with FakeVenue("bybit", scripts) as by:
            env = collector_env(tmp_path, {"bybit": by.url})
            # 1. SIGTERM: everything received is in a closed file, exit code 0.
            proc = await start_collector(env)
            await wait_until(lambda: _open_count(venue_dir) == 20, "first 20 events")
            err = await stop_collector(proc, signal.SIGTERM)
            assert proc.returncode == 0, err
            assert not list(venue_dir.glob("*/*.open"))
            closed_before = {p: _sha(p) for p in venue_dir.glob("*/[0-2][0-9]*.jsonl")}
            assert sorted(event_ids("bybit", stored_lines(venue_dir))) == list(range(20))

            # 2. SIGKILL in the middle of a burst.
            proc = await start_collector(env)
            await wait_until(lambda: _open_count(venue_dir) >= 300, "part of the burst")
            proc.kill()
            await proc.wait()
            for path, digest in closed_before.items():
                assert _sha(path) == digest, f"closed file {path} changed"
            open_files = list(venue_dir.glob("*/*.jsonl.open"))
            assert len(open_files) == 1
            survivors = event_ids("bybit", stored_lines(venue_dir, include_open=True))
            assert len(survivors) == len(set(survivors)) and len(survivors) >= 300
            assert set(survivors) <= set(range(20)) | set(range(1000, 3000))
            # power-loss style torn tail on top of what the kill left
            with open_files[0].open("ab") as handle:
                handle.write(b'{"recv_ms": 17, "event": {"T": 17')

            # 3. Restart: the torn line is dropped, the rest recovered, SIGTERM closes all.
            proc = await start_collector(env)
            await wait_until(lambda: by.done.is_set(), "third connection replay")
            await wait_until(
                lambda: len(stored_lines(venue_dir, include_open=True)) == len(survivors) + 10,
                "recovered lines plus 10 new events",
            )
            err = await stop_collector(proc, signal.SIGINT)
            assert proc.returncode == 0, err
            assert not list(venue_dir.glob("*/*.open"))
            final = event_ids("bybit", stored_lines(venue_dir))
            assert sorted(final) == sorted(survivors + list(range(5000, 5010)))
            for path, digest in closed_before.items():
                assert _sha(path) == digest
            gaps = [
                json.loads(x)
                for p in venue_dir.glob(f"*/{GAPS_FILE}")
                for x in p.read_text().splitlines()
            ]
            assert len(gaps) == 2 and all(g["reason"] == "collector was not running" for g in gaps)

    asyncio.run(scenario())


def test_refused_subscription_is_retried_and_never_counted_as_coverage(
    tmp_path: Path, caplog
) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        async with FakeVenue("bybit", reject_subscription=True) as by:
            stop = asyncio.Event()
            task = asyncio.create_task(collect(_config(tmp_path, {"bybit": by.url}), stop))
            await wait_until(lambda: by.connections >= 3, "retries with backoff")
            stop.set()
            stats = await task
            assert stats["bybit"].connections == 0

    asyncio.run(scenario())
    assert "bybit refused the subscription" in caplog.text
    assert "handler not found" in caplog.text
    assert not list((tmp_path / "realized/bybit").glob("*/coverage.jsonl"))


def test_stop_during_a_stuck_handshake_still_finishes_cleanly(tmp_path: Path) -> None:
    async def scenario() -> None:
        accepted = asyncio.Event()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.set()
            await reader.read()  # never answers the WebSocket upgrade
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        config = _config(tmp_path, {"binance": f"ws://127.0.0.1:{port}/ws/!forceOrder@arr"})
        stop = asyncio.Event()
        task = asyncio.create_task(collect(config, stop))
        await asyncio.wait_for(accepted.wait(), 30)
        stop.set()
        stats = await asyncio.wait_for(task, 60)  # hang guard only
        assert stats["binance"].connections == 0
        server.close()

    asyncio.run(scenario())
    assert not list((tmp_path / "realized/binance").glob("*/*.open"))
    assert list((tmp_path / "realized/binance").glob("*/[0-2][0-9].jsonl"))


def test_ageing_connection_is_replaced_without_a_gap(tmp_path: Path) -> None:
    """Make before break: the new stream is live before the old closes; overlap deduplicated.

    Each connection sends its events at once: the replacement re-sends everything (0..15), so
    whatever the old one delivered before it was replaced arrives twice, and all 16 arrive
    however late the rotation falls on a busy machine (no script is cut short by it)."""
    first = [binance_message(i) for i in range(10)]
    second = [binance_message(i) for i in range(16)]  # 0..9 arrive on both connections

    async def scenario() -> None:
        async with FakeVenue("binance", [Script(first), Script(second)]) as bn:
            config = _config(tmp_path, {"binance": bn.url}, rotate_seconds=1.5)
            stop = asyncio.Event()
            task = asyncio.create_task(collect(config, stop))
            await wait_until(lambda: _open_count(tmp_path / "realized/binance") == 16, "16 events")
            stop.set()
            stats = await task
            assert bn.connections >= 2 and stats["binance"].connections >= 2
            # the first connection's events (sent the moment it went live, 1.5 s before its
            # replacement) came again on the second and were dropped
            assert stats["binance"].redeliveries_dropped >= 1

    asyncio.run(scenario())
    venue_dir = tmp_path / "realized/binance"
    assert sorted(event_ids("binance", stored_lines(venue_dir))) == list(range(16))
    assert _gaps(venue_dir) == []
    marks = sorted(_marks(venue_dir), key=lambda m: m["from_ms"])
    assert all(a["to_ms"] == b["from_ms"] for a, b in zip(marks, marks[1:], strict=False))


def test_items_the_loader_would_refuse_go_to_the_rejected_file(tmp_path: Path) -> None:
    """Issue 20: items the loader cannot read (T not an integer, v negative, S 'Both', no p)
    are rejected at receipt, one by one, beside their good neighbours; the day then loads
    with nothing skipped."""
    hostile = [
        {**bybit_item(1), "T": "notanint"},
        {**bybit_item(2), "v": "-1"},
        {**bybit_item(3), "S": "Both"},
        {k: v for k, v in bybit_item(4).items() if k != "p"},
    ]
    pushes = [bybit_push([bybit_item(0), *hostile, bybit_item(5)])]

    async def scenario() -> None:
        async with FakeVenue("bybit", [Script(pushes)]) as by:
            stop = asyncio.Event()
            task = asyncio.create_task(collect(_config(tmp_path, {"bybit": by.url}), stop))
            await wait_until(lambda: _open_count(tmp_path / "realized/bybit") == 2, "2 events")
            stop.set()
            stats = await task
            assert stats["bybit"].rejected_messages == len(hostile)

    asyncio.run(scenario())
    rejected = [
        json.loads(x)
        for p in (tmp_path / "realized/bybit").glob("*/rejected.jsonl")
        for x in p.read_text().splitlines()
    ]
    assert len(rejected) == len(hostile)
    errors = " | ".join(r["error"] for r in rejected)
    for expected in ("T='notanint'", "v='-1' must be > 0", "S='Both'", "missing field 'p'"):
        assert expected in errors, errors
    stored = stored_lines(tmp_path / "realized/bybit", include_open=True)
    assert event_ids("bybit", stored) == [0, 5]
