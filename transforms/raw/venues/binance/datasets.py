"""Binance's archive datasets: how each raw dataset is published on data.binance.vision.

One entry per raw dataset (transforms.raw.tables names the table, checks and asset) holds
what the archive path derives from it: the archive layout and period (daily or monthly), how a
file is verified, the CSV columns and their types, how a CSV row becomes a raw-table row, and
the plausibility rules a file must pass before it is loaded. Adding a dataset is one entry
here (and one in transforms.raw.tables) plus its parser quirks.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from types import MappingProxyType

from transforms.config import validate_symbol
from transforms.raw.rules import (  # noqa: F401  (RowRule and the bands are re-exported)
    FUNDING_ABS_MAX,
    MARK_LAST_BAND,
    MIN_COMPLETE_FRACTION,
    OI_PRICE_BAND,
    ROW_RULES,
    RowRule,
)
from transforms.raw.tables import raw_table

#: this package's name in the venue registry (transforms/venues.py)
VENUE = "binance"
#: the reference rows a batch's rules read: only its days and the day before (a snapshot at
#: 00:00 is priced at the previous day's last minute), not the symbol's whole history (the
#: metrics join's key is an expression, so no join filter prunes the scan: ~10 ms a file)
_REF_DAYS = " AND day >= $ref_first AND day < $ref_end"

# CSV columns, in order, as written by the archive (header row when present).
KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
METRICS_COLUMNS = (
    "create_time",
    "symbol",
    "sum_open_interest",
    "sum_open_interest_value",
    "count_toptrader_long_short_ratio",
    "sum_toptrader_long_short_ratio",
    "count_long_short_ratio",
    "sum_taker_long_short_vol_ratio",
)
FUNDING_COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")

# DuckDB types used when reading each CSV (before conversion).
_KLINE_TYPES = {
    "open_time": "BIGINT",
    "open": "DOUBLE",
    "high": "DOUBLE",
    "low": "DOUBLE",
    "close": "DOUBLE",
    "volume": "DOUBLE",
    "close_time": "BIGINT",
    "quote_volume": "DOUBLE",
    "count": "BIGINT",
    "taker_buy_volume": "DOUBLE",
    "taker_buy_quote_volume": "DOUBLE",
    "ignore": "VARCHAR",
}
_METRICS_TYPES = {
    "create_time": "VARCHAR",
    "symbol": "VARCHAR",
    "sum_open_interest": "DOUBLE",
    "sum_open_interest_value": "DOUBLE",
    "count_toptrader_long_short_ratio": "DOUBLE",
    "sum_toptrader_long_short_ratio": "DOUBLE",
    "count_long_short_ratio": "DOUBLE",
    "sum_taker_long_short_vol_ratio": "DOUBLE",
}
_FUNDING_TYPES = {
    "calc_time": "BIGINT",
    "funding_interval_hours": "INTEGER",
    "last_funding_rate": "DOUBLE",
}


def _epoch(col: str) -> str:
    # ms unless > 1e14 (µs); make_timestamp(BIGINT) takes microseconds.
    return f"make_timestamp(CASE WHEN {col} > 100000000000000 THEN {col} ELSE {col} * 1000 END)"


class Verification(Enum):
    """How a fetched file is proven complete and unaltered before it is loaded."""

    #: the archive publishes `<file>.CHECKSUM` (sha256); the zip must match it and open cleanly
    ARCHIVE_CHECKSUM = "archive_checksum"


@dataclass(frozen=True)
class Dataset:
    """One raw dataset: where its files live, how they parse, where the rows go."""

    name: str
    #: archive path relative to `.../futures/um/`, with {symbol} and {period}
    layout: str
    #: one file per month (published after the month ends) instead of one per day
    monthly: bool
    #: CSV columns in file order, and the DuckDB type each is read as
    columns: tuple[str, ...]
    types: dict[str, str]
    #: SELECT list turning the CSV columns into the raw table's columns (after symbol, day)
    select: str
    #: expression for the row's timestamp, used for `day` and windowing
    time_expr: str
    #: raw table columns written by a load (after symbol, day)
    insert_columns: tuple[str, ...]
    #: when set, duplicated rows are dropped: one row per time_column, first by this ORDER BY
    dedupe_order: str | None = None
    verification: Verification = Verification.ARCHIVE_CHECKSUM
    #: plausibility rules checked per file before loading (validation.py)
    rules: tuple[RowRule, ...] = ()
    #: a file with fewer rows than this per day it covers is rejected as incomplete
    min_rows_per_day: int = 1
    #: repeated timestamps tolerated per file (the archive repeats a few metrics rows);
    #: the load keeps one row per timestamp (dedupe_order)
    max_repeated_timestamps: int = 0
    #: dataset whose rows give `ref_close` to the rules, and the LEFT JOIN producing it
    #: (`s` is the staged file rows; $symbol, $ref_first and $ref_end are bound: the day
    #: before the batch's first and the day after its last)
    reference: str | None = None
    reference_join: str | None = None

    # The raw table's side (transforms.raw.tables), read through for the archive code.
    @property
    def table(self) -> str:
        return raw_table(self.name).table

    @property
    def time_column(self) -> str:
        return raw_table(self.name).time_column

    @property
    def rows_per_day(self) -> int | None:
        return raw_table(self.name).rows_per_day

    @property
    def checks(self) -> tuple[str, ...]:
        return raw_table(self.name).checks

    @property
    def asset(self) -> str:
        return raw_table(self.name).asset

    @property
    def description(self) -> str:
        return raw_table(self.name).description


_KLINE_SELECT = f"""
    {_epoch("open_time")} AS open_time,
    open, high, low, close, volume,
    {_epoch("close_time")} AS close_time,
    quote_volume, count AS trade_count, taker_buy_volume, taker_buy_quote_volume"""

_ENTRIES = (
    Dataset(
        name="klines_1m",
        layout="daily/klines/{symbol}/1m/{symbol}-1m-{period}.zip",
        monthly=False,
        columns=KLINE_COLUMNS,
        types=_KLINE_TYPES,
        select=_KLINE_SELECT,
        time_expr=_epoch("open_time"),
        insert_columns=(
            "open_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "close_time",
            "quote_volume",
            "trade_count",
            "taker_buy_volume",
            "taker_buy_quote_volume",
        ),
        rules=ROW_RULES["klines_1m"],
        min_rows_per_day=round(1440 * MIN_COMPLETE_FRACTION),
    ),
    Dataset(
        name="mark_klines_1m",
        layout="daily/markPriceKlines/{symbol}/1m/{symbol}-1m-{period}.zip",
        monthly=False,
        columns=KLINE_COLUMNS,
        types=_KLINE_TYPES,
        select=f"""
    {_epoch("open_time")} AS open_time, open, high, low, close,
    {_epoch("close_time")} AS close_time""",
        time_expr=_epoch("open_time"),
        insert_columns=("open_time", "open", "high", "low", "close", "close_time"),
        rules=ROW_RULES["mark_klines_1m"],
        min_rows_per_day=round(1440 * MIN_COMPLETE_FRACTION),
        reference="klines_1m",
        reference_join="LEFT JOIN (SELECT open_time AS ref_time, close AS ref_close "
        f"FROM raw.klines_1m WHERE venue = '{VENUE}' AND symbol = $symbol{_REF_DAYS}) ref "
        "ON ref.ref_time = s.open_time",
    ),
    Dataset(
        name="metrics",
        layout="daily/metrics/{symbol}/{symbol}-metrics-{period}.zip",
        monthly=False,
        columns=METRICS_COLUMNS,
        types=_METRICS_TYPES,
        select="""
    CAST(create_time AS TIMESTAMP) AS create_time,
    sum_open_interest, sum_open_interest_value,
    count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio,
    count_long_short_ratio, sum_taker_long_short_vol_ratio""",
        time_expr="CAST(create_time AS TIMESTAMP)",
        insert_columns=(
            "create_time",
            "sum_open_interest",
            "sum_open_interest_value",
            "count_toptrader_long_short_ratio",
            "sum_toptrader_long_short_ratio",
            "count_long_short_ratio",
            "sum_taker_long_short_vol_ratio",
        ),
        # Duplicated rows occur in the archive: keep one row per create_time.
        dedupe_order="filename, sum_open_interest, sum_open_interest_value",
        rules=ROW_RULES["metrics"],
        min_rows_per_day=round(288 * MIN_COMPLETE_FRACTION),
        max_repeated_timestamps=3,
        # create_time is the snapshot time: the price then is the close of the minute before.
        reference="klines_1m",
        reference_join="LEFT JOIN (SELECT open_time + INTERVAL 1 MINUTE AS ref_time, "
        f"close AS ref_close FROM raw.klines_1m WHERE venue = '{VENUE}' "
        f"AND symbol = $symbol{_REF_DAYS}) ref "
        "ON ref.ref_time = s.create_time",
    ),
    Dataset(
        name="funding",
        layout="monthly/fundingRate/{symbol}/{symbol}-fundingRate-{period}.zip",
        monthly=True,
        columns=FUNDING_COLUMNS,
        types=_FUNDING_TYPES,
        select=f"""
    date_trunc('hour', {_epoch("calc_time")}) AS calc_time,
    funding_interval_hours, last_funding_rate""",
        time_expr=f"date_trunc('hour', {_epoch('calc_time')})",
        insert_columns=FUNDING_COLUMNS,
        rules=ROW_RULES["funding"],
        min_rows_per_day=1,
    ),
)

#: name -> Dataset, in load order (iterating yields the names)
DATASETS: MappingProxyType[str, Dataset] = MappingProxyType({d.name: d for d in _ENTRIES})
MONTHLY_DATASETS = frozenset(d.name for d in _ENTRIES if d.monthly)
#: datasets a day waits for (monthly files land after their month)
DAILY_DATASETS = tuple(d.name for d in _ENTRIES if not d.monthly)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def dataset(name: str) -> Dataset:
    """The registry entry for `name`; ValueError naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}"
        ) from None


def _check_period(name: str, period: str) -> None:
    monthly = dataset(name).monthly
    pattern = _MONTH if monthly else _DAY
    if not isinstance(period, str) or not pattern.fullmatch(period):
        kind = "YYYY-MM" if monthly else "YYYY-MM-DD"
        raise ValueError(f"period {period!r} for {name} must be {kind}")
    try:
        date.fromisoformat(period + "-01" if monthly else period)
    except ValueError as exc:
        raise ValueError(f"period {period!r} is not a calendar date") from exc


def archive_relpath(name: str, symbol: str, period: str) -> str:
    """Path of the zip relative to the archive root (`.../futures/um/`)."""
    spec = dataset(name)
    validate_symbol(symbol)
    _check_period(name, period)
    return spec.layout.format(symbol=symbol, period=period)


def periods_for_window(name: str, start: date, end_exclusive: date) -> list[str]:
    """The archive periods covering [start, end_exclusive): days, or months for funding."""
    spec = dataset(name)
    if end_exclusive <= start:
        return []
    if spec.monthly:
        months: list[str] = []
        y, m = start.year, start.month
        last = end_exclusive - timedelta(days=1)
        while (y, m) <= (last.year, last.month):
            months.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return months
    n = (end_exclusive - start).days
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def period_bounds(name: str, period: str) -> tuple[date, date]:
    """[first day, day after last) covered by a period."""
    _check_period(name, period)
    if dataset(name).monthly:
        y, m = int(period[:4]), int(period[5:7])
        first = date(y, m, 1)
        return first, first + timedelta(days=calendar.monthrange(y, m)[1])
    d = date.fromisoformat(period)
    return d, d + timedelta(days=1)
