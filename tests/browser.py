"""One headless Chromium for the whole `browser` xdist group, instead of one per module or test.

Starting Playwright's driver and Chromium costs about 1.5 s of wall time and 0.9 s of CPU; the
group used to pay it about twenty times. The plugin keeps one browser alive across the group's
tests (they run one after another on one worker) and each test opens its own context in it
(`tests/test_site_browser.py` Visit), so no page state passes from test to test.

Why the browser is alive for *every* test of the group and for *no* other test: between its
calls, Playwright's sync API marks its event loop as the thread's running loop, so while it is
open `asyncio.run()` and a second `sync_playwright()` refuse to start. Launched at the setup of
each group test (before its fixtures) and closed before any other test's setup, that holds the
same way whatever the order: a browser test that starts its own Playwright, or runs asyncio
code, fails every time, never only after some other test. Use the `browser` fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
GROUP = "browser"
PLUGIN = "liqmap-shared-browser"


def in_group(item: pytest.Item) -> bool:
    """Whether the test runs in the `browser` xdist group (conftest adds the group to every
    test marked `browser`)."""
    for mark in item.iter_markers("xdist_group"):
        name = mark.args[0] if mark.args else mark.kwargs.get("name")
        if name == GROUP:
            return True
    return False


def available() -> bool:
    """Debian's Chromium and the Playwright package are both installed."""
    if not CHROMIUM.exists():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


class SharedBrowser:
    """The pytest plugin holding the group's Chromium (conftest registers it)."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None

    def get(self):
        """The running browser, launched if it is not (or if a test closed it)."""
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self.close()
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS
            )
        except BaseException:
            self.close()
            raise
        return self._browser

    def close(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None and browser.is_connected():
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if in_group(item) and available():
            self.get()
        else:
            self.close()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        self.close()
