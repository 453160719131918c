"""Take the README's screenshots: the report's latest page and Dagster's asset graph.

Usage (after `make demo`): .venv/bin/python scripts/screenshots.py [--out docs/img]

Headless Debian chromium (/usr/bin/chromium) through Playwright; the asset graph comes from a
real dagster-webserver started on a free 127.0.0.1 port with a throw-away DAGSTER_HOME and
stopped afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transforms.config import load_settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 900}
GROUPS = ("raw", "staging", "marts", "publish")
GROUP_PROBE = {
    "raw": "raw_klines_1m",
    "staging": "stg_bars_5m",
    "marts": "liq_heatmap",
    "publish": "report_site",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(browser, site_index: Path, out: Path, heatmap_out: Path) -> None:
    """The latest day's page as a reader first sees it, and its heatmap chart."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(site_index.as_uri())
    page.wait_for_selector("canvas, svg", timeout=30_000)
    page.wait_for_timeout(1500)  # let Vega finish drawing
    page.screenshot(path=str(out))
    section = page.locator("section", has=page.get_by_role("heading", name="Liquidation heatmap"))
    section.first.screenshot(path=str(heatmap_out))
    page.close()


def asset_graph(browser, out: Path) -> None:
    port = _free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "DAGSTER_HOME": home, "PYTHONWARNINGS": "ignore::Warning"}
        bin_dir = Path(sys.executable).parent
        server = subprocess.Popen(
            [bin_dir / "dagster-webserver", "-h", "127.0.0.1", "-p", str(port)]
            + ["-m", "orchestration.definitions"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/server_info", timeout=2).is_success:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1)
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(url + "/asset-groups", timeout=120_000)
            skip = page.get_by_role("button", name="Skip")  # first-visit community dialog
            skip.click(timeout=60_000)
            for group in GROUPS:  # groups start collapsed: unfold each one
                node = page.locator(f'foreignObject:has([data-tooltip="{group}"])').first
                node.locator('[aria-label="unfold_more"]').click(timeout=60_000)
                page.get_by_text(GROUP_PROBE[group]).first.wait_for(timeout=60_000)
                page.wait_for_timeout(500)
            page.reload()  # the unfolded groups are remembered; a fresh layout fits the view
            page.get_by_text("stg_bars_5m").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(out))
            page.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    site_index = load_settings().output_site_dir / "index.html"
    if not site_index.is_file():
        print(f"no report at {site_index}: run `make demo` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            report(browser, site_index, args.out / "report.png", args.out / "report-heatmap.png")
            asset_graph(browser, args.out / "asset-graph.png")
        finally:
            browser.close()
    print(f"wrote {args.out / 'report.png'} and {args.out / 'asset-graph.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
