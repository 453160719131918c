"""Hyperliquid perps (keyless POST /info): 1m candles (only the latest 5,000 are served:
collected daily), funding history, margin tables, and open interest and mark price sampled
every minute by `liqmap collect` (Hyperliquid keeps no history of either); a fake Hyperliquid
for offline use.

Entry point: `ingest(...)` (transforms.raw.ingest loops it with the other venues). Facts and
their sources: research/okx-hyperliquid.md §2; docs/venues.md "Hyperliquid".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from transforms.config import Settings
from transforms.raw.venues.hyperliquid.feed import load_hyperliquid_settings, make_client
from transforms.raw.venues.hyperliquid.ingest import ingest
from transforms.raw.venues.hyperliquid.samples import Sampler, run_sampler, samples_root
from transforms.raw.venues.hyperliquid.source import VENUE

__all__ = ["VENUE", "check_settings", "ingest", "sampler"]


def check_settings(settings: object) -> None:
    """LIQMAP_HYPERLIQUID_* checked before a run starts (transforms.raw.packages)."""
    load_hyperliquid_settings()


def sampler(settings: Settings) -> Callable[[asyncio.Event], Awaitable[None]]:
    """What `liqmap collect` runs for Hyperliquid: the minute OI/mark sampler of the
    configured symbols into <LIQMAP_DATA_DIR>/samples/hyperliquid (samples module doc)."""
    hl = load_hyperliquid_settings()

    async def run(stop: asyncio.Event) -> None:
        client = make_client(hl)
        try:
            root = samples_root(settings.data_dir)
            await run_sampler(Sampler(root, client, settings.symbols), stop)
        finally:
            client.close()

    return run
