"""`liqmap collect` runs Hyperliquid's minute sampler beside the liquidation streams (the
packages' `sampler` hook): against the fake /info server it writes a sample line per symbol
and a coverage mark for the minute, and stops with the collector."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from tests.pipeline_helpers import temp_settings
from tests.realized_helpers import wait_until
from transforms.raw.packages import samplers
from transforms.raw.realized.collector import collect
from transforms.raw.realized.settings import CollectorConfig
from transforms.raw.venues.hyperliquid.fake_server import FakeHyperliquidServer
from transforms.raw.venues.hyperliquid.market import generate_market
from transforms.raw.venues.hyperliquid.samples import samples_root


def test_collect_runs_the_hyperliquid_sampler_until_stopped(tmp_path, monkeypatch) -> None:
    today = datetime.now(UTC).date()
    # today and tomorrow: a sample taken after a midnight that passes mid-test finds its market
    market = generate_market("BTCUSDT", today, 2, seed=9)
    env = {"LIQMAP_VENUES": "binance,hyperliquid"}
    settings = temp_settings(tmp_path, today.isoformat(), today.isoformat(), **env)
    assert len(samplers(temp_settings(tmp_path, today.isoformat(), today.isoformat()))) == 0
    with FakeHyperliquidServer([market]) as server:
        monkeypatch.setenv("LIQMAP_HYPERLIQUID_URL", server.url)
        runs = samplers(settings)
        assert len(runs) == 1
        root = samples_root(settings.data_dir)

        async def scenario() -> None:
            stop = asyncio.Event()
            config = CollectorConfig(root=tmp_path / "realized", symbols=("BTCUSDT",), venues=())
            task = asyncio.create_task(collect(config, stop, samplers=runs))
            await wait_until(lambda: bool(list(root.glob("*/coverage.jsonl"))), "a coverage mark")
            stop.set()
            await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
    lines = [json.loads(x) for p in root.glob("*/*.jsonl") for x in p.read_text().splitlines()]
    samples = [x for x in lines if "coin" in x]
    assert [x["coin"] for x in samples] == ["BTC"] and samples[0]["openInterest"] > 0
    assert not list(root.glob("*/*.open"))  # the hour file was closed on stop
    (mark,) = [x for x in lines if "from_ms" in x]
    assert mark["to_ms"] - mark["from_ms"] == 60_000
