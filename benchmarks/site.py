"""Report-site build benchmark on a year-size fixture warehouse (365 days, synthetic marts).

    .venv/bin/python benchmarks/site.py [--days 365] [--keep DIR]

Prints: fixture generation time, full build time (target < 60 s), one-day incremental build
time (target < 5 s), total site size, the largest page besides the shared Vega bundle
(target < 2 MB) and the largest download.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from reports.site import build_site  # noqa: E402
from reports.static_assets import BUNDLE_NAME  # noqa: E402
from tests.site_fixtures import GENERATED_AT, SYMBOL, build_fixture_warehouse  # noqa: E402

TWO_MB = 2 * 1024 * 1024


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--keep", type=Path, help="build here and keep the result")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="liqmap-site-bench-"))
    out = args.keep or tmp / "site"
    if out.exists():
        shutil.rmtree(out)
    try:
        db = tmp / "warehouse.duckdb"
        t = time.perf_counter()
        days = build_fixture_warehouse(db, args.days)
        print(f"fixture warehouse: {len(days)} days in {time.perf_counter() - t:.1f} s")

        conn = duckdb.connect(str(db), read_only=True)
        try:
            t = time.perf_counter()
            full = build_site(
                conn,
                out,
                SYMBOL,
                None,
                source="synthetic",
                methodology_md=None,
                generated_at=GENERATED_AT,
            )
            t_full = time.perf_counter() - t
            t = time.perf_counter()
            inc = build_site(
                conn,
                out,
                SYMBOL,
                [days[-1]],
                source="synthetic",
                methodology_md=None,
                generated_at=GENERATED_AT,
            )
            t_inc = time.perf_counter() - t
        finally:
            conn.close()

        files = [p for p in out.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        pages = [p for p in files if p.suffix == ".html"]
        largest = max(pages, key=lambda p: p.stat().st_size)
        downloads = [p for p in files if p.suffix in (".csv", ".parquet")]
        biggest_dl = max(downloads, key=lambda p: p.stat().st_size)
        bundle = out / "assets" / BUNDLE_NAME
        over = [p for p in pages if p.stat().st_size > TWO_MB]
        day_pages = [p for p in pages if p.parent.name[:2] == "20"]
        avg_page = sum(p.stat().st_size for p in day_pages) / max(1, len(day_pages))

        ok_full, ok_inc = t_full < 60, t_inc < 5
        print(
            f"full build:        {t_full:6.1f} s  ({len(full.pages_written)} pages)  "
            f"target < 60 s {'OK' if ok_full else 'MISSED'}"
        )
        print(
            f"incremental (1 d): {t_inc:6.2f} s  ({len(inc.pages_written)} pages)  "
            f"target < 5 s {'OK' if ok_inc else 'MISSED'}"
        )
        print(f"site size:         {mb(total)} in {len(files)} files")
        print(
            f"  html pages:      {mb(sum(p.stat().st_size for p in pages))}, "
            f"day page average {mb(int(avg_page))}"
        )
        print(f"  downloads:       {mb(sum(p.stat().st_size for p in downloads))}")
        print(f"  vega bundle:     {mb(bundle.stat().st_size)} (shared, once)")
        print(
            f"largest page:      {largest.relative_to(out)} {mb(largest.stat().st_size)}  "
            f"target < 2 MB {'OK' if not over else 'MISSED'}"
        )
        print(f"largest download:  {biggest_dl.relative_to(out)} {mb(biggest_dl.stat().st_size)}")
        return 0 if ok_full and ok_inc and not over else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
