"""The public Binance archive (data.binance.vision) over HTTPS, with polite bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from transforms.http import make_client
from transforms.raw.venues.base import CachingSource, NotYetPublished, SourceError


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


def _get_once(
    client: httpx.Client, url: str, label: str, on_request: Callable[[], None] | None
) -> bytes:
    if on_request is not None:
        on_request()
    try:
        response = client.get(url)
    except httpx.TimeoutException as exc:
        raise TransientHTTPError(f"{label}: timeout fetching {url}: {exc}") from exc
    except httpx.TransportError as exc:  # connect errors, truncated bodies, resets
        raise TransientHTTPError(f"{label}: transport error on {url}: {exc!r}") from exc
    status = response.status_code
    if status == 200:
        return response.content
    if status == 404:
        raise NotYetPublished(f"{label} is not published yet (404 from {url})")
    if status == 429 or status >= 500:
        raise TransientHTTPError(
            f"{label}: HTTP {status} from {url}",
            retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status == 451:
        raise SourceError(
            f"{label}: HTTP 451 (Unavailable For Legal Reasons) from {url}: Binance refuses "
            "requests from restricted regions; run from an eligible location or use another source"
        )
    raise SourceError(f"{label}: HTTP {status} from {url}")


def get_with_retries(
    client: httpx.Client,
    url: str,
    label: str,
    *,
    max_attempts: int = 6,
    backoff_initial: float = 1.0,
    backoff_max: float = 60.0,
    retry_after_max: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    on_request: Callable[[], None] | None = None,
) -> bytes:
    """GET `url` (named `label` in errors): 200 gives the body, 404 NotYetPublished, 429/5xx/
    timeouts/transport errors are retried with exponential backoff (or Retry-After, capped),
    anything else (e.g. 451 from a restricted region) is a SourceError at once."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
            return min(exc.retry_after, retry_after_max)
        return min(backoff_initial * 2 ** (state.attempt_number - 1), backoff_max)

    retrying = Retrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait,
        retry=retry_if_exception_type(TransientHTTPError),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(_get_once, client, url, label, on_request)
    except TransientHTTPError as exc:
        raise SourceError(f"giving up after {max_attempts} attempts: {exc}") from exc


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
        self._client = client or make_client(timeout)
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

    def _get(self, relpath: str, suffix: str = "") -> bytes:
        def counted() -> None:
            self.requests += 1

        return get_with_retries(
            self._client,
            self.base_url + relpath + suffix,
            relpath,
            max_attempts=self.max_attempts,
            backoff_initial=self.backoff_initial,
            backoff_max=self.backoff_max,
            retry_after_max=self.retry_after_max,
            sleep=self._sleep,
            on_request=counted,
        )

    def _read_checksum(self, relpath: str) -> str:
        return self._get(relpath, ".CHECKSUM").decode("ascii", errors="replace")

    def _read_file(self, relpath: str) -> bytes:
        return self._get(relpath)
