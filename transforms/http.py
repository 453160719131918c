"""The one place an HTTP client is configured (timeouts, redirects, User-Agent)."""

from __future__ import annotations

import httpx

USER_AGENT = "liqmap/0.1 (+https://github.com/liqmap)"
DEFAULT_TIMEOUT_S = 30.0


def make_client(timeout: float = DEFAULT_TIMEOUT_S) -> httpx.Client:
    """An httpx client with liqmap's User-Agent, following redirects; the caller closes it."""
    return httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})
