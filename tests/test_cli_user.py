"""The `liqmap` command driven as a user would: a subprocess, its exit status and what it prints.

Every configuration or input mistake ends with status 2 and exactly one line on stderr naming
the setting and what is expected; a short run prints a bounded number of lines (the Dagster
event stream goes to a log file); `liqmap status` works on a built and on an empty project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

# the tests reading the `built` run share one worker (it is built once); the others spread
BUILT_GROUP = pytest.mark.xdist_group("cli_user_built")

LIQMAP = str(Path(sys.executable).with_name("liqmap"))
# The clock every `liqmap` here runs with (LIQMAP_NOW): "yesterday", the default end of the
# window and the last day a run accepts, is the day before it, whatever the hour of the test.
CLOCK = "2026-10-04T12:00:00Z"
YESTERDAY = date(2026, 10, 3)
RUN_DAYS = 3
MAX_RUN_LINES = 25  # make demo must stay well under 100 lines; a short run far below that


def _env(tmp: Path, **values: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "LIQMAP_DATA_DIR": str(tmp / "data"),
        "LIQMAP_SITE_DIR": str(tmp / "site"),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "LIQMAP_SOURCE": "synthetic",
        "COLUMNS": "120",
        "LIQMAP_NOW": CLOCK,
    }
    for key in ("LIQMAP_START_DATE", "LIQMAP_END_DATE", "LIQMAP_MIRROR_DIR", "LIQMAP_SYMBOLS"):
        env.pop(key, None)
    env["LIQMAP_SYMBOLS"] = "BTCUSDT"  # the demo default is three symbols; these runs use one
    for key, value in values.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def liqmap(tmp: Path, *args: str, timeout: float = 120, **env: str | None):
    return subprocess.run(
        [LIQMAP, *args],
        env=_env(tmp, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _snapshot_db(tmp: Path) -> None:
    path = tmp / "data" / "snapshot" / "warehouse.duckdb"
    path.parent.mkdir(parents=True)
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA mart; CREATE TABLE mart.t AS SELECT 1 AS x")
    conn.close()


MISTAKES = {
    "lower-case symbol": (("run",), {"LIQMAP_SYMBOLS": "btcusdt"}, "LIQMAP_SYMBOLS='btcusdt'"),
    "end before start": (
        ("run",),
        {"LIQMAP_START_DATE": "2026-02-01", "LIQMAP_END_DATE": "2026-01-01"},
        "LIQMAP_END_DATE=2026-01-01 is before LIQMAP_START_DATE=2026-02-01",
    ),
    "missing mirror folder": (
        ("run",),
        {"LIQMAP_SOURCE": "mirror", "LIQMAP_MIRROR_DIR": "{tmp}/no-such-mirror"},
        "no-such-mirror does not exist",
    ),
    "DAGSTER_HOME is a file": (("run",), {"DAGSTER_HOME": "{tmp}/a-file"}, "is a file"),
    "--start before the first partition": (
        ("run", "--start", "2020-01-01"),
        {"LIQMAP_START_DATE": "2025-11-01"},
        "--start 2020-01-01 is before the first daily partition 2025-11-01",
    ),
    "bad --start date": (("run", "--start", "2026-13-01"), {}, "'2026-13-01' is not a date"),
    "bad env date": (
        ("run",),
        {"LIQMAP_END_DATE": "2026-02-30"},
        "LIQMAP_END_DATE='2026-02-30' is not a date",
    ),
    "--end in the future": (
        ("run", "--end", (YESTERDAY + timedelta(days=2)).isoformat()),
        {},
        "is after yesterday",
    ),
    "bad SQL": (
        ("query", "SELEC 1"),
        {},
        'query failed: Parser Error: syntax error at or near "SELEC"',
    ),
    "unknown table": (
        ("query", "SELECT * FROM mart.nope"),
        {},
        "Table with name nope does not exist",
    ),
    "query before any run": (
        ("query", "SELECT 1"),
        {"LIQMAP_DATA_DIR": "{tmp}/empty"},
        "no snapshot",
    ),
    "unknown command": (("frobnicate",), {}, "invalid choice"),
}


@pytest.mark.parametrize("case", list(MISTAKES))
def test_each_user_mistake_is_one_line_and_exit_2(case, tmp_path):
    args, env, expected = MISTAKES[case]
    (tmp_path / "a-file").write_text("not a folder")
    _snapshot_db(tmp_path)
    env = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    result = liqmap(tmp_path, *args, **env)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("liqmap: error: ")
    assert expected in lines[0]
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # nothing was started


def test_internal_error_is_short_and_points_at_the_traceback(tmp_path):
    """An unexpected failure (here: the log folder inside DAGSTER_HOME is a file) is one line
    with the exception and the file holding its traceback; --verbose prints the traceback."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "logs").write_text("in the way")
    env = {"LIQMAP_START_DATE": YESTERDAY.isoformat()}
    result = liqmap(tmp_path, "run", **env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("liqmap: internal error: FileExistsError")
    traceback_file = Path(lines[0].split("(traceback: ")[1].split(";")[0])
    assert "Traceback" in traceback_file.read_text()
    verbose = liqmap(tmp_path, "run", "--verbose", **env)
    assert verbose.returncode == 1 and "Traceback (most recent call last)" in verbose.stderr


def test_failed_run_says_which_step_and_why(tmp_path):
    """Another process holds the warehouse's write lock: DuckDB fails inside the run's steps;
    the run ends with status 1, a "failed:" line naming the step, no traceback, and the log
    path. (A warehouse path that is a folder is refused before the run: test_door_checks.)
    One attempt at the lock (LIQMAP_LOCK_ATTEMPTS=1): the steps fail at once instead of each
    waiting out the default back-off (about 15 s a step)."""
    holder = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        result = liqmap(
            tmp_path,
            "run",
            "--start",
            YESTERDAY.isoformat(),
            LIQMAP_START_DATE=YESTERDAY.isoformat(),
            LIQMAP_WAREHOUSE=str(tmp_path / "wh.duckdb"),
            LIQMAP_LOCK_ATTEMPTS="1",
            timeout=300,
        )
    finally:
        holder.close()
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert failed and "raw_" in failed[0]
    assert "locked by another process after 1 attempts" in result.stderr + result.stdout
    log = next(
        line.split("event log: ", 1)[1]
        for line in result.stdout.splitlines()
        if "event log:" in line
    )
    assert "STEP_FAILURE" in Path(log.strip()).read_text()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`liqmap run` over the RUN_DAYS days ending yesterday (by the pinned clock), as `make demo`
    runs it (no TTY, the window's end left to its default)."""
    tmp = tmp_path_factory.mktemp("cli_run")
    first = YESTERDAY - timedelta(days=RUN_DAYS - 1)
    result = liqmap(tmp, "run", timeout=900, LIQMAP_START_DATE=first.isoformat())
    return tmp, result


@BUILT_GROUP
@pytest.mark.slow
def test_run_prints_a_short_readable_report(built):
    tmp, result = built
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    lines = output.splitlines()
    assert len(lines) <= MAX_RUN_LINES, output
    assert "\x1b[" not in output and "\r" not in output  # no control codes off a terminal
    assert "Warning" not in output and "DEBUG" not in output
    for stage in ("raw", "staging", "marts", "publish"):
        row = next(line for line in lines if line.startswith(stage + " "))
        assert row.split()[1] == str(RUN_DAYS) and row.split()[4].startswith("done")
    staging = next(line for line in lines if line.startswith("staging "))
    assert staging.split()[2] == f"{RUN_DAYS * 288:,}"  # each row counted once, not per day
    assert f"Site: {tmp / 'site' / 'index.html'}" in output
    assert str(tmp / "data" / "snapshot" / "warehouse.duckdb") in output
    log = Path(
        next(line for line in lines if "event log:" in line).split("event log: ", 1)[1].strip()
    )
    text = log.read_text()
    assert "RUN_SUCCESS" in text and "STEP_START" in text
    assert f"klines_1m BTCUSDT fetch: {RUN_DAYS}/{RUN_DAYS} files" in text  # in the run log


@BUILT_GROUP
@pytest.mark.slow
def test_status_on_a_built_warehouse(built):
    tmp, _ = built
    first = YESTERDAY - timedelta(days=RUN_DAYS - 1)
    result = liqmap(tmp, "status", LIQMAP_START_DATE=first.isoformat())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    market = next(line for line in lines if line.strip().startswith("BTCUSDT:"))
    assert f"{first}..{YESTERDAY}, {RUN_DAYS} days, 0 missing" in market
    assert f"stg {RUN_DAYS * 288:,}" in market
    assert "marts 0" not in market
    assert any(line.startswith("last run: success") for line in lines), result.stdout
    assert any(line.startswith("snapshot: ") and " old " in line for line in lines)
    assert f"site: {tmp / 'site' / YESTERDAY.isoformat() / 'index.html'}" in lines


def test_status_on_an_empty_project(tmp_path):
    result = liqmap(tmp_path, "status")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "nothing built yet" in result.stdout
    assert "no runs recorded" in result.stdout
    assert not (tmp_path / "dagster_home").exists()  # status creates nothing


@BUILT_GROUP
@pytest.mark.slow
def test_verbose_restores_dagsters_event_stream_on_the_console(built):
    tmp, _ = built
    result = liqmap(
        tmp,
        "run",
        "--verbose",
        "--start",
        YESTERDAY.isoformat(),
        timeout=600,
        LIQMAP_START_DATE=(YESTERDAY - timedelta(days=RUN_DAYS - 1)).isoformat(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    events = result.stdout + result.stderr
    for event in ("RUN_START", "STEP_START", "ASSET_MATERIALIZATION", "RUN_SUCCESS"):
        assert f" - {event} - " in events


def test_every_asset_group_is_a_stage_of_the_run_display():
    """The run display's stages are the asset groups (orchestration/assets/<group>.py): a new
    or renamed group must be given a stage, or its progress would show nowhere."""
    from orchestration.definitions import ALL_ASSETS
    from orchestration.runner import STAGE_OF_GROUP, STAGE_ORDER

    groups = {group for a in ALL_ASSETS for group in a.group_names_by_key.values()}
    assert groups == set(STAGE_OF_GROUP)
    assert set(STAGE_OF_GROUP.values()) == set(STAGE_ORDER)
