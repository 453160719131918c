"""Key levels on the page: both sides named, marks pinned to a chart's window with labels."""

from __future__ import annotations

import math

from reports.key_levels import level_marks, levels_sentence, levels_table, zone_band

ROW = {
    "close_price": 92_000.0,
    "nearest_cluster_above_price": 96_125.0,
    "nearest_cluster_above_notional": 1.2e9,
    "peak_cluster_above_price": 101_125.0,
    "peak_cluster_above_notional": 2.5e9,
    "p90_above_price": 118_000.0,
    "nearest_cluster_below_price": 88_375.0,
    "nearest_cluster_below_notional": 0.95e9,
    "peak_cluster_below_price": 84_125.0,
    "peak_cluster_below_notional": 1.1e9,
    "p90_below_price": 66_000.0,
    "zone_low": 86_550.0,
    "zone_high": 93_800.0,
}


def test_sentence_names_both_sides() -> None:
    s = levels_sentence(ROW)
    assert s == (
        "Nearest major clusters: shorts $96,100 (+4.5%, $1.2B), longs $88,400 (−3.9%, $950M). "
        "Major: at least 1% of open interest per 1% of price. "
        "90% of shorts lie below $118,000 (+28.3%); 90% of longs lie above $66,000 (−28.3%)."
    )


def test_sentence_states_the_rule_and_why_a_level_jumped() -> None:
    row = {
        **ROW,
        "major_cluster_min": 35.7e6,
        "nearest_cluster_above_move": "price",
        "nearest_cluster_below_move": "held",
    }
    s = levels_sentence(row)
    assert "Major: at least 1% of open interest per 1% of price, $35.7M per price bin" in s
    assert "shorts $96,100 (+4.5%, $1.2B; moved because price moved 5% or more" in s
    assert "longs $88,400 (−3.9%, $950M)." in s  # held: nothing to explain
    for move, words in (
        ("consumed", "price reached the previous cluster and consumed it"),
        ("closed", "the previous cluster shrank below 50% of the major size: closed or"),
    ):
        gone = {**row, "nearest_cluster_below_move": move, "nearest_cluster_below_price": None}
        assert f"no major longs ({words}" in levels_sentence(gone)


def test_sentence_with_an_empty_side() -> None:
    row = {**ROW, "nearest_cluster_below_price": math.nan, "p90_below_price": None}
    s = levels_sentence(row)
    assert "no major longs" in s and "shorts $96,100" in s and "of longs" not in s


def test_table_has_one_row_per_side() -> None:
    t = levels_table(ROW)
    assert [r.side for r in t] == ["Shorts (above)", "Longs (below)"]
    assert t[0].nearest == "$96,100 (+4.5%) · $1.2B"
    assert t[1].peak == "$84,100 (−8.6%) · $1.1B"
    assert t[1].p90 == "$66,000 (−28.3%)"


def test_marks_outside_the_window_are_pinned_to_its_edge() -> None:
    lo, hi = 92_000 * 0.75, 92_000 * 1.25
    marks = {(m["kind"], m["side"]): m for m in level_marks(ROW, lo, hi)}
    assert marks[("spot", "")]["label"] == "Now $92,000"
    assert marks[("nearest", "above")]["c"] == 96_125.0
    assert marks[("nearest", "above")]["label"] == "Nearest shorts $96,100 (+4.5%)"
    top = marks[("p90", "above")]
    assert top["c"] == round(hi, 2) and top["price"] == 118_000.0
    assert top["label"] == "↑ 90% shorts $118,000 (+28.3%)"
    bottom = marks[("p90", "below")]
    assert bottom["c"] == round(lo, 2) and bottom["label"].startswith("↓ 90% longs $66,000")
    # without a window every mark sits at its own price
    assert all(m["c"] == m["price"] for m in level_marks(ROW))


def test_zone_band() -> None:
    assert zone_band(ROW) == [{"lo": 86_550.0, "hi": 93_800.0, "label": "Zone $86,600–$93,800"}]
    assert zone_band({"zone_low": None, "zone_high": 1.0}) == []


def test_labels_stay_inside_the_window_and_apart() -> None:
    """Two levels a hair apart and one pinned at the top edge: every label lies inside the
    window, below its top (its text is drawn above its price), LABEL_GAP apart per column."""
    from reports.key_levels import LABEL_GAP

    row = {
        **ROW,
        "nearest_cluster_above_price": 92_300.0,  # right above spot
        "p90_above_price": 150_000.0,  # beyond the window: pinned at its top
        "nearest_cluster_below_price": 91_900.0,
    }
    lo, hi = 86_000.0, 100_000.0
    marks = level_marks(row, lo, hi)
    gap = (hi - lo) * LABEL_GAP
    right = sorted((m for m in marks if m["kind"] != "spot"), key=lambda m: -m["ly"])
    assert all(lo <= m["ly"] <= hi - gap + 1e-6 for m in marks)
    assert all(a["ly"] - b["ly"] >= gap - 1e-6 for a, b in zip(right, right[1:], strict=False))
    pinned = next(m for m in marks if m["kind"] == "p90" and m["side"] == "above")
    assert pinned["c"] == hi and pinned["ly"] < hi and pinned["label"].startswith("↑")
    # a label already clear of the others stays at its line
    lone = level_marks({"close_price": 92_000.0}, lo, hi)[0]
    assert lone["ly"] == lone["c"] == 92_000.0
