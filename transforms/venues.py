"""Venue names every layer shares: the aggregate's name and how a market is labelled.

A market is one (venue, symbol) pair. Raw, staged and per-venue mart rows carry their venue;
the per-symbol aggregate across venues is stored under `AGGREGATE_VENUE` ('all').
"""

from __future__ import annotations

from transforms.config import DEFAULT_VENUES, REFERENCE_VENUE, VENUES

#: mart rows summed over the venues of a symbol (DESIGN v2 §3)
AGGREGATE_VENUE = "all"

VENUE_LABELS = {"binance": "Binance", "bybit": "Bybit", AGGREGATE_VENUE: "All venues"}

__all__ = ["AGGREGATE_VENUE", "DEFAULT_VENUES", "REFERENCE_VENUE", "VENUES", "VENUE_LABELS"]


def venue_label(venue: str) -> str:
    """How a venue is named on the site and in logs ('Binance', 'All venues')."""
    return VENUE_LABELS.get(venue, venue)


def market_label(venue: str, symbol: str) -> str:
    """'bybit BTCUSDT': one market in logs and error lines."""
    return f"{venue} {symbol}"
