"""Errors of the OKX source; every message names the endpoint, page or file concerned."""

from __future__ import annotations


class OkxError(Exception):
    """An OKX day could not be fetched, parsed or loaded from the cache; nothing was cached."""


class OkxFormatError(OkxError):
    """A response is not what the v5 docs describe (bad JSON, missing field, bad number)."""


class OkxApiError(OkxError):
    """`code` != "0" inside an HTTP 200 (e.g. 51001: instrument ID does not exist)."""

    def __init__(self, message: str, endpoint: str, code: str, msg: str):
        super().__init__(message)
        self.endpoint = endpoint
        self.code = code
        self.msg = msg


class RateLimited(OkxError):
    """OKX kept answering 50011 / HTTP 429 until the request's deadline."""


class CacheCorrupt(OkxError):
    """A cached day's file no longer matches the sha256 recorded when it was written."""


class OutOfReach(OkxError):
    """The day is older than OKX keeps (5-minute open interest: the latest 1,440 entries,
    about five days) and was not collected while it was served: "not collected"."""
