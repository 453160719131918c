"""Chart templates kept across processes: Altair builds each once per code version, not once
per process.

Building the site's eleven chart templates with Altair costs ~0.5 s CPU, in every process that
writes a site (each `liqmap run`, each test worker): a fixed cost of the same bytes every time,
since a template depends only on the code that builds it. So a built template's text is kept in
the per-user cache beside the Vega bundle (reports.user_cache: checked by its sha256 record,
skipped when damaged or unwritable), in one JSON file per *code version*: the sha256 of
Altair's version and every source file under reports/ and transforms/ (any change there, even
one that cannot touch a chart, starts a new file). A miss builds the template exactly as
without the cache (tests/test_template_cache.py compares both byte for byte).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from reports.charts.spec import Template
from reports.user_cache import read_checked, remove_checked, user_cache_dir, write_checked

ROOT = Path(__file__).resolve().parents[2]
#: the packages whose code may shape a chart template
SOURCES = ("reports", "transforms")
PREFIX = "chart-templates-"
#: cache files kept (one per code version; older ones are deleted when a new one is written)
KEPT = 8


@functools.cache
def code_version() -> str:
    """sha256 of Altair's version and of every .py file under SOURCES (~5 ms)."""
    import altair as alt

    digest = hashlib.sha256(f"altair {alt.__version__} {alt.SCHEMA_VERSION}\n".encode())
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_path(cache_dir: Path | None = None) -> Path:
    return (cache_dir or user_cache_dir()) / f"{PREFIX}{code_version()[:16]}.json"


class TemplateCache:
    """The cache file of this code version: factory name -> (template name, text)."""

    def __init__(self, path: Path):
        self.path = path
        self.templates: dict[str, list[str]] = {}
        text = read_checked(path)
        try:
            if text is not None:
                self.templates = dict(json.loads(text)["templates"])
        except (ValueError, KeyError, TypeError):
            pass  # not ours: built and rewritten

    def get(self, key: str) -> Template | None:
        hit = self.templates.get(key)
        return Template.restored(hit[0], hit[1]) if hit is not None else None

    def put(self, key: str, template: Template) -> None:
        self.templates[key] = [template.name, template.text]
        text = json.dumps({"templates": self.templates}, sort_keys=True, separators=(",", ":"))
        write_checked(self.path, text)
        with contextlib.suppress(OSError):  # an unreadable cache folder: nothing to prune
            _prune(self.path)


def _prune(current: Path) -> None:
    """Keep the KEPT newest cache files (other code versions: other checkouts, older code)."""
    files = sorted(
        current.parent.glob(f"{PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in files[KEPT:]:
        if old != current:
            remove_checked(old)


@functools.cache
def template_cache() -> TemplateCache:
    return TemplateCache(cache_path())


def cached_template(factory: Callable[[], Template]) -> Callable[[], Template]:
    """`functools.cache` for a template factory, and its template kept in the cache file of
    this code version: built with Altair only when no process has built it yet."""
    key = f"{factory.__module__}.{factory.__qualname__}"

    @functools.cache
    @functools.wraps(factory)
    def template() -> Template:
        cache = template_cache()
        hit = cache.get(key)
        if hit is not None:
            return hit
        built = factory()
        cache.put(key, built)
        return built

    template.build = factory  # type: ignore[attr-defined]  # the uncached build (tests)
    return template
