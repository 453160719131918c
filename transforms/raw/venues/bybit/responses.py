"""Bybit v5 responses in their exact wire format, built from plain market arrays.

Used by the local fake server (tests and the offline demo). Field names, strings for numbers,
the `{retCode, retMsg, result, retExtInfo, time}` envelope and newest-first lists follow the
public v5 docs.

The `*_result` functions build a page's `result` as Python objects, a number at a time: the
reference. The `*_body` functions the fake server answers with write the same bytes as
`envelope(*_result(...))` with the page's numbers formatted a column at a time
(transforms.raw.rest.json_columns; ~20 s of CPU a demo year otherwise), falling back to the
reference for a page holding a value that path does not write (not finite, too large) and for
a small page (SMALL_PAGE).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from transforms.raw.rest import json_columns as jc
from transforms.raw.venues.bybit.datasets import CATEGORY


def num(value: float, decimals: int = 8) -> str:
    """A number as Bybit writes it: fixed point, trailing zeros trimmed ("0.0001", "64210.5")."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nums(values: Any, decimals: int = 8) -> list[str]:
    """`num` of every value, a column at a time: the same strings ~2.5x faster (the offline
    demo formats ~20 M numbers a year)."""
    floats = np.asarray(values, dtype=np.float64).tolist()
    if decimals <= 0:
        return [num(v, decimals) for v in floats]
    fmt = f"{{:.{decimals}f}}".format
    texts = [fmt(v).rstrip("0").rstrip(".") for v in floats]
    return [t if t not in ("-0", "") else "0" for t in texts]


def _columns(rows: Any, width: int) -> np.ndarray:
    """Rows of numbers as a (n, width) float array (an empty page is (0, width))."""
    table = np.asarray(rows, dtype=np.float64)
    return table.reshape(-1, width) if table.size == 0 else table


def _times(column: np.ndarray) -> list[str]:
    """Epoch milliseconds as Bybit writes them: integer strings (str(int(t)) of each)."""
    return [str(t) for t in column.astype(np.int64).tolist()]


def envelope(
    result: dict[str, Any], ret_code: int = 0, ret_msg: str = "OK", time_ms: int | None = None
) -> bytes:
    """Bybit's envelope; `time` is the server's clock: `time_ms` when given (the fake server
    passes one derived from its data, so identical builds cache identical bytes), else now."""
    doc = {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": {},
        "time": int(time.time() * 1000) if time_ms is None else time_ms,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def error_body(ret_code: int, ret_msg: str, time_ms: int | None = None) -> bytes:
    return envelope({}, ret_code, ret_msg, time_ms)


def kline_result(symbol: str, bars: Iterable[Sequence[float]]) -> dict[str, Any]:
    """bars: (open_time_ms, open, high, low, close, volume, turnover), already newest first."""
    b = _columns(bars, 7)
    decimals = (2, 2, 2, 2, 3, 4)
    cols = [_times(b[:, 0])] + [nums(b[:, i + 1], d) for i, d in enumerate(decimals)]
    return {
        "symbol": symbol,
        "category": CATEGORY,
        "list": [list(r) for r in zip(*cols, strict=True)],
    }


def mark_kline_result(symbol: str, bars: Iterable[Sequence[float]]) -> dict[str, Any]:
    """bars: (open_time_ms, open, high, low, close), already newest first."""
    b = _columns(bars, 5)
    cols = [_times(b[:, 0])] + [nums(b[:, i], 2) for i in range(1, 5)]
    return {
        "symbol": symbol,
        "category": CATEGORY,
        "list": [list(r) for r in zip(*cols, strict=True)],
    }


def open_interest_result(
    symbol: str, points: Iterable[Sequence[float]], next_cursor: str
) -> dict[str, Any]:
    """points: (timestamp_ms, openInterest[, singleOpenInterest]), already newest first; the
    third value (newer responses, since 2026-06-11) is written when present and finite."""
    rows = []
    for p in points:
        row = {"openInterest": f"{p[1]:.8f}"}
        if len(p) > 2 and math.isfinite(p[2]):
            row["singleOpenInterest"] = num(p[2], 8)
        row["timestamp"] = str(int(p[0]))
        rows.append(row)
    return {"symbol": symbol, "category": CATEGORY, "list": rows, "nextPageCursor": next_cursor}


def funding_result(symbol: str, points: Iterable[Sequence[float]]) -> dict[str, Any]:
    """points: (fundingRateTimestamp_ms, fundingRate), already newest first."""
    p = _columns(points, 2)
    rows = [
        {"symbol": symbol, "fundingRate": rate, "fundingRateTimestamp": ts}
        for rate, ts in zip(nums(p[:, 1], 8), _times(p[:, 0]), strict=True)
    ]
    return {"category": CATEGORY, "list": rows}


def risk_limit_result(tiers: Iterable[dict[str, Any]], next_cursor: str = "") -> dict[str, Any]:
    """tiers: dicts with id, symbol, riskLimitValue, maintenanceMargin, initialMargin,
    isLowestRisk, maxLeverage, mmDeduction (numbers as floats, formatted here)."""
    rows = []
    for t in tiers:
        rows.append(
            {
                "id": int(t["id"]),
                "symbol": t["symbol"],
                "riskLimitValue": num(t["riskLimitValue"], 2),
                "maintenanceMargin": num(t["maintenanceMargin"], 6),
                "initialMargin": num(t["initialMargin"], 6),
                "isLowestRisk": int(t["isLowestRisk"]),
                "maxLeverage": f"{t['maxLeverage']:.2f}",
                "mmDeduction": "" if t.get("mmDeduction") is None else num(t["mmDeduction"], 4),
            }
        )
    return {"category": CATEGORY, "list": rows, "nextPageCursor": next_cursor}


# -- whole bodies, numbers written a column at a time (module doc) -------------------------------

#: pages of fewer rows are written by the reference (numpy's fixed cost per page, ~0.2 ms,
#: is more than a few rows' f-strings: a day's funding page holds three)
SMALL_PAGE = 64
#: stands for the list in an envelope encoded by `json`, then replaced by the rows' bytes
_LIST_MARK = "\x00rows"
_LIST_JSON = b'["\\u0000rows"]'


def _spliced(result: dict[str, Any], listing: bytes, time_ms: int | None) -> bytes:
    """`envelope(result)` whose `list` is the already encoded array inside `listing`."""
    body = envelope({**result, "list": [_LIST_MARK]}, time_ms=time_ms)
    head, mark, tail = body.partition(_LIST_JSON)
    assert mark, "the list mark was not encoded as expected"
    return b"".join((head, b"[", listing, b"]", tail))


def _kline_like_body(
    symbol: str, bars: Any, decimals: tuple[int, ...], time_ms: int | None
) -> bytes | None:
    """`["time","open",...]` rows: the numbers of all columns written at once."""
    b = _columns(bars, len(decimals) + 1)
    if len(b) < SMALL_PAGE:
        return None
    stamps = jc.integers(b[:, 0])
    numbers = jc.fixed(b[:, 1:], decimals, separator=b'","')
    if stamps is None or numbers is None:
        return None
    listing = jc.rows([b'["', stamps, b'","', numbers, b'"]'], len(b))
    return _spliced({"symbol": symbol, "category": CATEGORY}, listing, time_ms)


def kline_body(symbol: str, bars: Any, time_ms: int | None = None) -> bytes:
    """`envelope(kline_result(symbol, bars), time_ms=time_ms)`, a column at a time."""
    body = _kline_like_body(symbol, bars, (2, 2, 2, 2, 3, 4), time_ms)
    return body if body is not None else envelope(kline_result(symbol, bars), time_ms=time_ms)


def mark_kline_body(symbol: str, bars: Any, time_ms: int | None = None) -> bytes:
    """`envelope(mark_kline_result(symbol, bars), time_ms=time_ms)`, a column at a time."""
    body = _kline_like_body(symbol, bars, (2, 2, 2, 2), time_ms)
    if body is None:
        return envelope(mark_kline_result(symbol, bars), time_ms=time_ms)
    return body


def open_interest_body(
    symbol: str, points: Any, next_cursor: str, time_ms: int | None = None
) -> bytes:
    """`envelope(open_interest_result(symbol, points, next_cursor), time_ms=time_ms)`, a
    column at a time."""
    p = np.asarray(points, dtype=np.float64)
    p = p if p.ndim == 2 else p.reshape(-1, 2)  # an empty page given as []
    n = len(p)
    if n < SMALL_PAGE:
        return envelope(open_interest_result(symbol, points, next_cursor), time_ms=time_ms)
    single = p[:, 2] if p.shape[1] > 2 else np.full(n, np.nan)
    present = np.isfinite(single)
    oi = jc.fixed(p[:, 1], 8, trim=False)
    single_text = jc.fixed(single, 8, where=present)
    stamp = jc.integers(p[:, 0])
    if oi is None or single_text is None or stamp is None:
        return envelope(open_interest_result(symbol, points, next_cursor), time_ms=time_ms)
    parts: list[bytes | jc.Literal | jc.Numbers] = [b'{"openInterest":"', oi, b'"']
    parts += [jc.literal(b',"singleOpenInterest":"', present), single_text]
    parts += [jc.literal(b'"', present), b',"timestamp":"', stamp, b'"}']
    result = {"symbol": symbol, "category": CATEGORY, "list": None, "nextPageCursor": next_cursor}
    return _spliced(result, jc.rows(parts, n), time_ms)


def funding_body(symbol: str, points: Any, time_ms: int | None = None) -> bytes:
    """`envelope(funding_result(symbol, points), time_ms=time_ms)`, a column at a time."""
    p = _columns(points, 2)
    if len(p) < SMALL_PAGE:
        return envelope(funding_result(symbol, points), time_ms=time_ms)
    rate, stamp = jc.fixed(p[:, 1], 8), jc.integers(p[:, 0])
    if rate is None or stamp is None:
        return envelope(funding_result(symbol, points), time_ms=time_ms)
    head = b'{"symbol":' + json.dumps(symbol).encode() + b',"fundingRate":"'
    parts: list[bytes | jc.Literal | jc.Numbers] = [head, rate, b'","fundingRateTimestamp":"']
    parts += [stamp, b'"}']
    return _spliced({"category": CATEGORY}, jc.rows(parts, len(p)), time_ms)
