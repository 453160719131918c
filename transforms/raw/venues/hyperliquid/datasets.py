"""The Hyperliquid /info request bodies we send and how their answers become rows.

/info answers are bare JSON (no envelope): prices and sizes are decimal strings, times integer
milliseconds. Candles are objects `{t, T, s, i, o, c, h, l, v, n}` oldest first (at most the
latest 5,000 are served); funding rows `{coin, fundingRate, premium, time}` (500 per answer at
most, `time` with millisecond jitter); `meta` carries `universe` and `marginTables`;
`metaAndAssetCtxs` is `[meta, ctxs]` with `ctxs[i]` for `universe[i]`. Rows here are tuples in
ascending time with our column names; a malformed answer raises HyperliquidFormatError naming
the request, page and field. Facts and sources: research/okx-hyperliquid.md §2.
"""

from __future__ import annotations

from typing import Any

from transforms.days import DAY_MS as DAY_MS  # re-exported: the venue reads it here
from transforms.raw.rest.datasets import Fields, Row
from transforms.raw.venues.hyperliquid.errors import HyperliquidFormatError

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
#: "Only the most recent 5000 candles are available" (HLD info-endpoint)
CANDLES_KEPT = 5000
#: time-range answers hold at most 500 items (HLD info-endpoint "Pagination")
FUNDING_PAGE = 500

KLINE_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades")
FUNDING_COLUMNS = ("funding_time", "funding_rate")


def coin(symbol: str) -> str:
    """'BTCUSDT' -> 'BTC' (the perp's `meta.universe[].name`; collateral is USDC, the oracle
    USDT-denominated, so liqmap's USDT symbol names the same market)."""
    if not symbol.endswith("USDT") or len(symbol) <= 4:
        raise ValueError(f"Hyperliquid: {symbol!r} is not a USDT pair (expected e.g. BTCUSDT)")
    return symbol[:-4]


_read = Fields(HyperliquidFormatError)
decode, field, num = _read.decode, _read.field, _read.num


def ms(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HyperliquidFormatError(f"{where}: expected epoch milliseconds, got {value!r}")
    return value


def array(doc: Any, where: str) -> list[Any]:
    if not isinstance(doc, list):
        raise HyperliquidFormatError(f"{where}: expected an array, got {type(doc).__name__}")
    return doc


def parse_candle(item: Any, where: str, want_coin: str) -> Row:
    """{t, T, s, i, o, c, h, l, v (coin), n (trades)}: quote volume is v x close (the API
    gives none), trades is n."""
    if field(item, "s", where) != want_coin or field(item, "i", where) != "1m":
        raise HyperliquidFormatError(
            f"{where}: candle of {item.get('s')!r} {item.get('i')!r}, asked {want_coin!r} 1m"
        )
    t = ms(field(item, "t", where), f"{where} t")
    close_t = ms(field(item, "T", where), f"{where} T")
    if close_t != t + MINUTE_MS - 1:
        raise HyperliquidFormatError(f"{where}: T {close_t} is not t + 59,999 ms")
    o, h, lo, c = (num(field(item, k, where), f"{where} {k}") for k in ("o", "h", "l", "c"))
    v = num(field(item, "v", where), f"{where} v")
    n = field(item, "n", where)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise HyperliquidFormatError(f"{where} n: expected a trade count, got {n!r}")
    return (t, o, h, lo, c, v, v * c, n)


def parse_funding(item: Any, where: str, want_coin: str) -> Row:
    """{coin, fundingRate (hourly), premium, time}: time floored to the hour (it carries
    millisecond jitter)."""
    if field(item, "coin", where) != want_coin:
        raise HyperliquidFormatError(
            f"{where}: funding of {item.get('coin')!r}, asked {want_coin!r}"
        )
    t = ms(field(item, "time", where), f"{where} time")
    field(item, "premium", where)
    return (t - t % HOUR_MS, num(field(item, "fundingRate", where), f"{where} fundingRate"))


def parse_rows(body: bytes, where: str, parse: Any, want_coin: str) -> list[Row]:
    items = array(decode(body, where), where)
    return [parse(item, f"{where} [{i}]", want_coin) for i, item in enumerate(items)]


def margin_tiers(meta: Any, want_coin: str, where: str) -> list[tuple[float, int]]:
    """The coin's margin tiers from a `meta` answer: [(lowerBound USDC, maxLeverage)]
    ascending. `universe[i].marginTableId` names a table of `marginTables` ([id, {description,
    marginTiers}]); an id below 50 without a table is one tier at leverage = id (HLD
    margin-tiers)."""
    universe = array(field(meta, "universe", where), f"{where} universe")
    asset = next((a for a in universe if isinstance(a, dict) and a.get("name") == want_coin), None)
    if asset is None:
        raise HyperliquidFormatError(f"{where}: {want_coin!r} is not in meta.universe")
    table_id = field(asset, "marginTableId", f"{where} universe {want_coin}")
    if isinstance(table_id, bool) or not isinstance(table_id, int):
        raise HyperliquidFormatError(f"{where} {want_coin} marginTableId: {table_id!r}")
    tables = array(field(meta, "marginTables", where), f"{where} marginTables")
    for entry in tables:
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == table_id:
            tiers = array(field(entry[1], "marginTiers", f"{where} table {table_id}"), where)
            out = []
            for i, tier in enumerate(tiers):
                at = f"{where} table {table_id} tier {i}"
                lev = field(tier, "maxLeverage", at)
                if isinstance(lev, bool) or not isinstance(lev, int) or lev < 1:
                    raise HyperliquidFormatError(f"{at} maxLeverage: {lev!r}")
                out.append((num(field(tier, "lowerBound", at), f"{at} lowerBound"), lev))
            if (
                not out
                or out[0][0] != 0
                or any(b[0] <= a[0] for a, b in zip(out, out[1:], strict=False))
            ):
                raise HyperliquidFormatError(f"{where} table {table_id}: bounds not 0, rising")
            return out
    if 0 < table_id < 50:
        return [(0.0, table_id)]
    raise HyperliquidFormatError(f"{where}: margin table {table_id} of {want_coin!r} not found")


def asset_contexts(body: bytes, where: str) -> dict[str, tuple[float, float]]:
    """coin -> (openInterest in coins, markPx) from a `metaAndAssetCtxs` answer."""
    doc = array(decode(body, where), where)
    if len(doc) != 2:
        raise HyperliquidFormatError(f"{where}: expected [meta, assetCtxs]")
    universe = array(field(doc[0], "universe", where), f"{where} universe")
    ctxs = array(doc[1], f"{where} assetCtxs")
    if len(ctxs) != len(universe):
        raise HyperliquidFormatError(f"{where}: {len(ctxs)} contexts for {len(universe)} assets")
    out = {}
    for asset, ctx in zip(universe, ctxs, strict=True):
        name = field(asset, "name", f"{where} universe")
        at = f"{where} {name}"
        out[name] = (
            num(field(ctx, "openInterest", at), f"{at} openInterest"),
            num(field(ctx, "markPx", at), f"{at} markPx"),
        )
    return out
