"""Issue 9: a bad archive file never reaches the report.

One small warehouse (3 synthetic days, site and snapshot published: the shared session build
`binance_chain`) is built once; each case copies it and corrupts one file of the last day in
the mirror on disk (with a matching CHECKSUM, so only validation can catch it).

Every case loads the corrupted dataset's day with the raw asset's own code (`ingest_window`,
what the asset calls; no Dagster) and asserts: the rejection names that file, the rule and the
first offending line, the failed gate (the check result the asset reports) names them too, and
no raw row or file record changed. What the rest of the Dagster chain does with a rejection
(the run fails, the warehouse at row level, the snapshot and the site equal the state before)
depends on the dataset, not on the rule: one case of each dataset (FULL_RUN_CASES) re-runs the
real chain and asserts all of it, as do the range, fixed-file and CLI tests below.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.resources import WarehouseResource
from tests.builds import BINANCE_DAYS, BINANCE_WINDOW, ChainBuild, digest_tree
from tests.pipeline_helpers import fingerprints, run_range
from transforms.raw.ingest import ingest_window
from transforms.raw.synthetic import headerless
from transforms.raw.venues.binance.datasets import archive_relpath

pytestmark = pytest.mark.slow

SYMBOL = "BTCUSDT"
FIRST, LAST = BINANCE_DAYS
BAD_DAY = LAST
Rows = list[list[str]]


@pytest.fixture
def prepared(binance_chain) -> ChainBuild:
    """A published 3-day build: warehouse, cache, synthetic mirror, site, snapshot."""
    return binance_chain


def _copy(prepared: ChainBuild, tmp: Path):
    return prepared.copy_to(tmp)


def _read(zip_path: Path) -> tuple[str, str]:
    with zipfile.ZipFile(zip_path) as zf:
        name = zf.namelist()[0]
        return name, zf.read(name).decode()


def _write(zip_path: Path, member: str, text: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, text)
    zip_path.write_bytes(buf.getvalue())
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    Path(str(zip_path) + ".CHECKSUM").write_text(f"{digest}  {zip_path.name}\n")


def _split(text: str) -> tuple[list[str], Rows]:
    lines = text.splitlines()
    head = [] if lines[0][:1].isdigit() else [lines[0]]
    return head, [line.split(",") for line in lines[len(head) :]]


def _join(head: list[str], rows: Rows) -> str:
    return "\n".join([*head, *(",".join(r) for r in rows)]) + "\n"


def _rows(fn: Callable[[Rows], Rows]) -> Callable[[str, Path], str]:
    """A mutation of the data rows (header kept)."""

    def apply(text: str, mirror: Path) -> str:
        head, rows = _split(text)
        return _join(head, fn(rows))

    return apply


def _set(i: int, col: int, value: str) -> Callable[[Rows], Rows]:
    def fn(rows: Rows) -> Rows:
        rows[i][col] = value
        return rows

    return fn


def _scale(i: int, cols: tuple[int, ...], factor: float) -> Callable[[Rows], Rows]:
    def fn(rows: Rows) -> Rows:
        for c in cols:
            rows[i][c] = repr(float(rows[i][c]) * factor)
        return rows

    return fn


def _swap(i: int, a: int, b: int) -> Callable[[Rows], Rows]:
    def fn(rows: Rows) -> Rows:
        rows[i][a], rows[i][b] = rows[i][b], rows[i][a]
        return rows

    return fn


def _swap_all(a: int, b: int) -> Callable[[Rows], Rows]:
    def fn(rows: Rows) -> Rows:
        for r in rows:
            r[a], r[b] = r[b], r[a]
        return rows

    return fn


def _shift_hour(rows: Rows) -> Rows:
    for r in rows:
        r[0], r[6] = str(int(r[0]) + 3_600_000), str(int(r[6]) + 3_600_000)
    return rows


def _other_day(text: str, mirror: Path) -> str:
    other = mirror / archive_relpath("klines_1m", SYMBOL, (BAD_DAY - timedelta(days=1)).isoformat())
    return _read(other)[1]


def _header_only(text: str, mirror: Path) -> str:
    return text.splitlines()[0] + "\n"


KLINE_HEADER = 0 if headerless(BAD_DAY) else 1
METRICS_HEADER = FUNDING_HEADER = 1
K, MK, M, F = "klines_1m", "mark_klines_1m", "metrics", "funding"
ONE_DAY = timedelta(days=1)
FUNDING_ROWS_BEFORE_BAD_DAY = 3 * (BAD_DAY.day - 1)  # 8-hourly settlements

# case -> (dataset, mutation, rule, first offending line or None)
CASES: dict[str, tuple[str, Callable[[str, Path], str], str, int | None]] = {
    "day_duplicated_in_file": (K, _rows(lambda r: r + r), "unique_timestamps", 1441 + KLINE_HEADER),
    "row_duplicated": (
        K,
        _rows(lambda r: r[:501] + [r[500]] + r[501:]),
        "unique_timestamps",
        502 + KLINE_HEADER,
    ),
    "funding_rows_duplicated": (F, _rows(lambda r: r + r), "unique_timestamps", None),
    "timestamps_shifted_1h": (K, _rows(_shift_hour), "rows_in_period", 1381 + KLINE_HEADER),
    "high_low_swapped": (K, _rows(_swap(499, 2, 3)), "ohlc_order", 500 + KLINE_HEADER),
    "close_nan": (K, _rows(_set(499, 4, "nan")), "prices_finite_positive", 500 + KLINE_HEADER),
    "close_inf": (K, _rows(_set(499, 4, "inf")), "prices_finite_positive", 500 + KLINE_HEADER),
    "close_1e300": (K, _rows(_set(499, 4, "1e300")), "ohlc_order", 500 + KLINE_HEADER),
    "close_negative": (K, _rows(_set(499, 4, "-1")), "prices_finite_positive", 500 + KLINE_HEADER),
    "close_zero": (K, _rows(_set(499, 4, "0")), "prices_finite_positive", 500 + KLINE_HEADER),
    "close_empty": (K, _rows(_set(499, 4, "")), "prices_finite_positive", 500 + KLINE_HEADER),
    "mark_far_from_last": (
        MK,
        _rows(_scale(499, (1, 2, 3, 4), 1.5)),
        "mark_near_last",
        500 + KLINE_HEADER,
    ),
    "oi_negative": (M, _rows(_set(100, 2, "-5")), "open_interest_valid", 101 + METRICS_HEADER),
    "oi_base_value_swapped": (
        M,
        _rows(_swap_all(2, 3)),
        "open_interest_value_near_price",
        1 + METRICS_HEADER,
    ),
    "oi_nan": (M, _rows(_set(100, 3, "nan")), "open_interest_valid", 101 + METRICS_HEADER),
    "funding_nan": (
        F,
        _rows(_set(FUNDING_ROWS_BEFORE_BAD_DAY + 1, 2, "nan")),
        "funding_rate_bounded",
        FUNDING_ROWS_BEFORE_BAD_DAY + 2 + FUNDING_HEADER,
    ),
    "day_cut_to_700_rows": (K, _rows(lambda r: r[:700]), "complete_period", None),
    "file_holds_another_day": (K, _other_day, "rows_in_period", None),
    "header_only": (M, _header_only, "complete_period", None),
    "parse_error_line_501": (K, _rows(_set(500 - KLINE_HEADER, 1, "abc")), "parse", 501),
}


#: one case per dataset (the kline case a parse error) through the whole Dagster chain
FULL_RUN_CASES = (
    "funding_nan",
    "mark_far_from_last",
    "oi_base_value_swapped",
    "parse_error_line_501",
)
RAW_TABLES = ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding")


def _file_records(settings) -> list[tuple]:
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return sorted(conn.execute("SELECT * EXCLUDE (loaded_at) FROM raw.files").fetchall())
    finally:
        conn.close()


def _state(settings) -> dict:
    """Everything a bad run must leave as it was: warehouse rows, snapshot and site bytes."""
    return {
        "tables": fingerprints(settings.warehouse_path),
        "files": _file_records(settings),
        "snapshot": hashlib.sha256(settings.snapshot_path.read_bytes()).hexdigest(),
        "site": digest_tree(settings.output_site_dir),
    }


def _raw_state(settings) -> dict:
    """What a rejected file must leave as it was in the raw layer: rows and file records."""
    return {**fingerprints(settings.warehouse_path, RAW_TABLES), "files": _file_records(settings)}


def _rejections(settings) -> list[tuple]:
    conn = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return conn.execute(
            "SELECT dataset, period, relpath, rule, line, message FROM raw.rejected_files"
        ).fetchall()
    finally:
        conn.close()


def _corrupt(settings, name: str, mutate: Callable[[str, Path], str]) -> str:
    period = BAD_DAY.isoformat() if name != F else BAD_DAY.strftime("%Y-%m")
    relpath = archive_relpath(name, SYMBOL, period)
    zip_path = settings.synthetic_dir / relpath
    member, text = _read(zip_path)
    _write(zip_path, member, mutate(text, settings.synthetic_dir))
    return relpath


def _gate_text(result) -> str:
    texts = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            texts.append(str(evaluation.description))
            texts.extend(str(v.value) for v in evaluation.metadata.values())
    return "\n".join(texts)


def _assert_rejected(settings, name: str, relpath: str, rule: str, line: int | None) -> None:
    """raw.rejected_files holds one row: this file, its rule and first offending line."""
    [(dataset, _period, rel, got_rule, got_line, message)] = _rejections(settings)
    assert (dataset, rel, got_rule) == (name, relpath, rule), message
    if line is not None:
        assert got_line == line, message
        assert f"line {line}" in message
    assert "\n" not in message and relpath in message and rule in message


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_rejected_by_its_gate(case, prepared, tmp_path):
    name, mutate, rule, line = CASES[case]
    settings = _copy(prepared, tmp_path)
    before = _raw_state(settings)
    relpath = _corrupt(settings, name, mutate)
    warehouse = WarehouseResource(path=str(settings.warehouse_path))
    log = logging.getLogger(__name__)

    result = ingest_window(warehouse.connect, settings, name, BAD_DAY, BAD_DAY + ONE_DAY, log)

    after = _raw_state(settings)
    if name == F:
        before.pop("files"), after.pop("files")  # the monthly file is recorded (see below)
    assert after == before
    _assert_rejected(settings, name, relpath, rule, line)
    assert [r.relpath for r in result.rejections] == [relpath]
    # the check results the raw asset reports, as the Dagster run shows them (the day is
    # named by the snapshot's check at the run's end: the full-run cases assert it)
    gate = "\n".join(o.describe() for o in result.outcomes if not o.passed)
    assert relpath in gate and rule in gate


@pytest.mark.parametrize("case", FULL_RUN_CASES)
def test_bad_file_fails_the_run_and_nothing_changes(case, prepared, tmp_path):
    name, mutate, rule, line = CASES[case]
    settings = _copy(prepared, tmp_path)
    before = _state(settings)
    relpath = _corrupt(settings, name, mutate)

    result = run_range(settings, BAD_DAY, BAD_DAY, raise_on_error=False)

    assert not result.success
    after = _state(settings)
    if name == F:
        # a monthly file withholds only its bad row's day (issue 20): the file is recorded,
        # since the month's other days load from it; every row stays as it was
        before.pop("files"), after.pop("files")
    assert after == before
    _assert_rejected(settings, name, relpath, rule, line)
    gate = _gate_text(result)
    assert relpath in gate and rule in gate and str(BAD_DAY) in gate


def test_full_run_cases_cover_every_dataset():
    assert {CASES[case][0] for case in FULL_RUN_CASES} == {CASES[c][0] for c in CASES}


def test_range_publishes_good_days_and_names_the_bad_one(prepared, tmp_path):
    settings = _copy(prepared, tmp_path)
    relpath = _corrupt(settings, K, CASES["close_nan"][1])
    before = _state(settings)
    good_day = BAD_DAY - timedelta(days=1)
    site = settings.output_site_dir
    shutil.rmtree(site / str(good_day))  # so we see the good day published again

    result = run_range(settings, good_day, BAD_DAY, raise_on_error=False)

    assert not result.success
    gate = _gate_text(result)
    assert relpath in gate and str(BAD_DAY) in gate and str(good_day) not in gate.split(":")[0]
    after = _state(settings)
    # The good day is rebuilt from the same raw rows; the bad day keeps its rows and page.
    for table in ("raw.klines_1m", "raw.mark_klines_1m", "raw.metrics_5m", "raw.funding"):
        assert after["tables"][table] == before["tables"][table]
    assert after["tables"]["stg.bars_5m"] == before["tables"]["stg.bars_5m"]
    assert after["files"] == before["files"]
    for page, digest in before["site"].items():
        if page.startswith(f"{good_day}/"):
            assert page in after["site"], page  # published again
        if page.startswith(f"{BAD_DAY}/"):
            assert after["site"][page] == digest, page
    assert after["snapshot"] != before["snapshot"]  # republished from the good days
    assert [r[3] for r in _rejections(settings)] == ["prices_finite_positive"]


def test_fixed_file_clears_its_rejection(prepared, tmp_path):
    settings = _copy(prepared, tmp_path)
    zip_path = settings.synthetic_dir / archive_relpath(K, SYMBOL, BAD_DAY.isoformat())
    original = zip_path.read_bytes(), Path(str(zip_path) + ".CHECKSUM").read_bytes()
    _corrupt(settings, K, CASES["close_zero"][1])
    assert not run_range(settings, BAD_DAY, BAD_DAY, raise_on_error=False).success
    zip_path.write_bytes(original[0])
    Path(str(zip_path) + ".CHECKSUM").write_bytes(original[1])

    assert run_range(settings, BAD_DAY, BAD_DAY, raise_on_error=False).success
    assert _rejections(settings) == []


def test_cli_exits_non_zero_naming_the_file(prepared, tmp_path):
    settings = _copy(prepared, tmp_path)
    relpath = _corrupt(settings, K, CASES["high_low_swapped"][1])
    before = _state(settings)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "LIQMAP_DATA_DIR": str(settings.data_dir),
        "LIQMAP_SITE_DIR": str(settings.output_site_dir),
        "LIQMAP_START_DATE": BINANCE_WINDOW[0].isoformat(),
        "LIQMAP_END_DATE": BINANCE_WINDOW[1].isoformat(),
        "LIQMAP_SOURCE": "synthetic",
    }
    env.pop("LIQMAP_FAILPOINT", None)
    proc = subprocess.run(
        [
            Path(sys.executable).parent / "liqmap",
            "run",
            "--start",
            str(BAD_DAY),
            "--end",
            str(BAD_DAY),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert relpath in output and "ohlc_order" in output
    assert _state(settings) == before


def test_next_run_removes_temp_files_a_killed_run_left(prepared, tmp_path):
    settings = _copy(prepared, tmp_path)
    snapshot_dir = settings.snapshot_path.parent
    left = [
        snapshot_dir / ".warehouse.duckdb.4242.tmp",
        snapshot_dir / ".warehouse.duckdb.4242.tmp.wal",
        settings.exports_dir / ".daily_metrics.parquet.4242.tmp",
        settings.output_site_dir / ".index.html.abc123.tmp",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half written")
    assert run_range(settings, BAD_DAY, BAD_DAY).success
    assert [p for p in left if p.exists()] == []
