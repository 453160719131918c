"""`transforms.db.release_memory` hands memory DuckDB freed back to the OS (issue 19: a
year's model stage kept hundreds of MB resident it no longer used), and changes nothing
else: the connection's memory limit and its data stay as they were."""

from __future__ import annotations

import sys

import duckdb
import pytest

from transforms.db import DEFAULT_CONFIG, QUERY_CONFIG, open_warehouse, release_memory

ROWS = 3_000_000  # ~160 MB in memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_of_a_dropped_table_goes_back_to_the_os():
    conn = duckdb.connect(config={**DEFAULT_CONFIG, "memory_limit": "1GB"})
    try:
        before = _rss_mb()
        conn.execute(
            "CREATE TABLE t AS SELECT range AS i, random() AS x, md5(range::VARCHAR) AS s "
            "FROM range($n)",
            {"n": ROWS},
        )
        conn.execute("DROP TABLE t")
        kept = _rss_mb() - before  # DuckDB's allocator keeps what the table held
        release_memory(conn)
        left = _rss_mb() - before
    finally:
        conn.close()
    assert kept > 100, kept
    assert left < kept / 3, (kept, left)


@pytest.mark.parametrize("config", [DEFAULT_CONFIG, QUERY_CONFIG], ids=["pipeline", "query"])
def test_limit_and_rows_stay_as_they_were(tmp_path, config):
    conn = open_warehouse(tmp_path / "wh.duckdb")
    conn.execute("CREATE TABLE main.kept AS SELECT range AS i FROM range(1000)")
    conn.close()
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"), config=config)
    try:
        limit = conn.execute("SELECT current_setting('memory_limit')").fetchone()
        release_memory(conn)
        release_memory(conn)
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == limit
        assert conn.execute("SELECT count(*), sum(i) FROM main.kept").fetchone() == (1000, 499500)
    finally:
        conn.close()
