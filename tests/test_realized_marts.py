"""Realized beside modelled: the real Dagster chain over a few synthetic days, with hourly
files written by the collector's own writer for some of them, then the built site
(tests/realized_chain.py, shared as the session fixture `realized_chain`).

Days: 11-02 not collected; 11-03..11-05 fully collected on both venues; 11-06 fully on
Bybit, half a day on Binance (partial: labelled, excluded from the calibration).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from reports.notation import fmt_usd
from tests.realized_chain import (
    BINANCE_PRICE,
    BYBIT_PRICE,
    COMPLETE_DAYS,
    EVENTS,
    FIRST,
    HOUR_MS,
    LAST,
    NOT_COLLECTED,
    PARTIAL,
)
from transforms.days import day_start_ms

pytestmark = pytest.mark.xdist_group("browser")


def _sums(venue: str, d: date) -> tuple[float, float]:
    price = BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE
    events = EVENTS[d][venue]
    return (
        sum(q * price for _, s, q in events if s == "long"),
        sum(q * price for _, s, q in events if s == "short"),
    )


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def test_daily_rows_equal_hand_sums_and_label_collection(realized_chain):
    rows = _query(
        realized_chain.warehouse_path,
        "SELECT venue, day, collected, coverage_share, completeness, events, realized_long, "
        "realized_short, model, modelled_long, modelled_short FROM mart.realized_daily "
        "ORDER BY venue, day",
    )
    model = dict(
        ((d, (lo, sh)) for d, lo, sh in _query(
            realized_chain.warehouse_path,
            "SELECT day, liquidated_long_24h, liquidated_short_24h FROM mart.daily_metrics "
            "WHERE scenario = 'base' AND venue = 'binance'",
        ))
    )  # fmt: skip
    assert len(rows) == 2 * 5  # every venue and day of the window, collected or not
    for venue, d, collected, share, completeness, events, rl, rs, mdl, ml, ms in rows:
        assert completeness == ("complete" if venue == "bybit" else "throttled")
        if d == NOT_COLLECTED:
            assert (collected, share, events, rl, rs) == ("not collected", 0.0, None, None, None)
        elif d == PARTIAL and venue == "binance":
            assert (collected, share) == ("partial", 0.5)
        else:
            assert (collected, share) == ("complete", 1.0)
        if d != NOT_COLLECTED:
            assert events == len(EVENTS[d][venue])
            assert (rl, rs) == pytest.approx(_sums(venue, d))
        if venue == "binance":
            assert mdl == "base" and (ml, ms) == model[d]
        else:
            assert (mdl, ml, ms) == ("no model for this venue", None, None)


def test_hourly_rows_and_moves_sum_the_events(realized_chain):
    hourly = _query(
        realized_chain.warehouse_path,
        "SELECT venue, day, hour(ts), events, realized_long, realized_short, price_long, "
        "price_short FROM mart.realized_hourly ORDER BY ALL",
    )
    expected = {}
    for d, venues in EVENTS.items():
        for venue, events in venues.items():
            price = BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE
            for hour, side, qty in events:
                n, lo, sh = expected.get((venue, d, hour), (0, 0.0, 0.0))
                lo += qty * price if side == "long" else 0.0
                sh += qty * price if side == "short" else 0.0
                expected[(venue, d, hour)] = (n + 1, lo, sh)
    assert [r[:3] for r in hourly] == sorted(expected)
    for venue, d, hour, n, lo, sh, price_lo, price_sh in hourly:
        assert (n, lo, sh) == pytest.approx(expected[(venue, d, hour)])
        price = BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE  # one price per venue
        assert price_lo == (pytest.approx(price) if lo else None)
        assert price_sh == (pytest.approx(price) if sh else None)

    moves = _query(
        realized_chain.warehouse_path,
        "SELECT r.venue, r.start_ts, r.end_ts, r.collected, r.realized_long, r.realized_short,"
        " r.modelled_long, m.long_liquidated FROM mart.realized_moves r JOIN mart.moves m "
        "USING (symbol, day, start_ts) WHERE m.venue = 'binance' AND r.venue != 'all'",
    )
    # binance is modelled (its own swings); bybit is not, so it is measured on the
    # aggregate's swings, which with one venue are binance's
    n_moves = _query(
        realized_chain.warehouse_path, "SELECT count(*) FROM mart.moves WHERE venue = 'binance'"
    )[0][0]
    assert n_moves > 0 and len(moves) == 2 * n_moves
    seen = 0
    for venue, start_ts, end_ts, collected, rl, rs, ml, model_long in moves:
        price = BYBIT_PRICE if venue == "bybit" else BINANCE_PRICE
        lo_ms = int((np.datetime64(start_ts, "ms") - np.datetime64(0, "ms")).astype(int))
        hi_ms = int((np.datetime64(end_ts, "ms") - np.datetime64(0, "ms")).astype(int))
        lo_ms, hi_ms = lo_ms + 300_000, hi_ms + 300_000  # bars (start, end]
        inside = [
            (side, qty)
            for d, venues in EVENTS.items()
            for i, (hour, side, qty) in enumerate(venues[venue])
            if lo_ms <= day_start_ms(d) + hour * HOUR_MS + 1_000 + i < hi_ms
        ]
        if collected == "not collected":
            assert (rl, rs) == (None, None) and not inside
            continue
        seen += len(inside)
        assert rl == pytest.approx(sum(q * price for s, q in inside if s == "long"))
        assert rs == pytest.approx(sum(q * price for s, q in inside if s == "short"))
        assert ml == (model_long if venue == "binance" else None)
    assert seen > 0  # some swings do contain collected events


def test_calibration_uses_complete_days_only_and_matches_numpy(realized_chain):
    (row,) = _query(
        realized_chain.warehouse_path,
        "SELECT days_used, days_partial, days_not_collected, first_day, last_day, "
        "realized_total, modelled_total, modelled_per_realized, pearson, spearman, "
        "side_agreement, completeness FROM mart.realized_calibration "
        "WHERE venue = 'binance' AND as_of = ?",
        [LAST],
    )
    model = {
        d: (lo, sh)
        for d, lo, sh in _query(
            realized_chain.warehouse_path,
            "SELECT day, liquidated_long_24h, liquidated_short_24h FROM mart.daily_metrics "
            "WHERE scenario = 'base' AND venue = 'binance'",
        )
    }
    realized = np.array([sum(_sums("binance", d)) for d in COMPLETE_DAYS])
    modelled = np.array([sum(model[d]) for d in COMPLETE_DAYS])
    rank = lambda a: np.argsort(np.argsort(a))  # noqa: E731 (distinct values: no ties)
    agree = np.mean(
        [
            np.sign(model[d][0] - model[d][1])
            == np.sign(_sums("binance", d)[0] - _sums("binance", d)[1])
            for d in COMPLETE_DAYS
        ]
    )
    assert row[:5] == (3, 1, 1, COMPLETE_DAYS[0], COMPLETE_DAYS[-1])
    assert row[5] == pytest.approx(realized.sum())
    assert row[6] == pytest.approx(modelled.sum())
    assert row[7] == pytest.approx(modelled.sum() / realized.sum())
    assert row[8] == pytest.approx(np.corrcoef(modelled, realized)[0, 1])
    assert row[9] == pytest.approx(np.corrcoef(rank(modelled), rank(realized))[0, 1])
    assert row[10] == pytest.approx(agree)
    assert row[11] == "throttled"

    bybit = _query(
        realized_chain.warehouse_path,
        "SELECT as_of, days_used, days_not_collected, realized_total, modelled_per_realized, "
        "model FROM mart.realized_calibration WHERE venue = 'bybit' ORDER BY as_of",
    )
    assert [r[0] for r in bybit] == [FIRST + timedelta(days=i) for i in range(5)]
    assert bybit[0][1:4] == (0, 1, None)  # as of the uncollected first day: nothing used
    assert bybit[-1][1:3] == (4, 1)
    assert bybit[-1][3] == pytest.approx(sum(sum(_sums("bybit", d)) for d in EVENTS))
    assert bybit[-1][4:] == (None, "no model for this venue")


def _page_path(site_dir: Path, d: date) -> Path:
    """The day's page: <site>/<day>/ or, with per-symbol paths, <site>/BTCUSDT/<day>/."""
    pages = sorted(site_dir.glob(f"**/{d.isoformat()}/index.html"))
    assert pages, f"no page for {d} under {site_dir}"
    return next((p for p in pages if "BTCUSDT" in p.parts), pages[0])


def _page(site_dir: Path, d: date) -> str:
    return _page_path(site_dir, d).read_text()


def _cell(html: str, venue: str, field: str) -> str:
    row = html.split(f'<tr data-venue="{venue}">', 1)[1]
    row = re.split(r"<tr|</t|\n", row, maxsplit=1)[0]  # end tags omitted (_table.html.j2)
    return row.split(f'data-field="{field}">', 1)[1].split("<", 1)[0]


def test_day_pages_show_realized_beside_modelled(realized_chain):
    site = realized_chain.output_site_dir
    # no venue collected that day and none before it: the card is one line naming each
    # venue not collected (reports.cards.realized.collapsed_line), no table of zeros
    missing = _page(site, NOT_COLLECTED)
    assert 'id="h-realized"' in missing
    card = missing.split('id="realized-card"', 1)[1].split("</section>", 1)[0]
    assert card.startswith(" data-collapsed>")
    line = card.split('<p data-field="collected">', 1)[1].split("</p>", 1)[0]
    assert line.startswith(f"Realized liquidations: not collected for BTCUSDT on {NOT_COLLECTED} (")
    assert set(line.split("(", 1)[1].rstrip(").").split(", ")) == {"Binance", "Bybit"}
    assert "<tr data-venue=" not in card and "$0" not in card

    partial = _page(site, PARTIAL)
    assert _cell(partial, "binance", "collected") == "partial (50% of the day)"
    assert _cell(partial, "bybit", "collected") == "complete"

    day = COMPLETE_DAYS[1]
    page = _page(site, day)
    for venue in ("bybit", "binance"):
        longs, shorts = _sums(venue, day)
        assert _cell(page, venue, "realized-long") == fmt_usd(longs)
        assert _cell(page, venue, "realized-short") == fmt_usd(shorts)
    assert _cell(page, "bybit", "modelled-long") == "no model for this venue"
    assert 'class="chart" id="realized-hourly"' in page
    assert 'class="chart" id="realized-totals"' in page
    assert "throttled stream" in page and "complete stream" in page

    last = _page(site, LAST)
    assert "3 fully collected (2025-11-03 to 2025-11-05); 1 partial (excluded)" in last


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Debian chromium")
def test_realized_charts_draw_in_chromium(realized_chain, browser):
    """The card's two charts draw, offline, without console errors or serious axe issues."""
    import functools
    import http.server
    import threading

    from tests.test_site_browser import Visit, _Quiet

    page = _page_path(realized_chain.output_site_dir, COMPLETE_DAYS[1])
    handler = functools.partial(_Quiet, directory=str(realized_chain.output_site_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    path = page.relative_to(realized_chain.output_site_dir).as_posix()
    try:
        v = Visit(browser, f"http://127.0.0.1:{httpd.server_address[1]}/{path}")
        v.check_clean()
        v.visible_charts_drawn()  # raises on an empty or blank chart
        for chart in ("realized-totals", "realized-hourly"):
            assert v.page.locator(f"#{chart} canvas").count() == 1
        assert [x for x in v.axe_serious() if "realized" in x] == []
        v.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
