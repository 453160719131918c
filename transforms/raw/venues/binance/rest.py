"""Binance USDⓈ-M REST (keyless) for the day in progress: 1m klines, 1m mark-price klines,
5-minute open-interest history and taker ratio, funding settlements and the premium index.

Why a client of its own (beside the archive's `get_with_retries`): the REST API meters every
IP. Each endpoint has a request weight (klines with limit > 1000 cost 10) counted per calendar
minute against REQUEST_WEIGHT (2400/min, research/exchange-data.md §2); the server reports the
weight used in `X-MBX-USED-WEIGHT-1M`. This client keeps below its own share of that budget
(waiting for the next minute rather than sending), honours 429 `Retry-After` inside the
request's deadline (transforms.http), treats 418 as a ban until the time Binance announces
(persisted, so the next refresh sends nothing until then) and names 451 (restricted region)
in one line. Every request has an overall deadline (connect, reads, retries), not a read
timeout. Responses are checked before anything is returned: truncated JSON, a missing field
or timestamps from the future (the server's clock skewed against ours) raise RestFormatError
naming the endpoint, market and what was expected.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from transforms.atomic import atomic_write_text
from transforms.config import validate_symbol
from transforms.days import day_start_ms
from transforms.http import Deadline, HttpError, HttpStatusError, fetch_bytes, make_client
from transforms.raw.errors import SourceError
from transforms.raw.venues.binance.funding_rest import funding_frame

VENUE = "binance"
#: Binance's REQUEST_WEIGHT per minute and IP (exchangeInfo); we use at most this share
WEIGHT_LIMIT_PER_MIN = 2400
DEFAULT_WEIGHT_SHARE = 0.5
#: one request (connect, reads, 429 retries) must end within this many seconds
DEFAULT_REQUEST_DEADLINE_S = 20.0
#: a 418 without an announced end bans for at least Binance's minimum (2 minutes)
DEFAULT_BAN_S = 120.0
#: the server's clock may differ from ours by this much before its data is refused
CLOCK_TOLERANCE = timedelta(seconds=90)
KLINE_LIMIT = 1500  # one request holds a whole day of 1m bars (1440)
OI_LIMIT = 500  # one request holds a whole day of 5m points (288)
MS_MINUTE = 60_000
MS_5M = 5 * MS_MINUTE


@dataclass(frozen=True)
class Endpoint:
    path: str
    weight: int  # REQUEST_WEIGHT of one call as this client makes it


ENDPOINTS: dict[str, Endpoint] = {
    "klines": Endpoint("fapi/v1/klines", 10),  # limit 1500 (> 1000) costs 10
    "markPriceKlines": Endpoint("fapi/v1/markPriceKlines", 10),
    "openInterestHist": Endpoint("futures/data/openInterestHist", 0),  # own 1000 / 5 min
    "takerlongshortRatio": Endpoint("futures/data/takerlongshortRatio", 0),
    "fundingRate": Endpoint("fapi/v1/fundingRate", 1),  # own 500 / 5 min
    "premiumIndex": Endpoint("fapi/v1/premiumIndex", 1),
}


class RestError(SourceError):
    """A REST request failed; the message is one line naming venue, endpoint and market."""


class RestBanned(RestError):
    """Binance banned this IP (HTTP 418) until `until`; nothing is sent before then."""

    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


class RestRestricted(RestError):
    """HTTP 451: Binance refuses requests from this region (the archive still works)."""


class RestFormatError(RestError):
    """A response is not what the endpoint returns: truncated, a field missing, bad time."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _hhmmss(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class BanState:
    """When a 418 ban ends, kept in a small JSON file so a later refresh (another process)
    waits for it too. Without a path it lives in memory only."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.until: datetime | None = None
        self.reason = ""
        if path is not None and path.is_file():
            try:
                doc = json.loads(path.read_text())
                self.until = datetime.fromtimestamp(int(doc["until_ms"]) / 1000, tz=UTC)
                self.reason = str(doc.get("reason", ""))
            except (ValueError, KeyError, TypeError):
                self.until = None  # an unreadable note is no ban; the server re-announces it

    def set(self, until: datetime, reason: str) -> None:
        self.until, self.reason = until, reason
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            doc = {"until_ms": int(until.timestamp() * 1000), "reason": reason}
            atomic_write_text(self.path, json.dumps(doc))

    def active(self, now: datetime) -> bool:
        return self.until is not None and now < self.until


@dataclass
class WeightBudget:
    """Request weight used in the current calendar minute (ours, or the server's count when
    it reports more); `acquire` waits for the next minute when a request would pass `limit`."""

    limit: int
    minute: int = -1
    used: int = 0
    waited_s: float = 0.0

    def _roll(self, now: datetime) -> None:
        minute = int(now.timestamp() // 60)
        if minute != self.minute:
            self.minute, self.used = minute, 0

    def acquire(
        self, weight: int, now: Callable[[], datetime], sleep: Callable[[float], None]
    ) -> None:
        self._roll(now())
        if self.used + weight > self.limit:
            t = now()
            wait = 60.0 - (t.timestamp() % 60.0) + 0.05
            self.waited_s += wait
            sleep(wait)
            self._roll(now())
        self.used += weight

    def observe(self, header: str | None, now: datetime) -> None:
        """The server's own count (X-MBX-USED-WEIGHT-1M) for this minute, when larger."""
        if not header:
            return
        try:
            reported = int(header)
        except ValueError:
            return
        self._roll(now)
        self.used = max(self.used, reported)


@dataclass
class RestDay:
    """One market's day (or day so far) from REST, checked, shaped like the raw tables."""

    symbol: str
    day: date
    as_of: datetime  # data up to here: the end of the last closed bar (UTC)
    klines: pd.DataFrame
    mark_klines: pd.DataFrame
    metrics: pd.DataFrame
    funding: pd.DataFrame
    premium: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        bars = (len(self.klines), len(self.mark_klines))
        return bars == (1440, 1440) and len(self.metrics) == 288


class BinanceRestClient:
    """Keyless USDⓈ-M REST client (see module doc). `base_url` is fapi.binance.com or a
    local fake (transforms.raw.venues.binance.fake_rest)."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        now: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        request_deadline_s: float = DEFAULT_REQUEST_DEADLINE_S,
        weight_share: float = DEFAULT_WEIGHT_SHARE,
        ban: BanState | None = None,
        max_attempts: int = 3,
    ):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._client = client or make_client(op_timeout_s=request_deadline_s)
        self._owns = client is None
        self._now = now
        self._sleep = sleep
        self.request_deadline_s = request_deadline_s
        self.budget = WeightBudget(int(WEIGHT_LIMIT_PER_MIN * weight_share))
        self.ban = ban or BanState()
        self.max_attempts = max_attempts
        self.requests = 0
        self.requests_by_endpoint: dict[str, int] = {}

    def close(self) -> None:
        if self._owns:
            self._client.close()

    def __enter__(self) -> BinanceRestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------
    def get_json(self, name: str, params: dict[str, Any], label: str) -> Any:
        """One endpoint call within the weight budget and the request deadline, parsed."""
        endpoint = ENDPOINTS[name]
        now = self._now()
        if self.ban.active(now):
            raise RestBanned(
                f"{VENUE} {label}: IP banned by Binance until {_hhmmss(self.ban.until)} "
                f"({self.ban.reason}); no request sent before then",
                self.ban.until,  # type: ignore[arg-type]
            )
        url = self.base_url + endpoint.path
        shown = str(httpx.URL(url, params=params))
        statuses: dict[str, str | None] = {}

        def before() -> None:
            self.budget.acquire(endpoint.weight, self._now, self._sleep)
            self.requests += 1
            self.requests_by_endpoint[name] = self.requests_by_endpoint.get(name, 0) + 1

        def headers(status: int, h: httpx.Headers) -> None:
            self.budget.observe(h.get("X-MBX-USED-WEIGHT-1M"), self._now())
            statuses["retry_after"] = h.get("Retry-After")

        try:
            body = fetch_bytes(
                self._client,
                url,
                params=params,
                deadline_s=Deadline.after(self.request_deadline_s),
                backoff_initial_s=1.0,
                backoff_max_s=30.0,
                max_attempts=self.max_attempts,
                before_attempt=before,
                sleep=self._sleep,
                on_headers=headers,
            )
        except HttpStatusError as exc:
            raise self._status_error(exc, label, shown, statuses.get("retry_after")) from None
        except HttpError as exc:
            raise RestError(f"{VENUE} {label}: {' '.join(str(exc).split())}") from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RestFormatError(
                f"{VENUE} {label}: truncated or invalid JSON from {shown} ({len(body)} bytes: "
                f"{exc}); expected a complete {name} response, nothing of it loaded"
            ) from None

    def _status_error(
        self, exc: HttpStatusError, label: str, url: str, retry_after: str | None
    ) -> RestError:
        if exc.status == 451:
            return RestRestricted(
                f"{VENUE} {label}: HTTP 451 from {url}: Binance's REST API refuses this region "
                "(the daily archive still works; the nowcast needs an eligible location)"
            )
        if exc.status == 418:
            until = self._ban_end(exc.body, retry_after)
            reason = f"HTTP 418 at {_hhmmss(self._now())}"
            self.ban.set(until, reason)
            return RestBanned(
                f"{VENUE} {label}: HTTP 418 from {url}: IP banned by Binance until "
                f"{_hhmmss(until)}; no request is sent before then",
                until,
            )
        snippet = exc.body[:160].decode("utf-8", errors="replace")
        return RestError(f"{VENUE} {label}: HTTP {exc.status} from {url}: {snippet!r}")

    def _ban_end(self, body: bytes, retry_after: str | None) -> datetime:
        """Binance writes "IP banned until <epoch ms>" in the 418 body; else Retry-After."""
        now = self._now()
        match = re.search(rb"banned until (\d{12,14})", body)
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        try:
            seconds = float(retry_after) if retry_after else DEFAULT_BAN_S
        except ValueError:
            seconds = DEFAULT_BAN_S
        return now + timedelta(seconds=max(seconds, 1.0))

    # -- endpoints ---------------------------------------------------------------------------
    def fetch_day(self, symbol: str, day: date) -> RestDay:
        """`symbol`'s `day` up to now: bars that have closed, OI points taken, settlements;
        with the premium index when the day is today. Raises RestError (one line)."""
        validate_symbol(symbol)
        now = self._now()
        lo = day_start_ms(day)
        # up to the last whole 5-minute bar: the model's bars are 5 minutes, none half-built
        now_ms = int(now.timestamp() * 1000)
        hi = min(lo + 86_400_000, now_ms - now_ms % MS_5M)
        if hi <= lo:
            raise ValueError(f"{symbol} {day}: the day has not started at {_hhmmss(now)}")
        label = f"{symbol} {day}"
        premium: dict[str, Any] = {}
        if hi < lo + 86_400_000:
            premium = self.premium_index(symbol)
            skew = premium["time"] - now
            if abs(skew) > CLOCK_TOLERANCE:
                raise RestFormatError(
                    f"{VENUE} premiumIndex {label}: the server's clock is "
                    f"{skew.total_seconds():+.0f} s from ours (server {_hhmmss(premium['time'])}, "
                    f"ours {_hhmmss(now)}); expected within {CLOCK_TOLERANCE.seconds} s, "
                    "nothing loaded"
                )
        # A bar is taken once closed: open + 1 min <= now (the last one may still be moving).
        klines = self.klines(symbol, lo, hi, mark=False)
        mark = self.klines(symbol, lo, hi, mark=True)
        metrics = self.metrics(symbol, lo, hi)
        funding = self.funding(symbol, day, hi)
        closed = [
            int(f.iloc[-1]) + MS_MINUTE for f in (klines["open_time"], mark["open_time"]) if len(f)
        ]
        as_of_ms = min(closed) if closed else lo
        return RestDay(
            symbol,
            day,
            datetime.fromtimestamp(as_of_ms / 1000, tz=UTC),
            klines,
            mark,
            metrics,
            funding,
            premium,
        )

    def premium_index(self, symbol: str) -> dict[str, Any]:
        doc = self.get_json("premiumIndex", {"symbol": symbol}, f"premiumIndex {symbol}")
        label = f"{VENUE} premiumIndex {symbol}"
        if not isinstance(doc, dict):
            raise RestFormatError(f"{label}: expected a JSON object, got {type(doc).__name__}")
        try:
            return {
                "mark_price": float(doc["markPrice"]),
                "index_price": float(doc["indexPrice"]),
                "funding_rate": float(doc["lastFundingRate"]),
                "next_funding": datetime.fromtimestamp(int(doc["nextFundingTime"]) / 1000, UTC),
                "time": datetime.fromtimestamp(int(doc["time"]) / 1000, tz=UTC),
            }
        except KeyError as exc:
            raise RestFormatError(f"{label}: field {exc} missing; nothing loaded") from None
        except (TypeError, ValueError) as exc:
            raise RestFormatError(f"{label}: bad value ({exc}); nothing loaded") from None

    def klines(self, symbol: str, lo: int, hi: int, *, mark: bool) -> pd.DataFrame:
        """Closed 1m bars with open_time in [lo, hi - 1 min], ascending (one request)."""
        name = "markPriceKlines" if mark else "klines"
        label = f"{name} {symbol} {_day_of(lo)}"
        rows = self.get_json(
            name,
            {
                "symbol": symbol,
                "interval": "1m",
                "startTime": lo,
                "endTime": hi - 1,
                "limit": KLINE_LIMIT,
            },
            label,
        )
        width = 6 if mark else 11
        if not isinstance(rows, list):
            raise RestFormatError(f"{VENUE} {label}: expected a JSON array of bars")
        out = []
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) < width + 1:
                n = len(row) if isinstance(row, list) else type(row).__name__
                raise RestFormatError(
                    f"{VENUE} {label}: bar {i + 1} has {n} fields, expected 12 "
                    "(open time, OHLC, volume, close time, ...); nothing loaded"
                )
            try:
                values = [int(row[0]), *(float(x) for x in row[1:5])]
                values += [int(row[6])]
                if not mark:
                    values += [float(row[5]), float(row[7]), int(row[8]), float(row[9])]
                    values += [float(row[10])]
            except (TypeError, ValueError) as exc:
                raise RestFormatError(f"{VENUE} {label}: bar {i + 1}: {exc}") from None
            out.append(values)
        cols = ["open_time", "open", "high", "low", "close", "close_time"]
        if not mark:
            cols += ["volume", "quote_volume", "count", "taker_buy_volume"]
            cols += ["taker_buy_quote_volume"]
        frame = pd.DataFrame(out, columns=cols)
        _check_grid(frame["open_time"], lo, hi, MS_MINUTE, f"{VENUE} {label}", self._now())
        # the bar still open at `hi` is not taken (its values move until it closes)
        return frame[frame["open_time"] + MS_MINUTE <= hi].reset_index(drop=True)

    def metrics(self, symbol: str, lo: int, hi: int) -> pd.DataFrame:
        """5-minute open interest (base and USDT) and taker buy/sell ratio, points at or
        before `hi` (openInterestHist and takerlongshortRatio, one request each)."""
        params = {"symbol": symbol, "period": "5m", "startTime": lo, "endTime": hi, "limit": 500}
        label = f"openInterestHist {symbol} {_day_of(lo)}"
        oi = self._records(
            "openInterestHist", params, label, ("sumOpenInterest", "sumOpenInterestValue")
        )
        label_t = f"takerlongshortRatio {symbol} {_day_of(lo)}"
        taker = self._records("takerlongshortRatio", params, label_t, ("buySellRatio",))
        frame = pd.DataFrame(
            {
                "create_time": [t for t, _ in oi],
                "sum_open_interest": [float(r["sumOpenInterest"]) for _, r in oi],
                "sum_open_interest_value": [float(r["sumOpenInterestValue"]) for _, r in oi],
            }
        )
        ratios = {t: float(r["buySellRatio"]) for t, r in taker}
        frame["sum_taker_long_short_vol_ratio"] = frame["create_time"].map(ratios)
        end = min(hi, lo + 86_400_000 - 1)  # a day's points: 00:00 .. 23:55
        frame = frame[(frame["create_time"] >= lo) & (frame["create_time"] <= end)]
        frame = frame.drop_duplicates("create_time").sort_values("create_time")
        frame = frame.reset_index(drop=True)
        _check_grid(frame["create_time"], lo, hi + 1, MS_5M, f"{VENUE} {label}", self._now())
        return frame

    def _records(
        self, name: str, params: dict[str, Any], label: str, fields: tuple[str, ...]
    ) -> list[tuple[int, dict[str, Any]]]:
        doc = self.get_json(name, params, label)
        if not isinstance(doc, list):
            raise RestFormatError(f"{VENUE} {label}: expected a JSON array of points")
        out = []
        need = ("timestamp", *fields)
        for i, item in enumerate(doc):
            missing = [f for f in need if not isinstance(item, dict) or f not in item]
            if missing:
                raise RestFormatError(
                    f"{VENUE} {label}: point {i + 1} lacks field {missing[0]!r} "
                    f"(expected {', '.join(need)}); nothing loaded"
                )
            try:
                for f in need[1:]:
                    float(item[f])
                out.append((int(item["timestamp"]), item))
            except (TypeError, ValueError) as exc:
                raise RestFormatError(f"{VENUE} {label}: point {i + 1}: {exc}") from None
        return out

    def funding(self, symbol: str, day: date, hi: int) -> pd.DataFrame:
        """Settlements of the day up to `hi`, shaped like raw.funding (calc_time floored)."""
        lo = day_start_ms(day) - 24 * 3_600_000  # the day before: the interval of the first
        label = f"fundingRate {symbol} {day}"
        doc = self.get_json(
            "fundingRate", {"symbol": symbol, "startTime": lo, "endTime": hi, "limit": 1000}, label
        )
        if not isinstance(doc, list):
            raise RestFormatError(f"{VENUE} {label}: expected a JSON array of settlements")
        settlements = []
        for i, item in enumerate(doc):
            if not isinstance(item, dict) or "fundingTime" not in item or "fundingRate" not in item:
                raise RestFormatError(
                    f"{VENUE} {label}: settlement {i + 1} lacks fundingTime/fundingRate; "
                    "nothing loaded"
                )
            try:
                settlements.append((int(item["fundingTime"]), float(item["fundingRate"])))
            except (TypeError, ValueError) as exc:
                raise RestFormatError(f"{VENUE} {label}: settlement {i + 1}: {exc}") from None
        now_ms = int(self._now().timestamp() * 1000)
        late = [ms for ms, _ in settlements if ms > now_ms + CLOCK_TOLERANCE.seconds * 1000]
        if late:
            raise _future(f"{VENUE} {label}", late[0], self._now())
        return funding_frame(settlements, day, day + timedelta(days=1))


def _day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def _future(label: str, ms: int, now: datetime) -> RestFormatError:
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return RestFormatError(
        f"{label}: a row is stamped {_hhmmss(when)}, after our clock {_hhmmss(now)} (server "
        "clock skew?); expected no data from the future, nothing loaded"
    )


def _check_grid(times: pd.Series, lo: int, hi: int, step: int, label: str, now: datetime) -> None:
    """Every timestamp on the step grid from `lo`, strictly increasing, and not after now."""
    if times.empty:
        return
    now_ms = int(now.timestamp() * 1000) + CLOCK_TOLERANCE.seconds * 1000
    if int(times.max()) > now_ms:
        raise _future(label, int(times.max()), now)
    off = times[(times - lo) % step != 0]
    if len(off):
        when = datetime.fromtimestamp(int(off.iloc[0]) / 1000, tz=UTC)
        raise RestFormatError(
            f"{label}: timestamp {_hhmmss(when)} is off the {step // 1000} s grid (server clock "
            "skew?); nothing loaded"
        )
    if not times.is_monotonic_increasing or times.duplicated().any():
        raise RestFormatError(f"{label}: timestamps not strictly increasing; nothing loaded")
