"""The raw-table registry: every raw dataset every venue loads into, declared once.

One entry per dataset holds what the layers above a venue derive from it: the table and its
time column, rows per complete UTC day, the checks run after each load
(transforms.raw.quality), the dataset that must be loaded first, and the Dagster asset name
and description. How a venue obtains the rows (archive files, REST pages) lives in its
package (transforms/raw/venues/<venue>/); every venue writes the same tables, venue column set.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType


@dataclass(frozen=True)
class RawTable:
    """One raw dataset: where its rows go and how a window of them is checked."""

    name: str
    table: str
    time_column: str
    #: rows in a complete UTC day (None: no fixed count, e.g. funding settlements)
    rows_per_day: int | None
    #: data checks run after each load (transforms.raw.quality), besides checksums_verified
    checks: tuple[str, ...]
    #: Dagster asset name and description
    asset: str
    description: str
    #: dataset loaded before this one (its rows price or validate this one's)
    after: str | None = None


_COMMON_CHECKS = ("no_duplicate_timestamps", "monotone_timestamps")

_ENTRIES = (
    RawTable(
        name="klines_1m",
        table="raw.klines_1m",
        time_column="open_time",
        rows_per_day=1440,
        checks=("complete_days", *_COMMON_CHECKS, "prices_sane"),
        asset="raw_klines_1m",
        description="1-minute last-price klines (OHLCV, taker volume).",
    ),
    RawTable(
        name="mark_klines_1m",
        table="raw.mark_klines_1m",
        time_column="open_time",
        rows_per_day=1440,
        checks=("complete_days", *_COMMON_CHECKS, "prices_sane"),
        asset="raw_mark_klines_1m",
        description="1-minute mark-price klines: liquidations trigger on mark.",
        after="klines_1m",
    ),
    RawTable(
        name="metrics",
        table="raw.metrics_5m",
        time_column="create_time",
        rows_per_day=288,
        checks=("complete_days", *_COMMON_CHECKS, "open_interest_non_negative"),
        asset="raw_metrics_5m",
        description="5-minute open interest (base/USDT), long/short and taker ratios.",
        after="klines_1m",
    ),
    RawTable(
        name="funding",
        table="raw.funding",
        time_column="calc_time",
        rows_per_day=None,
        checks=_COMMON_CHECKS,
        asset="raw_funding",
        description="Funding settlements, split from the archive's monthly files into days "
        "(binance source: the running month from the REST API until its monthly file lands).",
    ),
)

#: name -> RawTable, in load order (iterating yields the names)
TABLES: MappingProxyType[str, RawTable] = MappingProxyType({t.name: t for t in _ENTRIES})
#: datasets with a fixed count per day: a day is complete only when each has its rows
DAILY_DATASETS = tuple(t.name for t in _ENTRIES if t.rows_per_day is not None)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def raw_table(name: str) -> RawTable:
    """The registry entry for `name`; ValueError naming the known ones otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(TABLES)}") from None


def period_days(period: str) -> tuple[date, date]:
    """[first day, day after last) of a loaded period: a day (YYYY-MM-DD) or a month (YYYY-MM)."""
    if _DAY.fullmatch(period):
        d = date.fromisoformat(period)
        return d, d + timedelta(days=1)
    if _MONTH.fullmatch(period):
        y, m = int(period[:4]), int(period[5:7])
        first = date(y, m, 1)
        return first, first + timedelta(days=calendar.monthrange(y, m)[1])
    raise ValueError(f"period {period!r} must be YYYY-MM-DD or YYYY-MM")
