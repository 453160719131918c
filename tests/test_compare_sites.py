"""scripts/compare_sites.py: two sites match when only the build timestamp differs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_sites", ROOT / "scripts/compare_sites.py")
compare_sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_sites)

PAGE = (
    '<p>Close $72,400.</p>\n<footer><p>Source: x. Built <time datetime="{iso}">{text}</time>.'
    "</p></footer>\n"
)
FEED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed><updated>{built}</updated>\n'
    "<entry><updated>{day_end}</updated></entry></feed>\n"
)


def write_site(root: Path, iso: str, text: str, built: str, day_end: str = "2026-02-15T00:00:00Z"):
    (root / "2026-02-14").mkdir(parents=True)
    (root / "index.html").write_text(PAGE.format(iso=iso, text=text))
    (root / "2026-02-14" / "index.html").write_text(PAGE.format(iso=iso, text=text))
    (root / "2026-02-14" / "daily.parquet").write_bytes(b"PAR1\x00\x01PAR1")
    (root / "feed.xml").write_text(FEED.format(built=built, day_end=day_end))
    (root / "alerts.xml").write_text(FEED.format(built=built, day_end=day_end))
    return root


def test_sites_differing_only_in_build_time_match(tmp_path):
    a = write_site(
        tmp_path / "a", "2026-02-15T08:30:00Z", "2026-02-15 08:30 UTC", "2026-02-15T08:30:00Z"
    )
    b = write_site(
        tmp_path / "b", "2026-11-30T10:01:02Z", "2026-11-30 10:01 UTC", "2026-11-30T10:01:02Z"
    )
    assert compare_sites.compare(a, b) == []
    assert compare_sites.main([str(a), str(b)]) == 0


def test_any_other_difference_is_reported(tmp_path):
    a = write_site(tmp_path / "a", "2026-02-15T08:30:00Z", "x", "2026-02-15T08:30:00Z")
    b = write_site(
        tmp_path / "b",
        "2026-02-15T08:30:00Z",
        "x",
        "2026-02-15T08:30:00Z",
        day_end="2026-02-16T00:00:00Z",
    )  # an entry's own date is content
    page = b / "2026-02-14" / "index.html"
    page.write_text(page.read_text().replace("$72,400", "$72,500"))
    (b / "2026-02-14" / "daily.parquet").write_bytes(b"PAR1\x00\x02PAR1")
    (b / "2026-02-14" / "moves.csv").write_text("a\n")
    (a / ".feed.xml.abc.tmp").write_text("half")  # temp files are not site files
    problems = compare_sites.compare(a, b)
    assert problems[0] == f"only in {b}: 2026-02-14/moves.csv"
    assert [p.split(":")[1].strip() for p in problems[1:]] == [
        "2026-02-14/daily.parquet",
        "2026-02-14/index.html",
        "alerts.xml",
        "feed.xml",
    ]
    assert "$72,400" in problems[2] and "$72,500" in problems[2]
    assert compare_sites.main([str(a), str(b)]) == 1
