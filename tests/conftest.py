"""Shared fixtures: where the genuine market files live (optional); the expensive builds the
suite shares, made once per session (per xdist worker) and read-only; and the xdist grouping
of tests that share a build. Conventions: docs/testing.md.

Session builds (a test that changes one takes a private copy first):

- `fixture_site`: the 10-day fixture warehouse and its site (tests/site_fixtures.py)
- `binance_chain`: the synthetic market on Binance, 3 days through the real Dagster chain
  (tests/builds.py); `binance_chain.copy_to(tmp_path)` gives a private copy's Settings
- `two_venue_chain`: Binance and Bybit (the fake Bybit server) through the real chain, Bybit
  missing the last day (tests/venue_helpers.py)
- `two_venue_site`: the site built from `two_venue_chain` (its folder and the warehouse)
- `realized_chain`: collected realized liquidations plus the chain (tests/realized_chain.py)

`browser`: the `browser` group's one headless Chromium (tests/browser.py), open for every test
of the group and for no other.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

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
# The clock is the system's unless a test pins it (LIQMAP_NOW, per subprocess or monkeypatch).
os.environ.pop("LIQMAP_NOW", None)
# Where `make test` puts pytest's temporary folders (memory, docs/testing.md), the other
# temporary files go too, in this process and its subprocesses: Dagster's test instances
# (`dg.instance_for_test`, a SQLite event log committing every event), the archive loader's
# scratch folder, Chromium's profiles. On a disk each SQLite commit is an fsync.
if os.environ.get("PYTEST_DEBUG_TEMPROOT") and not os.environ.get("TMPDIR"):
    os.environ["TMPDIR"] = os.environ["PYTEST_DEBUG_TEMPROOT"]
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again

if TYPE_CHECKING:
    from tests.builds import ChainBuild, FixtureSite
    from tests.venue_helpers import TwoVenueWarehouse
    from transforms.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA_DIR = Path(os.environ.get("LIQMAP_REAL_DATA", REPO_ROOT.parent / "shared/data/real"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Genuine BTCUSDT files from ../shared/data/real; skip when this clone has none."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real market data not present at {REAL_DATA_DIR}")
    return REAL_DATA_DIR


@contextmanager
def _kept_unchanged(root: Path, name: str) -> Iterator[None]:
    """Fail the session's teardown if a test wrote into a shared build (it should have taken
    a private copy: tests/builds.py copy_tree / ChainBuild.copy_to)."""
    from tests.builds import changed_files, digest_tree

    before = digest_tree(root)
    yield
    changed = changed_files(before, root)
    if changed:
        pytest.fail(f"the shared build `{name}` was changed by a test (copy it first): {changed}")


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureSite]:
    """The 10-day fixture warehouse and its site, built once (read-only)."""
    from tests.builds import FixtureSite
    from tests.site_fixtures import build_fixture_site

    root = tmp_path_factory.mktemp("fixture_site")
    site, warehouse, days = build_fixture_site(root)
    with _kept_unchanged(root, "fixture_site"):
        yield FixtureSite(site, warehouse, days)


@pytest.fixture(scope="session")
def binance_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainBuild]:
    """The synthetic market on Binance, BINANCE_DAYS through the real chain (read-only)."""
    from tests.builds import build_binance_chain

    build = build_binance_chain(tmp_path_factory.mktemp("binance_chain"))
    with _kept_unchanged(build.root, "binance_chain"):
        yield build


@pytest.fixture(scope="session")
def two_venue_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoVenueWarehouse]:
    """Binance and Bybit through the real chain, Bybit missing the last day (read-only)."""
    from tests.venue_helpers import build_two_venue_warehouse

    root = tmp_path_factory.mktemp("two_venue_chain")
    build = build_two_venue_warehouse(root, second_venue_missing_last_day=True)
    with _kept_unchanged(root, "two_venue_chain"):
        yield build


@pytest.fixture(scope="session")
def two_venue_site(
    tmp_path_factory: pytest.TempPathFactory, two_venue_chain: TwoVenueWarehouse
) -> Iterator[tuple[Path, TwoVenueWarehouse]]:
    """(site folder, warehouse): the two-venue warehouse's site, built once (read-only)."""
    from tests.venue_helpers import build_two_venue_site

    root = tmp_path_factory.mktemp("two_venue_site")
    site = build_two_venue_site(two_venue_chain, root / "site")
    with _kept_unchanged(root, "two_venue_site"):
        yield site, two_venue_chain


@pytest.fixture(scope="session")
def realized_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Collected realized liquidations and the chain over them: its Settings (read-only)."""
    from tests.realized_chain import build_realized_chain

    root = tmp_path_factory.mktemp("realized_chain")
    settings = build_realized_chain(root)
    with _kept_unchanged(root, "realized_chain"):
        yield settings


@pytest.fixture
def browser(request: pytest.FixtureRequest):
    """The `browser` group's shared Chromium (tests/browser.py): open a context of your own
    in it (tests/test_site_browser.py Visit); never close it or start another Playwright."""
    from tests import browser as shared

    if not shared.available():
        pytest.skip(f"Debian chromium ({shared.CHROMIUM}) or Playwright not installed")
    return request.config.pluginmanager.get_plugin(shared.PLUGIN).get()


BROWSER_GROUP = "browser"


class _BrowserGroup:
    """Every test that opens Chromium (marked `browser`) joins the `browser` group, so one
    browser runs at a time and a new browser module cannot forget it. First among the
    collection hooks, so that pytest-xdist's own grouping sees the mark too."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if item.get_closest_marker("browser") and not item.get_closest_marker("xdist_group"):
                item.add_marker(pytest.mark.xdist_group(BROWSER_GROUP))


def pytest_configure(config: pytest.Config) -> None:
    from tests import browser, compact_asserts, timing

    config.pluginmanager.register(compact_asserts.CompactAsserts(), compact_asserts.PLUGIN)
    config.pluginmanager.register(_BrowserGroup(), "liqmap-browser-group")
    config.pluginmanager.register(browser.SharedBrowser(), browser.PLUGIN)
    timing.register(config)  # LIQMAP_TEST_TIMES=1: per-test wall and CPU (tests/timing.py)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long tests first, then `--dist loadgroup`'s group names back into the node ids.

    The tests marked `slow` (about 10 s or more) are moved to the front, keeping the order
    otherwise: pytest-xdist hands out the groups first (most tests first) and then the single
    tests in collection order, so a long single test starts early instead of running alone
    at the end while the other worker idles.

    pytest 9.2: put the `xdist_group` name back into the node id.

    pytest-xdist 3.8 writes the group into the legacy `item._nodeid`, which pytest 9.2's
    structured node ids no longer read, so every group was silently scattered across the
    workers (pytest-dev/pytest-xdist#1386). This does what xdist means to do, on the worker,
    and nothing when xdist already did it (or when not running under `--dist loadgroup`).
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
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
