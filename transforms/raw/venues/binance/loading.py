"""Load verified archive files into `raw.*`: a window a calendar month at a time, idempotent.

A window's files are loaded in batches of one calendar month (`load_files`), each batch in one
transaction: a year costs a month's memory (a symbol-year of klines staged at once held ~380 MB,
issue 19), and the rows are those of one batch over the window (every rule is per file, per day
or against rows already loaded; the open-interest yardstick skips the window's days not
loaded, see `_month_batches`). `load_dataset` (strict) stays one batch: nothing is loaded when
any file is rejected. Within a batch, all files are extracted in memory and read by Arrow's CSV
reader into one table, staged into a temp table by one DuckDB statement. When Arrow refuses
any of them, the batch is written to a temp dir and read by one DuckDB `read_csv` per header
variant instead (if that read fails, file by file, so the error names the file that does not
parse). Each file is validated
(validation.py); a rejected file loads nothing and is recorded in `raw.rejected_files`. Then,
in one transaction, the rows of the days the accepted files cover are replaced; `raw.files`
gets one row per accepted file (replacing earlier rows for the same period).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from transforms.changes import note_days
from transforms.db import transaction
from transforms.raw.records import FILE_COLUMNS, REJECTED_COLUMNS, insert_rows
from transforms.raw.venues.binance.cache import CorruptArchive, FetchedFile
from transforms.raw.venues.binance.datasets import FUNDING_COLUMNS, VENUE, period_bounds
from transforms.raw.venues.binance.datasets import dataset as dataset_spec
from transforms.raw.venues.binance.parsing import (
    ExtractedCsv,
    arrow_select_sql,
    arrow_table,
    extract_csv,
    select_params,
    select_sql,
)
from transforms.raw.venues.binance.validation import (
    FILES,
    STAGE,
    Rejection,
    StagedFile,
    rejection,
    screen_stage,
    stage_counts,
    validate_stage,
)

_ARROW = "_liqmap_stage_arrow"  # the registered Arrow table of a batch


@dataclass
class LoadOutcome:
    """Rows inserted from the accepted files, the files rejected (nothing of them loaded) and
    the days whose rows were replaced."""

    rows: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    #: the first day of a file that passed the per-file rules (the cross-day rules' first)
    screened_from: date | None = None


class RejectedFile(CorruptArchive):
    """A file failed validation at load; the message is its one-line rejection."""

    def __init__(self, rejection: Rejection):
        super().__init__(rejection.message)
        self.rejection = rejection


def load_dataset(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    symbol: str,
    files: Sequence[FetchedFile],
    start: date,
    end_exclusive: date,
    source_name: str,
) -> int:
    """`load_files` that loads nothing and raises RejectedFile if any file is rejected."""
    outcome = load_files(
        conn, dataset, symbol, files, start, end_exclusive, source_name, strict=True
    )
    return outcome.rows


def _extract(files: Sequence[FetchedFile], dataset: str, tmp: Path):
    """Extract every file; a file that is not a readable CSV of the schema is rejected."""
    staged: list[StagedFile] = []
    csvs: list[ExtractedCsv] = []
    rejected: list[Rejection] = []
    for f in files:
        try:
            csv = extract_csv(f.path, dataset, tmp, write=False)
        except CorruptArchive as exc:
            shown = StagedFile(f"rejected:{f.relpath}", f.relpath, str(f.path), f.period, False)
            detail = str(exc).removeprefix(f"{f.path.name}: ")
            rejected.append(rejection(shown, "readable_csv", None, detail))
            continue
        csvs.append(csv)
        staged.append(StagedFile(str(csv.path), f.relpath, str(f.path), f.period, csv.has_header))
    return staged, csvs, rejected


def _stage(conn, dataset: str, staged: list[StagedFile], csvs: list[ExtractedCsv]):
    """Read the batch into the stage table: Arrow in memory (`_stage_arrow`), else with one
    DuckDB read of the files written out; if that fails, file by file so the error names the
    file that does not parse (and the others still load)."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
    if not csvs:
        return staged, []
    if _stage_arrow(conn, dataset, csvs):
        return staged, []
    csvs[0].path.parent.mkdir(exist_ok=True)  # (the batch's folder: made when needed)
    for c in csvs:
        c.path.write_bytes(c.data)
    try:
        body = select_sql(dataset, [c.has_header for c in csvs])
        conn.execute(f"CREATE TEMP TABLE {STAGE} AS {body}", select_params(csvs))
        return staged, []
    except duckdb.Error:
        pass
    good: list[StagedFile] = []
    rejected: list[Rejection] = []
    created = False
    for f, c in zip(staged, csvs, strict=True):
        body = select_sql(dataset, [c.has_header])
        verb = f"INSERT INTO {STAGE}" if created else f"CREATE TEMP TABLE {STAGE} AS"
        try:
            conn.execute(f"{verb} {body}", select_params([c]))
        except duckdb.Error as exc:
            detail = " ".join(" ".join(str(exc).splitlines()[:3]).split())
            rejected.append(rejection(f, "parse", _line_of(detail), detail[:300]))
            continue
        created = True
        good.append(f)
    return good, rejected


def _stage_arrow(conn, dataset: str, csvs: list[ExtractedCsv]) -> bool:
    """The batch parsed by Arrow in memory and staged with one statement (the same SELECT as
    the DuckDB read); False, nothing staged, when Arrow or the SELECT refuses any file."""
    try:
        table = arrow_table(dataset, csvs)
    except (pa.ArrowException, ValueError):
        return False
    conn.register(_ARROW, table)
    try:
        conn.execute(f"CREATE TEMP TABLE {STAGE} AS {arrow_select_sql(dataset, _ARROW)}")
        return True
    except duckdb.Error:
        conn.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
        return False
    finally:
        conn.unregister(_ARROW)


def _line_of(message: str) -> int | None:
    """The CSV line number in a DuckDB conversion error ("... Line: 501 ..."), if any."""
    m = re.search(r"\bLine:? (\d+)", message)
    return int(m.group(1)) if m else None


def load_files(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    symbol: str,
    files: Sequence[FetchedFile],
    start: date,
    end_exclusive: date,
    source_name: str,
    *,
    strict: bool = False,
    unavailable: Sequence[Rejection] = (),
) -> LoadOutcome:
    """Validate each file, then replace `dataset` rows of `symbol` for the days in
    [start, end_exclusive) that an accepted file covers, one calendar month of files per
    transaction (see module doc).

    A rejected file loads nothing and its days keep their rows (strict: one batch, nothing at
    all is loaded and RejectedFile is raised). `unavailable`: files that could not be fetched,
    recorded as rejections of their periods like a file that fails validation. Metrics are
    deduplicated on create_time; monthly funding rows outside the window are dropped.
    """
    for f in files:
        if f.dataset != dataset or f.symbol != symbol:
            raise ValueError(f"{f.relpath} is not a {dataset} file for {symbol}")
    args = (conn, dataset, symbol)
    if strict:
        return _load_batch(*args, files, start, end_exclusive, source_name, True, unavailable)
    outcome = LoadOutcome()
    rejected: list[Rejection] = []
    for month_files, month_unavailable, skip in _month_batches(
        files, unavailable, start, end_exclusive, outcome
    ):
        part = _load_batch(
            *args, month_files, start, end_exclusive, source_name, False, month_unavailable, skip
        )
        outcome.rows += part.rows
        outcome.days += part.days
        outcome.screened_from = outcome.screened_from or part.screened_from
        rejected += [r for r in part.rejections if r not in month_unavailable]
    # as one batch lists them: the files not fetched first, then those rejected at load
    outcome.rejections = [*unavailable, *rejected]
    return outcome


def _month_batches(
    files: Sequence[FetchedFile],
    unavailable: Sequence[Rejection],
    start: date,
    end_exclusive: date,
    so_far: LoadOutcome,
) -> Iterator[tuple[list[FetchedFile], list[Rejection], list[date]]]:
    """(files, unavailable, days not to compare with) of each calendar month, in order.

    The third item keeps the rows those of one batch over the window. The open-interest rule
    compares a day with the previous day: one batch takes it from the window's own accepted
    days after its first screened day F0, else from `raw.*` before F0. A later month reads it
    from `raw.*`, so the days from F0 on that this run did not load (rejected files, whose old
    rows stay) must not count there. `so_far`: the caller's totals of the batches before
    (days loaded, F0), read as each batch is produced."""
    months: dict[str, tuple[list[FetchedFile], list[Rejection]]] = {}
    for f in files:
        months.setdefault(f.period[:7], ([], []))[0].append(f)
    for r in unavailable:
        months.setdefault(r.period[:7], ([], []))[1].append(r)
    window = [start + timedelta(days=i) for i in range((end_exclusive - start).days)]
    for month in sorted(months):
        f0, done = so_far.screened_from, set(so_far.days)
        skip = [] if f0 is None else [d for d in window if d >= f0 and d not in done]
        yield *months[month], skip


@contextmanager
def _batch_folder() -> Iterator[Path]:
    """A batch's folder for its CSVs when they must be written out (DuckDB's read, when Arrow
    refuses one): named here, made only then (Arrow reads them from memory: a temp folder
    made and removed per batch cost ~2 ms), removed at the end if made."""
    folder = Path(tempfile.gettempdir()) / f"liqmap-load-{secrets.token_hex(8)}"
    try:
        yield folder
    finally:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)


def _load_batch(
    conn: duckdb.DuckDBPyConnection,
    dataset: str,
    symbol: str,
    files: Sequence[FetchedFile],
    start: date,
    end_exclusive: date,
    source_name: str,
    strict: bool,
    unavailable: Sequence[Rejection],
    skip: Sequence[date] = (),
) -> LoadOutcome:
    """`load_files` of one batch in one transaction; `skip`: days the open-interest rule
    never takes as the previous day (see `_month_batches`)."""
    spec = dataset_spec(dataset)
    # Table and column names come from the dataset registry, never from input.
    columns = ", ".join(spec.insert_columns)
    outcome = LoadOutcome()
    with _batch_folder() as tmp:
        staged, csvs, rejected = _extract(files, dataset, tmp)
        staged, unparsed = _stage(conn, dataset, staged, csvs)
        del csvs  # the CSVs' bytes (a year of klines ~60 MB): staged, no longer needed
        rejected += unparsed
        if staged:
            counts = stage_counts(conn)
            found = validate_stage(conn, dataset, symbol, staged, counts)
            passed = [f for f in staged if f.filename not in found]
            found |= screen_stage(conn, dataset, symbol, passed, skip)
            if passed and not spec.monthly:
                outcome.screened_from = min(date.fromisoformat(f.period) for f in passed)
            rejected += found.values()
            per_file = {name: rows for name, (rows, _) in counts.items()}
        else:
            per_file = {}
    rejected = [*unavailable, *rejected]
    outcome.rejections = rejected
    if strict and rejected:
        _drop_temp(conn)
        raise RejectedFile(rejected[0])
    bad = {r.filename for r in rejected if not r.partial}
    accepted = [f for f in staged if f.filename not in bad]
    # days withheld from an accepted monthly file (its bad rows' days): their rows stay as
    # they were, like a rejected file's day
    withheld = sorted({date.fromisoformat(r.period) for r in rejected if r.partial})
    by_relpath = {f.relpath: f for f in files}
    days = sorted(
        {
            d
            for f in accepted
            for d in _days(dataset, f.period)
            if start <= d < end_exclusive and d not in withheld
        }
    )
    if spec.dedupe_order is not None:
        # Duplicated rows occur in the archive: keep one row per timestamp.
        source = (
            f"SELECT * FROM {STAGE} WHERE list_contains($accepted, filename) "
            f"QUALIFY row_number() OVER (PARTITION BY {spec.time_column} "
            f"ORDER BY {spec.dedupe_order}) = 1"
        )
    else:
        source = f"SELECT * FROM {STAGE} WHERE list_contains($accepted, filename)"
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        with transaction(conn):
            note_days(conn, [spec.table], days)  # for the snapshot (transforms.changes)
            conn.execute(
                f"DELETE FROM {spec.table} WHERE venue = $venue AND symbol = $symbol "
                "AND list_contains($days, day)",
                {"venue": VENUE, "symbol": symbol, "days": days},
            )
            if accepted:
                outcome.rows = conn.execute(
                    f"INSERT INTO {spec.table} (venue, symbol, day, {columns}) "
                    f"SELECT $venue, $symbol, CAST(_ts AS DATE), {columns} FROM ({source}) "
                    "WHERE _ts >= $start AND _ts < $end "
                    "AND NOT list_contains($withheld, CAST(_ts AS DATE)) ORDER BY _ts",
                    {
                        "venue": VENUE,
                        "symbol": symbol,
                        "start": start,
                        "end": end_exclusive,
                        "accepted": [f.filename for f in accepted],
                        "withheld": withheld,
                    },
                ).fetchone()[0]
            conn.execute(
                "DELETE FROM raw.files WHERE venue = $venue AND dataset = $dataset "
                "AND symbol = $symbol AND list_contains($periods, period)",
                {
                    "venue": VENUE,
                    "dataset": dataset,
                    "symbol": symbol,
                    "periods": [f.period for f in accepted],
                },
            )
            conn.execute(
                "DELETE FROM raw.rejected_files WHERE venue = $venue AND dataset = $dataset "
                "AND symbol = $symbol "
                "AND (list_contains($periods, period) OR list_contains($relpaths, relpath))",
                {
                    "venue": VENUE,
                    "dataset": dataset,
                    "symbol": symbol,
                    "periods": [f.period for f in files] + [r.period for r in unavailable],
                    # a monthly file's withheld days are recorded under their day
                    "relpaths": [f.relpath for f in files],
                },
            )
            if accepted:
                insert_rows(
                    conn,
                    "raw.files",
                    FILE_COLUMNS,
                    [
                        (
                            dataset,
                            symbol,
                            f.period,
                            f.relpath,
                            by_relpath[f.relpath].sha256,
                            by_relpath[f.relpath].bytes,
                            per_file.get(f.filename, 0),
                            source_name,
                            loaded_at,
                            VENUE,
                        )
                        for f in accepted
                    ],
                )
            if rejected:
                insert_rows(
                    conn,
                    "raw.rejected_files",
                    REJECTED_COLUMNS,
                    [
                        (
                            dataset,
                            symbol,
                            r.period,
                            r.relpath,
                            r.rule,
                            r.line,
                            r.message,
                            loaded_at,
                            VENUE,
                        )
                        for r in rejected
                    ],
                )
    finally:
        _drop_temp(conn)
    outcome.rows = int(outcome.rows)
    outcome.days = days
    return outcome


def _days(dataset: str, period: str) -> list[date]:
    first, end = period_bounds(dataset, period)
    return [first + timedelta(days=i) for i in range((end - first).days)]


def _drop_temp(conn: duckdb.DuckDBPyConnection) -> None:
    for table in (STAGE, FILES):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def replace_funding_days(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    frame: pd.DataFrame,
    start: date,
    end_exclusive: date,
) -> int:
    """Replace raw.funding rows of `symbol` for days in [start, end_exclusive) with `frame`
    (raw.funding columns, e.g. from the REST API), in one transaction. No raw.files row is
    written: the month stays a catch-up candidate, so its archive file replaces these rows."""
    rows = [
        (VENUE, symbol, ts.date(), ts.to_pydatetime(), int(interval), float(rate))
        for ts, interval, rate in frame[
            ["calc_time", "funding_interval_hours", "last_funding_rate"]
        ].itertuples(index=False)
        if start <= ts.date() < end_exclusive
    ]
    with transaction(conn):
        conn.execute(
            "DELETE FROM raw.funding WHERE venue = $venue AND symbol = $symbol "
            "AND day >= $start AND day < $end",
            {"venue": VENUE, "symbol": symbol, "start": start, "end": end_exclusive},
        )
        if rows:
            insert_rows(conn, "raw.funding", ("venue", "symbol", "day", *FUNDING_COLUMNS), rows)
    return len(rows)
