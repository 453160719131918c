"""Several symbols' marts on both cores: the model in worker processes, every write here.

A range build spends about two thirds of its time in the model (numpy and pandas, one core)
and a third in DuckDB writing the rows. The warehouse has one writer (this process): each
symbol's job (transforms.marts.update.prepare_marts, its inputs read here) is modelled in a
forked worker that sends its segments' rows (`model_batches`) through a pipe, and this
process writes each as it arrives, in one transaction with its states (`write_batch`), while
the workers model the next. A worker holds one segment's rows at a time (its send blocks until
they are taken), so memory stays that of a chunk per worker. The rows are those of
`update_marts`: the same functions run, only in another process.

Workers are forked (nothing to import, the inputs are inherited) and never touch the
warehouse connection; they end with the job (`os._exit` via multiprocessing, no cleanup of
the parent's objects).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait

import duckdb

from transforms.marts.update import MartsJob, SymbolMartsUpdate, model_batches, write_batch

#: worker processes modelling at once (the machine's two cores: workers plus this writer)
WORKERS = 2


class WorkerFailed(RuntimeError):
    """A worker's model raised: its traceback, as text."""


def _work(job: MartsJob, out: Connection) -> None:
    """The worker: model the job's segments and send each; then 'done' (or the error)."""
    try:
        for batch in model_batches(job.plan):
            out.send(("batch", batch))
            del batch
        out.send(("done", None))
    except BaseException:  # noqa: BLE001 - reported to the writer, which raises it
        out.send(("error", traceback.format_exc()))
    finally:
        out.close()


def run_jobs(
    conn: duckdb.DuckDBPyConnection, jobs: Sequence[MartsJob], workers: int = WORKERS
) -> list[SymbolMartsUpdate]:
    """Model `jobs` in up to `workers` forked processes and write their rows here; each
    job's update (rows written per mart) in order. With one worker or one job, in this
    process. A worker's error fails the whole call (the rows already written stay, each
    segment in its own transaction, as a serial run's would)."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            for batch in model_batches(job.plan):
                write_batch(conn, job, batch)
        return [job.update for job in jobs]
    ctx = multiprocessing.get_context("fork")
    queue = deque(jobs)
    active: dict[Connection, tuple[MartsJob, multiprocessing.process.BaseProcess]] = {}
    try:
        while queue or active:
            while queue and len(active) < workers:
                job = queue.popleft()
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_work, args=(job, writer), daemon=True)
                proc.start()
                writer.close()
                active[reader] = (job, proc)
            for reader in wait(list(active)):
                job, proc = active[reader]
                try:
                    kind, payload = reader.recv()
                except EOFError:
                    kind, payload = "error", f"worker exited with code {proc.exitcode}"
                if kind == "batch":
                    write_batch(conn, job, payload)
                    del payload
                    continue
                del active[reader]
                reader.close()
                proc.join()
                if kind == "error":
                    raise WorkerFailed(f"model {job.plan.symbol}: {payload}")
    finally:
        for reader, (_, proc) in active.items():
            proc.kill()
            proc.join()
            reader.close()
    return [job.update for job in jobs]
