"""HTTP GET with an overall deadline: connect, every read and every retry fit one budget.

httpx timeouts are per operation, so a server dripping one byte every few seconds never trips
them. Here every socket operation (connect, TLS handshake, each read and write) is given
`min(its own timeout, time left until the deadline)` by a thin httpcore network backend, so a
request ends at its deadline whatever the server does. Retries (429, 5xx, timeouts, transport
errors) back off inside the same budget, honouring `Retry-After` only when it fits. Redirects
are followed by hand so the error names the URL and the redirect target. Every error names the
URL.

The retry loop is written out rather than delegated to tenacity: its only stop rule is the
deadline, which tenacity would need a custom stop *and* wait to express.
"""

from __future__ import annotations

import contextvars
import email.utils
import functools
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

USER_AGENT = "liqmap/0.1 (+https://github.com/liqmap)"
DEFAULT_OP_TIMEOUT_S = 30.0
DEFAULT_MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Monotonic time at which the request running in this context must end (None: no deadline).
_DEADLINE_AT: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "liqmap_http_deadline", default=None
)


class HttpError(Exception):
    """A GET failed; `url` is the URL asked for and the message always names it."""

    def __init__(self, url: str, message: str):
        super().__init__(message)
        self.url = url


class DeadlineExceeded(HttpError):
    """The request (with its retries) did not complete within its overall deadline."""


class NotFound(HttpError):
    """HTTP 404: the resource does not exist (yet); not retried."""


class RedirectError(HttpError):
    """Too many redirects, a redirect loop, or a redirect without a usable Location."""


class HttpStatusError(HttpError):
    """A non-retryable status (or a retryable one that persisted until the deadline)."""

    def __init__(self, url: str, message: str, status: int, body: bytes = b""):
        super().__init__(url, message)
        self.status = status
        self.body = body


class RetriesExhausted(HttpError):
    """The attempt limit was reached before the deadline (each attempt failed transiently)."""


class BodyTooLarge(HttpError):
    """The body exceeded `max_bytes` (a hostile or misconfigured server)."""


@dataclass
class Deadline:
    """An absolute monotonic deadline; pass one object to share a budget across calls."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        if not seconds > 0:
            raise ValueError(f"deadline must be > 0 seconds, got {seconds!r}")
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


def _bounded(timeout: float | None) -> float | None:
    """The smaller of an operation's own timeout and the time left in this context's budget."""
    at = _DEADLINE_AT.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("overall deadline reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[no-untyped-def]
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every socket timeout capped by the context's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # type: ignore[no-untyped-def]
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _bounded(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's default transport on the deadline-aware backend.

    httpx does not expose the network backend, so the connection pool it built is replaced by
    an identical one using ours (the pool is `_pool` in every httpx 0.2x release; the drip test
    in tests/test_http.py fails loudly if that ever changes).
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        old = self._pool
        self._pool = httpcore.ConnectionPool(
            ssl_context=old._ssl_context,
            max_connections=old._max_connections,
            max_keepalive_connections=old._max_keepalive_connections,
            keepalive_expiry=old._keepalive_expiry,
            http1=old._http1,
            http2=old._http2,
            retries=old._retries,
            local_address=old._local_address,
            uds=old._uds,
            socket_options=old._socket_options,
            network_backend=_DeadlineBackend(),
        )
        old.close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (its CA bundle), built once per process: loading
    the bundle costs ~20 ms of CPU, and a daily run makes a client per dataset and venue."""
    return httpx.create_ssl_context()


def make_client(
    timeout: float | None = None,
    *,
    op_timeout_s: float = DEFAULT_OP_TIMEOUT_S,
    headers: Mapping[str, str] | None = None,
    max_connections: int = 10,
) -> httpx.Client:
    """A client for `fetch_bytes`: deadline-aware transport, redirects followed by us.

    `timeout` (positional, older callers) is the per-operation timeout, like `op_timeout_s`.
    """
    if timeout is not None:
        op_timeout_s = timeout
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return httpx.Client(
        transport=DeadlineTransport(limits=limits, verify=_ssl_context()),
        timeout=httpx.Timeout(op_timeout_s),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


_JSON = {"Content-Type": "application/json"}


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    return str(httpx.URL(url, params=params)) if params else url


def _get_once(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    max_redirects: int,
    max_bytes: int | None,
    on_headers: Callable[[int, httpx.Headers], None] | None = None,
    retry_statuses: frozenset[int] = RETRY_STATUSES,
    post: bytes | None = None,
) -> bytes:
    """One attempt, following redirects by hand; raises _Transient for retryable failures."""
    target = httpx.URL(url, params=params) if params else httpx.URL(url)
    seen: list[str] = []
    method, headers = ("GET", None) if post is None else ("POST", _JSON)
    while True:
        seen.append(str(target))
        try:
            with client.stream(
                method, target, content=post, headers=headers, follow_redirects=False
            ) as response:
                status = response.status_code
                if response.is_redirect:
                    location = response.headers.get("Location")
                    if not location:
                        raise RedirectError(
                            seen[0], f"{seen[0]}: HTTP {status} redirect without Location"
                        )
                    nxt = target.join(location)
                    if str(nxt) in seen:
                        raise RedirectError(
                            seen[0],
                            f"{seen[0]}: redirect loop: {target} -> {nxt} (already visited)",
                        )
                    if len(seen) > max_redirects:
                        raise RedirectError(
                            seen[0],
                            f"{seen[0]}: more than {max_redirects} redirects "
                            f"(last {target} -> {nxt})",
                        )
                    target = nxt
                    continue
                if on_headers is not None:
                    on_headers(status, response.headers)
                body = _read_body(response, str(target), max_bytes)
        except httpx.TimeoutException as exc:
            raise _Transient(f"timeout on {target}: {exc or type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise _Transient(f"transport error on {target}: {exc!r}") from exc
        where = str(target) if str(target) == seen[0] else f"{seen[0]} (redirected to {target})"
        if status == 200:
            return body
        if status == 404:
            raise NotFound(seen[0], f"not found (HTTP 404) at {where}")
        if status in retry_statuses:
            raise _Transient(
                f"HTTP {status} from {where}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        snippet = body[:200].decode("utf-8", errors="replace")
        raise HttpStatusError(seen[0], f"HTTP {status} from {where}: {snippet!r}", status, body)


def _read_body(response: httpx.Response, url: str, max_bytes: int | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    at = _DEADLINE_AT.get()
    for chunk in response.iter_bytes():
        if at is not None and time.monotonic() >= at:  # also bounds clients not from make_client
            raise _Transient(f"deadline reached while reading the body of {url}")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BodyTooLarge(url, f"{url}: body larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_bytes(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    deadline_s: float | Deadline,
    backoff_initial_s: float = 0.5,
    backoff_max_s: float = 30.0,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    max_bytes: int | None = None,
    max_attempts: int | None = None,
    before_attempt: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_headers: Callable[[int, httpx.Headers], None] | None = None,
    retry_statuses: frozenset[int] = RETRY_STATUSES,
    post: bytes | None = None,
) -> bytes:
    """GET `url` and return the body, all attempts within `deadline_s` (seconds or a Deadline).

    200 gives the body; 404 raises NotFound; 429/5xx/timeouts/transport errors are retried
    with exponential backoff (or the server's Retry-After) while the budget allows; anything
    else raises HttpStatusError at once. Running out of budget raises DeadlineExceeded naming
    the URL and the last failure. `before_attempt` runs before every attempt (rate limiting,
    request counting). With `max_attempts`, RetriesExhausted is raised once that many
    attempts failed, even if budget is left. `on_headers(status, headers)` sees every final
    (non-redirect) response's headers, e.g. a venue's used-weight counter. `retry_statuses`
    narrows what is retried here (a venue retrying its rate-limit status itself leaves it
    out); with `post`, the request is a POST of that JSON body instead of a GET.
    """
    deadline = deadline_s if isinstance(deadline_s, Deadline) else Deadline.after(deadline_s)
    shown = _full_url(url, params)
    attempt = 0
    last = "no attempt made"
    while True:
        if deadline.expired:
            raise DeadlineExceeded(shown, f"{shown}: deadline reached after {attempt} attempts")
        if before_attempt is not None:
            before_attempt()
        attempt += 1
        token = _DEADLINE_AT.set(deadline.at)
        try:
            return _get_once(
                client,
                url,
                params,
                max_redirects=max_redirects,
                max_bytes=max_bytes,
                on_headers=on_headers,
                retry_statuses=retry_statuses,
                post=post,
            )
        except _Transient as exc:
            last = str(exc)
            wait = exc.retry_after
            if wait is None:
                wait = min(backoff_initial_s * 2 ** (attempt - 1), backoff_max_s)
        finally:
            _DEADLINE_AT.reset(token)
        if max_attempts is not None and attempt >= max_attempts:
            raise RetriesExhausted(
                shown, f"{shown}: giving up after {attempt} attempts; last error: {last}"
            )
        left = deadline.remaining()
        if left <= 0 or wait >= left:
            why = "deadline reached" if left <= 0 else f"next retry in {wait:.1f}s would pass it"
            raise DeadlineExceeded(
                shown, f"{shown}: gave up after {attempt} attempts ({why}); last error: {last}"
            )
        sleep(wait)


def post_json(client: httpx.Client, url: str, body: bytes, *, deadline_s: float) -> int:
    """POST a JSON body once within `deadline_s` (connect, send, every read): the status when
    2xx, else HttpStatusError; a timeout (a hanging server) is DeadlineExceeded, a refused or
    reset connection HttpError. No retries: the caller decides (alert webhooks back off)."""
    deadline = Deadline.after(deadline_s)
    token = _DEADLINE_AT.set(deadline.at)
    try:
        response = client.post(
            url, content=body, headers={"Content-Type": "application/json"}, timeout=deadline_s
        )
    except httpx.TimeoutException as exc:
        raise DeadlineExceeded(url, f"{url}: no answer within {deadline_s:g} s ({exc!r})") from None
    except httpx.TransportError as exc:
        raise HttpError(url, f"{url}: {exc!r}") from None
    finally:
        _DEADLINE_AT.reset(token)
    if 200 <= response.status_code < 300:
        return response.status_code
    snippet = response.content[:120].decode("utf-8", errors="replace")
    raise HttpStatusError(
        url, f"HTTP {response.status_code} from {url}: {snippet!r}", response.status_code
    )
