"""OKX USDT swaps (keyless REST v5): 1m and mark-price 1m candles, 5-minute open interest
(kept about five days: collected daily), funding, position tiers; a fake OKX for offline use.

Entry point: `ingest(...)` (transforms.raw.ingest loops it with the other venues). Facts and
their sources: research/okx-hyperliquid.md §1; docs/venues.md "OKX".
"""

from __future__ import annotations

from transforms.raw.venues.okx.feed import load_okx_settings
from transforms.raw.venues.okx.ingest import ingest
from transforms.raw.venues.okx.source import VENUE

__all__ = ["VENUE", "check_settings", "ingest"]


def check_settings(settings: object) -> None:
    """LIQMAP_OKX_* checked before a run starts (transforms.raw.packages)."""
    load_okx_settings()
