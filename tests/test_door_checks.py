"""Every setting is checked before Dagster starts: one line naming it, exit 2, nothing made.

The fault campaign (issue 20) found these failing only mid-run (exit 1 after 6-177 s): the
LIQMAP_BYBIT_* values, a warehouse path that is a folder (or not a DuckDB file), a data dir
under a file, a site dir that is a file, LIQMAP_BINANCE_URL=notaurl, a binary tier file, an
empty mirror folder, --end past LIQMAP_END_DATE.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

LIQMAP = str(Path(sys.executable).with_name("liqmap"))
END = date(2025, 11, 5)  # a fixed window in the past: nothing here depends on today

# (extra args, environment ({tmp} is the test folder), text the one line must hold)
MISTAKES = {
    "bybit url": ((), {"LIQMAP_BYBIT_URL": "notaurl"}, "LIQMAP_BYBIT_URL='notaurl'"),
    "bybit oi sides": ((), {"LIQMAP_BYBIT_OI_SIDES": "three"}, "LIQMAP_BYBIT_OI_SIDES='three'"),
    "bybit deadline": ((), {"LIQMAP_BYBIT_DEADLINE_S": "0"}, "LIQMAP_BYBIT_DEADLINE_S='0'"),
    "bybit ban": ((), {"LIQMAP_BYBIT_BAN_BACKOFF_S": "soon"}, "LIQMAP_BYBIT_BAN_BACKOFF_S="),
    "bybit rate": ((), {"LIQMAP_BYBIT_REQUESTS_PER_5S": "0"}, "LIQMAP_BYBIT_REQUESTS_PER_5S="),
    "bybit rate above the ban line": (
        (),
        {"LIQMAP_BYBIT_REQUESTS_PER_5S": "900", "LIQMAP_BYBIT_URL": "https://api.bybit.com"},
        "Bybit allows 600 requests / 5 s",
    ),
    "warehouse is a folder": ((), {"LIQMAP_WAREHOUSE": "{tmp}/folder"}, "is a folder"),
    "warehouse is a csv": (
        (),
        {"LIQMAP_WAREHOUSE": "{tmp}/a-file"},
        "a-file is not a DuckDB database",
    ),
    "warehouse under a file": (
        (),
        {"LIQMAP_WAREHOUSE": "{tmp}/a-file/w.duckdb"},
        "a-file is a file, expected a folder",
    ),
    "data dir under a file": (
        (),
        {"LIQMAP_DATA_DIR": "{tmp}/a-file/data"},
        "LIQMAP_DATA_DIR=",
    ),
    "site dir is a file": ((), {"LIQMAP_SITE_DIR": "{tmp}/a-file"}, "LIQMAP_SITE_DIR="),
    "binance url": ((), {"LIQMAP_BINANCE_URL": "notaurl"}, "LIQMAP_BINANCE_URL='notaurl'"),
    "binance fapi url": (
        (),
        {"LIQMAP_BINANCE_FAPI_URL": "ftp://x"},
        "LIQMAP_BINANCE_FAPI_URL='ftp://x'",
    ),
    "binary tier file": ((), {"LIQMAP_TIERS_FILE": "{tmp}/tiers.bin"}, "not a text CSV"),
    "empty mirror folder": (
        (),
        {"LIQMAP_SOURCE": "mirror", "LIQMAP_MIRROR_DIR": "{tmp}/folder"},
        "holds no archive files for BTCUSDT",
    ),
    "clock": ((), {"LIQMAP_NOW": "tomorrow"}, "LIQMAP_NOW='tomorrow' is not a time"),
    "lock attempts": ((), {"LIQMAP_LOCK_ATTEMPTS": "0"}, "LIQMAP_LOCK_ATTEMPTS='0'"),
    "lock attempts not a number": (
        (),
        {"LIQMAP_LOCK_ATTEMPTS": "many"},
        "LIQMAP_LOCK_ATTEMPTS='many': expected a whole number from 1 to 12",
    ),
    "--end past LIQMAP_END_DATE": (
        ("--end", (END + timedelta(days=1)).isoformat()),
        {"LIQMAP_END_DATE": END.isoformat()},
        f"is after LIQMAP_END_DATE={END}",
    ),
}


def _env(tmp: Path, values: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        LIQMAP_DATA_DIR=str(tmp / "data"),
        LIQMAP_SITE_DIR=str(tmp / "site"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
        LIQMAP_SYMBOLS="BTCUSDT",
        LIQMAP_START_DATE=(END - timedelta(days=2)).isoformat(),
        LIQMAP_END_DATE=END.isoformat(),
    )
    env.update({k: v.format(tmp=tmp) for k, v in values.items()})
    return env


@pytest.mark.parametrize("case", list(MISTAKES))
def test_each_setting_is_refused_before_dagster_starts(case, tmp_path):
    args, values, expected = MISTAKES[case]
    (tmp_path / "a-file").write_text("x\n1\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "tiers.bin").write_bytes(bytes(range(256)) * 4)
    result = subprocess.run(
        [LIQMAP, "run", *args],
        env=_env(tmp_path, values),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("liqmap: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "dagster_home").exists()  # Dagster never started
    assert not (tmp_path / "data").exists()  # nothing was made or downloaded
