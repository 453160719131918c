"""What every REST venue's `datasets.py` reads the same way: one endpoint's description, the
JSON field readers (each raising the venue's format error naming where), and the merge of a
day's pages into its rows.

A venue keeps its own item parsers, envelope and paging; the wording of every error is the
same for every venue, so a line reads alike whichever venue it names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from transforms.days import DAY_MS

Row = tuple[Any, ...]
D = TypeVar("D")


@dataclass(frozen=True)
class RestDataset:
    """One endpoint of a venue: path, paging style, page size, columns, fixed query and item
    parser (the venue's `datasets.py` names its paging styles)."""

    name: str
    path: str
    paging: str
    page_limit: int
    columns: tuple[str, ...]
    parse_item: Callable[[Any, str], Any]
    fixed_params: dict[str, str] = field(default_factory=dict)
    step_ms: int | None = None  # spacing of rows when regular

    @property
    def expected_rows(self) -> int | None:
        """Rows of a complete day on a regular grid (1440 bars, 288 OI); None if irregular."""
        return DAY_MS // self.step_ms if self.step_ms else None


def lookup(datasets: Mapping[str, D], name: str, venue: str) -> D:
    """The venue's dataset `name`; an unknown name is a ValueError listing the known ones."""
    try:
        return datasets[name]
    except KeyError:
        raise ValueError(
            f"unknown {venue} dataset {name!r}: expected one of {', '.join(datasets)}"
        ) from None


class Fields:
    """JSON field readers raising `error` (the venue's format error) with a line naming
    `where`, the rule and what was found."""

    def __init__(self, error: type[Exception]):
        self.error = error

    def decode(self, body: bytes, where: str) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self.error(
                f"{where}: truncated or invalid JSON ({len(body)} bytes): {exc}"
            ) from exc

    def num(self, value: Any, where: str) -> float:
        """A finite decimal string (venues send prices and sizes as strings)."""
        if not isinstance(value, str):
            raise self.error(f"{where}: expected a number as a string, got {value!r}")
        try:
            out = float(value)
        except ValueError as exc:
            raise self.error(f"{where}: {value!r} is not a number") from exc
        if not math.isfinite(out):
            raise self.error(f"{where}: {value!r} is not finite")
        return out

    def ms(self, value: Any, where: str) -> int:
        """Epoch milliseconds sent as a string of digits."""
        if not isinstance(value, str) or not value.isdigit():
            raise self.error(f"{where}: expected epoch milliseconds as a string, got {value!r}")
        return int(value)

    def field(self, item: Any, name: str, where: str) -> Any:
        if not isinstance(item, dict):
            raise self.error(f"{where}: expected an object, got {type(item).__name__}")
        if name not in item:
            raise self.error(f"{where}: missing field {name!r}")
        return item[name]

    def array(self, item: Any, width: int, where: str) -> list[Any]:
        if not isinstance(item, list) or len(item) != width:
            got = len(item) if isinstance(item, list) else type(item).__name__
            raise self.error(f"{where}: expected an array of {width} strings, got {got}")
        return item


def merge_day(
    pages: Iterable[tuple[str, Iterable[Row]]],
    day_start_ms: int,
    error: type[Exception],
) -> list[Row]:
    """The day's rows from its pages' (where, rows), ascending by time (the first column):
    rows outside the day are dropped (pages walk past the day's edges), a time repeated with
    other values is an error, one repeated with the same values (a page edge) is kept once."""
    day_end_ms = day_start_ms + DAY_MS
    seen: dict[int, Row] = {}
    for where, rows in pages:
        for row in rows:
            ts = row[0]
            if not day_start_ms <= ts < day_end_ms:
                continue
            if ts in seen and seen[ts] != row:
                raise error(f"{where}: timestamp {ts} ms appears twice with other values")
            seen[ts] = row
    return [seen[ts] for ts in sorted(seen)]
