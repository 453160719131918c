"""The site's symbols built side by side in forked worker processes (reports.site).

A year's site is nearly all per-symbol work (day pages, day documents, heat months), so on
two cores two symbols at a time halve its wall time. Each worker builds whole symbols with its
own `SiteWriter` on the same output folder (their files are disjoint) and its own read-only
connection to the warehouse file: DuckDB's state is not fork-safe, so a worker never touches
the connection it inherited; it attaches the file anew in a fresh in-memory database. Other
processes may open a DuckDB file only while every connection to it is read-only, so a build
whose connection can write runs its symbols in its own process, as before. The parent writes
the shared pages and, last, the manifest (reports.site.build_site), so a build killed with
its workers stays recoverable as before.

`LIQMAP_SITE_WORKERS`: at most this many workers (1: build in this process).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import duckdb

WORKERS_ENV = "LIQMAP_SITE_WORKERS"
MAX_WORKERS = 2  # the machine's two cores (more workers only add memory)
_PR_SET_PDEATHSIG = 1  # prctl(2)
_SOURCE = "site_source"  # the warehouse's name in a worker's database

_ACCESS_MODE_SQL = "SELECT current_setting('access_mode')"
_FILE_SQL = "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
_ATTACH_SQL = f"ATTACH $path AS {_SOURCE} (READ_ONLY)"
_USE_SQL = f"USE {_SOURCE}"

# what forked workers read (set by `run` before the pool forks, cleared after)
_JOB: dict[str, Any] = {}


def warehouse_file(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The file behind `conn` when other processes may open it as well (a read-only
    connection to a database file), else None."""
    ((mode,),) = conn.execute(_ACCESS_MODE_SQL).fetchall()
    if str(mode).lower() != "read_only":
        return None
    rows = conn.execute(_FILE_SQL).fetchall()
    path = rows[0][0] if rows else None
    return path if path and Path(path).is_file() else None


def worker_count(
    conn: duckdb.DuckDBPyConnection, jobs: int, env: Mapping[str, str] | None = None
) -> int:
    """min(MAX_WORKERS, cores, jobs), lowered by LIQMAP_SITE_WORKERS; 1 when workers could
    not open the warehouse (`warehouse_file`)."""
    env = os.environ if env is None else env
    n = min(MAX_WORKERS, os.cpu_count() or 1, jobs)
    raw = env.get(WORKERS_ENV, "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{WORKERS_ENV}={raw!r}: expected a whole number of workers >= 1")
        n = min(n, int(raw))
    if n > 1 and warehouse_file(conn) is None:
        return 1
    return n


def _die_with_parent(parent: int) -> None:
    """SIGKILL this worker when the build's process dies (Linux), so a killed build leaves no
    worker writing pages or holding the warehouse open against the next run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os.kill(os.getpid(), signal.SIGKILL)


def _worker_start(parent: int, path: str, temp_root: str, config: dict[str, str]) -> None:
    """A worker's own connection: the warehouse file attached read-only, DuckDB's spill files
    in a folder of its own (two processes must not share one). What it inherited from the
    build's process (the marts loaded, the modules) is frozen out of the cyclic collector
    (gc.freeze): a worker lives for one build, and its full collections no longer rescan
    them (nor touch, and so copy, their memory pages)."""
    _die_with_parent(parent)
    gc.freeze()
    temp = Path(temp_root) / str(os.getpid())
    temp.mkdir()
    conn = duckdb.connect(":memory:", config={**config, "temp_directory": str(temp)})
    conn.execute(_ATTACH_SQL, {"path": path})
    conn.execute(_USE_SQL)
    _JOB["conn"] = conn


def _worker_job(i: int) -> Any:
    """Job `i` on the worker's connection; an error names the job."""
    name = _JOB["names"][i]
    try:
        return _JOB["build"](_JOB["conn"], i)
    except Exception as exc:
        raise RuntimeError(f"site build of {name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        _JOB["done"][i].set()  # failed too: a job waiting for it goes on, the build fails


def _lost(future: Future) -> bool:
    """The job did not finish: its worker died (or it never started)."""
    if future.cancelled() or not future.done():
        return True
    return isinstance(future.exception(), BrokenProcessPool)


def wait_for(jobs: Iterable[int]) -> None:
    """In a job: until these jobs are done (or failed). Only jobs given before the waiting
    one: the workers take jobs in order, so those have started and a wait always ends."""
    done = _JOB.get("done")
    for j in jobs if done else ():
        done[j].wait()


def run(
    conn: duckdb.DuckDBPyConnection,
    names: Sequence[str],
    build: Callable[[duckdb.DuckDBPyConnection, int], Any],
    workers: int,
    config: dict[str, str],
) -> list[Any]:
    """`build(conn, i)` for every job i (named `names[i]`), in order of `names`: in this
    process with `conn` when `workers` is 1, else in that many forked workers, each on its
    own connection to `conn`'s file (DuckDB settings `config`), taking the jobs in order (a
    job may `wait_for` earlier ones). A job's error is raised here, naming the job; a
    worker killed too, naming the jobs not built (the pool stops the other workers)."""
    if workers <= 1:
        return [build(conn, i) for i in range(len(names))]
    path = warehouse_file(conn)
    if path is None:
        raise ValueError("site workers need a read-only connection to a warehouse file")
    temp_root = tempfile.mkdtemp(prefix="liqmap-site-workers-")
    fork = multiprocessing.get_context("fork")
    _JOB.update(names=list(names), build=build, done=[fork.Event() for _ in names])
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=fork,
            initializer=_worker_start,
            initargs=(os.getpid(), path, temp_root, config),
        ) as pool:
            futures = [pool.submit(_worker_job, i) for i in range(len(names))]
            try:
                return [f.result() for f in futures]
            except BrokenProcessPool as exc:
                lost = [n for n, f in zip(names, futures, strict=True) if _lost(f)]
                raise RuntimeError(
                    f"site build: a worker process died (killed?); not built: {', '.join(lost)}"
                ) from exc
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        _JOB.clear()
        shutil.rmtree(temp_root, ignore_errors=True)
