"""The expensive builds the suite shares: each is made once per pytest session (per xdist
worker) by a session fixture in tests/conftest.py, and read by many modules.

A shared build is read-only. A test that changes files takes its own copy first
(`ChainBuild.copy_to(tmp_path)`, or `copy_tree`); the session fixtures check at the end of
the session that no file of theirs changed, so a forgotten copy fails loudly instead of
leaking state between modules. See docs/testing.md.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tests.pipeline_helpers import run_chain, temp_settings
from transforms.config import Settings

# -- a synthetic Binance chain ----------------------------------------------------------------

#: the settings window of the shared Binance build; its range run covers BINANCE_DAYS
BINANCE_WINDOW = (date(2025, 11, 1), date(2025, 11, 5))
BINANCE_DAYS = (date(2025, 11, 1), date(2025, 11, 3))


@dataclass(frozen=True)
class ChainBuild:
    """A built chain under `root` (data/ and site/): settings, and the days its run covered."""

    root: Path
    window: tuple[date, date]
    first: date
    last: date
    extra: tuple[tuple[str, str], ...] = ()  # further LIQMAP_* settings it was built with

    @property
    def settings(self) -> Settings:
        return self.settings_at(self.root)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def settings_at(self, root: Path) -> Settings:
        start, end = (d.isoformat() for d in self.window)
        return temp_settings(root, start, end, **dict(self.extra))

    def copy_to(self, tmp: Path) -> Settings:
        """A private copy in `tmp` (data/ and site/), to change as a test likes: its Settings."""
        for part in ("data", "site"):
            if (self.root / part).exists():
                copy_tree(self.root / part, tmp / part)
        return self.settings_at(tmp)


def build_binance_chain(root: Path) -> ChainBuild:
    """The synthetic market on Binance, BINANCE_DAYS as one range run: raw, staging, marts,
    site and snapshot (what test_pipeline, test_crash_safety, test_quality_gates and
    test_ui_backfill compare against or copy)."""
    build = ChainBuild(root, BINANCE_WINDOW, *BINANCE_DAYS)
    assert run_chain(build.settings, build.first, build.last).success
    return build


# -- the fixture site ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FixtureSite:
    """tests/site_fixtures.py's 10-day warehouse and the site built from it."""

    site: Path
    warehouse: Path
    days: list[date]


# -- helpers --------------------------------------------------------------------------------


def copy_tree(src: Path, dst: Path) -> Path:
    """A private copy of a shared build's folder (contents and modification times)."""
    shutil.copytree(src, dst, copy_function=shutil.copy2, dirs_exist_ok=True)
    return dst


def digest_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def changed_files(before: dict[str, str], root: Path) -> list[str]:
    """Files of a shared build that differ from `before` (added, removed or rewritten)."""
    after = digest_tree(root)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
