"""Shared fixtures: where the genuine market files live (optional) and temp settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The suite's fixtures were written for this fixed window (and the daily partitions are
# defined at import from LIQMAP_START_DATE). The product default, the year ending yesterday,
# is exercised explicitly in test_cli_user.py and test_present_demo.py.
os.environ.setdefault("LIQMAP_START_DATE", "2025-11-01")
os.environ.setdefault("LIQMAP_END_DATE", "2026-10-31")
# The demo builds three symbols; the suite builds BTCUSDT unless a test asks for more.
os.environ.setdefault("LIQMAP_SYMBOLS", "BTCUSDT")
# The demo builds Binance and Bybit; the suite builds Binance unless a test asks for both.
os.environ.setdefault("LIQMAP_VENUES", "binance")

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA_DIR = Path(os.environ.get("LIQMAP_REAL_DATA", REPO_ROOT.parent / "shared/data/real"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Genuine BTCUSDT files from ../shared/data/real; skip when this clone has none."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real market data not present at {REAL_DATA_DIR}")
    return REAL_DATA_DIR
