"""Report-site benchmark: a demo-like market (symbols × venues × days) from the synthetic
fixture warehouse, built in full and then grown by one day.

    .venv/bin/python benchmarks/site.py [--days 365] [--symbols 3] [--keep DIR]
                                        [--tiers benchmarks/site_tiers.json]
    .venv/bin/python benchmarks/site.py --warehouse KEPT/data/warehouse.duckdb
                                        [--profile OUT.prof]

`--warehouse` builds from a copy of a pipeline's warehouse instead of the fixture (e.g. the
demo year `benchmarks/pipeline.py --days 365 --keep KEPT` left): every symbol and day in its
marts, the last day added by the second build.

`--profile` builds in this process (LIQMAP_SITE_WORKERS=1: cProfile sees no worker) under
cProfile and writes its stats of the full build to the file (pstats; its CPU seconds are then
not comparable with a build's without it).

Prints: site size (target <= 50 MB for 3 symbols x 2 venues x 1 year), a day page's own HTML
(target <= 40 KB), the full build's wall and CPU seconds (target <= 30 s for the year) and peak
RSS (the fixture is made in a child process, so it is the builds' own), adding one day
(target <= 3 s) and the size of a 20-symbol year (tiers from the tier file: each tier's
symbols, prices and venues; target <= 300 MB), estimated from the bytes this build wrote per
symbol, venue and day. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from reports.site import SiteBuildResult, build_site  # noqa: E402
from tests.site_fixtures import (  # noqa: E402
    GENERATED_AT,
    SYMBOL,
    add_venue,
    build_fixture_warehouse,
    drop_days_after,
)
from tests.test_site_symbols import add_scaled_symbol  # noqa: E402

MB = 1024 * 1024
FIXTURE_PRICE = 70_000.0  # the fixture's BTC path starts here
KEPT_DAYS_SQL = "SELECT DISTINCT day FROM mart.daily_metrics ORDER BY day"
KEPT_SYMBOLS_SQL = "SELECT DISTINCT symbol FROM mart.daily_metrics ORDER BY symbol"


def tier_symbols(path: Path) -> list[tuple[str, float, list[str]]]:
    """(symbol, price, venues) of every tier, in file order."""
    tiers = json.loads(path.read_text())["tiers"]
    return [(s, float(p), t["venues"]) for t in tiers for s, p in t["symbols"].items()]


def warehouse_apart(db: Path, days: int, symbols: list[tuple[str, float, list[str]]]) -> list:
    """`warehouse` in a child process, so this process's peak RSS is the builds' own."""
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        return pool.apply(warehouse, (db, days, symbols))


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux: ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warehouse(db: Path, days: int, symbols: list[tuple[str, float, list[str]]]) -> list:
    out = build_fixture_warehouse(db, days)
    if any(len(v) > 1 for _, _, v in symbols):
        add_venue(db, "bybit", 0.6)
    for sym, price, _ in symbols:
        if sym != SYMBOL:
            add_scaled_symbol(db, sym, price / FIXTURE_PRICE)
    return out


def children_cpu() -> float:
    """CPU seconds of the child processes ended so far (the site's workers, reports.site_pool)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def kept_warehouse(src: Path, db: Path) -> tuple[list[date], list[str]]:
    """Copy a pipeline's warehouse to `db`: (its days, its symbols) in mart.daily_metrics."""
    shutil.copy(src, db)
    conn = duckdb.connect(str(db), read_only=True)
    try:
        days = [d for (d,) in conn.execute(KEPT_DAYS_SQL).fetchall()]
        symbols = [s for (s,) in conn.execute(KEPT_SYMBOLS_SQL).fetchall()]
    finally:
        conn.close()
    if len(days) < 2:
        raise SystemExit(f"{src}: mart.daily_metrics holds {len(days)} day(s); expected 2 or more")
    return days, symbols


def build(
    db: Path,
    out: Path,
    symbols: list[str],
    days,
    generated_at: datetime = GENERATED_AT,
    profile: Path | None = None,
) -> tuple[float, float, SiteBuildResult]:
    """(wall seconds, CPU seconds of this process and its site workers, what it wrote) of one
    build; `profile`: its cProfile stats written there."""
    conn = duckdb.connect(str(db), read_only=True)
    prof = cProfile.Profile() if profile else None
    try:
        t, c = time.perf_counter(), time.process_time() + children_cpu()
        if prof:
            prof.enable()
        result = build_site(
            conn,
            out,
            symbols,
            days,
            source="synthetic",
            methodology_md=None,
            generated_at=generated_at,
        )
        if prof:
            prof.disable()
            prof.dump_stats(str(profile))
        return time.perf_counter() - t, time.process_time() + children_cpu() - c, result
    finally:
        conn.close()


def tree_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0


# what each file of the site is, by its path under the site root (the first match wins)
KINDS = (
    ("heat tiles", lambda r: r.startswith("data/") and "/heat-" in r),
    # the month files of day documents (reports.day_packs; an older build: one file a day)
    ("day data", lambda r: r.startswith("data/") and ("/days-" in r or "/day-" in r)),
    ("series", lambda r: r.startswith("data/")),
    ("api", lambda r: r.startswith("api/")),
    ("feed", lambda r: r.endswith(".xml")),
    ("assets", lambda r: r.startswith("assets/")),
    (
        "day pages",
        lambda r: r.count("/") == 2 and r.endswith("/index.html") and r[-21:-11].count("-") == 2,
    ),
    ("downloads", lambda r: r.endswith((".csv", ".parquet"))),
    ("other pages", lambda r: True),
)

# do not grow with the days: assets, the shared pages, the latest-day API files, and the
# feed beyond its 60 days (approximated as fixed)
FIXED_KINDS = ("assets", "other pages", "api", "feed")


def kind_bytes(out: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Bytes and number of files of the site by kind of file (KINDS)."""
    sizes = dict.fromkeys((k for k, _ in KINDS), 0)
    counts = dict.fromkeys(sizes, 0)
    for f in out.rglob("*"):
        if f.is_file():
            rel = f.relative_to(out).as_posix()
            kind = next(k for k, match in KINDS if match(rel))
            sizes[kind] += f.stat().st_size
            counts[kind] += 1
    return sizes, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--symbols", type=int, default=3, help="the first N symbols of the tiers")
    ap.add_argument("--tiers", type=Path, default=ROOT / "benchmarks" / "site_tiers.json")
    ap.add_argument("--keep", type=Path, help="build here and keep the result")
    ap.add_argument(
        "--warehouse", type=Path, help="build from a copy of this warehouse, not the fixture"
    )
    ap.add_argument(
        "--profile", type=Path, help="cProfile the full build in this process, stats to this file"
    )
    args = ap.parse_args()
    if args.profile:
        os.environ["LIQMAP_SITE_WORKERS"] = "1"  # cProfile sees this process only
    tiers = tier_symbols(args.tiers)
    chosen = [(s, p, ["binance", "bybit"]) for s, p, _ in tiers[: args.symbols]]
    names = [s for s, _, _ in chosen]

    tmp = Path(tempfile.mkdtemp(prefix="liqmap-site-bench-"))
    out = args.keep or tmp / "site"
    if out.exists():
        shutil.rmtree(out)
    try:
        t = time.perf_counter()
        db = tmp / "warehouse.duckdb"
        generated_at = GENERATED_AT
        if args.warehouse:
            days, names = kept_warehouse(args.warehouse, db)
            generated_at = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time())
        else:
            days = warehouse_apart(db, args.days, chosen)
        before = tmp / "before.duckdb"
        shutil.copy(db, before)
        drop_days_after(before, days[-2])
        print(
            f"{'warehouse' if args.warehouse else 'fixture'}: {len(names)} symbols x "
            f"{len(days)} days in {time.perf_counter() - t:.1f} s"
        )
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        t_full, c_full, _ = build(before, out, names, None, generated_at, args.profile)
        t_add, c_add, added = build(db, out, names, [days[-1]], generated_at)

        print("load average after builds: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        total = tree_bytes(out)
        pages = [out / s / d.isoformat() / "index.html" for s in names for d in days]
        sizes = [p.stat().st_size for p in pages if p.exists()]
        per_year = 365 / max(1, len(days) - 1)
        kinds, counts = kind_bytes(out)
        print(f"site size:          {total / MB:7.2f} MB  ({len(days)} days)")
        if len(days) < 365:
            year_bytes = sum(
                n if kind in FIXED_KINDS else n * 365 / len(days) for kind, n in kinds.items()
            )
            print(
                f"  scaled to a year: {year_bytes / MB:7.2f} MB  (target <= 50 MB; "
                "the kinds that grow with the days scaled)"
            )
        for kind, n in kinds.items():
            year = "" if kind in FIXED_KINDS else f"  ({n * 365 / len(days) / MB:.2f} MB a year)"
            print(f"  {kind + ':':16s}{n / MB:7.2f} MB in {counts[kind]:5d} files{year}")
        print(
            f"day page HTML:      {max(sizes) / 1024:7.1f} KB largest, "
            f"{sum(sizes) / len(sizes) / 1024:.1f} KB mean  (target <= 40 KB)"
        )
        print(
            f"full build:         {t_full:7.1f} s wall, {c_full:.1f} s CPU  ({len(days) - 1} days)"
        )
        print(
            f"peak RSS of the builds: {peak_rss_mb():.0f} MB  (the fixture is made apart; "
            "a site worker's own is not counted)"
        )
        if len(days) < 365:
            print(
                f"  scaled to a year: {t_full * per_year:7.1f} s wall, "
                f"{c_full * per_year:.1f} s CPU  (target <= 30 s)"
            )
        print(
            f"add one day:        {t_add:7.2f} s wall, {c_add:.2f} s CPU  (target <= 3 s); "
            f"wrote {added.files_written} files, {added.bytes_total / MB:.2f} MB "
            f"({len(added.pages_written)} pages)"
        )

        # the 20-symbol year from bytes per symbol-day (pages, downloads) and per
        # symbol-venue-day (data files), as this build wrote them
        page_day = sum(tree_bytes(out / s) for s in names) / len(names) / len(days)
        data_day = (
            sum(
                tree_bytes(out / "data" / s / v) for s in names for v in ("all", "binance", "bybit")
            )
            / (3 * len(names))
            / len(days)
        )
        shared = total - sum(tree_bytes(out / s) for s in names) - tree_bytes(out / "data")
        year = shared
        for _, _, venues in tiers:
            views = len(venues) + 1 if len(venues) > 1 else 1
            year += 365 * (page_day + views * data_day)
        print(
            f"20-symbol year:     {year / MB:7.1f} MB estimated  (target <= 300 MB; "
            f"{page_day / 1024:.1f} KB pages per symbol-day, "
            f"{data_day / 1024:.1f} KB data per symbol-venue-day)"
        )
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
