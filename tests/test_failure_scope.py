"""The scope of a failure is the day and the venue it belongs to.

A real local HTTP server serves the archive (tests/ingest_helpers.ArchiveServer) with one day's
file broken in one way: a checksum mismatch, a corrupt zip (matching its checksum), HTTP 403,
a day missing between published days. That day is withheld alone: the other days load, the
day is recorded in raw.rejected_files with one line naming the file and the reason (which the
run's final gate, days_accepted, prints), and a re-run with the file repaired loads it.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ingest_helpers import SEED, SYMBOL, ArchiveServer, Fault, make_settings

from transforms.db import warehouse
from transforms.raw.ingest import ingest_window
from transforms.raw.quality import rejected_market_days
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance.datasets import archive_relpath

LOG = logging.getLogger("test_failure_scope")
D0, D1 = date(2025, 11, 26), date(2025, 11, 30)  # four days [D0, D1)
DAYS = [D0 + timedelta(days=i) for i in range(4)]
BAD = DAYS[1]
REL = archive_relpath("klines_1m", SYMBOL, BAD.isoformat())
BINANCE = ("binance", SYMBOL)  # the one market these tests load


def _break(server: ArchiveServer, mirror, fault: str) -> str:
    """Break the BAD day's klines file; returns text the withheld line must contain."""
    path = mirror / REL
    if fault == "checksum mismatch":
        server.faults[REL + ".CHECKSUM"].extend(
            [Fault(body=f"{'0' * 64}  {path.name}\n".encode())] * 10
        )
        return "checksum"
    if fault == "corrupt zip":
        garbage = b"PK\x03\x04 this is not a zip" * 10
        path.write_bytes(garbage)
        digest = hashlib.sha256(garbage).hexdigest()
        path.with_name(path.name + ".CHECKSUM").write_text(f"{digest}  {path.name}\n")
        return "zip"
    if fault == "HTTP 403":
        server.faults[REL + ".CHECKSUM"].extend([Fault(status=403)] * 10)
        return "403"
    if fault == "missing day":
        path.rename(path.with_name(path.name + ".hidden"))
        path.with_name(path.name + ".CHECKSUM").rename(path.with_name(path.name + ".CHECKSUM.x"))
        return "not published"
    raise ValueError(fault)


def _connect(settings):
    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    return connect


def _days(settings) -> set[date]:
    with warehouse(settings.warehouse_path) as conn:
        rows = conn.execute(
            "SELECT DISTINCT day FROM raw.klines_1m WHERE venue = 'binance'"
        ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("fault", ["checksum mismatch", "corrupt zip", "HTTP 403", "missing day"])
def test_one_bad_archive_file_withholds_its_day_only(fault, tmp_path):
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    with ArchiveServer(mirror) as server:
        settings = make_settings(
            tmp_path, source="binance", binance_url=server.url, venues=("binance",)
        )
        expected = _break(server, mirror, fault)
        result = ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
        assert _days(settings) == set(DAYS) - {BAD}
        assert [r.period for r in result.rejections] == [BAD.isoformat()]
        with warehouse(settings.warehouse_path) as conn:
            withheld = rejected_market_days(conn, [SYMBOL], D0, D1).get(BINANCE, {})
        assert list(withheld) == [BAD]
        line = withheld[BAD][0]
        assert line.startswith(REL) and expected in line.lower(), line
        assert "\n" not in line

        # the file repaired: a re-run loads the day and clears the rejection
        server.faults.clear()
        for hidden in mirror.rglob("*.hidden"):
            hidden.rename(hidden.with_name(hidden.name.removesuffix(".hidden")))
        for hidden in mirror.rglob("*.CHECKSUM.x"):
            hidden.rename(hidden.with_name(hidden.name.removesuffix(".x")))
        if fault == "corrupt zip":
            generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
        ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
        assert _days(settings) == set(DAYS)
        with warehouse(settings.warehouse_path) as conn:
            assert rejected_market_days(conn, [SYMBOL], D0, D1) == {}


def test_a_venue_that_is_down_still_fails_as_a_venue(tmp_path):
    """Every file failing is the venue being down: one error, not a rejection per day."""
    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    with ArchiveServer(mirror) as server:
        for day in DAYS:
            rel = archive_relpath("klines_1m", SYMBOL, day.isoformat())
            server.faults[rel + ".CHECKSUM"].extend([Fault(status=403)] * 5)
        settings = make_settings(
            tmp_path, source="binance", binance_url=server.url, venues=("binance",)
        )
        with pytest.raises(Exception, match="403"):
            ingest_window(_connect(settings), settings, "klines_1m", D0, D1, LOG)
        assert len(server.requests) == 3  # stopped after VENUE_DOWN_STREAK files


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_a_run_publishes_the_other_days_and_names_the_file(tmp_path):
    """Through `liqmap run` (real Dagster, mirror source): the corrupt file's day is withheld
    from the snapshot and the site, the other days are published, the console names the file
    and the reason, the stage table says `partial` for raw, and the run exits 1."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    path = mirror / REL
    garbage = b"PK\x03\x04 this is not a zip" * 10
    path.write_bytes(garbage)
    digest = hashlib.sha256(garbage).hexdigest()
    path.with_name(path.name + ".CHECKSUM").write_text(f"{digest}  {path.name}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        DAGSTER_HOME=str(tmp_path / "home"),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
        LIQMAP_SITE_DIR=str(tmp_path / "site"),
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
        LIQMAP_VENUES="binance",
        LIQMAP_SYMBOLS=SYMBOL,
        LIQMAP_START_DATE=D0.isoformat(),
        LIQMAP_END_DATE=(D1 - timedelta(days=1)).isoformat(),
        COLUMNS="200",
    )
    liqmap = str(Path(sys.executable).with_name("liqmap"))
    result = subprocess.run(
        [liqmap, "run"], env=env, capture_output=True, text=True, timeout=900,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert any(REL in line and "zip" in line for line in result.stderr.splitlines()), result.stderr
    raw = [line for line in result.stdout.splitlines() if line.strip().startswith("raw ")]
    assert raw and "partial" in raw[-1], result.stdout
    snapshot = tmp_path / "data" / "snapshot" / "warehouse.duckdb"
    with warehouse(snapshot, read_only=True) as conn:
        published = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT day FROM mart.daily_metrics WHERE symbol = ?", [SYMBOL]
            ).fetchall()
        }
        staged = {r[0] for r in conn.execute("SELECT DISTINCT day FROM stg.bars_5m").fetchall()}
        # every file of the withheld day stays out of the snapshot, not only the bad one
        raw_bad = {
            table: conn.execute(
                f"SELECT count(*) FROM raw.{table} WHERE day = ?", [BAD]
            ).fetchone()[0]
            for table in ("klines_1m", "mark_klines_1m", "metrics_5m", "funding")
        }
        raw_good = conn.execute(
            "SELECT count(*) FROM raw.mark_klines_1m WHERE day = ?", [DAYS[0]]
        ).fetchone()[0]
        notes = dict(
            conn.execute(
                "SELECT day, history_incomplete FROM mart.daily_metrics "
                "WHERE symbol = ? AND venue = 'binance' AND scenario = 'base'",
                [SYMBOL],
            ).fetchall()
        )
    assert BAD not in published and BAD not in staged
    assert raw_bad == dict.fromkeys(raw_bad, 0), raw_bad
    assert raw_good == 1440
    # the days after the withheld day say so (#19's column), the day before does not
    assert not notes[DAYS[0]]
    assert all(f"history incomplete: {BAD} missing" in notes[d] for d in DAYS[2:]), notes
    with warehouse(tmp_path / "data" / "warehouse.duckdb", read_only=True) as conn:
        kept = conn.execute("SELECT count(*) FROM raw.mark_klines_1m WHERE day = ?", [BAD])
        assert kept.fetchone()[0] == 1440  # the live warehouse keeps them for the next run
    assert published == set(DAYS) - {BAD}
    pages = {p.name for p in (tmp_path / "site" / SYMBOL).glob("20*")} | {
        p.name for p in (tmp_path / "site").glob("20*")
    }
    assert BAD.isoformat() not in pages


@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_a_refused_bybit_day_withholds_that_venue_day_only(tmp_path, monkeypatch):
    """Through `liqmap run` with Bybit from the real fake server, prices x1000 on one day:
    Binance is published for every day; Bybit's marts exist for its other days (the later
    ones saying the history is incomplete); the aggregate of the bad day names Bybit
    missing; nothing scaled reaches the snapshot."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import test_row_rules as r

    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import shadow_market

    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, r.D0, r.D1, seed=SEED)
    settings = make_settings(tmp_path, source="mirror", mirror_dir=mirror)
    market = r._tampered(shadow_market(settings, SYMBOL), "prices x1000")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        DAGSTER_HOME=str(tmp_path / "home"),
        LIQMAP_DATA_DIR=str(tmp_path / "data"),
        LIQMAP_SITE_DIR=str(tmp_path / "site"),
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
        LIQMAP_VENUES="binance,bybit",
        LIQMAP_SYMBOLS=SYMBOL,
        LIQMAP_START_DATE=r.D0.isoformat(),
        LIQMAP_END_DATE=(r.D1 - timedelta(days=1)).isoformat(),
        LIQMAP_BYBIT_DEADLINE_S="5",
        COLUMNS="200",
    )
    liqmap = str(Path(sys.executable).with_name("liqmap"))
    with FakeBybitServer([market]) as server:
        env["LIQMAP_BYBIT_URL"] = server.url
        result = subprocess.run(
            [liqmap, "run"], env=env, capture_output=True, text=True, timeout=900,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    out = result.stdout + result.stderr
    assert "close_near_reference_venue" in out and f"{r.BAD}" in out, out
    snapshot = tmp_path / "data" / "snapshot" / "warehouse.duckdb"
    with warehouse(snapshot, read_only=True) as conn:

        def days(venue: str) -> set[date]:
            rows = conn.execute(
                "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = ?", [venue]
            ).fetchall()
            return {row[0] for row in rows}

        assert days("binance") == set(r.DAYS)
        assert days("bybit") == set(r.DAYS) - {r.BAD}
        assert days("all") == set(r.DAYS)
        missing = dict(
            conn.execute(
                "SELECT day, venues_missing FROM mart.daily_metrics "
                "WHERE venue = 'all' AND scenario = 'base'"
            ).fetchall()
        )
        assert "bybit" in missing[r.BAD] and not missing[r.DAYS[0]], missing
        note = conn.execute(
            "SELECT history_incomplete FROM mart.daily_metrics "
            "WHERE venue = 'bybit' AND scenario = 'base' AND day = ?",
            [r.DAYS[2]],
        ).fetchone()[0]
        assert f"{r.BAD} missing" in note, note
        scaled = conn.execute(
            "SELECT count(*) FROM raw.klines_1m WHERE venue = 'bybit' AND close > 1e6"
        ).fetchone()[0]
        assert scaled == 0


def test_one_bad_row_in_a_monthly_funding_file_withholds_its_day_only(tmp_path):
    """A funding rate of 500 % on one settlement: that day is withheld (named with file, line
    and rule); the month's other days load; the file stays cached; a re-run gives the same
    rows and one rejection, not two."""
    import csv
    import io

    from ingest_helpers import read_member, write_archive

    mirror = tmp_path / "mirror"
    generate_mirror(mirror, SYMBOL, D0, D1, seed=SEED)
    rel = archive_relpath("funding", SYMBOL, D0.strftime("%Y-%m"))
    rows = list(csv.reader(io.StringIO(read_member(mirror / rel).decode())))
    header = not rows[0][0].isdigit()
    body = rows[1:] if header else rows
    rate = rows[0].index("last_funding_rate") if header else 2
    bad_ms = int(datetime(BAD.year, BAD.month, BAD.day, 8, tzinfo=UTC).timestamp() * 1000)
    hit = [r for r in body if abs(int(r[0]) - bad_ms) < 3_600_000]
    assert hit, "no settlement at 08:00 of the bad day"
    hit[0][rate] = "5.0"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write_archive(mirror, rel, Path(rel).name.replace(".zip", ".csv"), out.getvalue())
    settings = make_settings(tmp_path, source="mirror", mirror_dir=mirror, venues=("binance",))
    for _ in range(2):
        result = ingest_window(_connect(settings), settings, "funding", D0, D1, LOG)
        with warehouse(settings.warehouse_path) as conn:
            loaded = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT day FROM raw.funding WHERE venue = 'binance'"
                ).fetchall()
            }
            withheld = rejected_market_days(conn, [SYMBOL], D0, D1).get(BINANCE, {})
            stored = conn.execute("SELECT count(*) FROM raw.rejected_files").fetchone()[0]
        assert loaded == set(DAYS) - {BAD}
        assert list(withheld) == [BAD] and stored == 1
        line = withheld[BAD][0]
        assert rel in line and "funding_rate_bounded" in line and "last_funding_rate=5.0" in line
        assert [r.period for r in result.rejections] == [BAD.isoformat()]
        assert (settings.cache_dir / "mirror" / rel).is_file()  # the good file stays cached


def _two_venue_run(settings, bybit_url: str, first: date, last: date):
    """The real chain over [first, last] with Binance from the mirror and Bybit from the
    fake server (as tests/venue_helpers.build_two_venue_warehouse)."""
    from pipeline_helpers import run_chain

    from transforms.raw.venues.bybit.feed import LOCAL_REQUESTS_PER_5S

    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIQMAP_BYBIT_REQUESTS_PER_5S", str(LOCAL_REQUESTS_PER_5S))
        env.setenv("LIQMAP_BYBIT_URL", bybit_url)
        return run_chain(settings, first, last, raise_on_error=False)


def _assert_same_marts(path: Path, clean: Path, venue: str, days: list[date]) -> None:
    """Every mart of `path` has the rows of `clean` for `venue` on `days` (floats within
    1e-9: a model continued from a stored state equals a range run to rounding)."""
    import pandas as pd
    from pipeline_helpers import TABLES, canonical_order

    for table in (t for t in TABLES if t.startswith("mart.")):
        frames = []
        for source in (path, clean):
            with warehouse(source, read_only=True) as conn:
                frame = conn.execute(
                    f"SELECT * FROM {table} WHERE venue = ? AND list_contains(?, day)",
                    [venue, days],
                ).df()
            frames.append(canonical_order(frame))
        got, want = frames
        assert len(want) or table == "mart.moves", (table, venue, days)
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, obj=table)


@pytest.mark.slow  # three two-venue chain runs: scheduled first (docs/testing.md)
def test_a_rejected_binance_file_withholds_that_venue_day_only(tmp_path):
    """Binance + Bybit (the fake server) through the real chain, one Binance klines file a
    corrupt zip: Bybit's marts of that day are built and equal a clean build's; the aggregate
    of the day is Bybit's and names Binance missing; Binance's days before it are unchanged
    and the later ones say its history is incomplete; the day page is published naming
    Binance missing; Binance's raw rows of the day stay out of the snapshot, Bybit's are in.
    With the file repaired, a re-run fills Binance's day and every mart equals the clean
    build's."""
    from pipeline_helpers import temp_settings
    from venue_helpers import build_two_venue_warehouse

    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import shadow_market

    first, last = date(2025, 11, 1), date(2025, 11, 4)
    days = [first + timedelta(days=i) for i in range(4)]
    bad = days[1]
    rel = archive_relpath("klines_1m", SYMBOL, bad.isoformat())
    clean = build_two_venue_warehouse(tmp_path / "clean", first, last)

    root = tmp_path / "broken"
    mirror = root / "mirror"
    settings = temp_settings(
        root,
        first.isoformat(),
        last.isoformat(),
        LIQMAP_VENUES="binance,bybit",
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
    )
    generate_mirror(mirror, SYMBOL, first, last, seed=settings.synthetic_seed)
    path = mirror / rel
    garbage = b"PK\x03\x04 this is not a zip" * 10
    path.write_bytes(garbage)
    digest = hashlib.sha256(garbage).hexdigest()
    path.with_name(path.name + ".CHECKSUM").write_text(f"{digest}  {path.name}\n")
    with FakeBybitServer([shadow_market(settings, SYMBOL)]) as bybit:
        result = _two_venue_run(settings, bybit.url, first, last)
        # the run fails at its final gate, naming the day, the venue and the file
        gates = [e for e in result.get_asset_check_evaluations() if e.check_name == "days_accepted"]
        assert len(gates) == 1 and not gates[0].passed
        assert f"{bad} (binance {SYMBOL})" in gates[0].description, gates[0].description
        detail = gates[0].metadata["detail"].value
        assert rel in detail and "zip" in detail.lower() and "bybit" not in detail, detail

        live = settings.warehouse_path
        # Bybit: every day, the same rows as the clean build
        _assert_same_marts(live, clean.path, "bybit", days)
        # Binance: the day before unchanged, the bad day absent, the later days say so
        _assert_same_marts(live, clean.path, "binance", days[:1])
        with warehouse(live, read_only=True) as conn:
            have = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = 'binance'"
                ).fetchall()
            }
            assert have == set(days) - {bad}
            notes = dict(
                conn.execute(
                    "SELECT day, history_incomplete FROM mart.daily_metrics "
                    "WHERE venue = 'binance' AND scenario = 'base'"
                ).fetchall()
            )
            assert all(f"history incomplete: {bad} missing" in notes[d] for d in days[2:]), notes
            missing = dict(
                conn.execute(
                    "SELECT day, venues_missing FROM mart.daily_metrics "
                    "WHERE venue = 'all' AND scenario = 'base'"
                ).fetchall()
            )
        assert set(missing) == set(days)
        assert missing[bad] == "binance" and not missing[days[0]], missing
        # the day page is published, naming Binance missing
        page = (settings.output_site_dir / SYMBOL / bad.isoformat() / "index.html").read_text()
        assert 'data-notice="venues-missing"' in page and "Binance missing" in page
        # the snapshot: Binance's raw rows of the day kept out, Bybit's published
        with warehouse(settings.snapshot_path, read_only=True) as conn:
            raw = dict(
                conn.execute(
                    "SELECT venue, count(*) FROM raw.mark_klines_1m WHERE day = ? GROUP BY venue",
                    [bad],
                ).fetchall()
            )
            staged = dict(
                conn.execute(
                    "SELECT venue, count(*) FROM stg.bars_5m WHERE day = ? GROUP BY venue", [bad]
                ).fetchall()
            )
        assert raw == {"bybit": 1440}, raw
        assert staged == {"bybit": 288}, staged
        with warehouse(live, read_only=True) as conn:
            kept = conn.execute(
                "SELECT count(*) FROM raw.mark_klines_1m WHERE venue = 'binance' AND day = ?",
                [bad],
            ).fetchone()[0]
        assert kept == 1440  # the live warehouse keeps the day's good files

        # the file repaired: a re-run fills Binance's day; every venue's marts are clean
        generate_mirror(mirror, SYMBOL, first, last, seed=settings.synthetic_seed)
        assert _two_venue_run(settings, bybit.url, first, last).success
    for venue in ("binance", "bybit", "all"):
        _assert_same_marts(live, clean.path, venue, days)
