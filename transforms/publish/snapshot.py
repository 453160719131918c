"""Publishes a read-only copy of the warehouse and Parquet exports of the marts.

DuckDB lets one process write or many read, never both; analysts therefore read this
snapshot, which is replaced atomically (`os.replace`), so a reader sees either the previous
complete copy or the new one, never a torn file.

A publication costs what changed, not the warehouse's size. Beside the snapshot lies a spare
copy (`.<name>.spare`: the generation before the published one, which no new reader opens)
and a manifest (`.<name>.spare.json`) with the fingerprints of both files
(transforms.publish.fingerprint). A run fingerprints the warehouse (the big tables whose
writers note their days, transforms.changes, only on the days noted since the last
publication and on days whose row count moved: the others keep their published
fingerprints), patches the spare in place — only the `day` partitions (or small whole
tables) whose fingerprint differs — and swaps it in: the published file becomes the next
spare. The spare is copied whole instead (`COPY FROM DATABASE`, as the first publication)
whenever it cannot be trusted: no manifest, a file changed since it was recorded (a killed
run, a hand edit), the warehouse's tables or views changed shape, or a reader still holds
the spare open (DuckDB's lock refuses the write). Each Parquet export is rewritten only when
its mart's fingerprint changed, two files at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from transforms.atomic import FILE_MODE, TMP_SUFFIX, atomic_target, atomic_write_text
from transforms.changes import LOGGED_TABLES, log_position, noted_since
from transforms.db import threads
from transforms.failpoints import failpoint
from transforms.marts.registry import MARTS
from transforms.publish.fingerprint import (
    NULL_DAY,
    WHOLE,
    Known,
    Table,
    catalog_tables,
    changed_parts,
    fingerprints,
    schema_signature,
    withheld_key,
    withheld_sql,
)

#: every exported mart, in registry order (the model's state is internal)
MART_TABLES = tuple(name for name, mart in MARTS.items() if mart.exported)
SNAPSHOT_CATALOG = "liqmap_snapshot"
MANIFEST_VERSION = 1
#: Parquet exports written at once (threads, each with its own cursor)
EXPORT_WORKERS = 2
#: DuckDB threads while the exports are written: one per file, so a file's row groups do not
#: depend on how DuckDB's threads raced (two publications of the same rows give the same bytes;
#: with two threads each a month file came out in other bytes about one run in four) and the
#: EXPORT_WORKERS files in flight take one core each instead of contending for both
EXPORT_THREADS = 1


@dataclass
class Publication:
    """What a publication did: the snapshot's size, whether it was patched in place
    ('incremental') or copied whole ('full', with why), the tables patched and the
    partitions replaced, and the marts whose Parquet export was rewritten."""

    size: int
    mode: str
    why: str = ""
    tables: list[str] = field(default_factory=list)
    partitions: int = 0
    exported: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


def spare_path(snapshot_path: Path) -> Path:
    return Path(snapshot_path).with_name(f".{Path(snapshot_path).name}.spare")


def manifest_path(snapshot_path: Path) -> Path:
    return Path(snapshot_path).with_name(f".{Path(snapshot_path).name}.spare.json")


def remove_stale_snapshot_temps(snapshot_path: Path, exports_dir: Path) -> list[Path]:
    """Delete temp files a killed or failed publication left (`.<name>.<pid>.tmp` and the
    DuckDB WAL beside it). Runs are one writer at a time, so no live publication owns them."""
    removed = []
    exports = Path(exports_dir)
    for folder, names in (
        (Path(snapshot_path).parent, [Path(snapshot_path).name]),
        (exports, [f"{name}.parquet" for name in MART_TABLES]),  # the one-file layout's
        *((exports / name, ["*.parquet"]) for name in MART_TABLES),
    ):
        for name in names:
            for pattern in (f".{name}.*{TMP_SUFFIX}", f".{name}.*{TMP_SUFFIX}.wal"):
                for stale in folder.glob(pattern):
                    stale.unlink(missing_ok=True)
                    removed.append(stale)
    return removed


def _stat(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _read_manifest(snapshot_path: Path) -> dict:
    try:
        data = json.loads(manifest_path(snapshot_path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION else {}


def _write_manifest(snapshot_path: Path, data: dict) -> None:
    text = json.dumps({"version": MANIFEST_VERSION, **data}, sort_keys=True)
    atomic_write_text(manifest_path(snapshot_path), text)


#: raw tables with a `day` column: a withheld (rejected) day's rows are not published
def _withheld(tables: Iterable[Table], held: list[str]) -> dict[str, list[str]]:
    return {t.key: held for t in tables if t.schema == "raw" and t.by_day} if held else {}


def _held_keys(withheld: Mapping[tuple[str, str], Iterable[date]] | Iterable[date]) -> list[str]:
    """withheld_key list: per (venue, symbol) market from a mapping, else whole days."""
    if isinstance(withheld, Mapping):
        keys = {withheld_key(d, v, s) for (v, s), days in withheld.items() for d in days}
    else:
        keys = {withheld_key(d) for d in withheld}
    return sorted(keys)


def adopt_copy(snapshot_path: Path, exports_dir: Path | None = None) -> int:
    """Record the stat of a snapshot folder copied byte for byte with its manifest
    (`cp -a`, `shutil.copytree`: benchmarks/pipeline.py --from-kept) as its files' own: a
    copy has new inodes and times, which the trust checks read as a change (the spare would be
    copied whole, every export rewritten). Only for such a copy: the files' contents are
    taken as recorded; one whose size differs stays distrusted. Returns the files adopted."""
    snapshot_path = Path(snapshot_path)
    manifest = _read_manifest(snapshot_path)
    records = [
        (path, manifest[key])
        for key, path in (("published", snapshot_path), ("spare", spare_path(snapshot_path)))
        if key in manifest
    ]
    if exports_dir is not None:
        records += [(Path(exports_dir) / k, e) for k, e in manifest.get("exports", {}).items()]
    adopted = 0
    for path, record in records:
        now = _stat(path)
        if now is not None and record.get("stat") and now[1] == record["stat"][1]:
            record["stat"] = now
            adopted += 1
    if adopted:
        _write_manifest(snapshot_path, {k: v for k, v in manifest.items() if k != "version"})
    return adopted


def _source_catalog(conn: duckdb.DuckDBPyConnection) -> str:
    return conn.execute("SELECT current_database()").fetchone()[0]


def publish_snapshot(
    conn: duckdb.DuckDBPyConnection,
    snapshot_path: Path,
    withheld: Mapping[tuple[str, str], Iterable[date]] | Iterable[date] = (),
    exports_dir: Path | None = None,
) -> Publication:
    """Bring `snapshot_path` up to the open warehouse (module doc) and, with `exports_dir`,
    the marts' Parquet exports.

    The raw rows of `withheld` days (a file of the day was rejected) are left out: every file
    of a rejected day stays out of what is published, not only the bad one. `withheld` maps
    (venue, symbol) to that market's days (the other venues' rows of the day are published),
    or lists days withheld for every venue and symbol."""
    snapshot_path = Path(snapshot_path)
    source = _source_catalog(conn)
    tables = catalog_tables(conn, source)
    held = _held_keys(withheld)
    withheld_by_table = _withheld(tables, held)
    signature = schema_signature(conn, source)
    manifest = _read_manifest(snapshot_path)
    log = log_position(conn, source)
    known = _known(conn, source, tables, manifest, signature, log, held)
    want = fingerprints(conn, source, tables, withheld_by_table, known)
    exports = dict(manifest.get("exports", {}))
    why = _spare_unusable(snapshot_path, manifest, signature)
    publication = None
    spare_tables = None  # the fingerprints of the spare left beside the new snapshot
    if not why:
        published = manifest["published"]
        kept = published["tables"] if published["stat"] == _stat(snapshot_path) else None
        # from here the spare no longer matches the manifest: a crash means a full copy
        _write_manifest(snapshot_path, {"signature": signature, "exports": exports})
        try:
            publication = _patch_spare(
                conn, source, tables, snapshot_path, manifest, want, withheld_by_table
            )
            spare_tables = kept if spare_path(snapshot_path).exists() else None
        except duckdb.IOException as exc:  # a reader still holds the spare open
            why = f"the spare copy is in use ({str(exc).splitlines()[0]})"
        except _Mismatch as exc:
            why = str(exc)
    if publication is None:
        publication = _copy_whole(conn, source, tables, snapshot_path, withheld_by_table, why)
        spare_tables = want
    if exports_dir is not None:
        _export(conn, Path(exports_dir), tables, want, exports, publication)
    record: dict = {
        "signature": signature,
        "published": {"stat": _stat(snapshot_path), "tables": want, "held": held},
        "exports": exports,
    }
    if log is not None:
        record["published"]["log"] = list(log)
    if spare_tables is not None:
        record["spare"] = {"stat": _stat(spare_path(snapshot_path)), "tables": spare_tables}
    _write_manifest(snapshot_path, record)
    return publication


def _known(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    tables: list[Table],
    manifest: Mapping,
    signature: str,
    log: tuple[int, int] | None,
    held: list[str],
) -> dict[str, Known]:
    """The logged tables' fingerprints as last published and the days noted changed since
    (transforms.changes), when the record and the log continue each other: same shape, the
    same log, not gone back (a rebuilt or restored warehouse). Else {}: every row hashed."""
    published = manifest.get("published") or {}
    recorded = published.get("log")
    if (
        log is None
        or not recorded
        or manifest.get("signature") != signature
        or recorded[0] != log[0]
        or recorded[1] > log[1]
    ):
        return {}
    noted = noted_since(conn, source, recorded[1])
    # a day withheld then or now was published without (or with) its rows: hash it again
    days = {k.rsplit("|", 1)[1] for k in (*published.get("held", []), *held)}
    return {
        t.key: (published["tables"][t.key], {d.isoformat() for d in noted.get(t.key, ())} | days)
        for t in tables
        if t.key in LOGGED_TABLES and t.by_day and t.key in published.get("tables", {})
    }


class _Mismatch(RuntimeError):
    """The patched spare does not hold the warehouse's row counts: copy whole instead."""


def _spare_unusable(snapshot_path: Path, manifest: Mapping, signature: str) -> str:
    """Why the spare cannot be patched ('' when it can)."""
    spare = spare_path(snapshot_path)
    if not manifest or "spare" not in manifest or "published" not in manifest:
        return "no spare copy recorded"
    if manifest.get("signature") != signature:
        return "the warehouse's tables or views changed shape"
    if not spare.is_file() or _stat(spare) != manifest["spare"]["stat"]:
        return "the spare copy changed since it was recorded"
    if spare.with_name(spare.name + ".wal").exists():
        return "the spare copy has a write-ahead log left by a killed run"
    return ""


def _in_list(column: str, keys: list[str]) -> tuple[str, dict]:
    """SQL condition on `day` for the partition keys, and its parameters."""
    days = [date.fromisoformat(k) for k in keys if k not in (NULL_DAY, WHOLE)]
    cond = f"list_contains($days, {column})"
    if NULL_DAY in keys:
        cond = f"({cond} OR {column} IS NULL)"
    return cond, {"days": days}


def _patch_spare(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    tables: list[Table],
    snapshot_path: Path,
    manifest: Mapping,
    want: Mapping[str, Mapping[str, list]],
    withheld: Mapping[str, list[str]],
) -> Publication:
    """Replace the spare's changed partitions with the warehouse's (withheld rows left out),
    then swap it in."""
    spare = spare_path(snapshot_path)
    have = manifest["spare"]["tables"]
    conn.execute(f"ATTACH ? AS {SNAPSHOT_CATALOG}", [str(spare)])
    patched: list[str] = []
    replaced = 0
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            for table in tables:
                old, new = have.get(table.key, {}), want[table.key]
                delete, insert = changed_parts(old, new)
                if not delete and not insert:
                    continue
                patched.append(table.key)
                replaced += len(set(delete) | set(insert))
                target, src = table.qualified(SNAPSHOT_CATALOG), table.qualified(source)
                if WHOLE in new:
                    conn.execute(f"DELETE FROM {target}")
                    conn.execute(f"INSERT INTO {target} SELECT * FROM {src}")
                    continue
                if delete:
                    cond, params = _in_list("day", delete)
                    conn.execute(f"DELETE FROM {target} WHERE {cond}", params)
                if insert:
                    cond, params = _in_list("day", insert)
                    if held := withheld.get(table.key):
                        cond, params = (
                            f"{cond} AND NOT {withheld_sql(table)}",
                            {**params, "held": held},
                        )
                    conn.execute(f"INSERT INTO {target} SELECT * FROM {src} WHERE {cond}", params)
            _check_counts(conn, tables, want)
            failpoint("snapshot-patch")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute(f"CHECKPOINT {SNAPSHOT_CATALOG}")
    finally:
        conn.execute(f"DETACH {SNAPSHOT_CATALOG}")
    if spare.with_name(spare.name + ".wal").exists():
        raise _Mismatch("the spare copy kept a write-ahead log after its checkpoint")
    os.chmod(spare, FILE_MODE)
    # swap: the spare becomes the published file, the published one the next spare
    held = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.spare{TMP_SUFFIX}")
    held.unlink(missing_ok=True)
    if snapshot_path.exists():
        os.link(snapshot_path, held)
    os.replace(spare, snapshot_path)
    if held.exists():
        os.replace(held, spare)
    return Publication(
        snapshot_path.stat().st_size, "incremental", tables=patched, partitions=replaced
    )


def _check_counts(
    conn: duckdb.DuckDBPyConnection, tables: list[Table], want: Mapping[str, Mapping[str, list]]
) -> None:
    """Every table of the patched spare has the rows its fingerprint says (cheap: counts)."""
    parts = [
        f"SELECT {i}, count(*) FROM {t.qualified(SNAPSHOT_CATALOG)}" for i, t in enumerate(tables)
    ]
    if not parts:
        return
    got = dict(conn.execute(" UNION ALL ".join(parts)).fetchall())
    for i, table in enumerate(tables):
        expected = sum(n for n, _ in want[table.key].values())
        if got.get(i) != expected:
            raise _Mismatch(f"the patched spare holds {got.get(i)} rows of {table.key}")


_DATABASE_PATH_SQL = "SELECT path FROM duckdb_databases() WHERE database_name = $db"


def _checkpointed_file(conn: duckdb.DuckDBPyConnection, source: str) -> Path | None:
    """The warehouse's file once checkpointed (every committed row in it, its write-ahead log
    empty), or None when it cannot be copied as a file (in memory, or a checkpoint refused)."""
    row = conn.execute(_DATABASE_PATH_SQL, {"db": source}).fetchone()
    if not row or not row[0]:
        return None
    path = Path(row[0])
    try:
        conn.execute(f'CHECKPOINT "{source}"')
    except duckdb.Error:
        return None
    wal = path.with_name(path.name + ".wal")
    if not path.is_file() or (wal.exists() and wal.stat().st_size > 0):
        return None
    return path


def _copy_whole(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    tables: list[Table],
    snapshot_path: Path,
    withheld: Mapping[str, list[str]],
    why: str,
) -> Publication:
    """A new snapshot of every schema of the warehouse, and a spare copy beside it.

    The warehouse's own file, checkpointed, is copied byte for byte (this process is its only
    writer and writes nothing meanwhile): a sequential file copy, several times faster than
    rewriting every table (`COPY FROM DATABASE`, the fallback)."""
    spare = spare_path(snapshot_path)
    spare.with_name(spare.name + ".wal").unlink(missing_ok=True)
    whole = _checkpointed_file(conn, source)
    # DuckDB creates the file itself, so the temp name is reserved, not created.
    with atomic_target(snapshot_path, create=False) as tmp:
        if whole is not None:
            shutil.copyfile(whole, tmp)
        if whole is None or withheld:
            conn.execute(f"ATTACH ? AS {SNAPSHOT_CATALOG}", [str(tmp)])
            try:
                if whole is None:
                    conn.execute(f'COPY FROM DATABASE "{source}" TO {SNAPSHOT_CATALOG}')
                for table in tables:
                    if held := withheld.get(table.key):
                        target = table.qualified(SNAPSHOT_CATALOG)
                        conn.execute(
                            f"DELETE FROM {target} WHERE {withheld_sql(table)}", {"held": held}
                        )
                conn.execute(f"CHECKPOINT {SNAPSHOT_CATALOG}")
            finally:
                conn.execute(f"DETACH {SNAPSHOT_CATALOG}")
        copy = snapshot_path.with_name(f".{snapshot_path.name}.{os.getpid()}.copy{TMP_SUFFIX}")
        try:
            shutil.copyfile(tmp, copy)
            os.replace(copy, spare)
        finally:
            copy.unlink(missing_ok=True)
    return Publication(snapshot_path.stat().st_size, "full", why=why or "first publication")


_WHOLE_FILES = ("all.parquet", "undated.parquet")


def export_files(parts: Mapping[str, list], by_day: bool) -> dict[str, dict[str, list]]:
    """Export file name -> the partitions it holds: one `<YYYY-MM>.parquet` per month of a
    mart with a `day` column (rows without a day in `undated.parquet`, which an empty mart
    also gets, so every mart's folder holds its columns), else `all.parquet`."""
    if not by_day:
        return {"all.parquet": dict(parts)}
    if not parts:
        return {"undated.parquet": {}}
    files: dict[str, dict[str, list]] = {}
    for key, fp in parts.items():
        name = f"{key[:7]}.parquet" if key not in (NULL_DAY, WHOLE) else "undated.parquet"
        files.setdefault(name, {})[key] = fp
    return files


#: the rows of one export file (`{table}` is a registry name, never input)
_EXPORT_SQL = {
    # a day range, not a month string: DuckDB skips the row groups outside it (zone maps)
    "month": "COPY (SELECT * FROM {table} WHERE day >= $lo AND day < $hi) "
    "TO $path (FORMAT parquet, COMPRESSION zstd)",
    "undated": "COPY (SELECT * FROM {table} WHERE day IS NULL) "
    "TO $path (FORMAT parquet, COMPRESSION zstd)",
    "all": "COPY (SELECT * FROM {table}) TO $path (FORMAT parquet, COMPRESSION zstd)",
}


def _export(
    conn: duckdb.DuckDBPyConnection,
    exports_dir: Path,
    tables: list[Table],
    want: Mapping[str, Mapping[str, list]],
    recorded: dict,
    publication: Publication,
) -> None:
    """Bring `<exports_dir>/<mart>/` up to the marts: a file is rewritten (atomically) only
    when the partitions it holds changed since it was written, or it is missing or was
    replaced; a month left without rows loses its file. `recorded` (file -> fingerprints and
    stat) is updated in place."""
    by_day = {t.key: t.by_day for t in tables}
    jobs: list[tuple[str, Path, str, dict]] = []  # (table, file, manifest key, fingerprints)
    for mart in (MARTS[name] for name in MART_TABLES if MARTS[name].table in want):
        folder = exports_dir / mart.name
        folder.mkdir(parents=True, exist_ok=True)
        parts = want[mart.table]
        publication.rows[mart.name] = sum(n for n, _ in parts.values())
        (exports_dir / f"{mart.name}.parquet").unlink(missing_ok=True)  # the one-file layout
        files = export_files(parts, by_day.get(mart.table, False))
        for old in sorted(folder.glob("*.parquet")):
            if old.name not in files:
                old.unlink()
                recorded.pop(f"{mart.name}/{old.name}", None)
        for name, fp in sorted(files.items()):
            path, key = folder / name, f"{mart.name}/{name}"
            entry = recorded.get(key)
            if not (entry and entry.get("tables") == fp and entry.get("stat") == _stat(path)):
                jobs.append((mart.table, path, key, fp))
    # one file per DuckDB thread (EXPORT_THREADS), EXPORT_WORKERS files at a time (the first
    # publication writes every month of every mart), the largest first: the last files to
    # finish are small ones, not a month of the heat map with the other core idle
    order = sorted(range(len(jobs)), key=lambda i: -sum(n for n, _ in jobs[i][3].values()))
    workers = min(EXPORT_WORKERS, len(jobs))
    with threads(conn, EXPORT_THREADS) if jobs else contextlib.nullcontext():
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                stats = list(pool.map(lambda i: _export_file(conn, *jobs[i][:2]), order))
        else:
            stats = [_export_file(conn, *jobs[i][:2]) for i in order]
    done = [stat for _, stat in sorted(zip(order, stats, strict=True))]
    for (_, _, key, fp), stat in zip(jobs, done, strict=True):
        recorded[key] = {"tables": fp, "stat": stat}
        publication.exported.append(key)


def _export_file(conn: duckdb.DuckDBPyConnection, table: str, path: Path) -> list[int] | None:
    """Write one export file (atomically) from its own cursor; returns its stat."""
    name = path.name
    kind = name.removesuffix(".parquet") if name in _WHOLE_FILES else "month"
    cursor = conn.cursor()
    try:
        with atomic_target(path, create=False) as tmp:
            params: dict = {"path": str(tmp)}
            if kind == "month":
                lo = date.fromisoformat(f"{name[:7]}-01")
                hi = date(lo.year + lo.month // 12, lo.month % 12 + 1, 1)
                params.update(lo=lo, hi=hi)
            cursor.execute(_EXPORT_SQL[kind].format(table=table), params)
    finally:
        cursor.close()
    return _stat(path)
