"""Writes a simulated market as an archive mirror: the Binance layout, zips and `.CHECKSUM`s.

Archive quirks are kept: kline files on days with `ordinal % 3 == 0` have no header row,
`create_time` is a string, about one metrics file in seven repeats a row, funding only comes
as monthly files with a few ms of jitter on `calc_time`. Each zip holds one CSV named like it,
next to a sha256 `.CHECKSUM`. `ensure_mirror` regenerates only when its parameters changed, and
only extends a mirror whose window grew by days.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from transforms.atomic import atomic_write_text
from transforms.config import validate_symbol
from transforms.file_lock import exclusive_lock
from transforms.raw.synthetic.market import (
    MS_MINUTE,
    Market,
    month_end_exclusive,
    month_start,
    simulate_market,
    stream,
)
from transforms.raw.venues.binance.cache import checksum_line
from transforms.raw.venues.binance.datasets import (
    FUNDING_COLUMNS,
    KLINE_COLUMNS,
    METRICS_COLUMNS,
    archive_relpath,
)

GENERATOR_VERSION = 1
MANIFEST_NAME = "synthetic-manifest-{symbol}.json"
#: held while a symbol's mirror is checked and written (`_symbol_lock`)
LOCK_NAME = ".synthetic-{symbol}.lock"


def headerless(day: date) -> bool:
    """Deterministic quirk: kline files for these days have no header row."""
    return day.toordinal() % 3 == 0


def duplicated_metrics_row(day: date) -> int | None:
    """Index of the metrics row repeated in this day's file, or None."""
    return (day.toordinal() * 37) % 288 if day.toordinal() % 7 == 3 else None


# --- writing the mirror ---------------------------------------------------------------------


def _csv_body(columns: dict[str, np.ndarray | pa.Array]) -> bytes:
    table = pa.table(columns)
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return buf.getvalue()


def _split_lines(body: bytes, rows_per_chunk: int) -> list[bytes]:
    """Split CSV text into chunks of `rows_per_chunk` lines."""
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10) + 1
    bounds = np.concatenate(([0], ends[rows_per_chunk - 1 :: rows_per_chunk]))
    return [body[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def _zip_bytes(member: str, data: bytes, when: date) -> bytes:
    buf = io.BytesIO()
    info = zipfile.ZipInfo(member, date_time=(when.year, when.month, when.day, 8, 30, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, data, compresslevel=1)
    return buf.getvalue()


def _write_archive_file(root: Path, relpath: str, csv_data: bytes, published: date) -> None:
    path = root / relpath
    payload = _zip_bytes(path.name[: -len(".zip")] + ".csv", csv_data, published)
    path.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    path.with_name(path.name + ".CHECKSUM").write_text(checksum_line(digest, path.name))


def _kline_chunks(market: Market, mark: bool, days: slice) -> list[bytes]:
    """One CSV body per day of `days` (day indexes into the market)."""
    rows = slice(days.start * 1440, days.stop * 1440)
    ms = market.minute_open_ms[rows]
    n = len(ms)
    zeros = np.zeros(n)
    if mark:
        cols = {
            "open_time": ms,
            "open": market.mark_open[rows],
            "high": market.mark_high[rows],
            "low": market.mark_low[rows],
            "close": market.mark_close[rows],
            "volume": np.zeros(n, dtype=np.int64),
            "close_time": ms + MS_MINUTE - 1,
            "quote_volume": np.zeros(n, dtype=np.int64),
            "count": np.full(n, 60, dtype=np.int64),
            "taker_buy_volume": np.zeros(n, dtype=np.int64),
            "taker_buy_quote_volume": np.zeros(n, dtype=np.int64),
            "ignore": np.zeros(n, dtype=np.int64),
        }
    else:
        cols = {
            "open_time": ms,
            "open": market.open[rows],
            "high": market.high[rows],
            "low": market.low[rows],
            "close": market.close[rows],
            "volume": market.volume[rows],
            "close_time": ms + MS_MINUTE - 1,
            "quote_volume": market.quote_volume[rows],
            "count": market.count[rows],
            "taker_buy_volume": market.taker_buy_volume[rows],
            "taker_buy_quote_volume": market.taker_buy_quote_volume[rows],
            "ignore": zeros.astype(np.int64),
        }
    assert tuple(cols) == KLINE_COLUMNS
    return _split_lines(_csv_body(cols), 1440)


def _metrics_chunks(market: Market, symbol: str, days: slice) -> list[bytes]:
    """One CSV body per day of `days` (day indexes into the market)."""
    rows = slice(days.start * 288, days.stop * 288)
    n5 = rows.stop - rows.start
    start = np.datetime64(market.start.isoformat(), "m")
    stamps = start + np.arange(rows.start, rows.stop) * np.timedelta64(5, "m")
    text = np.char.replace(np.datetime_as_string(stamps, unit="s"), "T", " ")
    cols = {
        "create_time": pa.array(text.tolist(), type=pa.string()),
        "symbol": pa.array([symbol] * n5, type=pa.string()),
        "sum_open_interest": market.oi_base[rows],
        "sum_open_interest_value": market.oi_value[rows],
        "count_toptrader_long_short_ratio": market.top_account_ratio[rows],
        "sum_toptrader_long_short_ratio": market.top_position_ratio[rows],
        "count_long_short_ratio": market.global_account_ratio[rows],
        "sum_taker_long_short_vol_ratio": market.taker_ratio[rows],
    }
    assert tuple(cols) == METRICS_COLUMNS
    return _split_lines(_csv_body(cols), 288)


def _header(columns: tuple[str, ...]) -> bytes:
    return (",".join(columns) + "\n").encode()


#: where ensure_mirror keeps each symbol's simulation (memory-mapped), under the mirror's root
SIMULATIONS_DIR = ".simulations"


def _simulation(folder: Path, symbol: str, sim_start: date, n_days: int, seed: int) -> Market:
    """`simulate_market`, memory-mapped from `folder` (built there once per span,
    transforms.raw.rest.demo_markets): a mirror extended by one day each day formats that
    day's rows instead of simulating its whole span again."""
    from transforms.raw.rest.demo_markets import mapped_arrays

    key = {"start": sim_start, "days": n_days, "seed": seed, "generator": GENERATOR_VERSION}

    def build() -> dict[str, np.ndarray]:
        market = simulate_market(symbol, sim_start, n_days, seed)
        return {
            f.name: getattr(market, f.name)
            for f in dataclasses.fields(market)
            if isinstance(getattr(market, f.name), np.ndarray)
        }

    return Market(start=sim_start, n_days=n_days, **mapped_arrays(folder, symbol, key, build))


def generate_mirror(
    root: Path,
    symbol: str,
    start: date,
    end: date,
    seed: int,
    sim_from: date | None = None,
    simulations: Path | None = None,
) -> Path:
    """Write daily kline / mark kline / metrics files for [start, end] and monthly funding
    files for every month touched, under `root` in the archive layout. Returns `root`.

    The market is simulated from the first day of `sim_from`'s month (default: `start`'s):
    an earlier month when these files extend a mirror generated from there (ensure_mirror).
    With `simulations` (a folder), the simulation is kept there and memory-mapped."""
    validate_symbol(symbol)
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    root = Path(root)
    sim_start = month_start(start if sim_from is None else sim_from)
    if sim_start > start:
        raise ValueError(f"sim_from {sim_from} is after start {start}")
    sim_end = month_end_exclusive(end)
    n_days = (sim_end - sim_start).days
    if simulations is None:
        market = simulate_market(symbol, sim_start, n_days, seed)
    else:
        market = _simulation(simulations, symbol, sim_start, n_days, seed)
    first = (start - sim_start).days
    last = (end - sim_start).days
    days = slice(first, last + 1)  # only the days written are formatted

    jobs: list[tuple[str, bytes, date]] = []
    with ThreadPoolExecutor(max_workers=3) as pool:  # pyarrow and zlib release the GIL
        klines, marks, metrics = (
            pool.submit(_kline_chunks, market, False, days),
            pool.submit(_kline_chunks, market, True, days),
            pool.submit(_metrics_chunks, market, symbol, days),
        )
        for dataset, chunks in (("klines_1m", klines.result()), ("mark_klines_1m", marks.result())):
            for i in range(first, last + 1):
                day = sim_start + timedelta(days=i)
                chunk = chunks[i - first]
                body = chunk if headerless(day) else _header(KLINE_COLUMNS) + chunk
                relpath = archive_relpath(dataset, symbol, day.isoformat())
                jobs.append((relpath, body, day + timedelta(days=1)))
        metric_chunks = metrics.result()
        for i in range(first, last + 1):
            day = sim_start + timedelta(days=i)
            chunk = metric_chunks[i - first]
            dup = duplicated_metrics_row(day)
            if dup is not None:
                lines = chunk.splitlines(keepends=True)
                lines.insert(dup + 1, lines[dup])
                chunk = b"".join(lines)
            relpath = archive_relpath("metrics", symbol, day.isoformat())
            jobs.append((relpath, _header(METRICS_COLUMNS) + chunk, day + timedelta(days=1)))

        month = month_start(start)
        while month < sim_end:
            nxt = month_end_exclusive(month)
            lo = (month - sim_start).days * 3
            hi = (nxt - sim_start).days * 3
            rng = stream(seed, symbol, 4, month.year * 12 + month.month)
            body = _csv_body(
                {
                    "calc_time": market.funding_ms[lo:hi] + rng.integers(0, 16, hi - lo),
                    "funding_interval_hours": np.full(hi - lo, 8, dtype=np.int64),
                    "last_funding_rate": market.funding_rate[lo:hi],
                }
            )
            relpath = archive_relpath("funding", symbol, f"{month.year:04d}-{month.month:02d}")
            jobs.append((relpath, _header(FUNDING_COLUMNS) + body, nxt))
            month = nxt
        for rel in {str(Path(r).parent) for r, _, _ in jobs}:
            (root / rel).mkdir(parents=True, exist_ok=True)
        list(pool.map(lambda job: _write_archive_file(root, *job), jobs))
    return root


# --- idempotent mirror ----------------------------------------------------------------------


def _manifest(symbol: str, start: date, end: date, seed: int) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "symbol": symbol,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "seed": seed,
    }


def _remove_symbol_files(root: Path, symbol: str) -> None:
    for sub in ("daily/klines", "daily/markPriceKlines", "daily/metrics", "monthly/fundingRate"):
        shutil.rmtree(root / sub / symbol, ignore_errors=True)


def _extension(found: dict, wanted: dict) -> list[tuple[date, date]] | None:
    """The day ranges to write so that a mirror generated as `found` (its manifest) also
    holds `wanted`'s days: [] when it already does, None when it cannot be extended (another
    generator, seed or symbol, or a simulation starting in another month: every day's files
    would differ). A day's files depend only on the simulation's first month (the market is
    prefix-stable), so the days already written stay as they are."""
    same = ("generator_version", "symbol", "seed")
    try:
        lo, hi = date.fromisoformat(found["start"]), date.fromisoformat(found["end"])
    except (KeyError, TypeError, ValueError):
        return None
    start, end = date.fromisoformat(wanted["start"]), date.fromisoformat(wanted["end"])
    if any(found.get(k) != wanted[k] for k in same) or month_start(lo) != month_start(start):
        return None
    ranges = []
    if start < lo:
        ranges.append((start, min(end, lo - timedelta(days=1))))
    if end > hi:
        ranges.append((max(start, hi + timedelta(days=1)), end))
    return ranges


@contextlib.contextmanager
def _symbol_lock(root: Path, symbol: str) -> Iterator[None]:
    """An exclusive lock on a symbol's mirror across processes (released when the process
    ends, however it ends): the fetch-ahead child generates later symbols' mirrors while the
    run's process generates the first (transforms.raw.fetch_ahead), and a process asking
    for a mirror being generated waits for it instead of writing the same files."""
    root.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(root / LOCK_NAME.format(symbol=symbol)):
        yield


def ensure_mirror(root: Path, symbol: str, start: date, end: date, seed: int) -> bool:
    """Generate the mirror unless a manifest with the same parameters exists.

    Returns True when files were (re)generated. The manifest is written last, so an
    interrupted generation is redone on the next call. A mirror whose window only moved
    within the simulation's first month, or grew at its end (a daily run's window, one day
    later each day), is extended: only the days it lacks are written, and its manifest
    records every day it holds. Callers in several processes take turns (`_symbol_lock`)."""
    root = Path(root)
    with _symbol_lock(root, symbol):
        return _ensure_mirror(root, symbol, start, end, seed)


def _ensure_mirror(root: Path, symbol: str, start: date, end: date, seed: int) -> bool:
    manifest_path = root / MANIFEST_NAME.format(symbol=symbol)
    wanted = _manifest(symbol, start, end, seed)
    try:
        found = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        found = None
    ranges = _extension(found, wanted) if isinstance(found, dict) else None
    if ranges == []:
        return False
    simulations = root / SIMULATIONS_DIR
    if ranges is None:
        manifest_path.unlink(missing_ok=True)
        _remove_symbol_files(root, symbol)
        generate_mirror(root, symbol, start, end, seed, simulations=simulations)
    else:
        # the manifest stays until the new days are written: an interrupted extension is
        # extended again, the days it wrote rewritten byte for byte
        sim_from = month_start(date.fromisoformat(found["start"]))
        for lo, hi in ranges:
            generate_mirror(root, symbol, lo, hi, seed, sim_from, simulations)
        held = [date.fromisoformat(found["start"]), date.fromisoformat(found["end"])]
        wanted = _manifest(symbol, min(start, held[0]), max(end, held[1]), seed)
    generated_at = datetime.now().isoformat(timespec="seconds")
    atomic_write_text(manifest_path, json.dumps(wanted | {"generated_at": generated_at}))
    return True
