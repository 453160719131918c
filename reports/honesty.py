"""What the page says beside modelled figures: the measured over-statement of modelled
liquidations, why the realized yardstick is itself low, the warm-up and synthetic notices.

The measured factor is the calibration's Binance-scaled base run (benchmarks/calibration.py,
docs/methodology.md "How the model compares with realized liquidations");
tests/test_methodology_figures.py fails when these constants drift from that run.
"""

from __future__ import annotations

from dataclasses import dataclass

# Binance-scaled base run: modelled ÷ CoinGlass's Binance realized liquidations, both sides.
MEASURED_FACTOR = 4
CALIBRATION_WINDOW = ("2025-10-07", "2026-04-03")


@dataclass(frozen=True)
class Caveat:
    short: str  # one line beside a figure
    long: str  # the explanation (a tooltip / footnote)


LIQUIDATED_CAVEAT = Caveat(
    short=(
        f"Modelled, not reported: ≈{MEASURED_FACTOR}× CoinGlass's Binance totals "
        "(which themselves under-count)"
    ),
    long=(
        f"Measured from {CALIBRATION_WINDOW[0]} to {CALIBRATION_WINDOW[1]}, the model's "
        f"liquidated dollars were about {MEASURED_FACTOR}× the liquidations CoinGlass reports "
        "for Binance. Those totals come from Binance's public liquidation stream, which pushes "
        "at most one order per symbol per second, so they under-count by an unknown factor: "
        "the true over-statement is smaller than the measured one. Read the dollars as "
        "relative sizes, not as exchange-reported liquidations."
    ),
)

AT_RISK_CAVEAT = Caveat(
    short="Modelled positions, not exchange-reported ones",
    long=(
        "At-risk totals are the model's estimate of open positions by liquidation price. "
        f"Its liquidated dollars run ≈{MEASURED_FACTOR}× reported Binance liquidations "
        "(see the methodology), so compare levels and sides rather than absolute sizes."
    ),
)

SYNTHETIC_MARKER = "SYNTHETIC DATA"


def synthetic_note(source: str | None) -> str | None:
    """The notice every page, feed entry and download carries when the data is synthetic."""
    if source == "synthetic":
        return f"{SYNTHETIC_MARKER}: generated demo market, not real exchange data"
    return None


def warmup_note(history_days: int | None, lookback_days: int) -> str | None:
    """The banner for a day whose model has seen less history than its lookback."""
    if history_days is None or history_days >= lookback_days:
        return None
    return (
        f"The model has seen {history_days} of {lookback_days} days of history. "
        "Positions opened before its first day are invisible, so totals and levels are "
        "incomplete."
    )
