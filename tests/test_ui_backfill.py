"""A range backfill launched the way the UI does it (GraphQL against a real webserver, run by
a real daemon) is one run and leaves the same warehouse as the command-line path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from orchestration.automation import daily_after_archive
from orchestration.definitions import ALL_ASSETS
from orchestration.nowcast_job import hourly_nowcast
from tests.builds import BINANCE_DAYS
from tests.pipeline_helpers import fingerprints

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FIRST, LAST = BINANCE_DAYS  # the window and days of the shared build
DEADLINE_S = 420
# The daemon runs with the code's schedules on: a tick while this test runs would launch a run
# against its warehouse. The test starts only when no tick falls within this many minutes (the
# daemon's start-up), checks they are on, then stops them, so a backfill that takes minutes on
# a busy machine meets no tick either.
CLEAR_OF_TICKS_MIN = 4


def _minutes_to_next_tick(now: datetime) -> float:
    """Minutes until the next tick of the RUNNING schedules ('M H * * *', H may be '*')."""
    waits = []
    for schedule in (daily_after_archive, hourly_nowcast):
        minute, hour = schedule.cron_schedule.split()[:2]
        tick = now.replace(minute=int(minute), second=0, microsecond=0)
        step = timedelta(hours=1)
        if hour != "*":
            tick, step = tick.replace(hour=int(hour)), timedelta(days=1)
        while tick <= now:
            tick += step
        waits.append((tick - now).total_seconds() / 60)
    return min(waits)


def _wait_clear_of_ticks() -> None:
    """Sleep past a schedule tick due within CLEAR_OF_TICKS_MIN (the hour is controlled, not
    assumed: at most ~CLEAR_OF_TICKS_MIN minutes of waiting, rarely)."""
    wait = _minutes_to_next_tick(datetime.now(UTC))
    if wait < CLEAR_OF_TICKS_MIN:
        time.sleep(wait * 60 + 5)


LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
  }
}
"""

STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs(limit: 10) { runId status } }
    ... on PythonError { message }
  }
}
"""


AUTOMATION = """
{
  schedulesOrError(repositorySelector: {repositoryName: "__repository__",
                                        repositoryLocationName: "liqmap"}) {
    ... on Schedules { results { name scheduleState { id status } } }
  }
  sensorsOrError(repositorySelector: {repositoryName: "__repository__",
                                      repositoryLocationName: "liqmap"}) {
    ... on Sensors { results { name sensorState { status } } }
  }
}
"""

STOP_SCHEDULE = """
mutation($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str, variables: dict) -> dict:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _wait_ready(url: str, procs: list[subprocess.Popen], log: Path) -> None:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        for p in procs:
            assert p.poll() is None, f"dagster process exited early:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(url + "/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"webserver not ready:\n{log.read_text()[-3000:]}")


@pytest.fixture
def dagster_services(tmp_path, binance_chain):
    """dagster-webserver + dagster-daemon on 127.0.0.1 with a temp DAGSTER_HOME; stopped after."""
    _wait_clear_of_ticks()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        (Path(__file__).parents[1] / "orchestration" / "dagster.yaml").read_text()
    )
    settings = binance_chain.settings_at(tmp_path / "ui")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LIQMAP_DATA_DIR": str(settings.data_dir),
        "LIQMAP_SITE_DIR": str(settings.output_site_dir),
        "LIQMAP_START_DATE": "2025-11-01",
        "LIQMAP_END_DATE": "2025-11-05",
        "LIQMAP_SOURCE": "synthetic",
    }
    port = _free_port()
    log = tmp_path / "dagster.log"
    out = log.open("w")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: orchestration.definitions\n"
        "      location_name: liqmap\n"
        f"      working_directory: {Path(__file__).parents[1]}\n"
    )
    module = ["-w", str(workspace)]
    procs = [
        subprocess.Popen(
            [BIN / "dagster-webserver", "-h", "127.0.0.1", "-p", str(port), *module],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [BIN / "dagster-daemon", "run", *module], env=env, stdout=out, stderr=subprocess.STDOUT
        ),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, procs, log)
        yield url + "/graphql", settings, log
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        out.close()


def test_next_tick_is_found_for_hourly_and_daily_schedules():
    at = datetime(2026, 12, 5, 8, 44, 30, tzinfo=UTC)
    assert _minutes_to_next_tick(at) == pytest.approx(0.5)  # daily 08:45
    assert _minutes_to_next_tick(at.replace(minute=50)) == pytest.approx(16.5)  # hourly 09:07
    assert _minutes_to_next_tick(at.replace(hour=10, minute=7, second=0)) == pytest.approx(60)


def _loaded_automation(graphql: str, log: Path) -> dict:
    """The schedules and sensors, once the webserver has loaded the code location (it answers
    /server_info before that; on a busy machine the location can take tens of seconds)."""
    end = time.monotonic() + 180
    while time.monotonic() < end:
        automation = _graphql(graphql, AUTOMATION, {})
        if all("results" in (automation[key] or {}) for key in automation):
            return automation
        time.sleep(1)
    raise TimeoutError(f"code location never loaded: {automation}\n{log.read_text()[-3000:]}")


def test_ui_range_backfill_is_one_run_and_matches_cli(dagster_services, binance_chain):
    graphql, settings, log = dagster_services
    automation = _loaded_automation(graphql, log)
    states = {
        **{
            s["name"]: s["scheduleState"]["status"]
            for s in automation["schedulesOrError"]["results"]
        },
        **{s["name"]: s["sensorState"]["status"] for s in automation["sensorsOrError"]["results"]},
    }
    assert states == {
        "daily_after_archive": "RUNNING",
        "hourly_nowcast": "RUNNING",
        "late_archive_sensor": "RUNNING",
    }
    # no schedule tick (a run of its own on this warehouse) however long the backfill takes
    for schedule in automation["schedulesOrError"]["results"]:
        stopped = _graphql(graphql, STOP_SCHEDULE, {"id": schedule["scheduleState"]["id"]})
        result = stopped["stopRunningSchedule"]
        assert result.get("scheduleState", {}).get("status") == "STOPPED", result
    keys = [FIRST.replace(day=d).isoformat() for d in range(FIRST.day, LAST.day + 1)]
    asset_keys = sorted({k.to_user_string() for a in ALL_ASSETS for k in a.keys})
    launched = _graphql(
        graphql,
        LAUNCH,
        {
            "params": {
                "partitionNames": keys,
                "assetSelection": [{"path": key.split("/")} for key in asset_keys],
                "title": "test range backfill",
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    end = time.monotonic() + DEADLINE_S
    state: dict = {}
    while time.monotonic() < end:
        state = _graphql(graphql, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if state.get("status") in {"COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED"}:
            break
        time.sleep(3)
    assert state.get("status") in {"COMPLETED", "COMPLETED_SUCCESS"}, (
        f"{state}\n{log.read_text()[-4000:]}"
    )
    runs = state["runs"]
    assert len(runs) == 1, f"single-run backfill policy should give one run, got {runs}"
    assert runs[0]["status"] == "SUCCESS"

    # the command-line path: the shared build, the same days as one range run in-process
    assert fingerprints(settings.warehouse_path) == fingerprints(
        binance_chain.settings.warehouse_path
    )
