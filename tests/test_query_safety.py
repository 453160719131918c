"""`liqmap query` reads the published snapshot and nothing else.

Every write and read path of the fault campaign (issue 20: COPY TO over the live warehouse,
EXPORT DATABASE, read_csv of an arbitrary file, glob, ATTACH of the live file, INSTALL/LOAD,
SET of the locks themselves) is refused with one line and exit 2, and afterwards the live
warehouse and the snapshot are byte-for-byte what they were and no file appeared.
`liqmap status` notices a live warehouse it cannot open.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

LIQMAP = str(Path(sys.executable).with_name("liqmap"))


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        LIQMAP_DATA_DIR=str(tmp / "data"),
        LIQMAP_SITE_DIR=str(tmp / "site"),
        DAGSTER_HOME=str(tmp / "dagster_home"),
        LIQMAP_SYMBOLS="BTCUSDT",
    )
    return env


def _liqmap(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LIQMAP, *args],
        env=_env(tmp),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def _database(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA mart; CREATE TABLE mart.t AS SELECT $v AS x", {"v": value})
    conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    _database(tmp_path / "data" / "warehouse.duckdb", 1)
    _database(tmp_path / "data" / "snapshot" / "warehouse.duckdb", 2)
    (tmp_path / "secret.csv").write_text("a,b\n1,2\n")
    return tmp_path


def _attacks(tmp: Path) -> dict[str, str]:
    live = tmp / "data" / "warehouse.duckdb"
    snapshot = tmp / "data" / "snapshot" / "warehouse.duckdb"
    return {
        "COPY over the live warehouse": f"COPY (SELECT 1 AS x) TO '{live}' (FORMAT csv)",
        "COPY over the snapshot": f"COPY (SELECT 1 AS x) TO '{snapshot}' (FORMAT csv)",
        "COPY to a new file": f"COPY (SELECT 1 AS x) TO '{tmp / 'out.csv'}' (FORMAT csv)",
        "COPY to parquet": f"COPY mart.t TO '{tmp / 'out.parquet'}' (FORMAT parquet)",
        "EXPORT DATABASE": f"EXPORT DATABASE '{tmp / 'export'}'",
        "read_csv /etc/passwd": "SELECT * FROM read_csv('/etc/passwd')",
        "read_csv beside": f"SELECT * FROM read_csv('{tmp / 'secret.csv'}')",
        "replacement scan": f"SELECT * FROM '{tmp / 'secret.csv'}'",
        "read_text": "SELECT * FROM read_text('/etc/hostname')",
        "read_parquet": f"SELECT * FROM read_parquet('{tmp / 'x.parquet'}')",
        "glob": "SELECT * FROM glob('/etc/*')",
        "ATTACH the live warehouse": f"ATTACH '{live}' AS live (READ_ONLY)",
        "ATTACH a new database": f"ATTACH '{tmp / 'new.duckdb'}' AS n",
        "COPY FROM": f"COPY mart.t FROM '{tmp / 'secret.csv'}'",
        "INSTALL": "INSTALL httpfs",
        "LOAD": "LOAD httpfs",
        "SET external access back": "SET enable_external_access = true",
        "RESET external access": "RESET enable_external_access",
        "unlock configuration": "SET lock_configuration = false",
        "widen allowed directories": "SET allowed_directories = ['/']",
        "write a table": "CREATE TABLE mart.u AS SELECT 1 AS x",
        "delete rows": "DELETE FROM mart.t",
    }


@pytest.mark.parametrize("name", list(_attacks(Path("/x"))))
def test_each_write_or_read_path_is_refused_and_nothing_changes(project, name):
    sql = _attacks(project)[name]
    before = _tree(project)
    result = _liqmap(project, "query", sql)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("liqmap: error: query "), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert _tree(project) == before  # live file, snapshot and folder untouched (byte hash)
    assert _liqmap(project, "query", "SELECT x FROM mart.t").stdout.count("2") >= 1


def test_a_refused_statement_says_it_only_reads_the_snapshot(project):
    sql = _attacks(project)["COPY over the live warehouse"]
    line = _liqmap(project, "query", sql).stderr.strip()
    assert "query refused: `liqmap query` only reads the snapshot" in line


def test_reading_the_snapshot_still_works(project):
    result = _liqmap(project, "query", "SELECT x * 10 AS y FROM mart.t")
    assert result.returncode == 0, result.stderr
    assert "20" in result.stdout


def test_the_prompt_refuses_too_and_keeps_going(project):
    before = _tree(project)
    statements = "".join(f"{sql};\n" for sql in _attacks(project).values())
    result = _liqmap(project, "query", stdin=statements + "SELECT 41 + x AS answer FROM mart.t;\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("error: query ") == len(_attacks(project))
    assert "43" in result.stdout
    assert _tree(project) == before


def test_status_notices_a_live_warehouse_it_cannot_open(project):
    live = project / "data" / "warehouse.duckdb"
    assert _liqmap(project, "status").returncode == 0
    live.write_text("x\n1\n")  # what the old COPY … TO did to it
    result = _liqmap(project, "status")
    assert result.returncode == 1, result.stdout
    assert f"warehouse: BROKEN: {live} is not a DuckDB database" in result.stdout


def test_status_notices_a_warehouse_path_that_is_a_folder(project):
    live = project / "data" / "warehouse.duckdb"
    live.unlink()
    live.mkdir()
    result = _liqmap(project, "status")
    assert result.returncode == 1
    assert f"warehouse: BROKEN: {live} is not a file" in result.stdout
