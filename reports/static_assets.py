"""The site's shared assets: the Vega bundle (only when its version changes), the static
CSS/JS files, and the text of each symbol's `<SYMBOL>/days.js` (its published days)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import altair as alt

from reports.user_cache import read_checked, user_cache_dir, write_checked
from reports.writer import SiteWriter

STATIC = Path(__file__).resolve().parent / "static"
BUNDLE_NAME = "vega-bundle.js"
BUNDLE_STAMP = "vega-bundle.version"


def vega_bundle(cache_dir: Path | None = None) -> tuple[str, str]:
    """(version stamp, bundle JS) for the Vega-Lite version Altair targets. vl-convert takes
    ~1.5 s CPU to bundle, and every fresh site needs it, so the bundle is kept in the per-user
    cache keyed by the versions (reports.user_cache: the same bytes vl-convert gives)."""
    import vl_convert as vlc

    vl_version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]  # v6.4.1 → 6.4
    if vl_version not in vlc.get_vegalite_versions():
        raise RuntimeError(f"vl-convert cannot bundle Vega-Lite {vl_version}")
    stamp = f"vl-convert {vlc.__version__}; vega-lite {vl_version}; altair {alt.__version__}\n"
    cached = (cache_dir or user_cache_dir()) / f"vega-bundle-{vlc.__version__}-{vl_version}.js"
    js = read_checked(cached)
    if js is None:
        js = vlc.javascript_bundle(vl_version=vl_version)
        write_checked(cached, js)
    return stamp, js


def write_static_assets(writer: SiteWriter) -> None:
    """The bundle (rebuilt only when vl-convert or Altair changed) and every static file,
    each written only if its bytes changed."""
    import vl_convert as vlc

    bundle = writer.out_dir / "assets" / BUNDLE_NAME
    stamp_path = writer.out_dir / "assets" / BUNDLE_STAMP
    want_prefix = f"vl-convert {vlc.__version__};"
    have = stamp_path.read_text() if stamp_path.exists() else ""
    if not (bundle.exists() and have.startswith(want_prefix) and alt.__version__ in have):
        stamp, js = vega_bundle()
        writer.write_if_changed(f"assets/{BUNDLE_NAME}", js)
        writer.write_if_changed(f"assets/{BUNDLE_STAMP}", stamp)
    for f in sorted(STATIC.iterdir()):
        if f.is_file() and not f.name.startswith("."):
            writer.write_if_changed(f"assets/{f.name}", f.read_bytes())


def days_js(published: Iterable[date]) -> str:
    """<SYMBOL>/days.js: the published days, from which day pages upgrade their "next" link
    (a script, not JSON, so it also loads from file://)."""
    days = json.dumps([d.isoformat() for d in sorted(published)])
    return (
        "/* Published report days, rewritten by every build. */\n"
        + f"window.LIQMAP_DAYS = {days};\n"
    )
