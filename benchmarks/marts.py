"""The marts stage alone, the way a backfill runs it, on a copy of a kept build's warehouse.

A folder left by `benchmarks/pipeline.py --keep DIR` holds a warehouse with staged bars. This
copies its warehouse, empties the model marts and the model state (a backfill's warehouse
has none yet), then models every symbol over [first day, last day] with
`transforms.marts.parallel.run_jobs` (what the `liquidation_model` asset runs; `--workers 0`:
serial, as `update_marts`) and prints wall and CPU seconds (this process and its children)
and peak RSS. Nothing is asserted; timings on a shared machine are noisy (the load average
is printed).

`--dump DIR` writes the eight model-written tables (the six day-windowed marts, price_hourly,
model_params without its `recorded_at`) and model_state as Parquet; `--compare A B` checks
two dumps row for row (EXCEPT ALL both ways; floats then within 1e-9 relative).

    .venv/bin/python benchmarks/marts.py KEPT [--days N] [--dump DIR] [--profile FILE]
    .venv/bin/python benchmarks/marts.py --compare DUMP_A DUMP_B
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.db import open_warehouse  # noqa: E402
from transforms.marts.parallel import WORKERS, run_jobs  # noqa: E402
from transforms.marts.registry import MARTS, Windowing  # noqa: E402
from transforms.marts.update import prepare_marts  # noqa: E402
from transforms.model import ModelParams  # noqa: E402

#: what a backfill's liquidation_model writes (emptied before the run, dumped after)
WRITTEN = (
    *(m.table for m in MARTS.values() if m.windowing is Windowing.MODEL_DAYS),
    "mart.price_hourly",
    "mart.model_params",
    "mart.model_state",
)
#: columns left out of a dump (they differ between any two runs)
VOLATILE = {"mart.model_params": ("recorded_at",)}


def _cpu(who: int | None = None) -> float:
    """CPU seconds of this process and its waited-for children (or of `who` alone)."""
    if who is not None:
        use = resource.getrusage(who)
        return use.ru_utime + use.ru_stime
    return _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)


def _rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest waited-for child (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def run(
    kept: Path, days: int | None, dump: Path | None, profile: Path | None, workers: int
) -> None:
    with tempfile.TemporaryDirectory(prefix="marts-bench-") as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(kept / "data" / "warehouse.duckdb", path)
        os.environ["LIQMAP_TIERS_FILE"] = str(kept / "tiers.csv")
        conn = open_warehouse(path)
        try:
            symbols = [
                s for (s,) in conn.execute("SELECT DISTINCT symbol FROM stg.bars_5m").fetchall()
            ]
            venues = tuple(
                v
                for (v,) in conn.execute(
                    "SELECT DISTINCT venue FROM stg.bars_5m ORDER BY venue"
                ).fetchall()
            )
            first, last = conn.execute(
                "SELECT min(ts)::DATE, max(ts)::DATE FROM stg.bars_5m"
            ).fetchone()
            end = last + timedelta(days=1)
            if days is not None:
                end = min(end, first + timedelta(days=days))
            for table in WRITTEN:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("CHECKPOINT")
            order = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
            symbols.sort(key=lambda s: (order.index(s) if s in order else 99, s))
            print(
                f"marts of {','.join(symbols)} x {','.join(venues)} over {first}..{end} "
                f"({(end - first).days} days), load {os.getloadavg()[0]:.1f}"
            )
            prof = cProfile.Profile(time.process_time) if profile is not None else None
            wall0, cpu0, own0 = time.perf_counter(), _cpu(), _cpu(resource.RUSAGE_SELF)
            if prof is not None:
                prof.enable()
            jobs = (
                prepare_marts(conn, s, ModelParams(), first, end, True, venues, True)
                for s in symbols
            )
            for symbol, update in zip(symbols, run_jobs(conn, jobs, workers), strict=True):
                rows = sum(n for k, n in update.rows.items() if k != "model_state")
                rss = update.worker_rss_mb
                rss = f", worker peak RSS {rss:.0f} MB" if rss else ""
                print(f"  {symbol}: rows {rows:,}{rss}")
            conn.execute("CHECKPOINT")
            if prof is not None:
                prof.disable()
                prof.dump_stats(str(profile))
            wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
            main = _cpu(resource.RUSAGE_SELF) - own0
            own, kids = _rss_mb()
            print(
                f"marts {wall:.2f} s wall, CPU {cpu:.2f} s (this process {main:.2f} s), "
                f"peak RSS {own:.0f} MB "
                f"(children {kids:.0f} MB), load {os.getloadavg()[0]:.1f}"
            )
            if dump is not None:
                _dump(conn, dump)
        finally:
            conn.close()


def _dump(conn: duckdb.DuckDBPyConnection, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for table in WRITTEN:
        cols = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema || '.' || table_name = $t ORDER BY ordinal_position",
                {"t": table},
            ).fetchall()
            if c not in VOLATILE.get(table, ())
        ]
        select = ", ".join(f'"{c}"' for c in cols)
        target = str(out / f"{table}.parquet")
        conn.execute(f"COPY (SELECT {select} FROM {table}) TO '{target}' (FORMAT parquet)")


def compare(a: Path, b: Path) -> bool:
    """EXCEPT ALL both ways per table; rows differing only in floats within 1e-9 relative
    are counted as such (a match by the other columns, in order)."""
    conn = duckdb.connect()
    same = True
    for table in WRITTEN:
        fa, fb = str(a / f"{table}.parquet"), str(b / f"{table}.parquet")
        n_a = conn.execute(f"SELECT count(*) FROM '{fa}'").fetchone()[0]
        n_b = conn.execute(f"SELECT count(*) FROM '{fb}'").fetchone()[0]
        ab = conn.execute(f"SELECT count(*) FROM (FROM '{fa}' EXCEPT ALL FROM '{fb}')").fetchone()
        ba = conn.execute(f"SELECT count(*) FROM (FROM '{fb}' EXCEPT ALL FROM '{fa}')").fetchone()
        line = f"{table}: {n_a:,} vs {n_b:,} rows, only in A {ab[0]:,}, only in B {ba[0]:,}"
        if ab[0] or ba[0]:
            same = False
            line += "  " + _float_gap(conn, fa, fb)
        print(line)
    return same


def _float_gap(conn: duckdb.DuckDBPyConnection, fa: str, fb: str) -> str:
    """The largest relative difference of the float columns between rows paired by the
    other columns (and their order among equals), when every differing row pairs up."""
    types = conn.execute(f"DESCRIBE SELECT * FROM '{fa}'").fetchall()
    floats = [n for n, t, *_ in types if t in ("DOUBLE", "FLOAT")]
    keys = [n for n, t, *_ in types if t not in ("DOUBLE", "FLOAT", "BLOB")]
    if not floats:
        return "(no float columns: rows differ)"
    part = ", ".join(f'"{k}"' for k in keys)
    order = ", ".join(f'"{c}"' for c in [*keys, *floats])
    rn = f"row_number() OVER (PARTITION BY {part} ORDER BY {order}) AS _rn"
    on = " AND ".join([*(f'a."{k}" IS NOT DISTINCT FROM b."{k}"' for k in keys), "a._rn = b._rn"])
    rel = ", ".join(
        f'coalesce(abs(a."{c}" - b."{c}") / nullif(greatest(abs(a."{c}"), abs(b."{c}")), 0), 0)'
        for c in floats
    )
    sql = (
        f"WITH a AS (SELECT *, {rn} FROM '{fa}'), b AS (SELECT *, {rn} FROM '{fb}') "
        f"SELECT count(*), max(greatest({rel}, 0)), count(*) FILTER (WHERE b._rn IS NULL) "
        f"FROM a LEFT JOIN b ON {on}"
    )
    n, worst, unpaired = conn.execute(sql).fetchone()
    return f"(paired {n - unpaired:,}, unpaired {unpaired:,}, max relative float gap {worst:.3g})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kept", type=Path, nargs="?", help="a folder left by pipeline.py --keep")
    ap.add_argument("--days", type=int, help="model only the first N days")
    ap.add_argument("--dump", type=Path, help="write the marts as Parquet to this folder")
    ap.add_argument("--profile", type=Path, help="write cProfile stats of the run here")
    ap.add_argument("--workers", type=int, default=WORKERS, help="model processes (0: serial)")
    ap.add_argument("--compare", type=Path, nargs=2, metavar=("A", "B"))
    args = ap.parse_args()
    if args.compare:
        sys.exit(0 if compare(*args.compare) else 1)
    if args.kept is None:
        ap.error("give a kept folder or --compare A B")
    run(args.kept, args.days, args.dump, args.profile, args.workers)


if __name__ == "__main__":
    main()
