"""The site's shared data files: a documented JSON API (docs/api.md), also loadable by pages.

Every data file under `site/data/` is `<key>.js`, a script assigning one JSON object to
`window.LIQMAP_DATA["<key>"]`, because a page opened from disk (file://) may load scripts
but not fetch JSON (`parse_js` reads one back). The stable per-symbol URLs of the API,
`site/api/v3/...`, are JSON with a `.js` twin. Keys are paths:

    <SYMBOL>/<venue>/daily           every day's figures (the daily series of the charts)
    <SYMBOL>/<venue>/heat-YYYY-MM    the month's hourly heatmap (a log-coded PNG) and OHLC
    <SYMBOL>/<venue>/day-YYYY-MM-DD  one day's charts: values filled into assets/specs.js
                                     (held, a month together, by the month file
                                     <SYMBOL>/<venue>/days-YYYY-MM: reports.day_packs)
    <SYMBOL>/<venue>/moves           every confirmed swing (the moves card's rows)
    <SYMBOL>/<venue>/latest          the latest day's figures and map (stable URL)

`venue` is `all` for the aggregate or a venue id (transforms/venues.py). Inside chart
values, `{"$series": key, "name", "from", "to", "as"}` stands for rows of a shared daily
series between two days (inclusive), `{"$path": ...}` for a price path built from the
heat months' OHLC, `{"$marks": key, ...}` for level marks built from the `levels` of a
day file and `{"$moves": key, "day", "n", "run"}` for the last swings of the shared moves
file known on a day, so no file repeats what another file holds, nor a day file within
itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from reports import queries
from reports.cards.moves import resolve_moves
from reports.charts.raster import candles
from reports.charts.spec import code_column, decode_column, uncompact
from reports.key_levels import resolve_marks
from reports.loaders import Record, epoch_ms
from reports.notation import ok, price_scale, row_sides

API_VERSION = 3
SCHEMA_ID = "https://liqmap.invalid/api/v3/schema.json"
MOVES = "moves"  # the shared moves file's name (every confirmed swing of a venue)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def key(symbol: str, venue: str, name: str) -> str:
    return f"{symbol}/{venue}/{name}"


def envelope(kind: str, symbol: str, venue: str, synthetic: bool, body: Mapping[str, Any]) -> dict:
    """Every data file's top level: what it is, of which symbol and venue, and whether the
    figures come from synthetic data."""
    return {
        "api_version": API_VERSION,
        "kind": kind,
        "symbol": symbol,
        "venue": venue,
        "synthetic_data": synthetic,
        **body,
    }


# a whole number (a float's ".0" dropped) ending in three or more zeros, or any other whole
# float; with a JSON string first (left alone)
_ROUND = r"(?<![\w.])(-?[1-9]\d*?)(0{3,})(?:\.0)?(?![\d.eE])|(?<![\w.])(-?[1-9]\d*)\.0(?![\d.eE])"
_ROUND_NUMBER = re.compile(_ROUND)
_NUMBER_OR_STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|' + _ROUND)


def _short_number(m: re.Match) -> str:
    if m.group(1) is not None:
        return m.group(1)
    if m.group(4) is not None:
        return m.group(4)
    return f"{m.group(2)}e{len(m.group(3))}"


def _short_round(m: re.Match) -> str:
    if m.group(3) is not None:
        return m.group(3)
    return f"{m.group(1)}e{len(m.group(2))}"


def short_numbers(text: str) -> str:
    """JSON text with whole numbers ending in zeros written with an exponent (453000000 and
    453000000.0 as 453e6) and other whole floats without their ".0" (77250.0 as 77250): the
    same numbers to any JSON reader (JavaScript has one number type), a third fewer bytes
    for money amounts. Strings are left alone: without escaped quotes, every other piece
    between quotes."""
    if '\\"' in text:
        return _NUMBER_OR_STRING.sub(_short_number, text)
    parts = text.split('"')
    # a piece without "000" or ".0" has nothing to shorten (a third of the time: most are
    # keys' separators and small numbers)
    parts[::2] = [
        _ROUND_NUMBER.sub(_short_round, p) if "000" in p or ".0" in p else p for p in parts[::2]
    ]
    return '"'.join(parts)


def _whole(text: str) -> int | float:
    """A JSON number with a fraction or exponent: an int when it is a whole number written
    without a fraction (453e6; `short_numbers` writes whole floats so too)."""
    v = float(text)
    return int(v) if "." not in text and v.is_integer() and abs(v) < 2**53 else v


def loads(text: str) -> Any:
    """A data file's JSON (whole numbers as ints, floats or not, see `short_numbers`)."""
    return json.loads(text, parse_float=_whole)


def as_json(obj: Any) -> str:
    return short_numbers(json.dumps(obj, separators=(",", ":"), allow_nan=False))


def as_js(k: str, obj: Any) -> str:
    """The script twin of a data file (loads from file://)."""
    text = as_json(obj).replace("</", "<\\/")
    return f"(window.LIQMAP_DATA=window.LIQMAP_DATA||{{}})[{json.dumps(k)}]={text};\n"


_JS_HEAD = "(window.LIQMAP_DATA=window.LIQMAP_DATA||{})["


def parse_js(text: str) -> tuple[str, Any]:
    """(key, object) of a data file's script (the inverse of `as_js`)."""
    if not text.startswith(_JS_HEAD) or not text.endswith(";\n"):
        raise ValueError("not a liqmap data script: expected (window.LIQMAP_DATA=...)[key]=...;")
    k, sep, body = text[len(_JS_HEAD) : -2].partition("]=")
    if not sep:
        raise ValueError("not a liqmap data script: no ]= after the key")
    return json.loads(k), loads(body.replace("<\\/", "</"))


def coded_rows(rows: list[list[Any]]) -> list[list[Any]] | dict[str, Any]:
    """A table's rows as a data file holds them: `{"$rows": columns}`, each column in its
    shortest coding (a text repeated down a column once: "not collected"), when that is
    shorter than the rows themselves (`table_rows` reads either)."""
    if len(rows) < 2 or len({len(r) for r in rows}) != 1:
        return rows
    coded = {"$rows": [code_column(list(c)) for c in zip(*rows, strict=True)]}
    return coded if len(as_json(coded)) < len(as_json(rows)) else rows


def table_rows(value: list[list[Any]] | dict[str, Any]) -> list[list[Any]]:
    """The rows of a `coded_rows` value."""
    if isinstance(value, dict):
        cols = [decode_column(c) for c in value["$rows"]]
        return [list(r) for r in zip(*cols, strict=True)]
    return value


def whatif_bands(day: Mapping[str, Any], load: Callable[[str], Any]) -> dict[str, Any] | None:
    """A day file's what-if bands `{"spot", "mid", "l", "s"}` (plain lists), as the page
    reads them (whatif.js): its own, or with `sum_of` the named venues' day files' bands
    added band by band, venue after venue (reports.pages.day.summed_whatif)."""
    w = day.get("whatif")
    if w is None:
        return None
    if "sum_of" not in w:
        return {
            "spot": w["spot"],
            **{k: [float(v) for v in decode_column(w[k])] for k in ["mid", "l", "s"]},
        }
    sums: dict[float, list[float]] = {}
    for venue in w["sum_of"]:
        part = load(key(day["symbol"], venue, f"day-{day['day']}"))["whatif"]
        mid, lv, sv = (decode_column(part[k]) for k in ("mid", "l", "s"))
        for m, a, b in zip(mid, lv, sv, strict=True):
            acc = sums.setdefault(float(m), [0.0, 0.0])
            acc[0] += a
            acc[1] += b
    mids = sorted(sums)
    return {
        "spot": w["spot"],
        "mid": mids,
        "l": [sums[m][0] for m in mids],
        "s": [sums[m][1] for m in mids],
    }


def _g(x: Any, fmt: str) -> float | None:
    return float(format(x, fmt)) if ok(x) else None


def epoch_day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


# the daily series: columns after "day" (ISO), the chart's field names
HIST_COLS = ["d", "L", "S", "c", "qa", "qb"]
DAILY_COLS = ["x", "c", "oi", "f", "f7"]


def daily_series(rows: Sequence[Record]) -> dict[str, Any]:
    """`series`: the history charts' rows (`hist`, d = days since 1970-01-01; L and S at risk
    within the headline's ±10 % window) and the open interest / funding charts' rows
    (`daily`), one per day, oldest first."""
    hist, daily = [], []
    for r in rows:
        d = r["day"]
        shorts, longs = row_sides(r)  # within ±10 % of price: the headline's window
        hist.append(
            [
                d.isoformat(),
                epoch_day(d),
                _g(longs, ".4g"),
                _g(shorts, ".4g"),
                _g(r.get("close_price"), ".6g"),
                _g(r.get("p90_above_price"), ".6g"),
                _g(r.get("p90_below_price"), ".6g"),
            ]
        )
        daily.append(
            [
                d.isoformat(),
                epoch_ms(queries.day_start(d)),
                _g(r.get("close_price"), ".2f"),
                _g(r.get("oi_value"), ".4g"),
                _g(r.get("funding_rate_last"), ".4g"),
                _g(r.get("funding_7d_mean"), ".4g"),
            ]
        )
    return {
        "hist": {"cols": ["day", *HIST_COLS], "rows": hist},
        "daily": {"cols": ["day", *DAILY_COLS], "rows": daily},
    }


def series_ref(k: str, name: str, first: date, last: date, as_: str = "rows") -> dict[str, Any]:
    """A chart value standing for the rows of series `name` of data file `k` from `first`
    to `last` (inclusive): objects (`rows`) or CSV text with a header (`csv`)."""
    return {
        "$series": k,
        "name": name,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "as": as_,
    }


def resolve(value: Any, load: Callable[[str], Any]) -> Any:
    """A chart value with its references replaced by what they stand for (what the page
    script does), for tests and exports; `load(key)` returns a data file's object."""
    value = uncompact(value)
    if not isinstance(value, dict):
        return value
    if "$series" in value:
        s = load(value["$series"])["series"][value["name"]]
        cols = s["cols"][1:]
        rows = [r[1:] for r in s["rows"] if value["from"] <= r[0] <= value["to"]]
        if value["as"] == "csv":
            lines = [",".join(cols)]
            lines += [",".join("" if v is None else _csv_num(v) for v in r) for r in rows]
            return "\n".join(lines)
        return [dict(zip(cols, r, strict=True)) for r in rows]
    if "$marks" in value:
        return resolve_marks(load(value["$marks"])["levels"], value)
    if "$moves" in value:
        return resolve_moves(value, load(value["$moves"])["moves"]["rows"])
    if "$candles" in value or "$closes" in value:
        prefix = value.get("$candles", value.get("$closes"))
        ohlc = _ohlc(load, prefix, value["from"] - HOUR_MS, value["to"])
        lo, hi = value["lo"], value["hi"]
        if "$candles" in value:
            # the OHLC is stored as the charts write prices: keep its decimals
            ref = float(np.nanmedian(ohlc["c"])) if len(ohlc["c"]) else None
            with price_scale(ref):
                bars = candles(
                    ohlc["x"], ohlc["o"], ohlc["h"], ohlc["l"], ohlc["c"],
                    value["w"], value["from"], value["to"],
                )  # fmt: skip
            return [c for c in bars if c["x2"] > lo and c["x"] < hi]
        line = thinned_closes(
            ohlc["x"] + HOUR_MS, ohlc["c"], value["from"], value["to"], value["max"]
        )
        return [p for p in line if lo <= p["x"] <= hi]
    return value


def _ohlc(load: Callable[[str], Any], prefix: str, t0: int, t1: int) -> dict[str, np.ndarray]:
    """Hourly OHLC of the heat months between t0 and t1 (ms), in time order."""
    parts: dict[str, list] = {k: [] for k in "xohlc"}
    for m in months_between(t0, t1):
        try:
            f = load(f"{prefix}heat-{m}")
        except FileNotFoundError:
            continue
        for k in "xohlc":
            parts[k] += decode_column(f["ohlc"][k])
    return {k: np.asarray(v, dtype=np.int64 if k == "x" else np.float64) for k, v in parts.items()}


def months_between(t0: int, t1: int) -> list[str]:
    """YYYY-MM of every month from the one holding t0 to the one holding t1 - 1 (ms)."""
    a = datetime.fromtimestamp(t0 / 1000, UTC)
    b = datetime.fromtimestamp((t1 - 1) / 1000, UTC)
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def thinned_closes(x: np.ndarray, c: np.ndarray, t0: int, t1: int, most: int) -> list[dict]:
    """Hourly closes (x = close time) within [t0, t1], the close of every n-th hour aligned
    to t1 when there are more than `most` (reports.cards.heatmap.price_line)."""
    i, j = np.searchsorted(x, t0, "left"), np.searchsorted(x, t1, "right")
    x, c = x[i:j], c[i:j]
    step = max(1, -(-len(x) // most))
    if step > 1:
        group = (t1 - x) // (step * HOUR_MS)
        last = np.r_[group[:-1] != group[1:], True]
        x, c = x[last], c[last]
    return [{"x": int(a), "c": float(b)} for a, b in zip(x.tolist(), c.tolist(), strict=True)]


def _csv_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
