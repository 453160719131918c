"""Hyperliquid perps (keyless POST /info): 1m candles (only the latest 5,000 are served:
collected daily), funding history, margin tables, and open interest and mark price sampled
every minute by `liqmap collect` (Hyperliquid keeps no history of either); a fake Hyperliquid
for offline use.

Entry point: `ingest(...)` (transforms.raw.ingest loops it with the other venues). Facts and
their sources: research/okx-hyperliquid.md §2; docs/venues.md "Hyperliquid".
"""

from __future__ import annotations

from transforms.raw.venues.hyperliquid.feed import load_hyperliquid_settings
from transforms.raw.venues.hyperliquid.ingest import ingest
from transforms.raw.venues.hyperliquid.source import VENUE

__all__ = ["VENUE", "check_settings", "ingest"]


def check_settings(settings: object) -> None:
    """LIQMAP_HYPERLIQUID_* checked before a run starts (transforms.raw.packages)."""
    load_hyperliquid_settings()
