"""Errors of the Bybit source; every message names the endpoint or file concerned."""

from __future__ import annotations


class BybitError(Exception):
    """A Bybit day could not be fetched, parsed or loaded from the cache; nothing was cached."""


class BybitFormatError(BybitError):
    """A response is not what the v5 docs describe (bad JSON, missing field, bad number)."""


class BybitApiError(BybitError):
    """`retCode` != 0 inside an HTTP 200."""

    def __init__(self, message: str, endpoint: str, ret_code: int, ret_msg: str):
        super().__init__(message)
        self.endpoint = endpoint
        self.ret_code = ret_code
        self.ret_msg = ret_msg


class RateLimited(BybitError):
    """Bybit kept answering retCode 10006 (rate limit) until the request's deadline."""


class Banned(BybitError):
    """HTTP 403 "access too frequent": the IP is banned for minutes; back off, do not retry."""


class CacheCorrupt(BybitError):
    """A cached day's file no longer matches the sha256 recorded when it was written."""


class NoHistory(BybitError):
    """The dataset has no history (risk-limit tiers): only today's snapshot can be fetched."""
