"""The chart-template cache (reports/charts/template_cache.py): a template read back from the
cache is the one Altair builds, byte for byte; specs.js is the same with the cache cold, warm
or unwritable; a damaged cache file is ignored and rewritten; a warm cache builds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reports.charts.spec import REGISTRY, Template
from reports.charts.template_cache import (
    TemplateCache,
    cache_path,
    cached_template,
    template_cache,
)
from reports.charts.templates import FACTORIES

ROOT = Path(__file__).resolve().parents[1]
SPECS = (
    "import hashlib, sys; from reports.charts.templates import all_specs_js; "
    "sys.stdout.write(hashlib.sha256(all_specs_js().encode()).hexdigest())"
)


def _specs_sha(cache_home: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", SPECS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_template_read_back_is_the_one_altair_builds(tmp_path):
    cache = TemplateCache(tmp_path / "t.json")
    built = {}
    for factory in FACTORIES:
        template = factory.build()  # Altair, no cache
        built[factory.__name__] = template
        cache.put(factory.__name__, template)
    again = TemplateCache(tmp_path / "t.json")
    for name, template in built.items():
        hit = again.get(name)
        assert (hit.name, hit.text) == (template.name, template.text), name
        REGISTRY[template.name] = template  # as it was before the read-back registered it


def test_specs_js_is_the_same_cold_warm_and_unwritable(tmp_path):
    home = tmp_path / "cache"
    cold = _specs_sha(home)
    files = list((home / "liqmap").glob("chart-templates-*.json"))
    assert len(files) == 1
    assert len(json.loads(files[0].read_text())["templates"]) == len(FACTORIES)
    warm = _specs_sha(home)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert cold == warm == _specs_sha(blocked)


def test_damaged_cache_is_ignored_and_rewritten(tmp_path):
    path = tmp_path / "t.json"
    template = Template("cache_test_toy", '{"v":"__P_x__"}')
    try:
        cache = TemplateCache(path)
        cache.put("toy", template)
        stored = json.loads(path.read_text())
        stored["templates"]["toy"][1] = '{"v":"edited"}'
        path.write_text(json.dumps(stored))
        assert TemplateCache(path).get("toy") is None  # its sha256 no longer matches
        path.write_text('{"sha256": "x", "temp')  # torn
        damaged = TemplateCache(path)
        assert damaged.get("toy") is None
        damaged.put("toy", template)
        assert TemplateCache(path).get("toy").text == template.text
    finally:
        REGISTRY.pop("cache_test_toy", None)


def test_a_warm_cache_builds_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    template_cache.cache_clear()
    calls: list[int] = []

    def toy_factory() -> Template:
        calls.append(1)
        return Template("cache_test_toy", '{"v":"__P_x__"}')

    try:
        first = cached_template(toy_factory)()
        second = cached_template(toy_factory)()  # a new process's factory, same cache file
        template_cache.cache_clear()
        third = cached_template(toy_factory)()  # the file read again
        assert calls == [1]
        assert first.text == second.text == third.text
        assert "toy_factory" in cache_path().read_text()
        assert cache_path().parent == tmp_path / "liqmap"
    finally:
        template_cache.cache_clear()
        REGISTRY.pop("cache_test_toy", None)
