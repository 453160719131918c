"""A window of archive files is loaded a calendar month at a time (bounded memory, issue 19),
and gives the rows one batch over the window gives: the same raw rows and files, and the
open-interest rule's yardstick across the month boundary is still the previous day loaded in
this run, never a day whose file this run rejected (its old rows stay in `raw.*`)."""

# ruff: noqa: F811  (the shared fixtures pristine and mirror are imported by name)
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from ingest_helpers import (  # noqa: F401  (fixtures, used as arguments)
    SYMBOL,
    WINDOW_END,
    WINDOW_START,
    mirror,
    pristine,
    read_member,
    write_archive,
)

from transforms.db import warehouse
from transforms.raw.venues.binance import DATASETS, archive_relpath, loading, periods_for_window
from transforms.raw.venues.binance.loading import load_dataset, load_files
from transforms.raw.venues.binance.mirror import MirrorSource

START, END = WINDOW_START, WINDOW_END + timedelta(days=1)  # 2025-11-26 .. 2025-12-02
LAST_OF_MONTH = date(2025, 11, 30)
RAW = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding")
FILE_COLUMNS = "venue, dataset, symbol, period, relpath, sha256, bytes, rows, source"


def _files(source, dataset, start=START, end=END):
    return [source.fetch(dataset, SYMBOL, p) for p in periods_for_window(dataset, start, end)]


def _snapshot(conn) -> dict[str, list]:
    tables = {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in RAW}
    tables["raw.files"] = conn.execute(
        f"SELECT {FILE_COLUMNS} FROM raw.files ORDER BY ALL"
    ).fetchall()
    return tables


def test_month_batches_give_the_rows_of_one_batch(mirror, tmp_path, monkeypatch):
    source = MirrorSource(mirror, tmp_path / "cache")
    with warehouse(tmp_path / "one.duckdb") as conn:
        for dataset in DATASETS:  # strict: one batch over the window
            load_dataset(conn, dataset, SYMBOL, _files(source, dataset), START, END, "mirror")
        one = _snapshot(conn)
    batches: list[set[str]] = []
    real = loading._load_batch

    def counted(conn, dataset, symbol, files, *args):
        batches.append({f.period[:7] for f in files})
        return real(conn, dataset, symbol, files, *args)

    monkeypatch.setattr(loading, "_load_batch", counted)
    with warehouse(tmp_path / "months.duckdb") as conn:
        for dataset in DATASETS:
            outcome = load_files(conn, dataset, SYMBOL, _files(source, dataset), START, END, "x")
            assert outcome.rejections == []
        months = _snapshot(conn)
    # each dataset in two batches, one per calendar month of the window
    assert batches == [{"2025-11"}, {"2025-12"}] * len(DATASETS)
    assert months == {**one, "raw.files": [(*r[:-1], "x") for r in one["raw.files"]]}


def _oi_times_1000(mirror, day: date) -> None:
    rel = archive_relpath("metrics", SYMBOL, day.isoformat())
    rows = list(csv.reader(io.StringIO(read_member(mirror / rel).decode())))
    header = rows[0] if not rows[0][0][:4].isdigit() else None
    cols = header or []
    base = cols.index("sum_open_interest") if header else 2
    value = cols.index("sum_open_interest_value") if header else 3
    for row in rows[1:] if header else rows:
        row[base], row[value] = repr(float(row[base]) * 1000), repr(float(row[value]) * 1000)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write_archive(mirror, rel, (mirror / rel).name.replace(".zip", ".csv"), out.getvalue())


def test_a_rejected_last_day_of_a_month_is_not_the_next_months_yardstick(mirror, tmp_path):
    """The last day of November, scaled x1000, was loaded alone earlier (nothing before it to
    compare with), so its rows are in raw.metrics_5m. Loading the window rejects it against
    November 29 and keeps its old rows; December 1 is then compared with November 29, the
    previous day loaded, as one batch over the window compares it - not with those rows."""
    _oi_times_1000(mirror, LAST_OF_MONTH)
    source = MirrorSource(mirror, tmp_path / "cache")
    with warehouse(tmp_path / "wh.duckdb") as conn:
        load_files(conn, "klines_1m", SYMBOL, _files(source, "klines_1m"), START, END, "m")
        alone = (LAST_OF_MONTH, LAST_OF_MONTH + timedelta(days=1))
        early = load_files(conn, "metrics", SYMBOL, _files(source, "metrics", *alone), *alone, "m")
        assert early.rejections == []
        outcome = load_files(conn, "metrics", SYMBOL, _files(source, "metrics"), START, END, "m")
        assert [r.period for r in outcome.rejections] == [LAST_OF_MONTH.isoformat()]
        assert "open_interest_steady" in outcome.rejections[0].message
        days = dict(
            conn.execute("SELECT day, count(*) FROM raw.metrics_5m GROUP BY day").fetchall()
        )
    window = [START + timedelta(days=i) for i in range((END - START).days)]
    assert sorted(days) == window  # December 1 and 2 loaded; November 30 keeps its old rows
    assert outcome.days == [d for d in window if d != LAST_OF_MONTH]
