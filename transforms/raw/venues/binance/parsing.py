"""Read verified archive zips into rows shaped like the raw tables.

DuckDB cannot read inside a zip, so the single CSV member is extracted (stdlib `zipfile`) and
read with explicit column types: in memory by Arrow's CSV reader for a batch of files
(`arrow_table`, one table for the batch), or written out and read by DuckDB (`select_sql`),
which the loader falls back to when Arrow refuses a file, so a bad file's error is DuckDB's
line as before. Line 1 is sniffed: files with a header must carry
exactly the expected names; headerless files must have the expected column count. Anything
else is schema drift and raises `CorruptArchive`. Epoch values above 1e14 are microseconds
(Binance spot moved to µs in 2025; USDⓈ-M stays in ms), funding `calc_time` is floored to the
hour, metrics `create_time` is a `YYYY-MM-DD HH:MM:SS` string.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.raw.venues.binance.cache import CorruptArchive
from transforms.raw.venues.binance.datasets import Dataset, dataset


def schema_for(name: str) -> Dataset:
    """The registry entry (columns, types, SELECT list, table) a CSV of `name` is read with."""
    return dataset(name)


@dataclass(frozen=True)
class ExtractedCsv:
    path: Path  # where the CSV is (or, extracted with write=False, would be) written
    has_header: bool
    source: str  # the zip it came from, for messages
    data: bytes = field(default=b"", repr=False)


def sniff_header(first_line: str, dataset: str, where: str) -> bool:
    """True if line 1 is a header; CorruptArchive when names or column count drifted."""
    schema = schema_for(dataset)
    fields = [f.strip().strip('"') for f in first_line.rstrip("\r\n").split(",")]
    first = fields[0] if fields else ""
    looks_numeric = first.replace(".", "", 1).isdigit() or (
        dataset == "metrics" and first[:4].isdigit()
    )
    if not looks_numeric:
        if tuple(fields) != schema.columns:
            raise CorruptArchive(
                f"{where}: header {','.join(fields)[:200]!r} does not match the {dataset} schema "
                f"{','.join(schema.columns)!r}"
            )
        return True
    if len(fields) != len(schema.columns):
        raise CorruptArchive(
            f"{where}: {len(fields)} columns in line 1, "
            f"expected {len(schema.columns)} for {dataset}"
        )
    return False


def extract_csv(
    zip_path: Path, dataset: str, dest_dir: Path, *, write: bool = True
) -> ExtractedCsv:
    """Extract the single CSV member of an archive zip into dest_dir and sniff its header
    (`write=False`: keep it in memory only, `data`)."""
    zip_path = Path(zip_path)
    where = zip_path.name
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [i for i in zf.infolist() if not i.is_dir()]
            if len(members) != 1 or not members[0].filename.endswith(".csv"):
                raise CorruptArchive(
                    f"{where}: expected exactly one .csv member, found "
                    f"{[m.filename for m in members][:5]!r}"
                )
            data = zf.read(members[0])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorruptArchive(f"{where}: not a readable zip ({exc})") from exc
    if not data.strip():
        raise CorruptArchive(f"{where}: the CSV is empty")
    newline = data.find(b"\n")
    first_line = (data if newline < 0 else data[:newline]).decode("utf-8", errors="replace")
    has_header = sniff_header(first_line, dataset, where)
    out = Path(dest_dir) / (zip_path.stem + ".csv")
    if write:
        out.write_bytes(data)
    return ExtractedCsv(out, has_header, where, data)


#: the Arrow type each DuckDB type of the registry is read as
_ARROW_TYPES = {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64()}
_ARROW_TYPES["VARCHAR"] = pa.string()


def arrow_table(dataset: str, csvs: Sequence[ExtractedCsv]) -> pa.Table:
    """The CSVs (in memory) as one Arrow table of the schema's columns plus `filename` (the
    CSV path, as DuckDB's `filename=true` gives it), rows in file order. Arrow is at least as
    strict as the DuckDB read: only "" is NULL, empty lines are skipped (as DuckDB does), a
    wrong column count is an error, and a file holding a quote character is refused
    (pa.ArrowInvalid) - the caller then reads the files with DuckDB, whose error names the
    file and line."""
    schema = schema_for(dataset)
    types = {name: _ARROW_TYPES[typ] for name, typ in schema.types.items()}
    convert = pacsv.ConvertOptions(
        column_types=types,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(ignore_empty_lines=True)
    tables = []
    for c in csvs:
        if b'"' in c.data:
            raise pa.ArrowInvalid(f"{c.source}: quoted fields are read by DuckDB")
        read = pacsv.ReadOptions(
            column_names=list(schema.columns), skip_rows=int(c.has_header), use_threads=False
        )
        table = pacsv.read_csv(
            pa.py_buffer(c.data), read_options=read, parse_options=parse, convert_options=convert
        )
        tables.append(table.append_column("filename", pa.repeat(str(c.path), table.num_rows)))
    return pa.concat_tables(tables)


def arrow_select_sql(dataset: str, relation: str) -> str:
    """`select_sql` over a registered `arrow_table` named `relation`."""
    schema = schema_for(dataset)
    return f"SELECT filename, {schema.select}, {schema.time_expr} AS _ts FROM {relation}"


def _read_csv_sql(schema: Dataset, header: bool) -> str:
    """A read_csv() call over the list parameter $files (one header variant)."""
    cols = ", ".join(f"'{name}': '{typ}'" for name, typ in schema.types.items())
    return (
        f"read_csv($files, header={'true' if header else 'false'}, delim=',', quote='\"', "
        f"columns={{{cols}}}, auto_detect=false, filename=true, null_padding=false, "
        "strict_mode=true)"
    )


def select_sql(dataset: str, header_variants: Sequence[bool]) -> str:
    """SQL selecting `filename, <raw table columns without symbol/day>, ts` from CSVs.

    One read_csv per header variant present; their parameters are `$files_h` / `$files_n`.
    """
    schema = schema_for(dataset)
    parts = []
    for header in sorted(set(header_variants), reverse=True):
        param = "$files_h" if header else "$files_n"
        reader = _read_csv_sql(schema, header).replace("$files", param)
        parts.append(f"SELECT filename, {schema.select}, {schema.time_expr} AS _ts FROM {reader}")
    return "\nUNION ALL\n".join(parts)


def select_params(csvs: Sequence[ExtractedCsv]) -> dict[str, list[str]]:
    """The file lists `select_sql` binds: $files_h (headered) and $files_n (headerless)."""
    params: dict[str, list[str]] = {}
    headered = [str(c.path) for c in csvs if c.has_header]
    headerless = [str(c.path) for c in csvs if not c.has_header]
    if headered:
        params["files_h"] = headered
    if headerless:
        params["files_n"] = headerless
    return params


def read_csvs(
    conn: duckdb.DuckDBPyConnection, dataset: str, csvs: Sequence[ExtractedCsv]
) -> duckdb.DuckDBPyRelation:
    """A relation over extracted CSVs; DuckDB errors become CorruptArchive."""
    sql = select_sql(dataset, [c.has_header for c in csvs])
    try:
        return conn.sql(sql, params=select_params(csvs))
    except duckdb.Error as exc:
        names = ", ".join(c.source for c in csvs[:3])
        raise CorruptArchive(f"{dataset} files ({names}...): cannot parse CSV: {exc}") from exc


def parse_zip(zip_path: Path, dataset: str, tmp_dir: Path, conn=None):
    """Parse one archive zip into a pandas DataFrame of raw-table columns (no symbol/day)."""
    own = conn is None
    conn = conn or duckdb.connect()
    try:
        csv = extract_csv(zip_path, dataset, tmp_dir)
        rel = read_csvs(conn, dataset, [csv])
        try:
            df = rel.df()
        except duckdb.Error as exc:
            raise CorruptArchive(f"{csv.source}: cannot parse CSV: {exc}") from exc
        return df.drop(columns=["filename", "_ts"])
    finally:
        if own:
            conn.close()
