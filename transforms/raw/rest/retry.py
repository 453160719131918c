"""The request loop every REST venue's client shares: one overall deadline, the venue's
rate-limit answers retried inside it, its error envelope read, its ban rule applied.

transforms.http.fetch_bytes sends each attempt within the request's overall deadline
(connect, every read, every retry: not a per-read timeout) and retries 5xx, timeouts and
transport errors there. On top of that, a venue signals "slow down" in its own way: a code
inside an HTTP 200 (Bybit retCode 10006, OKX code 50011) or a status it asks to be retried
by the client (Hyperliquid's HTTP 429, honouring Retry-After). Those answers are retried here
with exponential backoff inside the same deadline; when the deadline is reached after one of
them - the next wait does not fit, or the retry itself outlives it - the error is the venue's
RateLimited naming the answer (`<where>: retCode 10006 (...) persisted for N attempts until
the 30s deadline; slow down`), not a bare timeout. Everything that differs per venue is data
in its `RetryRules`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from transforms.http import (
    RETRY_STATUSES,
    BodyTooLarge,
    Deadline,
    DeadlineExceeded,
    HttpError,
    HttpStatusError,
    NotFound,
    fetch_bytes,
    make_client,
    retry_after_seconds,
)
from transforms.raw.rest.day_cache import Page
from transforms.raw.rest.limiter import SlidingWindowLimiter


@dataclass(frozen=True)
class Envelope:
    """A venue's answer inside an HTTP 200: `{<code>: ..., <message>: ..., ...}`."""

    #: the code's field, as error lines name it ("retCode", "code")
    code: str
    message: str
    #: (body, where) -> the decoded document; raises the venue's format error
    decode: Callable[[bytes, str], Any]
    #: the code of a success, as `cast` gives it
    ok: Any
    #: codes meaning "slow down": retried inside the deadline
    rate_limit: frozenset[Any]
    #: (message, endpoint, code, msg) -> the venue's API error for any other code
    api_error: Callable[[str, str, Any, str], Exception]
    cast: Callable[[Any], Any] = lambda value: value


@dataclass(frozen=True)
class RetryRules:
    """What one venue's client does differently, as data."""

    #: the venue's base error: an HTTP failure is `<name>: <transforms.http error>`
    error: type[Exception]
    #: the rate limit persisted until the deadline
    rate_limited: type[Exception]
    #: None: the body is the answer itself (no envelope)
    envelope: Envelope | None = None
    #: HTTP statuses that are the venue's rate limit, retried here rather than in
    #: transforms.http (so that persisting is RateLimited naming the status)
    rate_limit_statuses: frozenset[int] = frozenset()
    #: (HTTP status error, where) -> the venue's error for it (a ban, a refused request);
    #: None: the base error
    on_status: Callable[[HttpStatusError, str], Exception | None] | None = None
    #: the error for a body over the size limit (None: the base error)
    too_large: type[Exception] | None = None


def request_page(
    http: httpx.Client,
    url: str,
    params: dict[str, str],
    rules: RetryRules,
    *,
    where: str,
    name: str,
    deadline_s: float,
    backoff_s: float,
    http_backoff_s: float,
    max_bytes: int,
    before_attempt: Callable[[], None],
    sleep: Callable[[float], None],
    post: bytes | None = None,
) -> Page:
    """One successful answer to `url` (a GET, or a POST of `post`) as a Page of `params`,
    all attempts within `deadline_s` (see module doc). `where` names the request in envelope
    and rate-limit lines, `name` in HTTP failure lines; a rate-limit answer is retried after
    `backoff_s`, doubled each time, a 5xx or transport error after `http_backoff_s`
    (transforms.http); `before_attempt` runs before every attempt (rate limiting, a ban
    check, request counting)."""
    deadline = Deadline.after(deadline_s)
    attempt = 0
    limited = ""  # the last rate-limit answer: a deadline after it is the limit's doing
    headers: dict[str, str | None] = {}

    def seen(_status: int, h: httpx.Headers) -> None:
        headers["retry_after"] = h.get("Retry-After")

    while True:
        attempt += 1
        headers.clear()
        wait: float | None = None
        try:
            body = fetch_bytes(
                http,
                url,
                deadline_s=deadline,
                backoff_initial_s=http_backoff_s,
                max_bytes=max_bytes,
                before_attempt=before_attempt,
                sleep=sleep,
                on_headers=seen,
                retry_statuses=RETRY_STATUSES - rules.rate_limit_statuses,
                post=post,
            )
        except HttpStatusError as exc:
            if exc.status not in rules.rate_limit_statuses:
                mapped = rules.on_status(exc, where) if rules.on_status else None
                raise (mapped or rules.error(f"{name}: {exc}")) from exc
            limited = f"{where}: HTTP {exc.status}"
            wait = retry_after_seconds(headers.get("retry_after"))
        except HttpError as exc:  # 404, 5xx past the deadline, connection refused
            if isinstance(exc, NotFound) and rules.on_status is not None:
                mapped = rules.on_status(HttpStatusError(exc.url, str(exc), 404), where)
                if mapped is not None:
                    raise mapped from exc
            if limited and isinstance(exc, DeadlineExceeded):
                raise rules.rate_limited(
                    f"{limited} persisted for {attempt - 1} attempts until the "
                    f"{deadline_s:g}s deadline; slow down"
                ) from exc
            if isinstance(exc, BodyTooLarge) and rules.too_large is not None:
                raise rules.too_large(f"{where}: body over {max_bytes} bytes") from exc
            raise rules.error(f"{name}: {exc}") from exc
        else:
            env = rules.envelope
            if env is None:
                return Page(dict(params), body)
            doc = env.decode(body, where)
            code = env.cast(doc[env.code])
            if code == env.ok:
                return Page(dict(params), body, doc)
            msg = str(doc.get(env.message, ""))
            line = f"{where}: {env.code} {code} ({msg})"
            if code not in env.rate_limit:
                raise env.api_error(line, name, code, msg)
            limited = line
        if wait is None:
            wait = backoff_s * 2 ** (attempt - 1)
        if wait >= deadline.remaining():
            raise rules.rate_limited(
                f"{limited} persisted for {attempt} attempts until the "
                f"{deadline_s:g}s deadline; slow down"
            )
        sleep(wait)


class RestClient:
    """What every venue's client holds the same way: the HTTP connection (closed only when
    it made it), the request-rate limiter, the per-request deadline and backoffs, and the
    count of requests sent. A venue's client sets `rules`, `max_bytes`, its default URL and
    rate limit, and asks `request` for each page."""

    rules: RetryRules
    max_bytes: int = 16 << 20
    default_base_url: str
    #: (requests, per seconds) of the limiter made when none is given: the venue's limit
    default_rate: tuple[int, float]

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx.Client | None = None,
        request_deadline_s: float = 30.0,
        limiter: SlidingWindowLimiter | None = None,
        rate_limit_backoff_s: float = 1.0,
        http_backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self._http = client or make_client()
        self._owns_http = client is None
        self.request_deadline_s = request_deadline_s
        self.limiter = limiter or SlidingWindowLimiter(*self.default_rate)
        self.rate_limit_backoff_s = rate_limit_backoff_s
        self.http_backoff_s = http_backoff_s
        self._sleep = sleep
        self.requests = 0  # HTTP requests sent, retries included

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _before_attempt(self) -> None:
        self.limiter.acquire()
        self.requests += 1

    def request(
        self,
        url: str,
        params: dict[str, str],
        *,
        where: str,
        name: str,
        post: bytes | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> Page:
        """One successful answer through `request_page` with this client's settings."""
        return request_page(
            self._http,
            url,
            params,
            self.rules,
            where=where,
            name=name,
            deadline_s=self.request_deadline_s,
            backoff_s=self.rate_limit_backoff_s,
            http_backoff_s=self.http_backoff_s,
            max_bytes=self.max_bytes,
            before_attempt=before_attempt or self._before_attempt,
            sleep=self._sleep,
            post=post,
        )
