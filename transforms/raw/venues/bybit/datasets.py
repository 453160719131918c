"""The Bybit v5 public endpoints we read (category=linear) and how their pages become rows.

Bybit sends every number as a string and every list newest first. Rows here are plain tuples
in ascending time order with our column names; timestamps are epoch milliseconds (int), numbers
are floats checked to be finite. A page that does not match the documented shape raises
BybitFormatError naming the endpoint, the page and the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from transforms.days import DAY_MS as DAY_MS  # re-exported: the venue reads it here
from transforms.raw.rest.datasets import Fields, RestDataset, Row, lookup
from transforms.raw.rest.day_cache import Page
from transforms.raw.venues.bybit.errors import BybitFormatError

CATEGORY = "linear"
MINUTE_MS = 60_000

KLINE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "turnover")
MARK_KLINE_COLUMNS = ("open_time", "open", "high", "low", "close")
OPEN_INTEREST_COLUMNS = ("timestamp", "open_interest", "single_open_interest")
FUNDING_COLUMNS = ("funding_time", "funding_rate")
RISK_LIMIT_COLUMNS = (
    "id",
    "symbol",
    "risk_limit_value",
    "maintenance_margin",
    "initial_margin",
    "is_lowest_risk",
    "max_leverage",
    "mm_deduction",
)


_read = Fields(BybitFormatError)
_ms, _field, _array = _read.ms, _read.field, _read.array


def _num(value: Any, where: str, *, allow_empty: bool = False) -> float | None:
    """A number string; with `allow_empty`, "" (Bybit's "no value") is None."""
    return None if allow_empty and value == "" else _read.num(value, where)


def parse_kline(item: Any, where: str) -> Row:
    """[startTime, open, high, low, close, volume, turnover]."""
    a = _array(item, 7, where)
    names = KLINE_COLUMNS[1:]
    return (_ms(a[0], f"{where} startTime"),) + tuple(
        _num(v, f"{where} {n}") for v, n in zip(a[1:], names, strict=True)
    )


def parse_mark_kline(item: Any, where: str) -> Row:
    """[startTime, open, high, low, close]."""
    a = _array(item, 5, where)
    names = MARK_KLINE_COLUMNS[1:]
    return (_ms(a[0], f"{where} startTime"),) + tuple(
        _num(v, f"{where} {n}") for v, n in zip(a[1:], names, strict=True)
    )


def parse_open_interest(item: Any, where: str) -> Row:
    """{openInterest, timestamp[, singleOpenInterest]} - the last only in newer responses."""
    oi = _num(_field(item, "openInterest", where), f"{where} openInterest")
    single = item.get("singleOpenInterest")
    single_v = None if single in (None, "") else _num(single, f"{where} singleOpenInterest")
    return (_ms(_field(item, "timestamp", where), f"{where} timestamp"), oi, single_v)


def parse_funding(item: Any, where: str) -> Row:
    """{symbol, fundingRate, fundingRateTimestamp}."""
    rate = _num(_field(item, "fundingRate", where), f"{where} fundingRate")
    ts = _ms(_field(item, "fundingRateTimestamp", where), f"{where} fundingRateTimestamp")
    return (ts, rate)


def parse_risk_limit(item: Any, where: str) -> Row:
    """One maintenance tier; mmDeduction may be "" (no deduction)."""
    tier_id = _field(item, "id", where)
    if not isinstance(tier_id, int):
        raise BybitFormatError(f"{where} id: expected an integer, got {tier_id!r}")
    symbol = _field(item, "symbol", where)
    lowest = _field(item, "isLowestRisk", where)
    return (
        tier_id,
        symbol,
        _num(_field(item, "riskLimitValue", where), f"{where} riskLimitValue"),
        _num(_field(item, "maintenanceMargin", where), f"{where} maintenanceMargin"),
        _num(_field(item, "initialMargin", where), f"{where} initialMargin"),
        int(lowest) if isinstance(lowest, int | str) and str(lowest).isdigit() else None,
        _num(_field(item, "maxLeverage", where), f"{where} maxLeverage"),
        _num(_field(item, "mmDeduction", where), f"{where} mmDeduction", allow_empty=True),
    )


@dataclass(frozen=True)
class BybitDataset(RestDataset):
    """One endpoint: path, paging style, page size, fixed query and item parser.

    paging: `window` (klines: disjoint time windows of <= limit bars, start/end params),
    `cursor` (open interest: nextPageCursor), `end_time` (funding: page backwards by endTime),
    `snapshot` (risk limits: current tiers, cursor-paged, no history).
    """


DATASETS: dict[str, BybitDataset] = {
    d.name: d
    for d in (
        BybitDataset(
            "klines_1m",
            "/v5/market/kline",
            "window",
            1000,
            KLINE_COLUMNS,
            parse_kline,
            {"interval": "1"},
            MINUTE_MS,
        ),
        BybitDataset(
            "mark_klines_1m",
            "/v5/market/mark-price-kline",
            "window",
            1000,
            MARK_KLINE_COLUMNS,
            parse_mark_kline,
            {"interval": "1"},
            MINUTE_MS,
        ),
        BybitDataset(
            "open_interest_5m",
            "/v5/market/open-interest",
            "cursor",
            200,
            OPEN_INTEREST_COLUMNS,
            parse_open_interest,
            {"intervalTime": "5min"},
            5 * MINUTE_MS,
        ),
        BybitDataset(
            "funding",
            "/v5/market/funding/history",
            "end_time",
            200,
            FUNDING_COLUMNS,
            parse_funding,
        ),
        BybitDataset(
            "risk_limit",
            "/v5/market/risk-limit",
            "snapshot",
            0,
            RISK_LIMIT_COLUMNS,
            parse_risk_limit,
        ),
    )
}
DAILY_DATASETS = tuple(n for n, d in DATASETS.items() if d.paging != "snapshot")


def dataset(name: str) -> BybitDataset:
    return lookup(DATASETS, name, "Bybit")


@dataclass(frozen=True)
class ParsedPage:
    rows: list[Row]  # in the order Bybit sent them (newest first)
    next_cursor: str


def decode_envelope(body: bytes, where: str) -> dict[str, Any]:
    """The JSON envelope `{retCode, retMsg, result, ...}`; truncated/invalid JSON is an error."""
    doc = _read.decode(body, where)
    if not isinstance(doc, dict) or "retCode" not in doc:
        raise BybitFormatError(f"{where}: not a Bybit v5 envelope (no retCode)")
    return doc


_ARRAY_ITEMS = (parse_kline, parse_mark_kline)


def _array_table_fast(items: list[Any], width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A kline page (up to 1000 arrays of number strings) parsed at once by Arrow's string to
    float cast (correctly rounded, as Python's `float` is): epoch milliseconds (int64) and the
    (n, width - 1) numbers, the values `parse_kline` / `parse_mark_kline` give, or None when
    any item is not exactly `width` strings of the right form (epoch digits, finite numbers),
    so that the item parser then raises the error naming the item and field (or, for a
    number Arrow does not read but `float` does, gives the row)."""
    if not items:
        return np.empty(0, dtype=np.int64), np.empty((0, width - 1))
    if not all(type(item) is list for item in items) or set(map(len, items)) != {width}:
        return None
    try:
        flat = pa.array(list(chain.from_iterable(items)), type=pa.string())
    except (pa.ArrowException, TypeError):  # an item holds something other than strings
        return None
    if flat.null_count or not all(item[0].isdigit() for item in items):
        return None
    try:
        table = pc.cast(flat, pa.float64()).to_numpy(zero_copy_only=False).reshape(-1, width)
    except pa.ArrowInvalid:
        return None
    values = table[:, 1:]
    if not np.isfinite(values).all() or not (table[:, 0] < 2.0**53).all():
        return None
    return table[:, 0].astype(np.int64), values


def _array_rows_fast(items: list[Any], width: int) -> list[Row] | None:
    """`_array_table_fast` as row tuples (None: let the item parser name the fault)."""
    parsed = _array_table_fast(items, width)
    if parsed is None:
        return None
    times, values = parsed
    return list(zip(times.tolist(), *values.T.tolist(), strict=True))


def page_items(body: bytes, where: str, doc: Any = None) -> tuple[list[Any], str]:
    """The items and next cursor of a successful (retCode 0) page (`doc`: the body already
    decoded, see Page.doc)."""
    if doc is None:
        doc = decode_envelope(body, where)
    if doc["retCode"] != 0:
        raise BybitFormatError(f"{where}: retCode {doc['retCode']} in a page taken as success")
    result = _field(doc, "result", where)
    items = _field(result, "list", f"{where} result")
    if not isinstance(items, list):
        raise BybitFormatError(f"{where} result.list: expected an array")
    cursor = result.get("nextPageCursor") or ""
    if not isinstance(cursor, str):
        raise BybitFormatError(f"{where} result.nextPageCursor: expected a string")
    return items, cursor


def _parse_items(ds: BybitDataset, items: list[Any], where: str) -> list[Row]:
    return [ds.parse_item(item, f"{where} list[{i}]") for i, item in enumerate(items)]


def parse_page(ds: BybitDataset, body: bytes, where: str, doc: Any = None) -> ParsedPage:
    """Rows and next cursor of a successful (retCode 0) page (`doc`: see Page.doc)."""
    items, cursor = page_items(body, where, doc)
    rows = _array_rows_fast(items, len(ds.columns)) if ds.parse_item in _ARRAY_ITEMS else None
    if rows is None:  # not plain arrays of number strings: the item parser names the fault
        rows = _parse_items(ds, items, where)
    return ParsedPage(rows, cursor)


def rows_of_day(
    ds: BybitDataset, pages: Sequence[Page], day_start_ms: int, label: str
) -> list[Row]:
    """The day's rows from its pages, ascending by time: every row must lie in the day and
    no timestamp may repeat (pages are disjoint by construction). Row by row: the reference
    `columns_of_day` is tested against."""
    day_end_ms = day_start_ms + DAY_MS
    seen: set[int] = set()
    rows: list[Row] = []
    for i, page in enumerate(pages):
        where = f"{label} page {i + 1} ({ds.path})"
        for row in parse_page(ds, page.body, where).rows:
            ts = row[0]
            if not day_start_ms <= ts < day_end_ms:
                raise BybitFormatError(f"{where}: row at {ts} ms lies outside the day")
            if ts in seen:
                raise BybitFormatError(f"{where}: timestamp {ts} ms appears twice")
            seen.add(ts)
            rows.append(row)
    rows.sort(key=lambda r: r[0])
    return rows


class DayColumns(Sequence[Row]):
    """A day's rows held as columns (the load inserts them in bulk): `times` (epoch ms, int64)
    and one float64 array per further column, NaN where an optional field was absent. As a
    sequence it yields the same tuples `rows_of_day` gives (None for an absent field)."""

    __slots__ = ("columns", "times", "values")

    def __init__(self, columns: tuple[str, ...], times: np.ndarray, values: list[np.ndarray]):
        self.columns = columns
        self.times = times
        self.values = values

    def arrays(self) -> dict[str, np.ndarray]:
        """Column name -> array, in the dataset's column order."""
        return dict(zip(self.columns, [self.times, *self.values], strict=True))

    def __len__(self) -> int:
        return len(self.times)

    def __iter__(self) -> Iterator[Row]:
        cols = [[None if v != v else v for v in a.tolist()] for a in self.values]
        return iter(zip(self.times.tolist(), *cols, strict=True))

    def __getitem__(self, index: Any) -> Any:
        rows = list(self)
        return rows[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"DayColumns({len(self)} rows of {', '.join(self.columns)})"


def _page_arrays(
    ds: BybitDataset, page: Page, where: str
) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """A page's times and value columns, or None when a timestamp does not fit int64 (then
    the row-by-row path raises the error naming it)."""
    items, _ = page_items(page.body, where, page.doc)
    width = len(ds.columns)
    if ds.parse_item in _ARRAY_ITEMS:
        parsed = _array_table_fast(items, width)
        if parsed is not None:
            times, values = parsed
            return times, [np.ascontiguousarray(values[:, j]) for j in range(width - 1)]
    rows = _parse_items(ds, items, where)
    if any(not -(2**63) <= r[0] < 2**63 for r in rows):
        return None
    return from_rows(ds.columns, rows)


def columns_of_day(
    ds: BybitDataset, pages: Sequence[Page], day_start_ms: int, label: str
) -> DayColumns:
    """`rows_of_day` in bulk: the same rows (as DayColumns) and the same first error, page by
    page with numpy instead of row by row."""
    day_end_ms = day_start_ms + DAY_MS
    times: list[np.ndarray] = []
    values: list[list[np.ndarray]] = []
    seen = np.empty(0, dtype=np.int64)
    for i, page in enumerate(pages):
        where = f"{label} page {i + 1} ({ds.path})"
        parsed = _page_arrays(ds, page, where)
        if parsed is None:  # raises the error naming the row (it lies outside the day)
            return DayColumns(
                ds.columns, *from_rows(ds.columns, rows_of_day(ds, pages, day_start_ms, label))
            )
        t, v = parsed
        outside = (t < day_start_ms) | (t >= day_end_ms)
        order = np.argsort(t, kind="stable")
        repeat = np.zeros(len(t), dtype=bool)
        repeat[order[1:]] = t[order[1:]] == t[order[:-1]]  # a later row of an equal pair
        if len(seen) and len(t) and t.min() <= seen.max() and t.max() >= seen.min():
            repeat |= np.isin(t, seen)  # (pages are disjoint time ranges: rarely reached)
        bad = np.flatnonzero(outside | repeat)
        if len(bad):
            first = int(bad[0])
            ts = int(t[first])
            if outside[first]:
                raise BybitFormatError(f"{where}: row at {ts} ms lies outside the day")
            raise BybitFormatError(f"{where}: timestamp {ts} ms appears twice")
        seen = np.concatenate([seen, t])
        times.append(t)
        values.append(v)
    width = len(ds.columns) - 1
    if not times:
        return DayColumns(ds.columns, np.empty(0, dtype=np.int64), [np.empty(0)] * width)
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")
    columns = [np.concatenate([v[j] for v in values])[order] for j in range(width)]
    return DayColumns(ds.columns, all_times[order], columns)


def from_rows(columns: tuple[str, ...], rows: Sequence[Row]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows as (times, value columns), None as NaN (every timestamp fits int64)."""
    times = np.array([r[0] for r in rows], dtype=np.int64)
    values = [
        np.array([np.nan if r[j] is None else r[j] for r in rows], dtype=np.float64)
        for j in range(1, len(columns))
    ]
    return times, values
