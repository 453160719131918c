"""Validation at load in a multi-file batch: the bad file is named with its own line number,
the other files of the window load, and a parse error names only the file that fails."""

# ruff: noqa: F811  (the shared fixtures pristine and mirror are imported by name)
from __future__ import annotations

import zipfile
from datetime import date, timedelta

import pytest
from ingest_helpers import SYMBOL, WINDOW_END, WINDOW_START, mirror, pristine, write_archive  # noqa: F401  (fixtures, used as arguments)

from transforms.db import warehouse
from transforms.raw.synthetic import headerless
from transforms.raw.venues.binance import archive_relpath, periods_for_window
from transforms.raw.venues.binance.loading import load_files
from transforms.raw.venues.binance.mirror import MirrorSource

START, END = WINDOW_START, WINDOW_END + timedelta(days=1)


def _rewrite_row(mirror, day: date, row: int, col: int, value: str) -> tuple[str, int]:
    """Set one field of data row `row` of the day's kline file; returns (relpath, line)."""
    rel = archive_relpath("klines_1m", SYMBOL, day.isoformat())
    with zipfile.ZipFile(mirror / rel) as zf:
        member = zf.namelist()[0]
        lines = zf.read(member).decode().splitlines()
    header = 0 if headerless(day) else 1
    fields = lines[row + header].split(",")
    fields[col] = value
    lines[row + header] = ",".join(fields)
    write_archive(mirror, rel, member, "\n".join(lines) + "\n")
    return rel, row + header + 1


def _load(conn, mirror, tmp_path):
    source = MirrorSource(mirror, tmp_path / "cache")
    files = [
        source.fetch("klines_1m", SYMBOL, p) for p in periods_for_window("klines_1m", START, END)
    ]
    return load_files(conn, "klines_1m", SYMBOL, files, START, END, source.name)


@pytest.mark.parametrize("offset", [2, 3, 4])  # both header variants, mid-batch
def test_rule_failure_names_the_file_and_its_own_line(mirror, tmp_path, offset):
    bad_day = START + timedelta(days=offset)
    rel, line = _rewrite_row(mirror, bad_day, 700, 4, "-3")
    with warehouse(tmp_path / "wh.duckdb") as conn:
        outcome = _load(conn, mirror, tmp_path)
        days = dict(conn.execute("SELECT day, count(*) FROM raw.klines_1m GROUP BY day").fetchall())
    [rejected] = outcome.rejections
    assert (rejected.relpath, rejected.rule, rejected.line) == (rel, "prices_finite_positive", line)
    assert f"line {line}" in rejected.message and "close=-3" in rejected.message
    n_days = (END - START).days
    assert outcome.rows == 1440 * (n_days - 1)
    assert bad_day not in days and len(days) == n_days - 1


def test_parse_error_on_line_501_names_only_that_file(mirror, tmp_path):
    bad_day = START + timedelta(days=3)
    header = 0 if headerless(bad_day) else 1
    rel, line = _rewrite_row(mirror, bad_day, 500 - header, 1, "abc")
    assert line == 501
    with warehouse(tmp_path / "wh.duckdb") as conn:
        outcome = _load(conn, mirror, tmp_path)
    [rejected] = outcome.rejections
    assert (rejected.relpath, rejected.rule, rejected.line) == (rel, "parse", 501)
    others = [p for p in periods_for_window("klines_1m", START, END) if p != str(bad_day)]
    assert not any(p in rejected.message for p in others)
    assert outcome.rows == 1440 * len(others)
