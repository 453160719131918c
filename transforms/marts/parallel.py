"""Several symbols' marts on both cores: the model in worker processes, every write here.

A range build spends about two thirds of its time in the model (numpy and pandas, one core)
and a third in DuckDB writing the rows. The warehouse has one writer (this process): each
symbol's job (transforms.marts.update.prepare_marts, its inputs read here) is modelled in a
forked worker that hands over its segments' rows (`model_batches`): the four large marts as
Arrow files in a RAM-backed folder, the rest through a pipe; this process writes each segment
as it arrives, with its states (`replace_batch`; segments of a few days share a
transaction, `_Writes`), while the workers model the next. A worker holds one segment's rows at a
time; segments it finished before the writer took them wait in that folder (RAM), so a
writer slower than the workers grows it. The rows are those of `update_marts`: the same
functions run, only in another process.

Workers are forked (nothing to import, the inputs are inherited) and never touch the
warehouse connection; they end with the job (`os._exit` via multiprocessing, no cleanup of
the parent's objects).
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import resource
import shutil
import tempfile
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

import duckdb
import pyarrow as pa

from transforms.db import release_memory, threads
from transforms.failpoints import failpoint
from transforms.marts import update as marts_update
from transforms.marts.store import _rows, to_arrow
from transforms.marts.update import (
    MartsJob,
    SymbolMartsUpdate,
    _Batch,
    model_batches,
    replace_batch,
)

#: the marts of many rows, sent as Arrow tables (the others are small, and read as frames)
ARROW_MARTS = ("liq_heatmap", "liq_map", "liq_layer_map", "liq_layer_heatmap")
#: where workers leave their tables for the writer (RAM-backed; else the temp folder)
SPILL_DIR = "/dev/shm"
#: the pipe buffer a worker sends through (Linux's default pipe-max-size)
PIPE_BYTES = 1 << 20
#: worker processes modelling at once (the machine's two cores: workers plus this writer)
WORKERS = 2
#: mart rows a write transaction gathers before it is committed: each commit rewrites
#: (recompresses) the last, partly filled row group of every mart table it appended to, so
#: segments of a few days (a daily run's, one per symbol) share one transaction, while a
#: month's segment (~7·10^5 rows) keeps its own: the rows a transaction holds stay in the
#: writer's memory until it commits (two month segments per commit saved ~18 % of the
#: writer's CPU over 155 days but raised its peak RSS by ~90 MB)
ROWS_PER_COMMIT = 1_000_000


def workers_for(days: int) -> int:
    """Worker processes for windows of up to `days` days: none (this process alone) for a
    window modelled in one segment (a daily run: forking and sending its states back would
    cost more than it saves), else WORKERS."""
    return WORKERS if days > marts_update.CHUNK_DAYS else 0


class _Writes:
    """Segments written (each one's marts with its states, as `write_batch` writes one) into
    a shared transaction until it holds ROWS_PER_COMMIT mart rows: fewer commits, each
    still leaving whole segments. `commit()` ends the open one; `close()` commits the
    segments written whole and rolls back a write that failed midway (its transaction's
    earlier segments with it: the next run models them again from the states committed
    before)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, rows_per_commit: int = ROWS_PER_COMMIT):
        self.conn, self.budget = conn, rows_per_commit
        self.pending = 0  # segments in the open transaction
        self.rows = 0  # their mart rows
        self.broken = False  # a write failed inside the open transaction

    def write(self, job: MartsJob, batch: _Batch) -> None:
        rows = sum(_rows(f) for frames in batch.markets.values() for f in frames.by_mart().values())
        if self.pending and self.rows + rows > self.budget:
            self.commit()
        if self.pending == 0:
            self.conn.execute("BEGIN TRANSACTION")
        self.broken = True
        replace_batch(self.conn, job, batch)
        self.broken = False
        self.pending += 1
        self.rows += rows
        # the next segment does not stand on this one's garbage (the setting this makes is
        # not part of the transaction: a rollback still undoes the rows)
        release_memory(self.conn)

    def commit(self) -> None:
        """Commit the open transaction (none open: nothing)."""
        if self.pending == 0:
            return
        failpoint("commit")
        self.conn.execute("COMMIT")
        self.pending = self.rows = 0

    def close(self) -> None:
        if self.broken:
            self.conn.execute("ROLLBACK")
            self.pending, self.rows, self.broken = 0, 0, False
        self.commit()


class WorkerFailed(RuntimeError):
    """A worker's model raised: its traceback, as text."""


@dataclass(frozen=True)
class _Spilled:
    """A mart table a worker wrote to `path` (Arrow IPC) instead of sending it."""

    path: str


def _spill(batch: _Batch, folder: str, name: str) -> _Batch:
    """The batch with its large marts written as Arrow IPC files in `folder` (a RAM-backed
    folder when there is one) and replaced by their paths: the writer maps them without a
    copy, where tens of MB through the pipe cost a copy per 64 kB piece on both sides."""
    for venue, frames in batch.markets.items():
        for mart in ARROW_MARTS:
            table = to_arrow(getattr(frames, mart))
            path = os.path.join(folder, f"{name}-{venue}-{mart}.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)
            setattr(frames, mart, _Spilled(path))
    return batch


def _load(batch: _Batch) -> _Batch:
    """The spilled tables mapped back (zero copy); their files unlinked at once (the
    mapping keeps them readable)."""
    for frames in batch.markets.values():
        for name in ARROW_MARTS:
            spilled = getattr(frames, name)
            if isinstance(spilled, _Spilled):
                with pa.memory_map(spilled.path) as source:
                    setattr(frames, name, pa.ipc.open_file(source).read_all())
                os.unlink(spilled.path)
    return batch


def _widen(pipe: Connection) -> None:
    """Give the pipe a buffer of PIPE_BYTES: a segment's small marts (daily metrics, moves,
    states) still go through it, and in 64 kB pieces each is a switch between the processes."""
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: the default
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _work(job: MartsJob, out: Connection, folder: str) -> None:
    """The worker: model the job's segments and send each; then 'done' (or the error)."""
    try:
        for seq, batch in enumerate(model_batches(job.plan)):
            out.send(("batch", _spill(batch, folder, f"{job.plan.symbol}-{seq}")))
            del batch
        out.send(("done", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    except BaseException:  # noqa: BLE001 - reported to the writer, which raises it
        out.send(("error", traceback.format_exc()))
    finally:
        out.close()


def run_jobs(
    conn: duckdb.DuckDBPyConnection, jobs: Iterable[MartsJob], workers: int = WORKERS
) -> list[SymbolMartsUpdate]:
    """Model `jobs` in up to `workers` forked processes and write their rows here; each
    job's update (rows written per mart) in the order taken. `jobs` is taken lazily, one
    when a worker is free (a generator reading each job's inputs overlaps the others'
    model). With no worker, in this process (every job taken first). A worker's error fails
    the whole call (the segments already written whole stay, committed, as a serial run's
    do)."""
    done: list[MartsJob] = []
    writes = _Writes(conn)
    if workers <= 0:
        # every job taken first: preparing one may write (a split window), which must not
        # happen inside the transaction the segments share
        done = list(jobs)
        try:
            for job in done:
                for batch in model_batches(job.plan):
                    writes.write(job, batch)
        finally:
            writes.close()
        return [job.update for job in done]
    ctx = multiprocessing.get_context("fork")
    queue = iter(jobs)
    more = True
    spill = SPILL_DIR if os.path.isdir(SPILL_DIR) else None
    folder = tempfile.mkdtemp(prefix="liqmap-marts-", dir=spill)
    active: dict[Connection, tuple[MartsJob, multiprocessing.process.BaseProcess]] = {}
    with threads(conn, 1):  # the workers have the other core
        try:
            while more or active:
                while more and len(active) < workers:
                    writes.commit()  # preparing the next job may write (a split window)
                    job = next(queue, None)
                    if job is None:
                        more = False
                        break
                    done.append(job)
                    reader, writer = ctx.Pipe(duplex=False)
                    _widen(writer)
                    proc = ctx.Process(target=_work, args=(job, writer, folder), daemon=True)
                    proc.start()
                    writer.close()
                    active[reader] = (job, proc)
                for reader in wait(list(active)) if active else ():
                    job, proc = active[reader]
                    try:
                        kind, payload = reader.recv()
                    except EOFError:
                        kind, payload = "error", f"worker exited with code {proc.exitcode}"
                    if kind == "batch":
                        writes.write(job, _load(payload))
                        del payload
                        continue
                    del active[reader]
                    reader.close()
                    proc.join()
                    if kind == "error":
                        raise WorkerFailed(f"model {job.plan.symbol}: {payload}")
                    job.update.worker_rss_mb = float(payload)
        finally:
            for reader, (_, proc) in active.items():
                proc.kill()
                proc.join()
                reader.close()
            shutil.rmtree(folder, ignore_errors=True)
            writes.close()
    return [job.update for job in done]
