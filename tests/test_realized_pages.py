"""Realized liquidations on the day page's own charts: markers on the heatmap (24h and 1w),
realized per swing in the moves chart, and the aggregate's rows in mart.realized_moves.

The shared realized chain (tests/realized_chain.py, session fixture `realized_chain`): the
aggregate page ('all') sums both collecting venues per hour and side.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.realized_chain import (
    BINANCE_PRICE,
    BYBIT_PRICE,
    COMPLETE_DAYS,
    EVENTS,
    HOUR_MS,
    LAST,
    NOT_COLLECTED,
    PARTIAL,
)
from tests.site_data import html_specs
from tests.test_realized_marts import _page, _page_path, _query
from transforms.days import day_start_ms

pytestmark = pytest.mark.xdist_group("browser")


SIDE_NAMES = {"long": "Longs liquidated", "short": "Shorts liquidated"}
VENUE_NAMES = {"bybit": "Bybit", "binance": "Binance"}


def _spec(site: Path, html: str, element: str) -> dict:
    """A chart's whole spec, built from the page's day data file as the browser does."""
    return html_specs(site, html)[element]


def _rows_with(spec: dict, key: str) -> list[dict]:
    """The inline data rows (of any layer or dataset) that carry `key`."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            values = node.get("values")
            if isinstance(values, list) and values and isinstance(values[0], dict):
                found.extend(r for r in values if key in r)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def _markers(site: Path, html: str, window: str) -> list[dict]:
    return [r for r in _rows_with(_spec(site, html, f"heat-{window}"), "ptxt") if r["v"] > 0]


def _hand_markers(days: list[date]) -> dict[tuple[int, str], tuple[float, float, set[str]]]:
    """(marker x, side) -> (notional, quantity, venues) summed over both venues by hand."""
    out: dict[tuple[int, str], list] = defaultdict(lambda: [0.0, 0.0, set()])
    for d in days:
        for venue, events in EVENTS.get(d, {}).items():
            price = BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE
            for hour, side, qty in events:
                acc = out[(day_start_ms(d) + hour * HOUR_MS + HOUR_MS // 2, SIDE_NAMES[side])]
                acc[0] += qty * price
                acc[1] += qty
                acc[2].add(VENUE_NAMES[venue])
    return {k: (a, b, c) for k, (a, b, c) in out.items()}


def _assert_markers(markers: list[dict], expected: dict) -> None:
    assert sorted((m["x"], m["side"]) for m in markers) == sorted(expected)
    for m in markers:
        notional, quantity, venues = expected[(m["x"], m["side"])]
        assert m["v"] == pytest.approx(notional, rel=1e-5)
        assert m["p"] == pytest.approx(notional / quantity, rel=1e-6)
        assert m["venues"] == " + ".join(sorted(venues))


def test_24h_heatmap_marks_every_hour_summed_over_venues(realized_chain):
    day = COMPLETE_DAYS[1]
    html = _page(realized_chain.output_site_dir, day)
    markers = _markers(realized_chain.output_site_dir, html, "24h")
    expected = _hand_markers([day])
    assert any(len(v[2]) == 2 for v in expected.values())  # an hour with both venues
    _assert_markers(markers, expected)
    caption = html.split("data-realized-note>", 1)[1].split("<", 1)[0]
    assert "Bybit (complete) + Binance (throttled, a lower bound)" in caption
    assert "Not fully collected" not in caption


def test_1w_heatmap_marks_collected_days_and_bands_the_rest(realized_chain):
    html = _page(realized_chain.output_site_dir, LAST)
    spec = _spec(realized_chain.output_site_dir, html, "heat-1w")
    markers = _markers(realized_chain.output_site_dir, html, "1w")
    _assert_markers(markers, _hand_markers([LAST - timedelta(days=i) for i in range(7)]))
    # nothing drawn on the day nothing was collected; it is banded and named instead
    a, b = day_start_ms(NOT_COLLECTED), day_start_ms(NOT_COLLECTED + timedelta(days=1))
    assert not [m for m in markers if a <= m["x"] < b]
    gaps = [g for g in _rows_with(spec, "label") if "x2" in g and g["x2"] > g["x"]]

    def band_over(d: date) -> str | None:
        mid = day_start_ms(d) + 12 * HOUR_MS
        return next((g["label"] for g in gaps if g["x"] <= mid < g["x2"]), None)

    assert band_over(NOT_COLLECTED).endswith(": Bybit not collected, Binance not collected")
    assert band_over(PARTIAL) == f"Realized {PARTIAL:%d %b}: Binance partial (50% of the day)"
    assert [band_over(d) for d in COMPLETE_DAYS] == [None] * len(COMPLETE_DAYS)
    note = html.split('id="panel-heat-1w"', 1)[1].split("data-realized-note>", 1)[1]
    note = note.split("<", 1)[0]
    assert f"{NOT_COLLECTED:%d %b} (Bybit not collected, Binance not collected)" in note
    assert f"{PARTIAL:%d %b} (Binance partial (50% of the day))" in note


def test_no_markers_for_a_day_not_collected(realized_chain):
    html = _page(realized_chain.output_site_dir, NOT_COLLECTED)
    assert _markers(realized_chain.output_site_dir, html, "24h") == []
    note = html.split('id="panel-heat-24h"', 1)[1].split("data-realized-note>", 1)[1]
    assert "): not collected in this window, so no markers." in note.split("<", 1)[0]
    spec = _spec(realized_chain.output_site_dir, html, "heat-24h")
    (band,) = [g for g in _rows_with(spec, "label") if "x2" in g and g["x2"] > g["x"]]
    assert band["label"] == (
        f"Realized {NOT_COLLECTED:%d %b}: Bybit not collected, Binance not collected"
    )
    assert band["x2"] - band["x"] == 24 * HOUR_MS  # the whole window


def test_aggregate_realized_moves_sum_the_venues(realized_chain):
    rows = _query(
        realized_chain.warehouse_path,
        "SELECT a.start_ts, a.end_ts, a.collected, a.completeness, a.realized_long, "
        "a.realized_short, a.modelled_long, m.long_liquidated, a.modelled_short, "
        "m.short_liquidated FROM mart.realized_moves a JOIN mart.moves m "
        "ON m.venue = 'all' AND m.symbol = a.symbol AND m.start_ts = a.start_ts "
        "WHERE a.venue = 'all' ORDER BY a.start_ts",
    )
    n_moves = _query(
        realized_chain.warehouse_path, "SELECT count(*) FROM mart.moves WHERE venue='all'"
    )
    assert len(rows) == n_moves[0][0] > 0
    seen = 0
    for start, end, collected, completeness, rl, rs, ml, model_l, ms, model_s in rows:
        assert completeness == "throttled"  # binance's part is a lower bound
        assert (ml, ms) == (model_l, model_s)  # the aggregate's modelled
        lo_ms, hi_ms = _ms(start) + 300_000, _ms(end) + 300_000  # bars (start, end]
        inside = [
            (side, qty * (BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE))
            for d, venues in EVENTS.items()
            for venue, events in venues.items()
            for i, (hour, side, qty) in enumerate(events)
            if lo_ms <= day_start_ms(d) + hour * HOUR_MS + 1_000 + i < hi_ms
        ]
        if collected == "not collected":
            assert (rl, rs) == (None, None) and not inside
            continue
        seen += len(inside)
        assert rl == pytest.approx(sum(v for s, v in inside if s == "long"))
        assert rs == pytest.approx(sum(v for s, v in inside if s == "short"))
    assert seen > 0


def _ms(ts: datetime) -> int:
    """A naive UTC timestamp as epoch milliseconds."""
    return int((np.datetime64(ts, "ms") - np.datetime64(0, "ms")).astype(int))


def test_moves_chart_carries_realized_per_swing(realized_chain):
    html = _page(realized_chain.output_site_dir, LAST)
    rows = _rows_with(_spec(realized_chain.output_site_dir, html, "moves"), "kind")
    realized = {
        f"{start:%Y-%m-%d %H:%M}": (collected, rl, rs)
        for start, collected, rl, rs in _query(
            realized_chain.warehouse_path,
            "SELECT start_ts, collected, realized_long, realized_short FROM mart.realized_moves "
            "WHERE venue = 'all'",
        )
    }
    swings = {r["start"] for r in rows}
    assert swings and swings <= set(realized)
    kinds = {(r["start"], r["series"]): r for r in rows}
    collected_somewhere = 0
    for start in swings:
        collected, rl, rs = realized[start]
        label = next(r["label"] for r in rows if r["start"] == start)
        assert (start, "Modelled longs") in kinds and (start, "Modelled shorts") in kinds
        if collected == "not collected":
            assert (start, "Realized longs") not in kinds and "(not collected)" in label
            continue
        collected_somewhere += 1
        assert kinds[(start, "Realized longs")]["v"] == pytest.approx(rl, rel=1e-3, abs=1e-9)
        assert kinds[(start, "Realized shorts")]["v"] == pytest.approx(rs, rel=1e-3, abs=1e-9)
        assert kinds[(start, "Realized longs")]["collected"] == collected
        assert (collected == "complete") == ("(" not in label.replace("(running)", ""))
    assert collected_somewhere > 0
    assert "Realized longs" in html.split('id="h-moves"', 1)[1].split("</table>", 1)[0]


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Debian chromium")
def test_hovering_a_marker_names_venues_side_and_notional(realized_chain, browser):
    """The 24h heatmap with markers draws cleanly; a marker's tooltip reads its hour."""
    import functools
    import http.server
    import threading

    from tests.test_site_browser import Visit, _Quiet

    day = COMPLETE_DAYS[1]
    page = _page_path(realized_chain.output_site_dir, day)
    handler = functools.partial(_Quiet, directory=str(realized_chain.output_site_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    path = page.relative_to(realized_chain.output_site_dir).as_posix()
    biggest = max(
        _markers(realized_chain.output_site_dir, page.read_text(), "24h"), key=lambda m: m["v"]
    )
    try:
        v = Visit(browser, f"http://127.0.0.1:{httpd.server_address[1]}/{path}")
        v.check_clean()
        pt = v.page.evaluate(
            """(m) => {
              const view = window.__chartViews['heat-24h'];
              view.container().scrollIntoView({block: 'center'});
              const box = view.container().querySelector('canvas').getBoundingClientRect();
              const [ox, oy] = view.origin();
              const pad = view.padding();
              return {x: box.left + pad.left + ox + view.scale('x')(m.x),
                      y: box.top + pad.top + oy + view.scale('y')(m.p)};
            }""",
            biggest,
        )
        v.page.mouse.move(pt["x"] - 3, pt["y"])
        v.page.mouse.move(pt["x"], pt["y"])
        tip = v.page.locator("#vg-tooltip-element")
        tip.wait_for(state="visible", timeout=5_000)
        text = tip.inner_text()
        assert biggest["vtxt"] in text and biggest["venues"] in text, text
        assert biggest["side"] in text and biggest["when"] in text, text
        v.check_clean()
        v.close()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_bybit_is_calibrated_against_its_own_model(realized_chain, tmp_path):
    """With Bybit modelled too (LIQMAP_VENUES=binance,bybit), its realized days, swings and
    calibration use Bybit's own model rows, and the card shows both venues' calibration
    with their source's completeness."""
    import shutil

    import duckdb

    from reports.cards.realized import realized_card
    from reports.notation import fmt_times
    from reports.realized_data import load_realized_day
    from transforms.marts.realized import update_realized_marts

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(realized_chain.warehouse_path, path)
    conn = duckdb.connect(str(path))
    try:
        # Bybit's model: Binance's rows with other figures (longs halved, shorts doubled)
        conn.execute(
            "INSERT INTO mart.daily_metrics SELECT * REPLACE ('bybit' AS venue, "
            "liquidated_long_24h / 2 AS liquidated_long_24h, "
            "liquidated_short_24h * 2 AS liquidated_short_24h) "
            "FROM mart.daily_metrics WHERE venue = 'binance'"
        )
        conn.execute(
            "INSERT INTO mart.moves SELECT * REPLACE ('bybit' AS venue, "
            "long_liquidated / 2 AS long_liquidated) FROM mart.moves WHERE venue = 'binance'"
        )
        first = min(EVENTS) - timedelta(days=1)
        update_realized_marts(
            conn, ("BTCUSDT",), first, LAST + timedelta(days=1), model_venues=("binance", "bybit")
        )
        model = {
            d: (lo, sh)
            for d, lo, sh in conn.execute(
                "SELECT day, liquidated_long_24h, liquidated_short_24h FROM mart.daily_metrics "
                "WHERE scenario = 'base' AND venue = 'bybit'"
            ).fetchall()
        }
        daily = conn.execute(
            "SELECT day, collected, model, modelled_long, modelled_short FROM "
            "mart.realized_daily WHERE venue = 'bybit' ORDER BY day"
        ).fetchall()
        assert daily and all(m == "base" for _, _, m, _, _ in daily)
        assert all((ml, ms) == model[d] for d, _, _, ml, ms in daily)
        used = [d for d, c, *_ in daily if c == "complete"]
        assert used == sorted(EVENTS)  # Bybit was fully received on every collected day

        (calib,) = conn.execute(
            "SELECT model, completeness, days_used, modelled_total, realized_total, "
            "modelled_per_realized FROM mart.realized_calibration "
            "WHERE venue = 'bybit' AND as_of = ?",
            [LAST],
        ).fetchall()
        realized = sum(qty * BYBIT_PRICE for d in used for _, _, qty in EVENTS[d]["bybit"])
        modelled = sum(sum(model[d]) for d in used)
        assert calib[:3] == ("base", "complete", len(used))
        assert calib[3:] == pytest.approx((modelled, realized, modelled / realized))

        moves = conn.execute(
            "SELECT r.modelled_long, m.long_liquidated FROM mart.realized_moves r "
            "JOIN mart.moves m ON m.venue = 'bybit' AND m.start_ts = r.start_ts "
            "WHERE r.venue = 'bybit'"
        ).fetchall()
        assert moves and all(a == b for a, b in moves)  # Bybit's own swings and model

        card = realized_card(load_realized_day(conn, "BTCUSDT", LAST, []), [], "BTCUSDT", LAST)
    finally:
        conn.close()
    rows = {c.venue: c for c in card.calibration}
    assert rows["Bybit"].modelled_per_realized == fmt_times(modelled / realized)
    assert rows["Bybit"].source.startswith("complete stream")
    assert "lower bound" in rows["Binance"].source and rows["Binance"].modelled_per_realized
    assert "The model runs on Binance and Bybit data" in card.intro


def test_a_venue_page_marks_and_compares_that_venue_only(realized_chain):
    """A per-venue page (MartData.venue = 'binance'): markers and swings carry Binance's
    realized alone, from its own rows."""
    import duckdb

    from reports.cards.moves import moves_chart_rows, realized_by_start
    from reports.realized_data import load_realized_day, load_realized_span
    from reports.realized_marks import heat_marks

    day = COMPLETE_DAYS[1]
    conn = duckdb.connect(str(realized_chain.warehouse_path), read_only=True)
    try:
        span = load_realized_span(conn, "BTCUSDT", day, day)
        moves = [
            dict(zip(("start_ts", "confirmed", "pct_change", "from_price", "to_price",
                      "long_liquidated", "short_liquidated", "day", "confirmed_ts"), r,
                     strict=True))
            for r in conn.execute(
                "SELECT start_ts, confirmed, pct_change, from_price, to_price, "
                "long_liquidated, short_liquidated, day, confirmed_ts FROM mart.moves "
                "WHERE venue = 'binance' "
                "ORDER BY start_ts"
            ).fetchall()
        ]  # fmt: skip
        realized_day = load_realized_day(conn, "BTCUSDT", day, [m["start_ts"] for m in moves])
    finally:
        conn.close()
    marks = heat_marks(span, "binance", day_start_ms(day), day_start_ms(day) + 24 * HOUR_MS)
    binance_only = defaultdict(lambda: [0.0, 0.0, {"Binance"}])
    for hour, side, qty in EVENTS[day]["binance"]:
        acc = binance_only[(day_start_ms(day) + hour * HOUR_MS + HOUR_MS // 2, SIDE_NAMES[side])]
        acc[0] += qty * BINANCE_PRICE
        acc[1] += qty
    expected = {k: tuple(v) for k, v in binance_only.items()}
    _assert_markers(marks.points, expected)
    assert "Binance (throttled, a lower bound)" in marks.note and "Bybit" not in marks.note

    by_start = realized_by_start(realized_day.moves, "binance")
    assert by_start and all(r["venue"] == "binance" for r in by_start.values())
    rows = moves_chart_rows(moves, by_start)
    for r in rows:
        if r["kind"] == "Realized":
            want = by_start[moves[r["order"]]["start_ts"]]
            key = "realized_long" if r["side"] == "Longs liquidated" else "realized_short"
            assert r["v"] == pytest.approx(want[key], rel=1e-3, abs=1e-9)
