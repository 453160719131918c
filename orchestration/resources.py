"""Resources: the DuckDB warehouse (one writer, closed at the run's end) and the archive source.

Both are plain configuration objects so tests can point them at temp directories and a
local HTTP server, and the Dagster launchpad shows what a run used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from orchestration import heap
from transforms.config import (
    DEFAULT_BINANCE_FAPI_URL,
    DEFAULT_LOCK_ATTEMPTS,
    Settings,
    load_settings,
)
from transforms.db import HeldConnection, open_warehouse, release_memory
from transforms.venues import DEFAULT_VENUES


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB write lock even after retries."""


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. In a run, one read-write connection serves every step and is
    closed when the run's steps are done (Dagster's teardown); outside a run, each `connect()`
    opens and closes it.

    Each open checks the schema and each close checkpoints what the step wrote: over a daily
    run's ~8 steps that was ~0.7 s of checkpoints and re-reads of blocks the step before had
    cached (issue 19). Every commit is durable in the write-ahead log either way (a SIGKILL
    loses nothing committed; the next open replays it). The file is still free once the run
    ends, and within it whenever a step asks for it read-only (the site's worker processes
    open it themselves) or a step fails (the next step gets a fresh connection).

    The run's setup and teardown are also where the heap the process imported is frozen and
    thawed (orchestration.heap): the garbage collector's full passes skip it while the run
    goes."""

    path: str
    lock_retries: int = DEFAULT_LOCK_ATTEMPTS  # LIQMAP_LOCK_ATTEMPTS
    lock_wait_seconds: float = 0.5
    _held: HeldConnection | None = PrivateAttr(default=None)
    _held_pid: int = PrivateAttr(default=0)
    _depth: int = PrivateAttr(default=0)  # `connect()`s of the held connection now open
    _frozen: bool = PrivateAttr(default=False)  # this run froze the process's heap

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run starts: the first read-write `connect()` opens the connection it keeps; the
        heap imported so far is frozen."""
        self._held = HeldConnection(self._connect_unheld)
        self._held_pid = os.getpid()
        self._frozen = heap.freeze()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """The run's steps are done: close (and so checkpoint) the kept connection; thaw."""
        try:
            self.release()
        finally:
            heap.thaw(self._frozen)
            self._frozen = False

    def release(self) -> None:
        """Close the run's kept connection, if open (the next `connect()` opens a new one)."""
        if self._held is not None and self._held_pid == os.getpid():
            self._held.release()

    @contextmanager
    def connect(
        self, read_only: bool = False, hold: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """The run's connection (read-write), else one opened with retries while another
        process holds the lock and closed on exit. `hold=False`: a step that waits long
        between its writes (the nowcast's REST fetches) frees the file while it waits."""
        held = self._held if self._held_pid == os.getpid() else None  # not a forked child's
        if held is None or read_only or not hold:
            self.release()  # DuckDB: one process writes, or any number read
            with self._connect_unheld(read_only) as conn:
                yield conn
            return
        self._depth += 1
        try:
            with held() as conn:
                yield conn
        except BaseException:
            held.release()  # a failed step's connection is not handed to the next step
            raise
        finally:
            self._depth -= 1
        if self._depth == 0:  # a step's last use: what it freed goes back to the OS, as a
            release_memory(conn)  # close did (the next step's peak does not stand on it)

    @contextmanager
    def _connect_unheld(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open with retries while another process holds the lock; then a clear error."""
        conn = self._open_with_retries(read_only)
        try:
            yield conn
        finally:
            conn.close()

    def _open_with_retries(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        delay = self.lock_wait_seconds
        for attempt in range(1, self.lock_retries + 1):
            try:
                return open_warehouse(self.path, read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if attempt == self.lock_retries:
                    raise WarehouseLockedError(
                        f"warehouse {self.path} is locked by another process after "
                        f"{self.lock_retries} attempts; ad hoc readers must use the snapshot "
                        f"(`liqmap query`), never the live file. DuckDB said: {exc}"
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


class ArchiveResource(dg.ConfigurableResource):
    """Where raw files come from (synthetic offline default, mirror or binance) and where the
    cache and the site go."""

    source: str = "synthetic"
    data_dir: str
    symbols: list[str]
    venues: list[str] = list(DEFAULT_VENUES)
    start_date: str
    end_date: str
    binance_url: str
    mirror_dir: str | None = None
    synthetic_seed: int = 7
    site_dir: str
    binance_fapi_url: str = DEFAULT_BINANCE_FAPI_URL

    def settings(self) -> Settings:
        """These fields as transforms' Settings, validated exactly like the environment."""
        env = {
            "LIQMAP_DATA_DIR": self.data_dir,
            "LIQMAP_SOURCE": self.source,
            "LIQMAP_SYMBOLS": ",".join(self.symbols),
            "LIQMAP_VENUES": ",".join(self.venues),
            "LIQMAP_START_DATE": self.start_date,
            "LIQMAP_END_DATE": self.end_date,
            "LIQMAP_BINANCE_URL": self.binance_url,
            "LIQMAP_BINANCE_FAPI_URL": self.binance_fapi_url,
            "LIQMAP_SYNTHETIC_SEED": str(self.synthetic_seed),
            "LIQMAP_SITE_DIR": self.site_dir,
        }
        if self.mirror_dir:
            env["LIQMAP_MIRROR_DIR"] = self.mirror_dir
        return load_settings(env)


def resources_from_settings(settings: Settings | None = None) -> dict[str, object]:
    """The resource dict for Definitions, the CLI and tests."""
    s = settings or load_settings()
    return {
        "warehouse": WarehouseResource(path=str(s.warehouse_path), lock_retries=s.lock_attempts),
        "archive": ArchiveResource(
            source=s.source,
            data_dir=str(s.data_dir),
            symbols=list(s.symbols),
            venues=list(s.venues),
            start_date=s.start_date.isoformat(),
            end_date=s.end_date.isoformat(),
            binance_url=s.binance_url,
            mirror_dir=str(s.mirror_dir) if s.mirror_dir else None,
            synthetic_seed=s.synthetic_seed,
            site_dir=str(s.output_site_dir),
            binance_fapi_url=s.binance_fapi_url,
        ),
    }
