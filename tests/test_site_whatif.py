"""The level what-if of a day page: for three prices, the figure the page computes (from
the day data files, in headless Chromium from file://) equals SQL over mart.liq_map, for
each venue and the aggregate."""

from __future__ import annotations

import pytest

from tests.test_site_browser import CHROMIUM, Visit
from tests.test_site_venues import SYMBOL, built  # noqa: F401  (the two-venue site)

pytestmark = pytest.mark.xdist_group("browser")  # Chromium; the two-venue site

SQL = """
SELECT sum(CASE WHEN $price > spot_price THEN short_notional ELSE long_notional END)
FROM mart.liq_map
WHERE venue = $venue AND symbol = $symbol AND day = $day
  AND CASE WHEN $price > spot_price
           THEN (price_low + price_high) / 2 > spot_price
                AND (price_low + price_high) / 2 <= $price
           ELSE (price_low + price_high) / 2 < spot_price
                AND (price_low + price_high) / 2 >= $price END
"""


def test_the_aggregates_bands_are_its_venues_summed_exactly(built):  # noqa: F811
    """The aggregate's day file names the venues whose bands add up to its own (it does not
    repeat them); added up as the page adds them, they are exactly the aggregate's
    mart.liq_map bands, on a day with both venues and on one with Binance alone."""
    import duckdb

    from reports.datafiles import whatif_bands
    from tests.site_data import data_file

    out, _, wh = built

    def load(key: str) -> dict:
        return data_file(out, key)

    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        for d, venues in ((wh.second_venue_last, ["binance", "bybit"]), (wh.days[-1], None)):
            rows = conn.execute(
                "SELECT (price_low + price_high) / 2, long_notional, short_notional, "
                "spot_price FROM mart.liq_map WHERE venue = 'all' AND symbol = ? AND day = ? "
                "AND (long_notional > 0 OR short_notional > 0) ORDER BY price_low",
                [SYMBOL, d],
            ).fetchall()
            day = load(f"{SYMBOL}/all/day-{d.isoformat()}")
            assert day["whatif"].get("sum_of") == venues, d
            got = whatif_bands(day, load)
            assert got["mid"] == [r[0] for r in rows]
            assert got["l"] == [r[1] for r in rows] and got["s"] == [r[2] for r in rows]
            assert got["spot"] == rows[0][3]
    finally:
        conn.close()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin")
def test_what_if_equals_sql_over_the_map_for_three_prices(built, browser):  # noqa: F811
    import duckdb

    out, _, wh = built
    d = wh.second_venue_last
    conn = duckdb.connect(str(wh.path), read_only=True)
    try:
        (spot,) = conn.execute(
            "SELECT any_value(spot_price) FROM mart.liq_map "
            "WHERE venue = 'all' AND symbol = ? AND day = ?",
            [SYMBOL, d],
        ).fetchone()
        prices = [round(spot * 0.96, 2), round(spot * 1.05, 2), round(spot * 0.8, 2)]
        want = {
            (p, v): conn.execute(
                SQL, {"price": p, "venue": v, "symbol": SYMBOL, "day": d}
            ).fetchone()[0]
            or 0.0
            for p in prices
            for v in ("all", "binance", "bybit")
        }
    finally:
        conn.close()
    assert all(want[(p, "all")] > 0 for p in prices)
    v = Visit(browser, (out / SYMBOL / d.isoformat() / "index.html").as_uri())
    try:
        for i, p in enumerate(prices):
            if i == 0:  # typed in, as a reader would
                v.page.fill("#whatif-price", str(p))
                v.page.click("#whatif-form button[type=submit]")
            else:
                v.page.evaluate("(p) => window.liqWhatIf.show(p)", p)
            v.page.wait_for_function(
                "(p) => document.querySelector('[data-day-data]')"
                ".getAttribute('data-whatif-price') === String(p)",
                arg=p,
            )
            got = v.page.evaluate(
                "Object.fromEntries(Array.from(document.querySelectorAll("
                "'#whatif-table tbody tr')).map(tr => [tr.dataset.venue, "
                "parseFloat(tr.querySelector('[data-usd]').dataset.usd)]))"
            )
            assert set(got) == {"all", "binance", "bybit"}
            for venue, usd in got.items():
                assert usd == pytest.approx(want[(p, venue)], rel=1e-12), (p, venue)
        v.check_clean()
    finally:
        v.close()
