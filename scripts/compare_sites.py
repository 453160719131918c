"""Compare two built report sites file by file, ignoring only the build timestamp.

    .venv/bin/python scripts/compare_sites.py BASELINE_SITE CANDIDATE_SITE
    .venv/bin/python scripts/compare_sites.py BASELINE_SITE CANDIDATE_SITE \
        --rebuild-from WAREHOUSE.duckdb [--symbol BTCUSDT --source synthetic \
        --methodology docs/methodology.md --start D --end D]

With --rebuild-from, CANDIDATE_SITE is first built by the current code from a copy of that
warehouse, the way the `report_site` asset builds it (one `build_site` call for the days
start..end, default: every day in `mart.daily_metrics`), so a refactor of `reports/` can be
checked against a site built before it. The build timestamp is the only thing masked: the
footer's `Built <time datetime=...>...</time>` in HTML pages and the feeds' own `<updated>`
(feed.xml, alerts.xml).
Every other byte, including downloads (CSV/Parquet) and assets, must be equal.
Exit status 0 when the sites match, 1 when they differ.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUILT_AT = re.compile(rb'Built <time datetime="[^"]*">[^<]*</time>')
FEED_UPDATED = re.compile(rb"<updated>[^<]*</updated>")


def masked(rel: str, data: bytes) -> bytes:
    """`data` with the build timestamp replaced by a fixed marker."""
    if rel.endswith(".html"):
        return BUILT_AT.sub(b"Built <time>BUILD-TIME</time>", data)
    if rel in ("feed.xml", "alerts.xml"):  # the Atom feeds' own <updated>
        head, sep, entries = data.partition(b"<entry>")
        return FEED_UPDATED.sub(b"<updated>BUILD-TIME</updated>", head, count=1) + sep + entries
    return data


def site_files(site: Path) -> dict[str, Path]:
    """Relative path → file, skipping dot files (temp files of a killed build)."""
    return {
        p.relative_to(site).as_posix(): p
        for p in sorted(site.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def first_difference(a: bytes, b: bytes) -> str:
    for i, (la, lb) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), 1):
        if la != lb:
            j = next((k for k, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y), 0)
            lo, hi = max(0, j - 40), j + 60
            return f"line {i}, byte {j}: {la[lo:hi]!r} != {lb[lo:hi]!r}"
    return f"lengths {len(a)} != {len(b)}"


def compare(baseline: Path, candidate: Path) -> list[str]:
    """Differences between two sites, one line each; empty when they match."""
    a, b = site_files(baseline), site_files(candidate)
    problems = [f"only in {baseline}: {rel}" for rel in sorted(a.keys() - b.keys())]
    problems += [f"only in {candidate}: {rel}" for rel in sorted(b.keys() - a.keys())]
    for rel in sorted(a.keys() & b.keys()):
        da, db = masked(rel, a[rel].read_bytes()), masked(rel, b[rel].read_bytes())
        if da != db:
            problems.append(f"differs: {rel}: {first_difference(da, db)}")
    return problems


def rebuild(args: argparse.Namespace, out: Path) -> None:
    """Build `out` from a copy of the warehouse with the current `reports` code."""
    import duckdb

    from reports.site import build_site

    with tempfile.TemporaryDirectory(prefix="liqmap-compare-") as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(args.rebuild_from, db)
        conn = duckdb.connect(str(db), read_only=True)
        try:
            days = None
            if args.start or args.end:
                all_days = [
                    r[0]
                    for r in conn.execute(
                        "SELECT DISTINCT day FROM mart.daily_metrics WHERE symbol = ? ORDER BY day",
                        [args.symbol],
                    ).fetchall()
                ]
                start, end = args.start or all_days[0], args.end or all_days[-1]
                days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            if out.exists():
                shutil.rmtree(out)
            md = args.methodology if args.methodology and args.methodology.exists() else None
            build_site(conn, out, args.symbol, days, source=args.source, methodology_md=md)
        finally:
            conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("baseline", type=Path)
    ap.add_argument("candidate", type=Path)
    ap.add_argument("--rebuild-from", type=Path, help="build CANDIDATE from this warehouse")
    ap.add_argument("--symbol", default="BTCUSDT")
    ap.add_argument("--source", default="synthetic")
    ap.add_argument("--methodology", type=Path, default=ROOT / "docs" / "methodology.md")
    ap.add_argument("--start", type=date.fromisoformat)
    ap.add_argument("--end", type=date.fromisoformat, help="inclusive")
    args = ap.parse_args(argv)
    if args.rebuild_from:
        rebuild(args, args.candidate)
    problems = compare(args.baseline, args.candidate)
    n = len(site_files(args.baseline))
    for p in problems[:50]:
        print(p)
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more")
    verdict = "identical except the build timestamp" if not problems else "DIFFERENT"
    print(f"{n} files in {args.baseline}: {verdict} ({len(problems)} differences)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
