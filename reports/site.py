"""The published report: a static, offline site rendered from `mart.*`.

    site/
      index.html                  the latest day (same content as its dated page)
      YYYY-MM-DD/index.html       one immutable page per day, plus its chart data as CSV/Parquet
      archive/index.html          every published day, by month
      methodology/index.html      docs/methodology.md rendered
      feed.xml                    Atom, one entry per day with the headline numbers
      assets/                     vega-bundle.js (written once per bundle version), charts.js,
                                  daynav.js, css, and days.js (the published days, every build)

Every file is written atomically (temp file in the same directory, then `os.replace`), so a
crash never leaves a half-written page. An incremental build renders only the given days plus
the shared pages; other day pages are not touched. A day page links to the next day only if
that page already exists when it is rendered; otherwise it links to the latest report, and its
script upgrades that link from assets/days.js (the published days, rewritten by every build),
so old pages never need rewriting.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape as html_escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import altair as alt
import duckdb
import jinja2
import markdown
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from reports import charts, headline, queries
from reports.headline import fmt_pct, fmt_price, fmt_rate, fmt_usd, ok
from transforms.failpoints import failpoint

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
STATIC = PACKAGE_DIR / "static"
BUNDLE_NAME = "vega-bundle.js"
BUNDLE_STAMP = "vega-bundle.version"
TMP_SUFFIX = ".tmp"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
HISTORY_DAYS = 365  # the longest timeframe (heatmap 1y, daily series)
MOVES_SHOWN = 12
MAP_SPAN = 0.25  # liquidation map shows spot ± 25 %
MAP_MAX_BARS = 120
MAX_LINE_POINTS = 1100  # heatmap price line: hourly closes, thinned to this many per window
DAYS_JS = "assets/days.js"

SOURCE_LABELS = {
    "binance": "Binance USDⓈ-M futures public data archive (data.binance.vision)",
    "mirror": "Local mirror of the Binance USDⓈ-M futures public data archive",
    "synthetic": "Synthetic demo data from the seeded market generator",
}


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    hours: int
    rect: bool
    pad: float  # price range: closes in the window ± pad
    max_cols: int
    max_rows: int


WINDOWS = [
    Window("24h", "24 hours", 24, True, 0.12, 24, 160),
    Window("1w", "1 week", 24 * 7, True, 0.15, 168, 110),
    Window("1m", "1 month", 24 * 30, False, 0.2, 360, 220),
    Window("3m", "3 months", 24 * 91, False, 0.25, 364, 220),
    Window("1y", "1 year", 24 * 365, False, 0.3, 365, 220),
]


@dataclass
class SiteBuildResult:
    """What a build wrote. `pages_written`: the HTML pages and feed.xml written this build;
    `bytes_total`: bytes of every file written this build (pages, downloads, changed assets)."""

    pages_written: list[Path]
    out_dir: Path
    days: list[date]
    bytes_total: int


@dataclass
class _Writer:
    out_dir: Path
    pages: list[Path] = field(default_factory=list)
    bytes_total: int = 0

    def write(self, rel: str, data: bytes | str, page: bool = False) -> Path:
        path = self.out_dir / rel
        raw = data.encode("utf-8") if isinstance(data, str) else data
        write_atomic(path, raw, crash_point="site-page" if page else None)
        self.bytes_total += len(raw)
        if page:
            self.pages.append(path)
        return path

    def write_if_changed(self, rel: str, data: bytes | str) -> bool:
        path = self.out_dir / rel
        raw = data.encode("utf-8") if isinstance(data, str) else data
        with contextlib.suppress(FileNotFoundError):
            if path.read_bytes() == raw:
                return False
        self.write(rel, raw)
        return True


def write_atomic(path: Path, data: bytes, crash_point: str | None = None) -> None:
    """Write `data` to `path` via a temp file in the same directory and `os.replace`.

    `crash_point` names a failpoint hit between the temp write and the rename (crash tests).
    A temp file orphaned by a killed process is removed by the next `build_site`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        if crash_point:
            failpoint(crash_point)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _ms(d: datetime) -> int:
    return int(d.replace(tzinfo=UTC).timestamp() * 1000)


def _day_end_ms(d: date) -> int:
    return _ms(queries.day_end(d))


def _iso_z(d: datetime) -> str:
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.replace(microsecond=0).isoformat() + "Z"


def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


def _table_bytes(table: pa.Table) -> tuple[bytes, bytes]:
    """(CSV, Parquet) bytes for one download."""
    csv_buf = io.BytesIO()
    pacsv.write_csv(table, csv_buf)
    pq_buf = io.BytesIO()
    pq.write_table(table, pq_buf, compression="zstd")
    return csv_buf.getvalue(), pq_buf.getvalue()


def vega_bundle() -> tuple[str, str]:
    """(version stamp, bundle JS) for the Vega-Lite version Altair targets."""
    import vl_convert as vlc

    vl_version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # v6.4.1 → 6.4
    if vl_version not in vlc.get_vegalite_versions():
        raise RuntimeError(f"vl-convert cannot bundle Vega-Lite {vl_version}")
    stamp = f"vl-convert {vlc.__version__}; vega-lite {vl_version}; altair {alt.__version__}\n"
    return stamp, vlc.javascript_bundle(vl_version=vl_version)


class _Build:
    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        out_dir: Path,
        symbol: str,
        source: str,
        methodology_md: Path | None,
        generated_at: datetime,
    ) -> None:
        self.conn = conn
        self.out = out_dir
        self.symbol = symbol
        self.source = source
        self.methodology_md = methodology_md
        self.generated_at = generated_at
        self.env = _jinja()
        self.writer = _Writer(out_dir)
        metrics = queries.rows(conn, queries.DAILY_METRICS, symbol=symbol)
        self.metrics: dict[date, dict[str, dict[str, Any]]] = {}
        for r in metrics:
            self.metrics.setdefault(r["day"], {})[r["scenario"]] = r
        self.all_days = sorted(d for d, s in self.metrics.items() if "base" in s)
        self.moves = queries.rows(conn, queries.MOVES, symbol=symbol)
        self.params = {r["params_hash"]: r for r in queries.rows(conn, queries.MODEL_PARAMS)}
        self.cube: queries.HeatCube | None = None
        self.published: set[date] = set()
        self._closes: list[tuple[int, float]] | None = None
        self._close_ms: list[int] = []
        self._hour_x = np.empty(0, dtype=np.int64)  # close time (hour start + 1 h), epoch ms
        self._hour_c = np.empty(0, dtype=np.float64)

    # ------------------------------------------------------------ helpers

    def page_exists(self, d: date) -> bool:
        return (self.out / d.isoformat() / "index.html").exists()

    def neighbours(self, d: date) -> tuple[date | None, date | None]:
        pub = sorted(self.published)
        i = pub.index(d)
        return (pub[i - 1] if i else None), (pub[i + 1] if i + 1 < len(pub) else None)

    def prev_day(self, d: date) -> date | None:
        i = self.all_days.index(d)
        return self.all_days[i - 1] if i else None

    def load_cube(self, days: Sequence[date]) -> None:
        t_from = queries.day_start(min(days) - timedelta(days=HISTORY_DAYS))
        t_to = queries.day_end(max(days))
        self.cube = queries.HeatCube.load(self.conn, self.symbol, t_from, t_to)
        # one hour more, so a window's line starts at its left edge
        self._hour_x, self._hour_c = queries.hourly_closes(
            self.conn, self.symbol, t_from - timedelta(hours=1), t_to
        )

    def common(self, root: str, title: str) -> dict[str, Any]:
        return {
            "root": root,
            "title": title,
            "symbol": self.symbol,
            "synthetic": self.source == "synthetic",
            "source_label": SOURCE_LABELS.get(self.source, self.source),
            "generated": self.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            "generated_iso": _iso_z(self.generated_at),
            "latest": self.all_days[-1].isoformat() if self.all_days else None,
        }

    # ------------------------------------------------------------ one day

    def day_context(self, d: date) -> dict[str, Any]:
        scen = self.metrics[d]
        cur = scen["base"]
        pd_ = self.prev_day(d)
        prev = self.metrics[pd_]["base"] if pd_ else None
        spot = cur.get("close_price")
        side = headline.side_of(cur)
        shorts_heavy = side != "long"
        chart_list = []
        heat = self.heat_context(d, cur)
        map_ctx = self.map_context(d, cur)
        daily = self.daily_context(d)
        moves = self.moves_context(d)
        for c in (map_ctx, daily["oi"], daily["funding"], moves):
            if c:
                chart_list.append(c)
        kpis = [
            {
                "key": "shorts_at_risk",
                "label": "Shorts at risk (above spot)",
                "value": fmt_usd(cur.get("shorts_at_risk")),
                "spread": headline.spread(scen, "shorts_at_risk"),
                "delta": self._delta_usd(cur, prev, "shorts_at_risk"),
            },
            {
                "key": "longs_at_risk",
                "label": "Longs at risk (below spot)",
                "value": fmt_usd(cur.get("longs_at_risk")),
                "spread": headline.spread(scen, "longs_at_risk"),
                "delta": self._delta_usd(cur, prev, "longs_at_risk"),
            },
            {
                "key": "imbalance",
                "label": "Imbalance (heavier : lighter)",
                "value": headline.ratio_text(cur),
                "spread": headline.ratio_spread(scen, shorts_heavy),
                "delta": (
                    "previous day "
                    + headline.ratio_oriented(
                        prev.get("shorts_at_risk"), prev.get("longs_at_risk"), shorts_heavy
                    )
                    if prev
                    else ""
                ),
            },
            {
                "key": "within_10pct",
                "label": "Within ±10 % of spot",
                "value": (
                    f"{fmt_usd(cur.get('shorts_at_risk_10pct'))} shorts · "
                    f"{fmt_usd(cur.get('longs_at_risk_10pct'))} longs"
                ),
                "spread": "",
                "delta": "",
            },
        ]
        base_hash = cur.get("params_hash")
        p = self.params.get(base_hash)
        params_rows: list[tuple[str, str]] = []
        if p:
            with contextlib.suppress(ValueError, TypeError):
                for k, v in sorted(json.loads(p["params_json"]).items()):
                    txt = v if isinstance(v, str) else json.dumps(v, separators=(", ", ": "))
                    params_rows.append((k, txt))
        scenario_hashes = [
            (headline.SCENARIO_LABELS.get(k, k), r.get("params_hash"))
            for k, r in sorted(scen.items(), key=lambda kv: _scen_order(kv[0]))
        ]
        return {
            "day": d,
            "day_iso": d.isoformat(),
            "day_long": d.strftime("%A %d %B %Y").replace(" 0", " "),
            "as_of": f"{d.isoformat()} 24:00 UTC",
            "as_of_iso": _iso_z(queries.day_end(d)),
            "headline": headline.headline(cur, scen),
            "metrics": headline.metrics_table(cur, prev),
            "scenarios": headline.scenario_table(scen),
            "kpis": kpis,
            "spot": fmt_price(spot),
            "heat": heat,
            "charts": chart_list,
            "params_hash": base_hash,
            "params_rows": params_rows,
            "scenario_hashes": scenario_hashes,
            "prev_label": pd_.isoformat() if pd_ else None,
        }

    @staticmethod
    def _delta_usd(cur: dict, prev: dict | None, key: str) -> str:
        if not prev or not (ok(cur.get(key)) and ok(prev.get(key))):
            return ""
        return f"{headline.fmt_signed_usd(cur[key] - prev[key])} vs previous day"

    def closes_between(self, t0: int, t1: int) -> list[dict[str, float]]:
        """Daily closes, placed at the end of their day, within [t0, t1]."""
        if self._closes is None:
            self._closes = [
                (_day_end_ms(d), round(self.metrics[d]["base"]["close_price"], 2))
                for d in self.all_days
                if ok(self.metrics[d]["base"].get("close_price"))
            ]
            self._close_ms = [x for x, _ in self._closes]
        i, j = bisect_left(self._close_ms, t0), bisect_right(self._close_ms, t1)
        return [{"x": x, "c": c} for x, c in self._closes[i:j]]

    def price_line(self, t0: int, t1: int) -> tuple[list[dict[str, float]], str]:
        """The heatmap's price line within [t0, t1] and what it shows: hourly closes (the
        close of every n-th hour, aligned to t1, when there are more than MAX_LINE_POINTS),
        preceded by daily closes where `mart.price_hourly` has no rows yet."""
        x, c = self._hour_x, self._hour_c
        i, j = np.searchsorted(x, t0, "left"), np.searchsorted(x, t1, "right")
        x, c = x[i:j], c[i:j]
        step = max(1, -(-len(x) // MAX_LINE_POINTS))
        if step > 1:
            group = (t1 - x) // (step * HOUR_MS)
            last = np.r_[group[:-1] != group[1:], True]  # the latest hour of each group
            x, c = x[last], c[last]
        daily = self.closes_between(t0, int(x[0]) - 1 if len(x) else t1)
        line = daily + [
            {"x": a, "c": round(b, 2)} for a, b in zip(x.tolist(), c.tolist(), strict=True)
        ]
        if not len(x):
            what = "daily close"
        elif step == 1:
            what = "hourly close"
        else:
            what = f"close every {step} hours"
        if daily and len(x):
            what += " (daily before hourly prices begin)"
        return line, what

    def heat_context(self, d: date, cur: dict) -> dict[str, Any] | None:
        cube = self.cube
        spot = cur.get("close_price")
        if cube is None or not ok(spot):
            return None
        end = _day_end_ms(d)
        first = cube.t0_ms
        windows = []
        for w in WINDOWS:
            start = end - w.hours * HOUR_MS
            covered = start >= first
            closes, line_what = self.price_line(start, end)
            prices = [c["c"] for c in closes] + [spot]
            lo, hi = min(prices) * (1 - w.pad), max(prices) * (1 + w.pad)
            hw = charts.heat_window(
                cube,
                key=w.key,
                label=w.label,
                hours=w.hours,
                end_ms=end,
                price_lo=lo,
                price_hi=hi,
                rect=w.rect,
                closes=closes,
                spot=round(spot, 2),
                spot_label=f"Now {fmt_price(spot)}",
                desc=(
                    f"Liquidation heatmap, {self.symbol}, {w.label} to the end of {d} UTC: "
                    f"modelled notional that would be liquidated at each price (y) over time "
                    f"(x), brighter is more. White line: {line_what}; dashed line: current "
                    f"price {fmt_price(spot)}."
                ),
                max_cols=w.max_cols,
                max_rows=w.max_rows,
            )
            if hw is None:
                continue
            windows.append(
                {
                    "w": hw,
                    "id": f"heat-{w.key}",
                    "note": "" if covered else "history is shorter than this window",
                }
            )
            if not covered:
                break  # longer windows would show the same history
        if not windows:
            return None
        top = windows[0]["w"].top_bands
        return {
            "windows": windows,
            "table": {
                "caption": f"Largest liquidation bands, last {windows[0]['w'].label} (mean)",
                "head": ["Price band", "Longs", "Shorts"],
                "rows": [
                    (f"{fmt_price(lo)} to {fmt_price(hi)}", fmt_usd(lg), fmt_usd(sh))
                    for lo, hi, lg, sh in top
                ],
            },
            "downloads": "heatmap",
        }

    def map_context(self, d: date, cur: dict) -> dict[str, Any] | None:
        rows = queries.rows(self.conn, queries.LIQ_MAP_DAY, symbol=self.symbol, day=d)
        if not rows:
            return None
        spot = rows[0]["spot_price"] if ok(rows[0]["spot_price"]) else cur.get("close_price")
        lo_edge, hi_edge = spot * (1 - MAP_SPAN), spot * (1 + MAP_SPAN)
        lo = np.array([r["price_low"] for r in rows])
        hi = np.array([r["price_high"] for r in rows])
        sel = (hi > lo_edge) & (lo < hi_edge)
        if not sel.any():
            return None
        width = float(np.median(hi - lo)) or 1.0
        step = width * max(1, int(np.ceil((hi_edge - lo_edge) / width / MAP_MAX_BARS)))
        base = np.floor(lo_edge / step) * step
        g = ((lo[sel] - base) // step).astype(np.int64)
        g -= g.min()
        n = int(g.max()) + 1

        def col(name: str) -> np.ndarray:
            return np.array([r[name] for r in rows], dtype=np.float64)[sel]

        gl = np.bincount(g, weights=col("long_notional"), minlength=n)
        gs = np.bincount(g, weights=col("short_notional"), minlength=n)
        glc = np.zeros(n)
        gsc = np.zeros(n)
        np.maximum.at(glc, g, col("long_cum_from_spot"))
        np.maximum.at(gsc, g, col("short_cum_from_spot"))
        used = np.bincount(g, minlength=n) > 0
        g0 = base + (((lo[sel] - base) // step).min()) * step
        data = []
        for i in np.nonzero(used)[0].tolist():
            blo, bhi = g0 + i * step, g0 + (i + 1) * step
            data.append(
                {
                    "lo": round(float(blo), 2),
                    "hi": round(float(bhi), 2),
                    "l": float(f"{gl[i]:.3g}"),
                    "s": float(f"{gs[i]:.3g}"),
                    "lc": float(f"{glc[i]:.4g}") if blo < spot and glc[i] > 0 else None,
                    "sc": float(f"{gsc[i]:.4g}") if bhi > spot and gsc[i] > 0 else None,
                }
            )
        desc = (
            f"Liquidation map, {self.symbol}, end of {d} UTC: modelled long (below spot) and "
            f"short (above spot) liquidation notional per ${step:,.0f} price band within "
            f"±{MAP_SPAN:.0%} of spot {fmt_price(spot)}, with cumulative curves from spot. "
            f"Longs at risk {fmt_usd(cur.get('longs_at_risk'))}, shorts at risk "
            f"{fmt_usd(cur.get('shorts_at_risk'))}."
        )
        spec = charts.liq_map_template().fill(
            {
                "map": data,
                "spot": [{"c": round(spot, 2), "label": f"Spot {fmt_price(spot)}"}],
                "desc": desc,
            },
            {"xdomain0": round(lo_edge, 2), "xdomain1": round(hi_edge, 2)},
        )
        top_l = sorted(data, key=lambda r: -r["l"])[:5]
        top_s = sorted(data, key=lambda r: -r["s"])[:5]
        table_rows = [
            ("Longs", f"{fmt_price(r['lo'])} to {fmt_price(r['hi'])}", fmt_usd(r["l"]))
            for r in top_l
            if r["l"] > 0
        ] + [
            ("Shorts", f"{fmt_price(r['lo'])} to {fmt_price(r['hi'])}", fmt_usd(r["s"]))
            for r in top_s
            if r["s"] > 0
        ]
        return {
            "id": "liqmap",
            "title": "Liquidation map",
            "intro": (
                "Where the model places liquidation prices of positions still open at the end "
                "of the day. Bars: notional per price band. Curves: how much would be "
                "liquidated in total if price moved from spot to that level."
            ),
            "desc": desc,
            "spec": spec,
            "table": {
                "caption": "Largest bands per side",
                "head": ["Side", "Price band", "Notional"],
                "rows": table_rows,
            },
            "downloads": "liq_map",
        }

    def daily_rows(self, d: date) -> list[dict[str, Any]]:
        start = d - timedelta(days=HISTORY_DAYS - 1)
        return [self.metrics[x]["base"] for x in self.all_days if start <= x <= d]

    def daily_context(self, d: date) -> dict[str, Any]:
        rows = self.daily_rows(d)

        def r4(x: Any, fmt: str = ".4g") -> float | None:
            return float(format(x, fmt)) if ok(x) else None

        data = [
            {
                "x": _ms(queries.day_start(r["day"])),
                "c": r4(r.get("close_price"), ".2f"),
                "oi": r4(r.get("oi_value")),
                "f": r4(r.get("funding_rate_last")),
                "f7": r4(r.get("funding_7d_mean")),
            }
            for r in rows
        ]
        cur = self.metrics[d]["base"]
        span = f"{rows[0]['day']} to {d}"
        oi_desc = (
            f"Open interest and close price, {self.symbol}, daily, {span}. Latest open interest "
            f"{fmt_usd(cur.get('oi_value'))} ({fmt_pct(cur.get('oi_change_1d'))} on the day), "
            f"close {fmt_price(cur.get('close_price'))}."
        )
        f_desc = (
            f"Funding rate per settlement, {self.symbol}, daily last rate (bars) and 7-day mean "
            f"(line), {span}. Latest 7-day mean {fmt_rate(cur.get('funding_7d_mean'))}, state "
            f"{cur.get('funding_state')}."
        )
        tail = rows[-14:][::-1]
        oi = {
            "id": "oi",
            "title": "Open interest and price",
            "intro": "Open interest (USDT value, area, left axis) and the daily close (line).",
            "desc": oi_desc,
            "spec": charts.oi_price_template().fill({"daily": data, "desc": oi_desc}),
            "table": {
                "caption": "Last 14 days",
                "head": ["Day", "Close", "Open interest", "Change"],
                "rows": [
                    (
                        r["day"].isoformat(),
                        fmt_price(r.get("close_price")),
                        fmt_usd(r.get("oi_value")),
                        fmt_pct(r.get("oi_change_1d")),
                    )
                    for r in tail
                ],
            },
            "downloads": "daily",
        }
        funding = {
            "id": "funding",
            "title": "Funding rate",
            "intro": (
                "The perpetual's funding rate: positive means longs pay shorts. Bars: the last "
                "rate of each day; line: the 7-day mean."
            ),
            "desc": f_desc,
            "spec": charts.funding_template().fill({"daily": data, "desc": f_desc}),
            "table": {
                "caption": "Last 14 days",
                "head": ["Day", "Last rate", "7-day mean", "State"],
                "rows": [
                    (
                        r["day"].isoformat(),
                        fmt_rate(r.get("funding_rate_last")),
                        fmt_rate(r.get("funding_7d_mean")),
                        r.get("funding_state") or "n/a",
                    )
                    for r in tail
                ],
            },
            "downloads": "daily",
        }
        return {"oi": oi, "funding": funding, "rows": rows}

    def day_moves(self, d: date) -> list[dict[str, Any]]:
        """Swings known at the end of day `d`: those confirmed by then (by `confirmed_ts`,
        not by the day of their extreme, so none is shown finished before its confirming
        reversal), then the swing running as of `d` from its own row, if the mart has one
        (it keeps only the latest day's running swing)."""
        day_end = datetime.combine(d + timedelta(days=1), datetime.min.time())

        def known(m: dict[str, Any]) -> bool:
            ts = m.get("confirmed_ts")
            return ts < day_end if ts is not None else m["day"] <= d

        done = [m for m in self.moves if m["confirmed"] and known(m)]
        running = [m for m in self.moves if not m["confirmed"] and m["day"] == d]
        return (
            sorted(done, key=lambda m: m["start_ts"])[-(MOVES_SHOWN - len(running[:1])) :]
            + (running[:1])
        )

    def moves_context(self, d: date) -> dict[str, Any] | None:
        mv = self.day_moves(d)
        if not mv:
            return None
        data = []
        labels = []
        for i, m in enumerate(mv):
            arrow = "▲" if m["pct_change"] >= 0 else "▼"
            label = (
                f"{m['start_ts']:%d %b} → {m['end_ts']:%d %b} {arrow}"
                f"{abs(m['pct_change']) * 100:.0f}%" + ("" if m["confirmed"] else " (running)")
            )
            while label in labels:
                label += " "
            labels.append(label)
            for side, key in (
                ("Longs liquidated", "long_liquidated"),
                ("Shorts liquidated", "short_liquidated"),
            ):
                data.append({"label": label, "order": i, "side": side, "v": float(f"{m[key]:.3g}")})
        last = mv[-1]
        desc = (
            f"Modelled liquidations per price swing, {self.symbol}: the last {len(mv)} swings "
            f"beyond the zigzag threshold up to {d}, longs and shorts liquidated in each. "
            f"Latest: {fmt_price(last['from_price'])} to {fmt_price(last['to_price'])} "
            f"({fmt_pct(last['pct_change'], 0)}), longs {fmt_usd(last['long_liquidated'])}, "
            f"shorts {fmt_usd(last['short_liquidated'])}."
        )
        return {
            "id": "moves",
            "title": "Liquidations per move",
            "intro": (
                "Each price swing (zigzag) with the modelled long and short liquidations inside "
                "it: as price fell from A to B, the model liquidated this much. A swing counts "
                "as finished once price has reversed by the threshold from its extreme; the "
                "one marked running is as of the end of this day."
            ),
            "desc": desc,
            "spec": charts.moves_template().fill({"moves": data, "desc": desc}),
            "table": {
                "caption": "Swings",
                "head": ["Start", "End", "From", "To", "Change", "Longs", "Shorts"],
                "rows": [
                    (
                        f"{m['start_ts']:%Y-%m-%d %H:%M}",
                        f"{m['end_ts']:%Y-%m-%d %H:%M}" + ("" if m["confirmed"] else " (running)"),
                        fmt_price(m["from_price"]),
                        fmt_price(m["to_price"]),
                        fmt_pct(m["pct_change"]),
                        fmt_usd(m["long_liquidated"]),
                        fmt_usd(m["short_liquidated"]),
                    )
                    for m in mv[::-1]
                ],
            },
            "downloads": "moves",
        }

    def write_downloads(self, d: date, ctx: dict[str, Any]) -> None:
        rel = d.isoformat()
        tables = {
            "heatmap": queries.arrow(
                self.conn, queries.HEATMAP_DAY_EXPORT, symbol=self.symbol, day=d
            ),
            "liq_map": queries.arrow(self.conn, queries.LIQ_MAP_DAY, symbol=self.symbol, day=d),
            "scenarios": pa.Table.from_pylist(
                [self.metrics[d][k] for k in sorted(self.metrics[d], key=_scen_order)]
            ),
            "daily": pa.Table.from_pylist(
                [
                    {
                        k: r.get(k)
                        for k in (
                            "day",
                            "close_price",
                            "oi_value",
                            "oi_change_1d",
                            "funding_rate_last",
                            "funding_7d_mean",
                            "funding_state",
                            "longs_at_risk",
                            "shorts_at_risk",
                            "imbalance_ratio",
                        )
                    }
                    for r in self.daily_rows(d)
                ]
            ),
        }
        mv = self.day_moves(d)
        if mv:
            tables["moves"] = pa.Table.from_pylist(mv)
        for name, table in tables.items():
            csv_bytes, pq_bytes = _table_bytes(table)
            self.writer.write(f"{rel}/{name}.csv", csv_bytes)
            self.writer.write(f"{rel}/{name}.parquet", pq_bytes)
        ctx["download_names"] = sorted(tables)

    def render_day(self, d: date, ctx: dict[str, Any], root: str, day_dir: str) -> str:
        prev, nxt = self.neighbours(d)
        page = self.common(root, f"{self.symbol} liquidation report {d.isoformat()}")
        page.update(
            ctx,
            day_dir=day_dir,
            prev_day=prev.isoformat() if prev else None,
            next_day=nxt.isoformat() if nxt else None,
            is_index=root == "",
        )
        return self.env.get_template("day.html.j2").render(page)

    # ------------------------------------------------------------ shared pages

    def archive(self) -> str:
        months: dict[str, list[dict[str, Any]]] = {}
        for d in sorted(self.published, reverse=True):
            cur = self.metrics[d]["base"]
            months.setdefault(d.strftime("%B %Y"), []).append(
                {
                    "iso": d.isoformat(),
                    "label": d.strftime("%a %d %b"),
                    "ratio": headline.ratio_text(cur),
                    "close": fmt_price(cur.get("close_price")),
                    "shorts": fmt_usd(cur.get("shorts_at_risk")),
                    "longs": fmt_usd(cur.get("longs_at_risk")),
                }
            )
        page = self.common("../", f"{self.symbol} report archive")
        page["months"] = list(months.items())
        return self.env.get_template("archive.html.j2").render(page)

    def methodology(self) -> str:
        md_path = self.methodology_md
        if md_path is not None and Path(md_path).is_file():
            body = markdown.markdown(
                Path(md_path).read_text(encoding="utf-8"),
                extensions=["tables", "fenced_code", "toc", "sane_lists"],
                output_format="html",
            )
            missing = False
        else:
            body = ""
            missing = True
        page = self.common("../", "Methodology")
        page.update(body=body, missing=missing)
        return self.env.get_template("methodology.html.j2").render(page)

    def feed(self) -> bytes:
        ns = "http://www.w3.org/2005/Atom"
        ET.register_namespace("", ns)

        def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str):
            el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
            if text is not None:
                el.text = text
            return el

        feed = ET.Element(f"{{{ns}}}feed")
        sub(feed, "title", f"liqmap: {self.symbol} liquidation report")
        sub(feed, "subtitle", "Daily model estimates of leveraged positions at risk.")
        sub(feed, "id", f"urn:liqmap:{self.symbol}:feed")
        sub(feed, "updated", _iso_z(self.generated_at))
        sub(feed, "link", href="feed.xml", rel="self", type="application/atom+xml")
        sub(feed, "link", href="index.html", rel="alternate", type="text/html")
        author = sub(feed, "author")
        sub(author, "name", "liqmap")
        for d in sorted(self.published, reverse=True):
            scen = self.metrics[d]
            cur = scen["base"]
            side = headline.side_of(cur)
            ratio = headline.fmt_ratio(cur.get("shorts_at_risk"), cur.get("longs_at_risk"))
            if headline.one_sided(cur) or side == "none":
                title = f"{self.symbol} {d.isoformat()}: {headline.ratio_text(cur)}"
            else:
                title = (
                    f"{self.symbol} {d.isoformat()}: {ratio} "
                    + {
                        "short": "shorts over longs",
                        "long": "longs over shorts",
                        "balanced": "roughly balanced",
                    }[side]
                )
            entry = sub(feed, "entry")
            sub(entry, "title", title)
            sub(entry, "id", f"urn:liqmap:{self.symbol}:{d.isoformat()}")
            sub(entry, "updated", _iso_z(queries.day_end(d)))
            sub(
                entry, "link", href=f"{d.isoformat()}/index.html", rel="alternate", type="text/html"
            )
            sub(entry, "summary", headline.headline(cur, scen))
            items = [
                f"Shorts at risk: {fmt_usd(cur.get('shorts_at_risk'))}",
                f"Longs at risk: {fmt_usd(cur.get('longs_at_risk'))}",
                f"Imbalance: {ratio}",
                f"Max pain: {fmt_price(cur.get('max_pain_price'))} ({cur.get('max_pain_side')})",
                f"Close: {fmt_price(cur.get('close_price'))}",
                f"Funding: {cur.get('funding_state')} "
                f"(7-day mean {fmt_rate(cur.get('funding_7d_mean'))})",
                f"Open interest: {fmt_usd(cur.get('oi_value'))} "
                f"({fmt_pct(cur.get('oi_change_1d'))})",
            ]
            html = "<ul>" + "".join(f"<li>{html_escape(i)}</li>" for i in items) + "</ul>"
            sub(entry, "content", html, type="html")
        ET.indent(feed)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")

    def days_js(self) -> str:
        """assets/days.js: the published days, from which day pages upgrade their "next" link
        (a script, not JSON, so it also loads from file://)."""
        days = json.dumps([d.isoformat() for d in sorted(self.published)])
        return (
            "/* Published report days, rewritten by every build. */\n"
            + f"window.LIQMAP_DAYS = {days};\n"
        )

    def assets(self) -> None:
        bundle = self.out / "assets" / BUNDLE_NAME
        stamp_path = self.out / "assets" / BUNDLE_STAMP
        import vl_convert as vlc

        want_prefix = f"vl-convert {vlc.__version__};"
        have = stamp_path.read_text() if stamp_path.exists() else ""
        if not (bundle.exists() and have.startswith(want_prefix) and alt.__version__ in have):
            stamp, js = vega_bundle()
            self.writer.write_if_changed(f"assets/{BUNDLE_NAME}", js)
            self.writer.write_if_changed(f"assets/{BUNDLE_STAMP}", stamp)
        for f in sorted(STATIC.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                self.writer.write_if_changed(f"assets/{f.name}", f.read_bytes())


def _scen_order(key: str) -> tuple[int, str]:
    order = headline.SCENARIO_ORDER
    return (order.index(key) if key in order else len(order), key)


def build_site(
    conn: duckdb.DuckDBPyConnection,
    out_dir: Path,
    symbol: str,
    days: Sequence[date] | None = None,
    *,
    source: str,
    methodology_md: Path | None,
    generated_at: datetime | None = None,
) -> SiteBuildResult:
    """Render the report site from `mart.*` into `out_dir`.

    `days=None` renders every day in `mart.daily_metrics` (full rebuild); a list renders only
    those day pages (plus the latest day's page if it does not exist yet) and then the shared
    pages: index, archive, feed, methodology and assets. Raises ValueError for a requested day
    that has no base-scenario metrics.
    """
    out_dir = Path(out_dir)
    generated_at = generated_at or datetime.now(UTC)
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    remove_stale_temp_files(out_dir)
    b = _Build(conn, out_dir, symbol, source, methodology_md, generated_at)
    if not b.all_days:
        raise ValueError(f"mart.daily_metrics has no base rows for {symbol}")
    if days is None:
        render = list(b.all_days)
    else:
        missing = sorted(set(days) - set(b.all_days))
        if missing:
            raise ValueError(f"no mart.daily_metrics rows for {symbol} on {missing}")
        render = sorted(set(days))
        latest = b.all_days[-1]
        if latest not in render and not b.page_exists(latest):
            render.append(latest)
    b.published = set(render) | {d for d in b.all_days if b.page_exists(d)}
    b.assets()
    latest = b.all_days[-1]
    b.load_cube([*render, latest])
    latest_ctx: dict[str, Any] | None = None
    for d in render:
        ctx = b.day_context(d)
        b.write_downloads(d, ctx)
        b.writer.write(f"{d.isoformat()}/index.html", b.render_day(d, ctx, "../", ""), page=True)
        if d == latest:
            latest_ctx = ctx
    # after the pages it lists, so a crash never leaves a link to a page not yet written
    b.writer.write_if_changed(DAYS_JS, b.days_js())
    if latest_ctx is None:
        latest_ctx = b.day_context(latest)
        latest_ctx["download_names"] = _existing_downloads(out_dir / latest.isoformat())
    b.writer.write(
        "index.html", b.render_day(latest, latest_ctx, "", f"{latest.isoformat()}/"), page=True
    )
    b.writer.write("archive/index.html", b.archive(), page=True)
    b.writer.write("methodology/index.html", b.methodology(), page=True)
    b.writer.write("feed.xml", b.feed(), page=True)
    return SiteBuildResult(
        pages_written=b.writer.pages,
        out_dir=out_dir,
        days=sorted(render),
        bytes_total=b.writer.bytes_total,
    )


def remove_stale_temp_files(out_dir: Path) -> list[Path]:
    """Delete temp files a killed build left behind (`.<name>.<random>.tmp`)."""
    removed = []
    if Path(out_dir).is_dir():
        for p in Path(out_dir).rglob(f".*{TMP_SUFFIX}"):
            if p.is_file():
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                    removed.append(p)
    return removed


def _existing_downloads(day_dir: Path) -> list[str]:
    return sorted(p.stem for p in day_dir.glob("*.csv") if (day_dir / f"{p.stem}.parquet").exists())


def iter_site_files(out_dir: Path) -> Iterable[Path]:
    """Every published file (for size reports)."""
    return (p for p in Path(out_dir).rglob("*") if p.is_file() and not p.name.startswith("."))
