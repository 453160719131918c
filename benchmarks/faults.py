"""Fault campaign for issue 20: run each class of fault against the real parts and print a
table of attempts, clean outcomes, clear error lines and wrong data published.

    .venv/bin/python benchmarks/faults.py [--only CLASS ...]

Classes (the fault definitions are the tests', imported, so the two never drift apart):
- query: every write/read path of tests/test_query_safety.py through `liqmap query`
  (clean: exit 2 and one line; wrong data published: the live warehouse, the snapshot or the
  folder changed, or the statement succeeded).
- door: every setting mistake of tests/test_door_checks.py through `liqmap run` (clean: exit 2,
  one line naming the setting, Dagster never started).
- rows: the implausible-data faults of tests/test_row_rules.py, Bybit from the real fake Bybit
  server and Binance from a tampered mirror (clean: only that venue's day refused; clear: the
  line names venue/file, day and rule; wrong data published: a tampered row in raw.*).
- scope: the archive-file faults of tests/test_failure_scope.py over a real HTTP server
  (clean: only that file's day withheld; clear: the line names the file and the reason).
- realized: malformed collected lines (clean: skipped and named, the other lines load).
- ban: a Bybit 403 then every other raw asset (clean: no request sent during the ban).
- funding: one bad row in a monthly funding file (clean: only its day withheld).
- interrupts: SIGINT / SIGTERM while a step waits on a stalled archive (clean: exit 130 / 143,
  `liqmap: interrupted`, the stage table says interrupted, nothing half-written).
- publish: whole `liqmap run`s (real Dagster) with a corrupt Binance file and with Bybit prices
  x1000 on one day (clean: the other days and venues published; wrong data published: a
  tampered or withheld row in the published snapshot).

Everything happens in temp dirs; nothing reaches the internet. Figures are counts, not times.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


import duckdb  # noqa: E402

LOG = logging.getLogger("faults")
LIQMAP = str(Path(sys.executable).with_name("liqmap"))


@dataclasses.dataclass
class Tally:
    name: str
    attempts: int = 0
    clean: int = 0
    clear: int = 0
    wrong: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, clean: bool, clear: bool, wrong: bool, what: str) -> None:
        self.attempts += 1
        self.clean += clean
        self.clear += clear
        self.wrong += wrong
        if not (clean and clear) or wrong:
            self.notes.append(what)


def _digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_query(tally: Tally) -> None:
    import test_query_safety as q

    for name in q._attacks(Path("/x")):
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            project = Path(tmp)
            q._database(project / "data" / "warehouse.duckdb", 1)
            q._database(project / "data" / "snapshot" / "warehouse.duckdb", 2)
            (project / "secret.csv").write_text("a,b\n1,2\n")
            before = _digest_tree(project)
            result = q._liqmap(project, "query", q._attacks(project)[name])
            lines = result.stderr.splitlines()
            one_line = len(lines) == 1 and lines[0].startswith("liqmap: error: query ")
            breach = result.returncode == 0 or _digest_tree(project) != before
            tally.add(result.returncode == 2, one_line, breach, name)


def run_door(tally: Tally) -> None:
    import os

    import test_door_checks as d

    for case, (args, values, expected) in d.MISTAKES.items():
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            path = Path(tmp)
            (path / "a-file").write_text("x\n1\n")
            (path / "folder").mkdir()
            (path / "tiers.bin").write_bytes(bytes(range(256)) * 4)
            result = subprocess.run(
                [LIQMAP, "run", *args],
                env={**d._env(path, values), "PATH": os.environ.get("PATH", "")},
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            lines = result.stderr.splitlines()
            clear = len(lines) == 1 and expected in lines[0]
            started = (path / "dagster_home").exists()
            tally.add(result.returncode == 2 and not started, clear, False, case)


@contextmanager
def _connect_for(settings):
    from transforms.db import warehouse

    @contextmanager
    def connect():
        with warehouse(settings.warehouse_path) as conn:
            yield conn

    yield connect


def run_rows(tally: Tally) -> None:
    import os

    import test_row_rules as r
    from ingest_helpers import SEED, SYMBOL, make_settings

    from transforms.raw.synthetic import generate_mirror
    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import shadow_market

    os.environ["LIQMAP_BYBIT_DEADLINE_S"] = "3"
    os.environ.pop("LIQMAP_BYBIT_OI_SIDES", None)

    def fresh(tmp: Path):
        mirror = tmp / "mirror"
        generate_mirror(mirror, SYMBOL, r.D0, r.D1, seed=SEED)
        return make_settings(tmp, source="mirror", mirror_dir=mirror, venues=("binance", "bybit"))

    for fault, (names, refused, rule) in r.BYBIT_FAULTS.items():
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            settings = fresh(Path(tmp))
            r._ingest(settings, ("klines_1m",), ("binance",))
            market = r._tampered(shadow_market(settings, SYMBOL), fault)
            with FakeBybitServer([market]) as server:
                os.environ["LIQMAP_BYBIT_URL"] = server.url
                results = r._ingest(settings, names, ("bybit",))
            line = results[refused].failed_venues.get("bybit", "")
            landed = r.BAD in r._days(settings, refused, "bybit")
            others = r._days(settings, refused, "bybit") == set(r.DAYS) - {r.BAD}
            clear = f"bybit {refused} {SYMBOL} {r.BAD}: {rule}" in line
            tally.add(others and not landed, clear, landed, f"bybit {fault}")
    for fault, (name, change, rule) in r.BINANCE_FAULTS.items():
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            settings = fresh(Path(tmp))
            r._rewrite(settings, name, r.BAD, change)
            names = ("klines_1m", name) if name != "klines_1m" else (name,)
            results = r._ingest(settings, names, ("binance",))
            messages = [x.message for x in results[name].rejections]
            days = r._days(settings, name, "binance")
            clear = len(messages) == 1 and f": {rule}: " in messages[0]
            tally.add(days == set(r.DAYS) - {r.BAD}, clear, r.BAD in days, f"binance {fault}")


def run_scope(tally: Tally) -> None:
    import test_failure_scope as f
    from ingest_helpers import SEED, SYMBOL, ArchiveServer, make_settings

    from transforms.db import warehouse
    from transforms.raw.ingest import ingest_window
    from transforms.raw.quality import rejected_market_days
    from transforms.raw.synthetic import generate_mirror

    for fault in ("checksum mismatch", "corrupt zip", "HTTP 403", "missing day"):
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            tmp_path = Path(tmp)
            mirror = tmp_path / "mirror"
            generate_mirror(mirror, SYMBOL, f.D0, f.D1, seed=SEED)
            with ArchiveServer(mirror) as server:
                settings = make_settings(
                    tmp_path, source="binance", binance_url=server.url, venues=("binance",)
                )
                expected = f._break(server, mirror, fault)
                with _connect_for(settings) as connect:
                    try:
                        ingest_window(connect, settings, "klines_1m", f.D0, f.D1, LOG)
                    except Exception as exc:  # counted as not clean
                        tally.add(False, False, False, f"{fault}: {exc}")
                        continue
                with warehouse(settings.warehouse_path) as conn:
                    withheld = rejected_market_days(conn, [SYMBOL], f.D0, f.D1).get(
                        ("binance", SYMBOL), {}
                    )
                days = f._days(settings)
                line = withheld.get(f.BAD, [""])[0]
                clear = line.startswith(f.REL) and expected in line.lower()
                tally.add(days == set(f.DAYS) - {f.BAD}, clear, f.BAD in days, fault)


def _as_attempt(tally: Tally, what: str, check: Callable[[Path], None]) -> None:
    """A test's whole check as one attempt: clean and clear when it holds."""
    with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
        try:
            check(Path(tmp))
        except AssertionError as exc:
            tally.add(False, False, False, f"{what}: {' '.join(str(exc).split())[:200]}")
            return
    tally.add(True, True, False, what)


def run_funding(tally: Tally) -> None:
    import test_failure_scope as f

    _as_attempt(
        tally,
        "one bad row in a monthly funding file",
        f.test_one_bad_row_in_a_monthly_funding_file_withholds_its_day_only,
    )


def run_interrupts(tally: Tally) -> None:
    import signal

    import test_interrupts as t

    for sig, status in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        server = t._SilentServer()
        try:
            _as_attempt(
                tally,
                f"signal {int(sig)} mid-step",
                lambda tmp, sig=sig, status=status, server=server: (
                    t.test_a_stop_signal_mid_step_says_interrupted(sig, status, server, tmp)
                ),
            )
        finally:
            server.close()


def run_realized(tally: Tally) -> None:
    from datetime import date

    from realized_helpers import BASE_MS, bybit_item

    from transforms.db import warehouse
    from transforms.raw.realized.load import load_realized_day

    day = date(2025, 11, 30)
    hostile = {
        "T not an integer": {**bybit_item(1), "T": "notanint"},
        "v negative": {**bybit_item(2), "v": "-1"},
        "S Both": {**bybit_item(3), "S": "Both"},
        "no p": {k: v for k, v in bybit_item(4).items() if k != "p"},
    }
    for what, item in hostile.items():
        with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
            folder = Path(tmp) / "realized" / "bybit" / day.isoformat()
            folder.mkdir(parents=True)
            lines = [
                {"recv_ms": BASE_MS + 50, "push_ts": BASE_MS, "event": e}
                for e in (bybit_item(0), item, bybit_item(5))
            ]
            (folder / "10.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
            with warehouse(Path(tmp) / "wh.duckdb") as conn:
                days = load_realized_day(conn, Path(tmp), day, ("bybit",), ("BTCUSDT",))
                rows = conn.execute("SELECT count(*) FROM raw.liquidations").fetchone()[0]
            skipped = [s for d in days for s in d.skipped]
            clear = len(skipped) == 1 and "10.jsonl:2" in skipped[0]
            tally.add(rows == 2, clear, rows > 2, what)


def run_ban(tally: Tally) -> None:
    import os
    from datetime import date

    from ingest_helpers import SEED, SYMBOL, make_settings

    from transforms.raw.ingest import ingest_window
    from transforms.raw.synthetic import generate_mirror
    from transforms.raw.venues.bybit.fake_server import FakeBybitServer, Fault
    from transforms.raw.venues.bybit.feed import shadow_market

    d0, d1 = date(2025, 11, 26), date(2025, 11, 28)
    os.environ["LIQMAP_BYBIT_BAN_BACKOFF_S"] = "600"
    with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
        mirror = Path(tmp) / "mirror"
        generate_mirror(mirror, SYMBOL, d0, d1, seed=SEED)
        settings = make_settings(Path(tmp), source="mirror", mirror_dir=mirror, venues=("bybit",))
        with FakeBybitServer([shadow_market(settings, SYMBOL)]) as server:
            os.environ["LIQMAP_BYBIT_URL"] = server.url
            server.add_fault(Fault("status", "/v5/market/kline", status=403, body=b"too frequent"))
            for name in ("klines_1m", "mark_klines_1m", "metrics", "funding", "klines_1m"):
                before = server.requests
                with _connect_for(settings) as connect:
                    try:
                        ingest_window(connect, settings, name, d0, d1, LOG)
                        line = ""
                    except Exception as exc:
                        line = str(exc)
                sent = server.requests - before
                first = name == "klines_1m" and before == 0
                clean = sent == (1 if first else 0)
                clear = ("403" if first else "banned") in line
                tally.add(clean, clear, False, f"{name}: {sent} request(s)")


DAYS_SQL = "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = ?"
RAW_DAY_SQL = "SELECT count(*) FROM raw.mark_klines_1m WHERE day = ?"


def _run_cli(tmp: Path, mirror: Path, venues: str, end, extra: dict[str, str]):  # type: ignore[no-untyped-def]
    import os

    from test_row_rules import D0, SYMBOL

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMAP_")}
    env.update(
        DAGSTER_HOME=str(tmp / "home"),
        LIQMAP_DATA_DIR=str(tmp / "data"),
        LIQMAP_SITE_DIR=str(tmp / "site"),
        LIQMAP_SOURCE="mirror",
        LIQMAP_MIRROR_DIR=str(mirror),
        LIQMAP_VENUES=venues,
        LIQMAP_SYMBOLS=SYMBOL,
        LIQMAP_START_DATE=D0.isoformat(),
        LIQMAP_END_DATE=end.isoformat(),
        COLUMNS="200",
        **extra,
    )
    return subprocess.run(
        [LIQMAP, "run"], env=env, capture_output=True, text=True, timeout=1800,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def run_publish(tally: Tally) -> None:
    """Whole runs (`liqmap run`, real Dagster): what reaches the published snapshot."""
    from datetime import timedelta

    import test_failure_scope as f
    import test_row_rules as r
    from ingest_helpers import SEED, SYMBOL

    from transforms.raw.synthetic import generate_mirror
    from transforms.raw.venues.binance.datasets import archive_relpath
    from transforms.raw.venues.bybit.fake_server import FakeBybitServer
    from transforms.raw.venues.bybit.feed import shadow_market

    end = r.D1 - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
        tmp_path = Path(tmp)
        mirror = tmp_path / "mirror"
        generate_mirror(mirror, SYMBOL, r.D0, r.D1, seed=SEED)
        rel = archive_relpath("klines_1m", SYMBOL, r.BAD.isoformat())
        garbage = b"PK\x03\x04 not a zip" * 10
        (mirror / rel).write_bytes(garbage)
        digest = hashlib.sha256(garbage).hexdigest()
        (mirror / (rel + ".CHECKSUM")).write_text(f"{digest}  {Path(rel).name}\n")
        result = _run_cli(tmp_path, mirror, "binance", end, {})
        snap = tmp_path / "data" / "snapshot" / "warehouse.duckdb"
        with duckdb.connect(str(snap), read_only=True) as conn:
            days = {
                d for (d,) in conn.execute("SELECT DISTINCT day FROM mart.daily_metrics").fetchall()
            }
            raw_bad = conn.execute(
                "SELECT count(*) FROM raw.mark_klines_1m WHERE day = ?", [r.BAD]
            ).fetchone()[0]
        clear = any(rel in line and "zip" in line for line in result.stderr.splitlines())
        good = days == set(r.DAYS) - {r.BAD}
        tally.add(good, clear, r.BAD in days or raw_bad > 0, "binance corrupt klines file")
    del f
    with tempfile.TemporaryDirectory(prefix="liqmap-fault-") as tmp:
        tmp_path = Path(tmp)
        mirror = tmp_path / "mirror"
        generate_mirror(mirror, SYMBOL, r.D0, r.D1, seed=SEED)
        from ingest_helpers import make_settings

        settings = make_settings(tmp_path, source="mirror", mirror_dir=mirror)
        market = r._tampered(shadow_market(settings, SYMBOL), "prices x1000")
        with FakeBybitServer([market]) as server:
            result = _run_cli(
                tmp_path, mirror, "binance,bybit", end, {"LIQMAP_BYBIT_URL": server.url}
            )
        snap = tmp_path / "data" / "snapshot" / "warehouse.duckdb"
        with duckdb.connect(str(snap), read_only=True) as conn:
            scaled = conn.execute(
                "SELECT count(*) FROM raw.klines_1m WHERE venue = 'bybit' AND close > 1e6"
            ).fetchone()[0]
            bybit_days = {
                d
                for (d,) in conn.execute(
                    "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = 'bybit'"
                ).fetchall()
            }
            all_days = {
                d
                for (d,) in conn.execute(
                    "SELECT DISTINCT day FROM mart.daily_metrics WHERE venue = 'all'"
                ).fetchall()
            }
        clear = (
            any(
                f"bybit klines_1m {SYMBOL} {r.BAD}" in line and "close_near_reference_venue" in line
                for line in (result.stdout + result.stderr).splitlines()
            )
            or "close_near_reference_venue" in result.stderr
        )
        good = bybit_days == set(r.DAYS) - {r.BAD} and all_days == set(r.DAYS)
        tally.add(good, clear, scaled > 0, "bybit prices x1000 on one day")


CLASSES: dict[str, Callable[[Tally], None]] = {
    "query": run_query,
    "door": run_door,
    "rows": run_rows,
    "scope": run_scope,
    "realized": run_realized,
    "ban": run_ban,
    "funding": run_funding,
    "interrupts": run_interrupts,
    "publish": run_publish,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(CLASSES), default=list(CLASSES))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    tallies = []
    for name in args.only:
        tally = Tally(name)
        CLASSES[name](tally)
        tallies.append(tally)
        print(f"{name}: done ({tally.attempts} attempts)", file=sys.stderr, flush=True)
    header = f"{'class':<10}{'attempts':>9}{'clean':>7}{'clear error':>13}{'wrong data':>12}"
    print(header)
    print("-" * len(header))
    for t in tallies:
        print(f"{t.name:<10}{t.attempts:>9}{t.clean:>7}{t.clear:>13}{t.wrong:>12}")
    total = [sum(getattr(t, k) for t in tallies) for k in ("attempts", "clean", "clear", "wrong")]
    print("-" * len(header))
    print(f"{'total':<10}{total[0]:>9}{total[1]:>7}{total[2]:>13}{total[3]:>12}")
    for t in tallies:
        for note in t.notes:
            print(f"  not clean ({t.name}): {note}")
    return 0 if total[3] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
