"""The `binance` HTTP source against a real server on 127.0.0.1 serving a synthetic mirror."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import (
    SEED,
    SYMBOL,
    WINDOW_END,
    WINDOW_START,
    ArchiveServer,
    Fault,
    make_settings,
    read_member,
    rezip,
)

from transforms.db import warehouse
from transforms.raw.synthetic import duplicated_metrics_row, generate_mirror, headerless
from transforms.raw.venues.binance import (
    ChecksumMismatch,
    CorruptArchive,
    NotYetPublished,
    SourceError,
    archive_relpath,
    make_source,
    periods_for_window,
)
from transforms.raw.venues.binance.loading import load_dataset
from transforms.raw.venues.binance.source import BinanceSource

DAY = WINDOW_START.isoformat()
KLINES = archive_relpath("klines_1m", SYMBOL, DAY)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mirror")
    return generate_mirror(root, SYMBOL, WINDOW_START, WINDOW_END, SEED)


@pytest.fixture
def server(mirror):
    with ArchiveServer(mirror) as srv:
        yield srv


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def source(server, tmp_path, sleeps):
    src = BinanceSource(
        server.url, tmp_path / "cache", timeout=5, max_attempts=4, sleep=sleeps.append
    )
    yield src
    src.close()


def _leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_happy_path_verifies_and_caches(source, server, mirror):
    fetched = source.fetch("klines_1m", SYMBOL, DAY)
    assert fetched.relpath == KLINES
    assert fetched.path.is_file()
    assert fetched.path.read_bytes() == (mirror / KLINES).read_bytes()
    assert fetched.sha256 == hashlib.sha256(fetched.path.read_bytes()).hexdigest()
    assert fetched.bytes == fetched.path.stat().st_size
    sidecar = fetched.path.with_name(fetched.path.name + ".CHECKSUM")
    assert sidecar.read_text() == f"{fetched.sha256}  {fetched.path.name}\n"
    assert server.count(KLINES) == 1 and server.count(KLINES + ".CHECKSUM") == 1


def test_cache_hit_sends_no_second_request(source, server):
    first = source.fetch("klines_1m", SYMBOL, DAY)
    n = len(server.requests)
    second = source.fetch("klines_1m", SYMBOL, DAY)
    assert second == first
    assert len(server.requests) == n
    # a fresh client over the same cache also reuses it (digest re-verified on reuse)
    other = BinanceSource(server.url, source.cache.root.parent, sleep=lambda s: None)
    assert other.fetch("klines_1m", SYMBOL, DAY) == first
    assert len(server.requests) == n
    other.close()


def test_tampered_cache_entry_is_refetched(source, server):
    fetched = source.fetch("klines_1m", SYMBOL, DAY)
    fetched.path.write_bytes(b"garbage")
    again = source.fetch("klines_1m", SYMBOL, DAY)
    assert again.sha256 == fetched.sha256
    assert server.count(KLINES) == 2


def test_checksum_mismatch_rejects_file_and_loads_nothing(source, server, tmp_path):
    # a well-formed zip with one row changed: only the checksum can catch it
    csv = read_member(server.root / KLINES).replace(b"\n", b"\n1,", 1)[:-1] + b"\n"
    tampered = rezip(Path(KLINES).stem + ".csv", csv)
    server.faults[KLINES].append(Fault(body=tampered))
    with pytest.raises(ChecksumMismatch, match="does not match"):
        source.fetch("klines_1m", SYMBOL, DAY)
    assert not source.cache.path_for(KLINES).exists()
    assert _leftovers(source.cache.root) == []
    with warehouse(tmp_path / "wh.duckdb") as conn:
        assert conn.execute("SELECT count(*) FROM raw.klines_1m").fetchone()[0] == 0


def test_truncated_zip_with_matching_checksum_is_corrupt(source, server):
    truncated = (server.root / KLINES).read_bytes()[:-200]
    digest = hashlib.sha256(truncated).hexdigest()
    server.faults[KLINES + ".CHECKSUM"].append(
        Fault(body=f"{digest}  {Path(KLINES).name}\n".encode())
    )
    server.faults[KLINES].append(Fault(body=truncated))
    with pytest.raises(CorruptArchive, match="zip"):
        source.fetch("klines_1m", SYMBOL, DAY)
    assert _leftovers(source.cache.root) == []


def test_truncated_transfer_is_retried(source, server, sleeps):
    server.faults[KLINES].append(Fault(short_body=1000))
    fetched = source.fetch("klines_1m", SYMBOL, DAY)
    assert fetched.path.read_bytes() == (server.root / KLINES).read_bytes()
    assert server.count(KLINES) == 2
    assert len(sleeps) == 1


def test_404_is_not_yet_published(source, server):
    late = (WINDOW_END + timedelta(days=1)).isoformat()
    rel = archive_relpath("klines_1m", SYMBOL, late)
    with pytest.raises(NotYetPublished, match=f"{rel} is not published yet"):
        source.fetch("klines_1m", SYMBOL, late)
    assert _leftovers(source.cache.root) == []


def test_429_honours_retry_after_then_succeeds(source, server, sleeps):
    server.faults[KLINES].append(Fault(status=429, headers={"Retry-After": "2"}))
    fetched = source.fetch("klines_1m", SYMBOL, DAY)
    assert fetched.path.is_file()
    assert server.count(KLINES) == 2
    assert sleeps == [2.0]


def test_500_then_success_backs_off(source, server, sleeps):
    server.faults[KLINES + ".CHECKSUM"].extend([Fault(status=500), Fault(status=503)])
    source.fetch("klines_1m", SYMBOL, DAY)
    assert server.count(KLINES + ".CHECKSUM") == 3
    assert sleeps == [1.0, 2.0]  # exponential backoff from backoff_initial


def test_persistent_errors_give_up_with_source_error(source, server, sleeps):
    server.faults[KLINES + ".CHECKSUM"].extend([Fault(status=502)] * 10)
    with pytest.raises(SourceError, match="giving up after 4 attempts"):
        source.fetch("klines_1m", SYMBOL, DAY)
    assert server.count(KLINES + ".CHECKSUM") == 4
    assert len(sleeps) == 3


def test_other_client_errors_are_not_retried(source, server, sleeps):
    server.faults[KLINES + ".CHECKSUM"].append(Fault(status=403))
    with pytest.raises(SourceError, match="HTTP 403"):
        source.fetch("klines_1m", SYMBOL, DAY)
    assert sleeps == []


def test_connection_refused_is_a_source_error(tmp_path, sleeps):
    src = BinanceSource(
        "http://127.0.0.1:9/", tmp_path / "cache", max_attempts=2, sleep=sleeps.append
    )
    with pytest.raises(SourceError, match="giving up"):
        src.fetch("klines_1m", SYMBOL, DAY)
    assert len(sleeps) == 1
    src.close()


def test_make_source_binance_loads_both_header_variants_and_dedups_metrics(server, tmp_path):
    settings = make_settings(tmp_path, source="binance", binance_url=server.url)
    source = make_source(settings)
    assert source.name == "binance"
    start, end = WINDOW_START, WINDOW_END + timedelta(days=1)
    n_days = (end - start).days
    days = periods_for_window("klines_1m", start, end)
    assert {headerless(d) for d in map(type(start).fromisoformat, days)} == {True, False}
    dup_days = [d for d in days if duplicated_metrics_row(type(start).fromisoformat(d)) is not None]
    assert dup_days, "the window must contain a metrics file with a duplicated row"
    with warehouse(settings.warehouse_path) as conn:
        for dataset in ("klines_1m", "metrics"):
            files = [
                source.fetch(dataset, SYMBOL, p) for p in periods_for_window(dataset, start, end)
            ]
            load_dataset(conn, dataset, SYMBOL, files, start, end, source.name)
        assert conn.execute("SELECT count(*) FROM raw.klines_1m").fetchone()[0] == 1440 * n_days
        assert conn.execute(
            "SELECT count(*), count(DISTINCT create_time) FROM raw.metrics_5m"
        ).fetchone() == (288 * n_days, 288 * n_days)
        rows = conn.execute(
            "SELECT rows FROM raw.files WHERE dataset = 'metrics' AND period = ?", [dup_days[0]]
        ).fetchone()[0]
        assert rows == 289  # the file really had the duplicate
    source.close()
