"""`liqmap` command line: run the chain, query the snapshot, show status, start the Dagster UI.

liqmap run [--start D] [--end D]   materialize every asset for the range as one run
           [--from-scratch]        ... modelling every market from its first bar
liqmap now                         refresh the day in progress once (nowcast, alerts, now view)
liqmap status                      what the warehouse holds, the last run, snapshot, site
liqmap query "SQL"                 run SQL on the published read-only snapshot
liqmap query                       interactive prompt on the snapshot
liqmap dev                         Dagster UI + daemon on 127.0.0.1:3000
liqmap collect                     collect realized liquidations and forward samples until stopped

Exit status: 0 ok, 1 the run failed or an internal error, 2 a configuration or input mistake
(one line on stderr naming the setting, the bad value and what is expected; bad SQL in
`liqmap query` counts as input, and so does a statement it refuses: the query connection reads
the snapshot and nothing else), 130 / 143 stopped by SIGINT / SIGTERM (`liqmap: interrupted`).
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import traceback
from datetime import UTC, date, datetime
from typing import NoReturn

from orchestration.errors import (
    EXIT_FAILURE,
    EXIT_USER_ERROR,
    internal_error_line,
    write_traceback,
)
from orchestration.interrupts import exit_status
from transforms.config import (
    ConfigError,
    check_inputs,
    default_end_date,
    load_settings,
    parse_now,
)


class _Interrupted(Exception):
    """SIGINT/SIGTERM stopped the command: `liqmap: interrupted`, exit 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = int(signum)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (exit 2), not usage + error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"liqmap: error: {message} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_USER_ERROR)


def _day(flag: str):
    def parse(value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} {value!r} is not a date: expected YYYY-MM-DD"
            ) from None

    parse.__name__ = flag
    return parse


def _range(args: argparse.Namespace, settings) -> tuple[date, date]:
    """The run's days, checked against the daily partitions (first day .. yesterday UTC)."""
    start = args.start or settings.start_date
    end = args.end or settings.end_date
    start_name = "--start" if args.start else "LIQMAP_START_DATE"
    end_name = "--end" if args.end else "LIQMAP_END_DATE"
    first = settings.start_date
    last = default_end_date()  # yesterday, by LIQMAP_NOW when it pins the clock
    if start < first:
        raise ConfigError(
            f"{start_name} {start} is before the first daily partition {first} "
            f"(LIQMAP_START_DATE): expected a day from {first} to {last}"
        )
    if end > last:
        raise ConfigError(
            f"{end_name} {end} is after yesterday ({last}, the last complete UTC day): "
            f"expected a day from {first} to {last}"
        )
    if args.end and end > settings.end_date:
        raise ConfigError(
            f"--end {end} is after LIQMAP_END_DATE={settings.end_date}: expected a day up to "
            f"{settings.end_date} (or a later LIQMAP_END_DATE)"
        )
    if end < start:
        raise ConfigError(f"{end_name} {end} is before {start_name} {start}: expected end >= start")
    return start, end


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    start, end = _range(args, settings)
    # every setting, before Dagster starts or anything is downloaded (the assets check again);
    # these first, before pandas and the venue packages are imported (a mistake costs 0.1 s)
    check_inputs(settings)
    from orchestration.console import RunDisplay, out, print_summary
    from orchestration.home import ensure_dagster_home
    from orchestration.interrupts import SignalWatch
    from orchestration.runner import run_chain
    from transforms.raw.packages import check_venue_settings
    from transforms.reference.tiers import require_tiers, tiers_file_from_env
    from transforms.venues import file_tier_venues

    for venue in settings.venues:
        check_venue_settings(venue, settings)
    require_tiers(file_tier_venues(settings.venues), settings.symbols, tiers_file_from_env())
    home = ensure_dagster_home()
    log_path = home / "logs" / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    days = (end - start).days + 1
    out.print(
        f"liqmap: {settings.source} source, {','.join(settings.symbols)}, {start}..{end} "
        f"({days} day{'s' if days > 1 else ''}); Dagster event log: {log_path}",
        soft_wrap=True,
    )
    with SignalWatch() as signals:
        try:
            with RunDisplay() as display:
                outcome = run_chain(
                    settings,
                    start,
                    end,
                    log_path,
                    verbose=args.verbose,
                    on_change=display.update,
                    from_scratch=args.from_scratch,
                    stopped_by=lambda: signals.stopped_by,
                    freeze_heap=args.owns_process,
                )
        except KeyboardInterrupt:  # a stop before or after Dagster's own handlers
            raise _Interrupted(signals.stopped_by or signal.SIGINT) from None
    print_summary(
        outcome, str(settings.output_site_dir / "index.html"), str(settings.snapshot_path)
    )
    if outcome.interrupted_by:
        raise _Interrupted(outcome.interrupted_by)
    return 0 if outcome.success else EXIT_FAILURE


def _now(args: argparse.Namespace) -> int:
    import logging

    settings = load_settings()
    check_inputs(settings)  # before the nowcast's imports: a mistake costs 0.1 s
    from orchestration.nowcast import run_nowcast
    from transforms.reference.tiers import require_tiers, tiers_file_from_env
    from transforms.venues import file_tier_venues

    require_tiers(file_tier_venues(settings.venues), settings.symbols, tiers_file_from_env())
    fixed = parse_now(os.environ.get("LIQMAP_NOW", ""))  # the clock it uses
    if not settings.warehouse_path.is_file():
        raise ConfigError(
            f"no warehouse at {settings.warehouse_path}: the nowcast continues the daily "
            "history, run `liqmap run` (or `make demo`) first"
        )
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    run = run_nowcast(settings) if fixed is None else run_nowcast(settings, now=lambda: fixed)
    r = run.refresh
    for m in r.markets:
        state = f"as of {m.as_of:%H:%M} UTC, provisional" if m.ok and m.as_of else "stale"
        print(f"liqmap now: {m.venue} {m.symbol}: {state} ({m.requests} requests)")
    for line in run.lines():
        print(f"liqmap now: {line}", file=sys.stderr)
    for alert in run.alerts:
        print(f"liqmap now: alert: {alert['title']}")
    site = settings.output_site_dir / "now" / "index.html"
    print(
        f"liqmap now: {len(run.alerts)} new alert(s), {run.delivery.delivered} delivered; "
        f"{run.pages} page(s) in {site.parent}; {sum(run.seconds.values()):.1f} s"
    )
    return 0 if r.ok else EXIT_FAILURE


def _status(args: argparse.Namespace) -> int:
    from orchestration.home import dagster_home_path
    from orchestration.status import collect_status, render_status

    settings = load_settings()
    home = dagster_home_path()
    if home.exists() and not home.is_dir():
        raise ConfigError(f"DAGSTER_HOME={home} is a file: expected a folder")
    status = collect_status(settings, home)
    for line in render_status(status):
        print(line)
    return EXIT_FAILURE if status.broken else 0


def _query_error(exc: Exception) -> str:
    """One line for a statement DuckDB refused or could not run."""
    import duckdb

    text = " ".join(str(exc).split())
    refused = isinstance(exc, duckdb.PermissionException) or any(
        marker in text for marker in ("read-only mode", "configuration has been locked")
    )
    if refused:
        return f"query refused: `liqmap query` only reads the snapshot ({text})"
    return f"query failed: {text}"


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from transforms.db import is_duckdb_file, open_query_connection

    settings = load_settings()
    path = settings.snapshot_path
    if not path.exists():
        raise ConfigError(f"no snapshot at {path}: run `liqmap run` first")
    if not path.is_file() or not is_duckdb_file(path):
        raise ConfigError(
            f"the snapshot {path} is not a DuckDB database: expected the file `liqmap run` "
            "publishes (run it again to republish)"
        )
    conn = open_query_connection(path)
    try:
        if args.sql:
            try:
                conn.sql(args.sql).show(max_rows=args.max_rows)
            except duckdb.Error as exc:
                raise ConfigError(_query_error(exc)) from None
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
                    print(f"error: {_query_error(exc)}")
                buffer = ""
    finally:
        conn.close()


def _dev(args: argparse.Namespace) -> int:
    from orchestration.devserver import run_dev
    from orchestration.home import ensure_dagster_home

    check_inputs(load_settings())  # a bad setting fails here in one line, not in the code server
    ensure_dagster_home()
    return run_dev(args.port)


def _collect(args: argparse.Namespace) -> int:
    import logging

    from transforms.raw.packages import samplers
    from transforms.raw.realized.collector import run_collector
    from transforms.raw.realized.settings import collector_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    run_collector(collector_config(settings), samplers(settings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="Dagster's event stream and tracebacks on the console",
    )
    parser = _Parser(prog="liqmap", description=__doc__.splitlines()[0], parents=[common])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run", parents=[common], help="materialize the whole chain for a date range"
    )
    run.add_argument("--start", type=_day("--start"), help="first day (default env)")
    run.add_argument("--end", type=_day("--end"), help="last day, inclusive (default env)")
    run.add_argument(
        "--from-scratch",
        action="store_true",
        help="model every market from its first bar, ignoring the stored model state",
    )
    run.set_defaults(func=_run)
    now = sub.add_parser(
        "now", parents=[common], help="refresh the day in progress once (nowcast and alerts)"
    )
    now.set_defaults(func=_now)
    status = sub.add_parser("status", parents=[common], help="what is built, last run, site")
    status.set_defaults(func=_status)
    query = sub.add_parser("query", parents=[common], help="query the read-only snapshot")
    query.add_argument("sql", nargs="?", help="SQL to run; omit for a prompt")
    query.add_argument("--max-rows", type=int, default=40)
    query.set_defaults(func=_query)
    dev = sub.add_parser(
        "dev", parents=[common], help="start the Dagster UI and daemon on 127.0.0.1"
    )
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=_dev)
    collect = sub.add_parser(
        "collect", parents=[common], help="collect realized liquidations (runs until stopped)"
    )
    collect.set_defaults(func=_collect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `liqmap` program. Without `argv` (the console script, `python -m
    orchestration.cli`) it reads sys.argv and owns its process, which ends when it returns:
    the objects alive then are frozen (gc.freeze), so the interpreter's exit does not walk
    them in its final garbage collections (~0.5 s CPU after a run). Called with `argv` (from
    Python, tests), the caller's process and its garbage collector are left as they are."""
    args = build_parser().parse_args(argv)
    args.verbose = getattr(args, "verbose", False)
    args.owns_process = argv is None
    try:
        return _dispatch(args)
    finally:
        if args.owns_process:
            gc.freeze()


def _dispatch(args: argparse.Namespace) -> int:
    """The sub-command, its mistakes, stops and internal errors as exit statuses."""
    try:
        return args.func(args)
    except ConfigError as exc:
        sys.stderr.write(f"liqmap: error: {' '.join(str(exc).split())}\n")
        return EXIT_USER_ERROR
    except _Interrupted as stop:
        sys.stderr.write("liqmap: interrupted\n")
        return exit_status(stop.signum)
    except KeyboardInterrupt:
        sys.stderr.write("liqmap: interrupted\n")
        return exit_status(signal.SIGINT)
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        log = write_traceback(exc)
        sys.stderr.write(f"liqmap: {internal_error_line(exc, log)}\n")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
