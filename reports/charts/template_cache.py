"""Chart templates kept across processes: Altair builds each once per code version, not once
per process.

Building the site's eleven chart templates with Altair costs ~0.5 s CPU, in every process that
writes a site (each `liqmap run`, each test worker): a fixed cost of the same bytes every time,
since a template depends only on the code that builds it. So a built template's text is kept in
the per-user cache (beside the Vega bundle, reports.static_assets.bundle_cache_dir), in one JSON
file per *code version*: the sha256 of Altair's version and every source file under reports/
and transforms/ (any change there, even one that cannot touch a chart, starts a new file). The
file records the sha256 of its templates; a file that does not match (torn, edited) is ignored
and rewritten, and a cache that cannot be read or written is skipped: the template is built,
exactly as without the cache (tests/test_template_cache.py compares both byte for byte).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from reports.charts.spec import Template
from transforms.atomic import atomic_write_text

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
    from reports.static_assets import bundle_cache_dir

    return (cache_dir or bundle_cache_dir()) / f"{PREFIX}{code_version()[:16]}.json"


def _digest(templates: dict[str, list[str]]) -> str:
    text = json.dumps(templates, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class TemplateCache:
    """The cache file of this code version: factory name -> (template name, text)."""

    def __init__(self, path: Path):
        self.path = path
        self.templates: dict[str, list[str]] = {}
        try:
            stored = json.loads(path.read_text())
            if stored.get("sha256") == _digest(stored["templates"]):
                self.templates = dict(stored["templates"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing, unreadable or not ours: built and rewritten

    def get(self, key: str) -> Template | None:
        hit = self.templates.get(key)
        return Template.restored(hit[0], hit[1]) if hit is not None else None

    def put(self, key: str, template: Template) -> None:
        self.templates[key] = [template.name, template.text]
        try:
            atomic_write_text(
                self.path,
                json.dumps(
                    {"sha256": _digest(self.templates), "templates": self.templates},
                    sort_keys=True,
                    separators=(",", ":"),
                ),
            )
            _prune(self.path)
        except OSError:
            pass  # an unwritable cache: the next process builds again


def _prune(current: Path) -> None:
    """Keep the KEPT newest cache files (other code versions: other checkouts, older code)."""
    files = sorted(
        current.parent.glob(f"{PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in files[KEPT:]:
        if old != current:
            old.unlink(missing_ok=True)


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
