"""The realized-liquidations chain the realized tests share (tests/conftest.py's
`realized_chain`): hourly files written by the collector's own writer for some days, then the
real Dagster chain over a few synthetic days, and a re-run of one day.

Days: 11-02 not collected; 11-03..11-05 fully collected on both venues; 11-06 fully on
Bybit, half a day on Binance (partial: labelled, excluded from the calibration).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.pipeline_helpers import run_chain, temp_settings
from tests.realized_helpers import binance_message, bybit_push
from tests.test_realized_load import _write_hour
from transforms.config import Settings
from transforms.days import DAY_MS, day_start_ms
from transforms.raw.realized.coverage import CoverageLog

FIRST, LAST = date(2025, 11, 2), date(2025, 11, 6)
NOT_COLLECTED, PARTIAL = date(2025, 11, 2), date(2025, 11, 6)
COMPLETE_DAYS = [date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)]
BYBIT_PRICE, BINANCE_PRICE = 91000.5, 90612.3  # fixture prices (bybit p, binance ap)
HOUR_MS = 3_600_000

# per collected day: (hour, side liquidated, quantity) for each venue, different every day
EVENTS = {
    date(2025, 11, 3): {"bybit": [(1, "long", 0.5), (1, "short", 0.2), (13, "long", 1.0)],
                        "binance": [(2, "long", 0.004), (9, "short", 0.002)]},
    date(2025, 11, 4): {"bybit": [(5, "short", 2.0), (22, "long", 0.1)],
                        "binance": [(5, "short", 0.009), (6, "short", 0.001), (7, "long", 0.003)]},
    date(2025, 11, 5): {"bybit": [(0, "long", 0.3)],
                        "binance": [(3, "long", 0.010), (4, "short", 0.001)]},
    date(2025, 11, 6): {"bybit": [(10, "short", 0.7)],
                        "binance": [(1, "long", 0.005), (2, "short", 0.006)]},
}  # fmt: skip


def _bybit(ts: int, side: str, qty: float) -> dict:
    push = bybit_push([{"T": ts, "s": "BTCUSDT", "S": "Buy" if side == "long" else "Sell",
                        "v": f"{qty}", "p": f"{BYBIT_PRICE}"}])  # fmt: skip
    return push


def _binance(i: int, ts: int, side: str, qty: float) -> dict:
    msg = binance_message(i, side="SELL" if side == "long" else "BUY")
    msg["o"].update(T=ts, q=f"{qty}", l=f"{qty}", z=f"{qty}")
    return msg


def _collect(data_dir: Path) -> None:
    """Hourly files and coverage marks as `liqmap collect` leaves them."""
    root = data_dir / "realized"
    for d, venues in EVENTS.items():
        start = day_start_ms(d)
        for venue, events in venues.items():
            for i, (hour, side, qty) in enumerate(events):
                ts = start + hour * HOUR_MS + 1_000 + i
                msg = _bybit(ts, side, qty) if venue == "bybit" else _binance(i, ts, side, qty)
                _write_hour(root, venue, ts + 50, [msg])
            half = venue == "binance" and d == PARTIAL
            CoverageLog(root / venue).mark(start, start + (DAY_MS // 2 if half else DAY_MS))


#: a small zigzag threshold so that the few synthetic days have swings
MODEL = {"zigzag_pct": 0.005}


def build_realized_chain(tmp: Path) -> Settings:
    """The collected files, the Dagster chain over them and a re-run of one day: Settings."""
    settings = temp_settings(tmp, "2025-11-01", "2025-11-07")
    _collect(settings.data_dir)
    assert run_chain(settings, FIRST, LAST, model_config=MODEL).success
    again = run_chain(settings, PARTIAL, PARTIAL, model_config=MODEL)  # same rows again
    assert again.success
    return settings
