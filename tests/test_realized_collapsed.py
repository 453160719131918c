"""The realized card collapses to one line, "not collected", when no venue's stream was
received that day and none has been so far; a day with anything collected keeps the card."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2

from reports.cards.realized import NOT_COLLECTED, collapsed_line, realized_card
from reports.realized_data import RealizedDay

D = date(2026, 6, 10)
TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"


def _render(card) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True)
    return env.get_template("_realized.html.j2").render(realized=card)


def test_nothing_collected_is_one_line_that_says_not_collected() -> None:
    card = realized_card(RealizedDay([], [], [], []), [], "BTCUSDT", D)
    assert card.collapsed is not None
    assert card.collapsed.startswith(f"Realized liquidations: {NOT_COLLECTED} for BTCUSDT on")
    html = _render(card)
    body = html.split("</h2>", 1)[1]
    assert body.count("<p") == 1 and "<table" not in body and "<figure" not in body
    assert "No realized liquidations were recorded" not in html  # words that read as zero
    assert "$0" not in html


def test_a_collected_day_keeps_the_full_card() -> None:
    row = {
        "venue": "bybit", "collected": "complete", "coverage_share": 1.0, "events": 3,
        "completeness": "complete", "realized_long": 1.0e6, "realized_short": 2.0e5,
        "model": "base", "modelled_long": 3.0e6, "modelled_short": 1.0e6,
    }  # fmt: skip
    card = realized_card(RealizedDay([row], [], [], []), [], "BTCUSDT", D)
    assert card.collapsed is None
    html = _render(card)
    assert "<table" in html and 'data-venue="bybit"' in html
    # not collected today, but collected before: the calibration is still worth showing
    gone = {**row, "collected": NOT_COLLECTED, "events": None}
    calib = [{"days_used": 4, "days_partial": 0}]
    assert realized_card(RealizedDay([gone], [], [], []), [], "BTCUSDT", D).collapsed
    assert collapsed_line([gone], calib, "BTCUSDT", D) is None
