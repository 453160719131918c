"""The public Binance archive (data.binance.vision) over HTTPS, with polite bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from transforms.sources.base import CachingSource, NotYetPublished, SourceError

USER_AGENT = "liqmap/0.1 (+https://github.com/liqmap)"


class TransientHTTPError(SourceError):
    """429, 5xx, timeout or connection failure: worth retrying."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # HTTP-date form: fall back to exponential backoff
    return max(0.0, seconds)


class BinanceSource(CachingSource):
    """HTTP client for the archive; `base_url` ends with `/futures/um/` (or a test server)."""

    name = "binance"

    def __init__(
        self,
        base_url: str,
        cache_dir: Path,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        retry_after_max: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(cache_dir)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._client = client or httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self._owns_client = client is None
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self.requests = 0  # HTTP requests sent (observability and tests)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> BinanceSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_max)
        return min(self.backoff_initial * 2 ** (state.attempt_number - 1), self.backoff_max)

    def _get_once(self, relpath: str, url: str) -> bytes:
        self.requests += 1
        try:
            response = self._client.get(url)
        except httpx.TimeoutException as exc:
            raise TransientHTTPError(f"{relpath}: timeout fetching {url}: {exc}") from exc
        except httpx.TransportError as exc:  # connect errors, truncated bodies, resets
            raise TransientHTTPError(f"{relpath}: transport error on {url}: {exc!r}") from exc
        status = response.status_code
        if status == 200:
            return response.content
        if status == 404:
            raise NotYetPublished(f"{relpath} is not published yet (404 from {url})")
        if status == 429 or status >= 500:
            raise TransientHTTPError(
                f"{relpath}: HTTP {status} from {url}",
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        raise SourceError(f"{relpath}: HTTP {status} from {url}")

    def _get(self, relpath: str, suffix: str = "") -> bytes:
        url = self.base_url + relpath + suffix
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientHTTPError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._get_once, relpath, url)
        except TransientHTTPError as exc:
            raise SourceError(f"giving up after {self.max_attempts} attempts: {exc}") from exc

    def _read_checksum(self, relpath: str) -> str:
        return self._get(relpath, ".CHECKSUM").decode("ascii", errors="replace")

    def _read_file(self, relpath: str) -> bytes:
        return self._get(relpath)
