"""The Vega bundle's per-user cache gives vl-convert's own bytes and is written atomically."""

from pathlib import Path

import altair as alt
import vl_convert as vlc

from reports.static_assets import vega_bundle


def _fresh() -> str:
    return vlc.javascript_bundle(vl_version=alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0])


def test_cached_bundle_is_vl_converts_bundle(tmp_path: Path) -> None:
    stamp, first = vega_bundle(tmp_path)
    [cached] = tmp_path.glob("vega-bundle-*.js")
    assert cached.name.startswith(f"vega-bundle-{vlc.__version__}-")
    assert first == _fresh() and cached.read_text() == first
    assert vega_bundle(tmp_path) == (stamp, first)


def test_a_tampered_cache_is_rebuilt(tmp_path: Path) -> None:
    stamp, first = vega_bundle(tmp_path)
    [cached] = tmp_path.glob("vega-bundle-*.js")
    cached.write_text(first[:1000])  # torn or edited: its sha256 no longer matches
    assert vega_bundle(tmp_path) == (stamp, first)
    assert cached.read_text() == first


def test_unwritable_cache_still_gives_the_bundle(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    stamp, js = vega_bundle(blocked / "liqmap")
    assert stamp.startswith("vl-convert ") and js == _fresh()
    assert blocked.read_text() == "not a directory"
