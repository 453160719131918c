"""DuckDB connections for the warehouse: schema applied, resources capped, always closed.

DuckDB allows one read-write process or many read-only ones, never both, so every writer
goes through `warehouse()` which closes the connection in `finally` (the upstream resource
does not), and readers outside the pipeline use the published snapshot instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from importlib import resources
from pathlib import Path

import duckdb

from transforms.failpoints import failpoint

#: DuckDB keeps the blocks it has read or written cached up to `memory_limit` (the buffer
#: pool; what it cannot hold, it evicts or spills to `<warehouse>.tmp`). Under 4GB a year's
#: model stage grew it to ~330 MB for 3 symbols and the process peaked at 855 MB; under
#: 256MB it stays ~150-200 MB and the peak is ~630 MB, with no measured slowdown
#: (benchmarks/pipeline.py, issue 19). Not lower: under 64MB a year's model stage fails its
#: checkpoint ("failed to pin block of size 1.0 MiB", the model-state blobs), a fatal error.
DEFAULT_CONFIG = {"threads": "2", "memory_limit": "256MB"}
#: whether the connection's configuration is locked, and the statement setting the buffer
#: pool's limit again (to a configured value, never to input): DuckDB then hands back to the
#: OS what its allocator kept of the memory its queries freed (see `release_memory`)
_LOCKED_SQL = "SELECT current_setting('lock_configuration')"
_SET_LIMIT_SQL = "SET memory_limit = '{limit}'"
#: a connection's thread count, and the statement setting it (to an int, never to input)
THREADS_SQL = "SELECT current_setting('threads')"
_SET_THREADS_SQL = "SET threads = {n:d}"


def schema_sql() -> str:
    """The idempotent DDL for every layer."""
    return resources.files("transforms.sql").joinpath("schema.sql").read_text()


def sql_file(name: str) -> str:
    """Text of a named file from transforms/sql/."""
    return resources.files("transforms.sql").joinpath(name).read_text()


# What the schema was last applied as: the DDL's sha256 and the number of columns it left in
# the project's schemas. Executing the whole DDL costs ~50 ms per open (a daily run opens
# the warehouse a few times per market); when both still match, the DDL is known applied
# (a dropped table or column, or a changed schema.sql, changes them and the DDL runs again).
SCHEMA_MARK_TABLE = "main.liqmap_schema"
SCHEMA_MARK_SQL = f"""
SELECT (SELECT any_value(mark) FROM {SCHEMA_MARK_TABLE}),
       (SELECT count(*) FROM duckdb_columns()
        WHERE database_name = current_database()
          AND schema_name IN ('raw', 'stg', 'ref', 'mart'))
"""
SCHEMA_COLUMNS_SQL = """
SELECT count(*) FROM duckdb_columns()
WHERE database_name = current_database() AND schema_name IN ('raw', 'stg', 'ref', 'mart')
"""


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create missing schemas and tables (no-op when present; skipped when the mark says
    this DDL was applied and nothing of it was dropped since)."""
    text = schema_sql()
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        # fetchall: a result left unfinished would refuse the caller's next register()
        ((mark, columns),) = conn.execute(SCHEMA_MARK_SQL).fetchall()
    except duckdb.CatalogException:  # no mark yet
        mark, columns = None, None
    if mark == f"{digest}:{columns}":
        return
    conn.execute(text)
    ((columns,),) = conn.execute(SCHEMA_COLUMNS_SQL).fetchall()
    conn.execute(f"CREATE OR REPLACE TABLE {SCHEMA_MARK_TABLE} (mark VARCHAR)")
    conn.execute(f"INSERT INTO {SCHEMA_MARK_TABLE} VALUES ($mark)", {"mark": f"{digest}:{columns}"})


def open_warehouse(
    path: str | Path, read_only: bool = False, config: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """Connect and make sure the schema exists (writers only). The caller must close it."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path), read_only=read_only, config=config or DEFAULT_CONFIG)
    if not read_only:
        try:
            apply_schema(conn)
        except BaseException:
            conn.close()
            raise
    return conn


@contextmanager
def warehouse(
    path: str | Path, read_only: bool = False, config: dict[str, str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (see open_warehouse) and always close it."""
    conn = open_warehouse(path, read_only=read_only, config=config)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, rolled back on any error so a partition is never half-written."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    failpoint("commit")
    conn.execute("COMMIT")


@contextmanager
def threads(conn: duckdb.DuckDBPyConnection, n: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """`conn` running `n` DuckDB threads meanwhile, its own count put back after (when the
    process's other workers already have the other core, or a file's bytes must not depend
    on how threads raced)."""
    ((before,),) = conn.execute(THREADS_SQL).fetchall()
    conn.execute(_SET_THREADS_SQL.format(n=int(n)))
    try:
        yield conn
    finally:
        # (a connection a failure left unusable is closed by its owner: its error, not this
        # one, is the one to see)
        with suppress(duckdb.Error):
            conn.execute(_SET_THREADS_SQL.format(n=int(before)))


def _libc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_malloc_trim()


def release_memory(
    conn: duckdb.DuckDBPyConnection, limit: str = DEFAULT_CONFIG["memory_limit"]
) -> None:
    """Return the memory freed since the last write to the OS, so the next step's peak does
    not stand on it (issue 19: a year's model stage kept ~150-250 MB resident it no longer
    used). Two allocators keep freed memory: DuckDB's (per-thread jemalloc arenas, which it
    purges when the buffer pool's limit is set; measured: setting it to the same value
    released ~160 MB after a symbol's marts) and glibc's heap, where numpy and pandas free
    their smaller arrays (malloc_trim). Nothing cached in the buffer pool is dropped; the
    call costs a few milliseconds. Call it between a run's large steps, outside a
    transaction. `limit`: the connection's configured memory_limit (DuckDB shows it rounded
    to MiB, so it is not read back). A connection whose configuration is locked, `liqmap
    query`'s, keeps DuckDB's part."""
    ((locked,),) = conn.execute(_LOCKED_SQL).fetchall()
    if not locked:
        conn.execute(_SET_LIMIT_SQL.format(limit=limit))
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


class HeldConnection:
    """A `connect()` factory that opens the warehouse once and hands every later `connect()`
    the same connection until `release()`: a multi-step job (the hourly nowcast) pays one
    open (schema check, WAL replay) and one close (checkpoint) instead of one per step.
    Release it before a long wait (REST fetches) so another writer is not held up."""

    def __init__(self, connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]):
        self._connect = connect
        self._opened: AbstractContextManager[duckdb.DuckDBPyConnection] | None = None
        self._conn: duckdb.DuckDBPyConnection | None = None
        self.opens = 0

    @contextmanager
    def __call__(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._conn is None:
            opened = self._connect()
            self._conn = opened.__enter__()
            self._opened = opened
            self.opens += 1
        yield self._conn

    def release(self) -> None:
        """Close the held connection (the next `connect()` opens a new one)."""
        opened, self._opened, self._conn = self._opened, None, None
        if opened is not None:
            opened.__exit__(None, None, None)


#: The `liqmap query` connection: the snapshot read-only, no file, network or extension
#: access beyond it (COPY TO, EXPORT, read_csv, glob, ATTACH, INSTALL/LOAD are refused), and
#: the configuration locked so a statement cannot SET any of it back. An ad hoc query runs in
#: its own process, so it gets more memory than the pipeline's 256MB cache: a join or sort over
#: a year of marts should not spill or fail where the reader's machine has room.
QUERY_CONFIG = {
    **DEFAULT_CONFIG,
    "memory_limit": "2GB",
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "lock_configuration": "true",
}

#: bytes 8..12 of every DuckDB database file
DUCKDB_MAGIC = b"DUCK"


def open_query_connection(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The snapshot for ad hoc SQL: a query can read it and nothing else (QUERY_CONFIG)."""
    return duckdb.connect(str(path), read_only=True, config=QUERY_CONFIG)


def is_duckdb_file(path: Path) -> bool:
    """True when `path` starts like a DuckDB database (read without opening or locking it)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head[8:12] == DUCKDB_MAGIC
