"""docs/methodology.md agrees with the code of the day: every figure comes from
scripts/methodology_figures.py. The genuine-data sections are checked when the data folder
is present (LIQMAP_REAL_DATA or ../shared/data/real) and skipped cleanly otherwise."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from reports import honesty
from tests.conftest import REAL_DATA_DIR, REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "methodology_figures", REPO_ROOT / "scripts" / "methodology_figures.py"
)
figures = importlib.util.module_from_spec(_spec)
sys.modules["methodology_figures"] = figures  # dataclasses look their module up there
_spec.loader.exec_module(figures)

STALE = "docs/methodology.md is stale; run scripts/methodology_figures.py --write\n"
DOC = (REPO_ROOT / "docs" / "methodology.md").read_text()


@pytest.fixture(scope="module")
def real():
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real market data not present at {REAL_DATA_DIR}")
    return figures.real_figures(REAL_DATA_DIR)


def test_doc_outside_the_genuine_data_sections_is_generated() -> None:
    diff = figures.stale_parts(DOC, figures.render(None), compare_real=False)
    assert not diff, STALE + "\n".join(diff[:40])


def test_genuine_data_sections_are_generated(real) -> None:
    diff = figures.stale_parts(DOC, figures.render(real), compare_real=True)
    assert not diff, STALE + "\n".join(diff[:40])


def test_a_hand_edited_figure_is_caught() -> None:
    edited = DOC.replace("99,397.59", "99,400.00", 1)
    assert edited != DOC
    assert figures.stale_parts(edited, figures.render(None), compare_real=False)


def test_page_caveat_quotes_the_measured_factor(real) -> None:
    s = real.cal.runs[("binance", "base")].stats
    assert round((s["long_ratio"] + s["short_ratio"]) / 2) == honesty.MEASURED_FACTOR
    days = real.cal.runs[("binance", "base")].days.index
    assert (f"{days.min():%Y-%m-%d}", f"{days.max():%Y-%m-%d}") == honesty.CALIBRATION_WINDOW


def test_no_references_readers_cannot_follow() -> None:
    assert not re.search(r"design\s*§|DESIGN\.md|research/", DOC, re.I)
