"""A range backfill launched the way the UI does it (GraphQL against a real webserver, run by
a real daemon) is one run and leaves the same warehouse as the command-line path.

The webserver starts first: the test checks the schedules are on, stops them and launches the
backfill, then starts the daemon, whose first pass takes the backfill. No schedule tick can
then launch a run of its own on the warehouse, whatever the hour (the test used to wait until
no tick was due within four minutes), and nothing waits for the daemon's next pass."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from orchestration.definitions import ALL_ASSETS
from tests.builds import BINANCE_DAYS
from tests.pipeline_helpers import fingerprints
from transforms.config import Settings

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
FIRST, LAST = BINANCE_DAYS  # the window and days of the shared build
DEADLINE_S = 420
# The daemon's backfill loop looks for work every DEFAULT_DAEMON_INTERVAL_SECONDS (30 s, a
# module constant of dagster._daemon.controller read at each pass, no setting for it): the
# backfill would wait up to 30 s to start and again to be marked complete after its run.
# The test's daemon is Dagster's own CLI with that constant at BACKFILL_LOOP_S (were the
# constant renamed, the loop keeps Dagster's interval: slower, same result).
BACKFILL_LOOP_S = 1
DAEMON = (
    "import sys\n"
    "import dagster._daemon.controller as controller\n"
    f"controller.DEFAULT_DAEMON_INTERVAL_SECONDS = {BACKFILL_LOOP_S}\n"
    "from dagster._daemon.cli import main\n"
    "sys.argv[0] = 'dagster-daemon'\n"
    "sys.exit(main())\n"
)


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


def _alive(procs: list[subprocess.Popen], log: Path) -> None:
    for p in procs:
        assert p.poll() is None, f"dagster process exited early:\n{log.read_text()[-3000:]}"


def _wait_ready(url: str, procs: list[subprocess.Popen], log: Path) -> None:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        _alive(procs, log)
        try:
            if httpx.get(url + "/server_info", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"webserver not ready:\n{log.read_text()[-3000:]}")


@dataclass
class Services:
    """The running webserver (`graphql`), the settings it serves, the processes' log, and
    `start_daemon()` (the daemon starts when the test says so)."""

    graphql: str
    settings: Settings
    log: Path
    start_daemon: Callable[[], None]
    procs: list[subprocess.Popen]

    def alive(self) -> None:
        _alive(self.procs, self.log)


@pytest.fixture
def dagster_services(tmp_path, binance_chain):
    """dagster-webserver on 127.0.0.1 with a temp DAGSTER_HOME, and the daemon once the test
    starts it (`Services.start_daemon`); both stopped after."""
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
    ]

    def start_daemon() -> None:
        daemon = [sys.executable, "-c", DAEMON, "run", *module]
        procs.append(subprocess.Popen(daemon, env=env, stdout=out, stderr=subprocess.STDOUT))

    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, procs, log)
        yield Services(url + "/graphql", settings, log, start_daemon, procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        out.close()


def _loaded_automation(graphql: str, log: Path) -> dict:
    """The schedules and sensors, once the webserver has loaded the code location (it answers
    /server_info before that; on a busy machine the location can take tens of seconds)."""
    end = time.monotonic() + 180
    while time.monotonic() < end:
        automation = _graphql(graphql, AUTOMATION, {})
        if all("results" in (automation[key] or {}) for key in automation):
            return automation
        time.sleep(0.5)
    raise TimeoutError(f"code location never loaded: {automation}\n{log.read_text()[-3000:]}")


def test_ui_range_backfill_is_one_run_and_matches_cli(dagster_services, binance_chain):
    services = dagster_services
    graphql, settings, log = services.graphql, services.settings, services.log
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
    # the schedules stopped before the daemon starts: no tick (a run of its own on this
    # warehouse) whatever the hour and however long the backfill takes
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
    services.start_daemon()  # its first pass takes the requested backfill

    end = time.monotonic() + DEADLINE_S
    state: dict = {}
    while time.monotonic() < end:
        services.alive()
        state = _graphql(graphql, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if state.get("status") in {"COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED"}:
            break
        time.sleep(1)
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
