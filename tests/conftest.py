"""Shared fixtures: where the genuine market files live (optional) and temp settings; and
the xdist grouping of tests that share a build (see docs/testing.md)."""

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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` on pytest 9.2: put the `xdist_group` name back into the node id.

    pytest-xdist 3.8 writes the group into the legacy `item._nodeid`, which pytest 9.2's
    structured node ids no longer read, so every group was silently scattered across the
    workers (pytest-dev/pytest-xdist#1386). This does what xdist means to do, on the worker,
    and nothing when xdist already did it (or when not running under `--dist loadgroup`).
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # an older pytest: xdist's own suffix works there
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)  # type: ignore[attr-defined]
