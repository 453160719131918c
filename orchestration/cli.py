"""`liqmap` command line: run the chain, query the snapshot, start the Dagster UI.

liqmap run [--start D] [--end D]   materialize every asset for the range as one run
liqmap query "SQL"                 run SQL on the published read-only snapshot
liqmap query                       interactive prompt on the snapshot
liqmap dev                         Dagster UI + daemon on 127.0.0.1:3000
liqmap collect                     collect realized liquidations until SIGTERM/SIGINT
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from transforms.config import load_settings


def _run(args: argparse.Namespace) -> int:
    import dagster as dg

    from orchestration.home import ensure_dagster_home

    ensure_dagster_home()
    from orchestration.definitions import ALL_ASSETS
    from orchestration.resources import resources_from_settings
    from transforms.config import ConfigError
    from transforms.reference.brackets import DEFAULT_VENUE
    from transforms.reference.tiers import require_tiers, tiers_file_from_env

    settings = load_settings()
    try:  # before Dagster starts or anything is downloaded (the raw assets check it too)
        require_tiers([DEFAULT_VENUE], settings.symbols, tiers_file_from_env())
    except ConfigError as exc:
        print(f"liqmap run: {exc}", file=sys.stderr)
        return 2
    start = args.start or settings.start_date
    end = args.end or settings.end_date
    if end < start:
        print(f"--end {end} is before --start {start}", file=sys.stderr)
        return 2
    print(f"liqmap: {settings.source} source, {','.join(settings.symbols)}, {start}..{end}")
    print(f"liqmap: warehouse {settings.warehouse_path}, DAGSTER_HOME {os.environ['DAGSTER_HOME']}")
    result = dg.materialize(
        ALL_ASSETS,
        instance=dg.DagsterInstance.get(),
        resources=resources_from_settings(settings),
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
            "liqmap/trigger": "cli",
        },
        raise_on_error=False,
    )
    if not result.success:
        print("liqmap: run failed; see the log above or the Dagster UI", file=sys.stderr)
        return 1
    print(f"liqmap: done. Site: {settings.output_site_dir / 'index.html'}")
    print(f"liqmap: snapshot for ad hoc queries: {settings.snapshot_path}")
    return 0


def _query(args: argparse.Namespace) -> int:
    import duckdb

    settings = load_settings()
    path = settings.snapshot_path
    if not path.exists():
        print(f"no snapshot at {path}: run `liqmap run` first", file=sys.stderr)
        return 1
    conn = duckdb.connect(str(path), read_only=True)
    try:
        if args.sql:
            conn.sql(args.sql).show(max_rows=args.max_rows)
            return 0
        print(f"liqmap snapshot {path} (read-only). End statements with ';', Ctrl-D to quit.")
        buffer = ""
        while True:
            try:
                line = input("liqmap> " if not buffer else "   ...> ")
            except EOFError:
                return 0
            buffer += line + "\n"
            if buffer.strip().endswith(";"):
                try:
                    conn.sql(buffer).show(max_rows=args.max_rows)
                except duckdb.Error as exc:
                    print(f"error: {exc}")
                buffer = ""
    finally:
        conn.close()


def _dev(args: argparse.Namespace) -> int:
    from orchestration.home import ensure_dagster_home

    ensure_dagster_home()
    cmd = ["dg", "dev", "--host", "127.0.0.1", "--port", str(args.port)]
    bin_dir = os.path.dirname(sys.executable)
    os.execvp(os.path.join(bin_dir, "dg"), cmd)
    return 0  # pragma: no cover


def _collect(args: argparse.Namespace) -> int:
    import logging

    from transforms.config import ConfigError
    from transforms.raw.realized.collector import run_collector
    from transforms.raw.realized.settings import collector_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = collector_config(load_settings())
    except ConfigError as exc:
        print(f"liqmap collect: {exc}", file=sys.stderr)
        return 2
    run_collector(config)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liqmap", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialize the whole chain for a date range")
    run.add_argument("--start", type=date.fromisoformat, help="first day (default env)")
    run.add_argument("--end", type=date.fromisoformat, help="last day, inclusive (default env)")
    run.set_defaults(func=_run)
    query = sub.add_parser("query", help="query the read-only snapshot")
    query.add_argument("sql", nargs="?", help="SQL to run; omit for a prompt")
    query.add_argument("--max-rows", type=int, default=40)
    query.set_defaults(func=_query)
    dev = sub.add_parser("dev", help="start the Dagster UI and daemon on 127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=_dev)
    collect = sub.add_parser("collect", help="collect realized liquidations (runs until stopped)")
    collect.set_defaults(func=_collect)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
