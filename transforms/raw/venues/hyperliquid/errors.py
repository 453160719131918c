"""Errors of the Hyperliquid source; every message names the request type, page or file."""

from __future__ import annotations


class HyperliquidError(Exception):
    """A Hyperliquid day could not be fetched, parsed or loaded; nothing of it was cached."""


class HyperliquidFormatError(HyperliquidError):
    """An /info answer is not what the docs describe (bad JSON, missing field, bad number)."""


class HyperliquidApiError(HyperliquidError):
    """/info refused the request (HTTP 4xx other than 429, e.g. 422 for a malformed body)."""


class RateLimited(HyperliquidError):
    """Hyperliquid kept answering HTTP 429 until the request's deadline."""


class CacheCorrupt(HyperliquidError):
    """A cached day's file no longer matches the sha256 recorded when it was written."""


class OutOfReach(HyperliquidError):
    """The day is older than Hyperliquid serves (1-minute candles: the latest 5,000) and was
    not collected while it was, or it has no open-interest samples: "not collected"."""
