"""Funding of days whose monthly archive file is not published yet, from the USDⓈ-M REST API.

The archive publishes funding as one file per month, after the month ends. For the days of the
running month the `binance` source asks `GET /fapi/v1/fundingRate` (keyless) instead; those
rows carry no raw.files record, so the monthly file replaces them once it lands
(transforms.raw.venues.binance.loading.catch_up_funding).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pandas as pd

from transforms.config import validate_symbol
from transforms.http import Deadline, make_client
from transforms.raw.errors import SourceError
from transforms.raw.venues.binance.datasets import FUNDING_COLUMNS
from transforms.raw.venues.binance.source import get_with_retries

ENDPOINT = "fapi/v1/fundingRate"
PAGE_LIMIT = 1000
#: total time for one page (connect, reads, retries) and for all pages of one call
PAGE_DEADLINE_S = 60.0
REST_DEADLINE_S = 300.0
DEFAULT_INTERVAL_HOURS = 8


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def parse_funding_json(payload: bytes, label: str) -> list[tuple[int, float]]:
    """(fundingTime ms, fundingRate) per settlement of a fundingRate response."""
    try:
        items = json.loads(payload)
        return [(int(item["fundingTime"]), float(item["fundingRate"])) for item in items]
    except (ValueError, TypeError, KeyError) as exc:
        raise SourceError(f"{label}: unexpected fundingRate response: {exc!r}") from exc


def funding_frame(settlements: list[tuple[int, float]], start: date, end_exclusive: date):
    """Rows shaped like the archive's: calc_time floored to the hour (fundingTime has a few ms
    of jitter), funding_interval_hours from the spacing of settlements (8 when alone), rates
    as floats; only settlements in [start, end_exclusive), one per hour."""
    by_hour: dict[datetime, float] = {}
    for ms, rate in sorted(settlements):
        ts = datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)
        by_hour[ts.replace(minute=0, second=0, microsecond=0)] = rate
    lo = datetime(start.year, start.month, start.day)
    hi = datetime(end_exclusive.year, end_exclusive.month, end_exclusive.day)
    hours = sorted(by_hour)
    rows = []
    for i, ts in enumerate(hours):
        if not lo <= ts < hi:
            continue
        if i > 0:
            gap = ts - hours[i - 1]
        elif i + 1 < len(hours):
            gap = hours[i + 1] - ts
        else:
            gap = timedelta(hours=DEFAULT_INTERVAL_HOURS)
        interval = round(gap.total_seconds() / 3600) or DEFAULT_INTERVAL_HOURS
        rows.append((ts, interval, by_hour[ts]))
    frame = pd.DataFrame(rows, columns=list(FUNDING_COLUMNS))
    frame["calc_time"] = pd.to_datetime(frame["calc_time"])
    frame["funding_interval_hours"] = frame["funding_interval_hours"].astype("int32")
    frame["last_funding_rate"] = frame["last_funding_rate"].astype("float64")
    return frame


def fetch_funding_rest(
    base_url: str,
    symbol: str,
    start: date,
    end_exclusive: date,
    client: httpx.Client | None = None,
    *,
    max_attempts: int = 6,
    deadline_s: float = REST_DEADLINE_S,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Funding settlements of `symbol` in [start, end_exclusive) as raw.funding columns.

    Retries like the archive client (429/5xx/timeouts with backoff), each page within
    PAGE_DEADLINE_S and all pages within `deadline_s`; raises SourceError on
    failure, with an explicit message for HTTP 451 (Binance blocks restricted regions).
    """
    validate_symbol(symbol)
    base = base_url if base_url.endswith("/") else base_url + "/"
    own = client is None
    http = client or make_client()
    label = f"{symbol} funding {start}..{end_exclusive} (REST)"
    settlements: list[tuple[int, float]] = []
    budget = Deadline.after(deadline_s)
    try:
        cursor, end_ms = _ms(start), _ms(end_exclusive) - 1
        while cursor <= end_ms:
            query = httpx.QueryParams(
                symbol=symbol, startTime=cursor, endTime=end_ms, limit=PAGE_LIMIT
            )
            body = get_with_retries(
                http,
                f"{base}{ENDPOINT}?{query}",
                label,
                deadline=Deadline(min(time.monotonic() + PAGE_DEADLINE_S, budget.at)),
                max_attempts=max_attempts,
                sleep=sleep,
            )
            page = parse_funding_json(body, label)
            settlements += page
            if len(page) < PAGE_LIMIT:
                break
            cursor = max(ms for ms, _ in page) + 1
    finally:
        if own:
            http.close()
    return funding_frame(settlements, start, end_exclusive)
