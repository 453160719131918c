"""The OKX v5 public endpoints we read (USDT swaps) and how their pages become rows.

OKX wraps every answer in `{"code": "0", "msg": "", "data": [...]}`; only code "0" is a success,
and most errors arrive as HTTP 200 with another code. Candle and open-interest rows are arrays
of strings, newest first; funding and tier rows are objects of strings. Rows here are plain
tuples in ascending time order with our column names; timestamps are epoch milliseconds (int),
numbers are floats checked to be finite. A page that does not match the documented shape raises
OkxFormatError naming the endpoint, the page and the field. Facts and sources:
research/okx-hyperliquid.md §1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transforms.days import DAY_MS as DAY_MS  # re-exported: the venue reads it here
from transforms.raw.rest.datasets import Fields, RestDataset, Row, lookup, merge_day
from transforms.raw.rest.day_cache import Page
from transforms.raw.venues.okx.errors import OkxFormatError

MINUTE_MS = 60_000
INST_TYPE = "SWAP"

KLINE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume")
MARK_KLINE_COLUMNS = ("open_time", "open", "high", "low", "close")
OPEN_INTEREST_COLUMNS = ("timestamp", "oi_base", "oi_value")
FUNDING_COLUMNS = ("funding_time", "funding_rate")
TIER_COLUMNS = ("tier", "min_contracts", "max_contracts", "mmr", "imr", "max_leverage")


def inst_id(symbol: str) -> str:
    """'BTCUSDT' -> 'BTC-USDT-SWAP' (the USDT-margined perpetual swap)."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"OKX: {symbol!r} is not a USDT pair (expected e.g. BTCUSDT)")
    return f"{symbol[:-4]}-USDT-SWAP"


def inst_family(symbol: str) -> str:
    """'BTCUSDT' -> 'BTC-USDT' (position tiers are asked per instrument family)."""
    return inst_id(symbol)[: -len("-SWAP")]


_read = Fields(OkxFormatError)
_num, _ms, _field, _array = _read.num, _read.ms, _read.field, _read.array


def _confirmed(value: Any, where: str) -> bool:
    if value not in ("0", "1"):
        raise OkxFormatError(f"{where} confirm: expected '0' or '1', got {value!r}")
    return value == "1"


def parse_kline(item: Any, where: str) -> Row | None:
    """[ts, o, h, l, c, vol (contracts), volCcy (coin), volCcyQuote (USDT), confirm]; an open
    bar (confirm '0') is dropped. volume = volCcy, quote_volume = volCcyQuote."""
    a = _array(item, 9, where)
    if not _confirmed(a[8], where):
        return None
    return (
        _ms(a[0], f"{where} ts"),
        *(_num(a[i], f"{where} {n}") for i, n in ((1, "o"), (2, "h"), (3, "l"), (4, "c"))),
        _num(a[6], f"{where} volCcy"),
        _num(a[7], f"{where} volCcyQuote"),
    )


def parse_mark_kline(item: Any, where: str) -> Row | None:
    """[ts, o, h, l, c, confirm]; an open bar is dropped."""
    a = _array(item, 6, where)
    if not _confirmed(a[5], where):
        return None
    return (_ms(a[0], f"{where} ts"),) + tuple(
        _num(a[i], f"{where} {n}") for i, n in ((1, "o"), (2, "h"), (3, "l"), (4, "c"))
    )


def parse_open_interest(item: Any, where: str) -> Row:
    """[ts, oi (contracts), oiCcy (coin), oiUsd]: we keep the coin and USD figures."""
    a = _array(item, 4, where)
    _num(a[1], f"{where} oi")
    return (_ms(a[0], f"{where} ts"), _num(a[2], f"{where} oiCcy"), _num(a[3], f"{where} oiUsd"))


def parse_funding(item: Any, where: str) -> Row:
    """{fundingTime, realizedRate, fundingRate, ...}: the settled (realized) rate is stored."""
    ts = _ms(_field(item, "fundingTime", where), f"{where} fundingTime")
    return (ts, _num(_field(item, "realizedRate", where), f"{where} realizedRate"))


def parse_tier(item: Any, where: str) -> Row:
    """{tier, minSz, maxSz, mmr, imr, maxLever}: sizes are contract counts for swaps."""
    tier = _field(item, "tier", where)
    if not isinstance(tier, str) or not tier.isdigit():
        raise OkxFormatError(f"{where} tier: expected an integer as a string, got {tier!r}")
    return (
        int(tier),
        _num(_field(item, "minSz", where), f"{where} minSz"),
        _num(_field(item, "maxSz", where), f"{where} maxSz"),
        _num(_field(item, "mmr", where), f"{where} mmr"),
        _num(_field(item, "imr", where), f"{where} imr"),
        _num(_field(item, "maxLever", where), f"{where} maxLever"),
    )


@dataclass(frozen=True)
class OkxDataset(RestDataset):
    """One endpoint: path, page size, the parameter paging backwards, and the item parser.

    paging: `after` (candles, funding: rows older than the value), `end` (open interest:
    rows older than the value), `snapshot` (tiers, instruments: current values only)."""

    #: query parameter naming the instrument (`instId` or `instFamily`)
    inst_param: str = "instId"


DATASETS: dict[str, OkxDataset] = {
    d.name: d
    for d in (
        OkxDataset(
            "klines_1m",
            "/api/v5/market/history-candles",
            "after",
            300,
            KLINE_COLUMNS,
            parse_kline,
            {"bar": "1m"},
            MINUTE_MS,
        ),
        OkxDataset(
            "mark_klines_1m",
            "/api/v5/market/history-mark-price-candles",
            "after",
            100,
            MARK_KLINE_COLUMNS,
            parse_mark_kline,
            {"bar": "1m"},
            MINUTE_MS,
        ),
        OkxDataset(
            "open_interest_5m",
            "/api/v5/rubik/stat/contracts/open-interest-history",
            "end",
            100,
            OPEN_INTEREST_COLUMNS,
            parse_open_interest,
            {"period": "5m"},
            5 * MINUTE_MS,
        ),
        OkxDataset(
            "funding",
            "/api/v5/public/funding-rate-history",
            "after",
            400,
            FUNDING_COLUMNS,
            parse_funding,
        ),
        OkxDataset(
            "position_tiers",
            "/api/v5/public/position-tiers",
            "snapshot",
            0,
            TIER_COLUMNS,
            parse_tier,
            {"instType": INST_TYPE, "tdMode": "isolated"},
            inst_param="instFamily",
        ),
    )
}


def dataset(name: str) -> OkxDataset:
    return lookup(DATASETS, name, "OKX")


def decode_envelope(body: bytes, where: str) -> dict[str, Any]:
    """The JSON envelope `{code, msg, data}`; truncated/invalid JSON is an error."""
    doc = _read.decode(body, where)
    if not isinstance(doc, dict) or "code" not in doc or "data" not in doc:
        raise OkxFormatError(f"{where}: not an OKX v5 envelope (no code/data)")
    return doc


def parse_page(ds: OkxDataset, body: bytes, where: str) -> list[Row]:
    """Rows of a successful (code "0") page, in the order OKX sent them (newest first)."""
    doc = decode_envelope(body, where)
    if doc["code"] != "0":
        raise OkxFormatError(f"{where}: code {doc['code']!r} in a page taken as success")
    items = doc["data"]
    if not isinstance(items, list):
        raise OkxFormatError(f"{where} data: expected an array")
    rows = [ds.parse_item(item, f"{where} data[{i}]") for i, item in enumerate(items)]
    return [r for r in rows if r is not None]


def rows_of_day(ds: OkxDataset, pages: Sequence[Page], day_start_ms: int, label: str) -> list[Row]:
    """The day's rows from its pages, ascending by time (transforms.raw.rest.datasets.merge_day)."""
    wheres = [f"{label} page {i + 1} ({ds.path})" for i in range(len(pages))]
    rows = ((w, parse_page(ds, p.body, w)) for w, p in zip(wheres, pages, strict=True))
    return merge_day(rows, day_start_ms, OkxFormatError)
