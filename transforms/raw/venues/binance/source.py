"""The public Binance archive (data.binance.vision) over HTTPS: every file within a deadline
(connect, reads and retries; transforms.http), every step's downloads within a step budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from transforms.http import Deadline, HttpError, HttpStatusError, NotFound, fetch_bytes, make_client
from transforms.raw.errors import NotYetPublished, SourceError
from transforms.raw.venues.binance.cache import CachingSource

#: total time for one file (connect, every read, every retry) and for one run step's downloads
FILE_DEADLINE_S = 300.0
STEP_DEADLINE_S = 6 * 3600.0


def get_with_retries(
    client: httpx.Client,
    url: str,
    label: str,
    *,
    deadline: float | Deadline = FILE_DEADLINE_S,
    max_attempts: int = 6,
    backoff_initial: float = 1.0,
    backoff_max: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    on_request: Callable[[], None] | None = None,
) -> bytes:
    """GET `url` (named `label` in errors) within `deadline` (seconds or a shared Deadline):
    200 gives the body, 404 NotYetPublished, 429/5xx/timeouts/transport errors are retried
    with backoff (or Retry-After) inside the deadline and `max_attempts`; anything else (e.g.
    451 from a restricted region) is a SourceError at once. Every error names the URL."""
    try:
        return fetch_bytes(
            client,
            url,
            deadline_s=deadline,
            backoff_initial_s=backoff_initial,
            backoff_max_s=backoff_max,
            max_attempts=max_attempts,
            before_attempt=on_request,
            sleep=sleep,
        )
    except NotFound:
        raise NotYetPublished(f"{label} is not published yet (404 from {url})") from None
    except HttpStatusError as exc:
        if exc.status == 451:
            raise SourceError(
                f"{label}: HTTP 451 (Unavailable For Legal Reasons) from {url}: Binance refuses "
                "requests from restricted regions; run from an eligible location or use another "
                "source"
            ) from exc
        raise SourceError(f"{label}: {exc}") from exc
    except HttpError as exc:  # deadline, attempts, redirects, oversized body
        raise SourceError(f"{label}: {exc}") from exc


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
        file_deadline_s: float = FILE_DEADLINE_S,
        step_deadline_s: float = STEP_DEADLINE_S,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(cache_dir)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._client = client or make_client(timeout)
        self._owns_client = client is None
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.file_deadline_s = file_deadline_s
        # One source serves one run step: all its downloads share this budget.
        self.step_deadline = Deadline.after(step_deadline_s)
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
            deadline=Deadline(min(time.monotonic() + self.file_deadline_s, self.step_deadline.at)),
            max_attempts=self.max_attempts,
            backoff_initial=self.backoff_initial,
            backoff_max=self.backoff_max,
            sleep=self._sleep,
            on_request=counted,
        )

    def _read_checksum(self, relpath: str) -> str:
        return self._get(relpath, ".CHECKSUM").decode("ascii", errors="replace")

    def _read_file(self, relpath: str) -> bytes:
        return self._get(relpath)
