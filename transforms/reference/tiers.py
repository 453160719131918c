"""Dated maintenance tiers per venue and symbol: a seeded CSV plus an optional user CSV.

Tiers are facts published by each venue and they change over time, so every row carries the
date from which it applies and where it was transcribed from. The seeded table ships in
`data/leverage_tiers.csv`; a user adds or corrects tables without code changes through the file
named by `LIQMAP_TIERS_FILE` (same columns). A snapshot is identified by (venue, symbol,
effective_date); a user snapshot replaces the seeded one with the same key as a whole, since
mixing the tiers of two tables would describe neither.

Every row is checked before anything is loaded, and the first problem is reported in one line
naming the file, line, column, rule and expected value. Binance's maintenance amount obeys
`cum_i = cum_{i-1} + floor_i * (mmr_i - mmr_{i-1})` (it keeps the maintenance margin continuous
across tiers); Bybit's `mmDeduction` follows the same rule, so one check covers both.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import NoReturn

import duckdb
import pandas as pd

from transforms.config import SYMBOL_PATTERN, ConfigError
from transforms.db import transaction

TIERS_FILE_ENV = "LIQMAP_TIERS_FILE"
TIER_COLUMNS = (
    "venue",
    "symbol",
    "effective_date",
    "tier",
    "notional_floor",
    "notional_cap",
    "maint_margin_rate",
    "maint_amount",
    "max_leverage",
    "source",
)
VENUE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,19}$")
ISO_DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Published maintenance amounts are exact to the cent; allow float noise on large tables.
CUM_ABS_TOLERANCE = 0.01
CUM_REL_TOLERANCE = 1e-9
ADDING_A_SYMBOL = "README 'Adding a symbol'"

_STAGED = "_liqmap_tiers_staged"
# Replace exactly the snapshots the files define; rows of other snapshots (e.g. fetched ones) stay.
DELETE_SNAPSHOTS_SQL = f"""
DELETE FROM ref.leverage_brackets AS b
USING (SELECT DISTINCT venue, symbol, effective_date FROM {_STAGED}) AS k
WHERE b.venue = k.venue AND b.symbol = k.symbol AND b.effective_date = k.effective_date
"""
INSERT_SNAPSHOTS_SQL = f"""
INSERT INTO ref.leverage_brackets
    (venue, symbol, effective_date, bracket, notional_floor, notional_cap,
     max_leverage, maint_margin_rate, cum, source)
SELECT venue, symbol, effective_date, tier, notional_floor, notional_cap,
       max_leverage, maint_margin_rate, maint_amount, source
FROM {_STAGED}
ORDER BY venue, symbol, effective_date, tier
"""


class TierFileError(ConfigError):
    """A tier file breaks a rule; the one-line message names file, line, column and rule."""


class MissingTiersError(ConfigError):
    """A configured venue/symbol has no maintenance tiers; the message names the file to edit."""


@dataclass(frozen=True)
class _Row:
    line: int
    venue: str
    symbol: str
    effective_date: date
    tier: int
    notional_floor: float
    notional_cap: float
    maint_margin_rate: float
    maint_amount: float | None  # None: blank in the file, computed from the rule
    max_leverage: float
    source: str

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.venue, self.symbol, self.effective_date)


def seed_tiers_path() -> Path:
    """The seeded tier table shipped with the package."""
    return Path(str(resources.files("transforms.reference").joinpath("data/leverage_tiers.csv")))


def tiers_file_from_env(env: Mapping[str, str] | None = None) -> Path | None:
    """The user tier file named by LIQMAP_TIERS_FILE, or None when unset or blank."""
    value = (os.environ if env is None else env).get(TIERS_FILE_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def _fail(path: Path, line: int, column: str, rule: str, expected: str, got: object) -> NoReturn:
    """Raise the one-line error every rule uses."""
    message = f"{path}:{line}: column {column!r}: {rule}; expected {expected}, got {got!r}"
    raise TierFileError(message)


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        _fail(path, line, column, "not a finite number", "a decimal number like 0.004", text)
    return value


def _parse_row(path: Path, line: int, rec: dict[str, str]) -> _Row:
    """One CSV record -> a typed row, checking every per-row rule."""
    venue, symbol = rec["venue"].strip(), rec["symbol"].strip()
    if not VENUE_PATTERN.fullmatch(venue):
        _fail(path, line, "venue", "bad venue id", "lower-case letters/digits, e.g. binance", venue)
    if not SYMBOL_PATTERN.fullmatch(symbol):
        _fail(path, line, "symbol", "bad symbol", "upper-case letters/digits, e.g. ETHUSDT", symbol)
    day_text = rec["effective_date"].strip()
    try:
        if not ISO_DATE_PATTERN.fullmatch(day_text):
            raise ValueError
        day = date.fromisoformat(day_text)
    except ValueError:
        _fail(path, line, "effective_date", "not an ISO date", "YYYY-MM-DD", day_text)
    tier_text = rec["tier"].strip()
    if not tier_text.isdigit() or int(tier_text) < 1:
        _fail(path, line, "tier", "not a tier number", "an integer >= 1", tier_text)
    floor = _number(path, line, "notional_floor", rec["notional_floor"].strip())
    if floor < 0:
        _fail(path, line, "notional_floor", "negative notional", "a value >= 0", floor)
    cap = _number(path, line, "notional_cap", rec["notional_cap"].strip())
    if not cap > floor:
        _fail(path, line, "notional_cap", "cap not above floor", f"a value > {floor:g}", cap)
    mmr = _number(path, line, "maint_margin_rate", rec["maint_margin_rate"].strip())
    if not 0 < mmr < 1:
        _fail(path, line, "maint_margin_rate", "rate out of range", "a fraction in (0, 1)", mmr)
    cum_text = rec["maint_amount"].strip()
    cum = None if cum_text == "" else _number(path, line, "maint_amount", cum_text)
    if cum is not None and cum < 0:
        _fail(path, line, "maint_amount", "negative amount", "a value >= 0 (or blank)", cum)
    lev = _number(path, line, "max_leverage", rec["max_leverage"].strip())
    if lev < 1:
        _fail(path, line, "max_leverage", "leverage below 1", "a value >= 1", lev)
    source = rec["source"].strip()
    if not source:
        _fail(path, line, "source", "missing source", "where the numbers come from", source)
    return _Row(line, venue, symbol, day, int(tier_text), floor, cap, mmr, cum, lev, source)


def _check_snapshot(path: Path, rows: list[_Row]) -> list[_Row]:
    """Tier numbering, contiguity, monotonicity and the maintenance-amount rule for one table.

    Returns the rows ordered by tier, blank maintenance amounts filled in.
    """
    rows = sorted(rows, key=lambda r: (r.tier, r.line))
    venue, symbol, day = rows[0].key
    where = f"{venue} {symbol} {day}"
    out: list[_Row] = []
    for i, row in enumerate(rows):
        line = row.line
        if row.tier != i + 1:
            rule = "duplicate tier" if out and row.tier == out[-1].tier else "tiers not 1..n"
            _fail(path, line, "tier", f"{rule} in {where}", f"tier {i + 1}", row.tier)
        if i == 0:
            if row.notional_floor != 0:
                _fail(
                    path, line, "notional_floor", "tier 1 must start at 0", "0", row.notional_floor
                )
            expected_cum = 0.0
        else:
            prev = out[-1]
            if row.notional_floor != prev.notional_cap:
                rule = f"floors not contiguous in {where} (floor = previous tier's cap)"
                _fail(
                    path, line, "notional_floor", rule, f"{prev.notional_cap:g}", row.notional_floor
                )
            if row.maint_margin_rate < prev.maint_margin_rate:
                rule, expected = f"rate decreases in {where}", f">= {prev.maint_margin_rate:g}"
                _fail(path, line, "maint_margin_rate", rule, expected, row.maint_margin_rate)
            if row.max_leverage > prev.max_leverage:
                rule, expected = f"max leverage increases in {where}", f"<= {prev.max_leverage:g}"
                _fail(path, line, "max_leverage", rule, expected, row.max_leverage)
            step = row.notional_floor * (row.maint_margin_rate - prev.maint_margin_rate)
            expected_cum = round(prev.maint_amount + step, 6)
        if row.maint_amount is None:
            row = replace(row, maint_amount=expected_cum)
        tolerance = max(CUM_ABS_TOLERANCE, CUM_REL_TOLERANCE * abs(expected_cum))
        if abs(row.maint_amount - expected_cum) > tolerance:
            rule = "maintenance amount breaks cum_i = cum_{i-1} + floor_i*(mmr_i - mmr_{i-1})"
            _fail(path, line, "maint_amount", rule, f"{expected_cum:.6g}", row.maint_amount)
        out.append(row)
    return out


#: validated tables by (path, blake2b of the bytes): a daily run reads the seeds and the user
#: file once per raw dataset and once for the model; parsing and checking them is ~15 ms, hashing
#: the bytes well under 1 ms, so a file read again unchanged is not parsed again
_READ: dict[tuple[str, bytes], pd.DataFrame] = {}
_READ_KEPT = 4


def read_tiers_file(path: str | Path) -> pd.DataFrame:
    """Read and validate one tier CSV; raise TierFileError on the first broken rule. The same
    bytes read again are not parsed again (the caller gets its own copy of the table)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TierFileError(f"{path}: cannot read tier file ({exc.strerror})") from exc
    key = (str(path), hashlib.blake2b(data, digest_size=16).digest())
    if key not in _READ:
        _READ[key] = _read_tiers(path, data)
        while len(_READ) > _READ_KEPT:
            del _READ[next(iter(_READ))]
    return _READ[key].copy()


def _read_tiers(path: Path, data: bytes) -> pd.DataFrame:
    """read_tiers_file's parse and checks of the file's bytes."""
    try:
        # tolerate a spreadsheet BOM
        handle = io.StringIO(data.decode("utf-8-sig"), newline="")
        snapshots = _read_snapshots(path, handle)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise TierFileError(
            f"{path}: not a text CSV ({type(exc).__name__}: {' '.join(str(exc).split())[:80]}); "
            f"expected UTF-8 comma-separated rows with the columns {','.join(TIER_COLUMNS)}"
        ) from None
    rows = [r for key in sorted(snapshots) for r in _check_snapshot(path, snapshots[key])]
    frame = pd.DataFrame(
        [[getattr(r, c) for c in TIER_COLUMNS] for r in rows], columns=list(TIER_COLUMNS)
    )
    return frame.astype({"tier": "int64"}) if len(frame) else _empty_table()


def _read_snapshots(path: Path, handle) -> dict[tuple[str, str, date], list[_Row]]:  # type: ignore[no-untyped-def]
    """Parse the open CSV into rows grouped by snapshot key (closes `handle`)."""
    snapshots: dict[tuple[str, str, date], list[_Row]] = {}
    with handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in TIER_COLUMNS if c not in header]
        extra = [c for c in header if c not in TIER_COLUMNS]
        if missing or extra or len(set(header)) != len(header):
            problem = f"missing {missing}" if missing else f"unexpected {extra or 'duplicates'}"
            got = ",".join(header)
            _fail(path, 1, "header", f"bad header ({problem})", ",".join(TIER_COLUMNS), got)
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                _fail(path, line, "*", "wrong field count", f"{len(header)} fields", len(fields))
            row = _parse_row(path, line, dict(zip(header, fields, strict=True)))
            snapshots.setdefault(row.key, []).append(row)
    return snapshots


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in TIER_COLUMNS})


def tier_table(tiers_file: str | Path | None = None) -> pd.DataFrame:
    """Seeded tiers with the user file's snapshots added; same-key user snapshots win."""
    seeded = read_tiers_file(seed_tiers_path())
    if tiers_file is None:
        return seeded
    user = read_tiers_file(tiers_file)
    user_keys = set(zip(user["venue"], user["symbol"], user["effective_date"], strict=True))
    seeded_keys = zip(seeded["venue"], seeded["symbol"], seeded["effective_date"], strict=True)
    keep = [k not in user_keys for k in seeded_keys]
    merged = pd.concat([seeded[keep], user], ignore_index=True)
    return merged.sort_values(["venue", "symbol", "effective_date", "tier"]).reset_index(drop=True)


def load_tiers(conn: duckdb.DuckDBPyConnection, tiers_file: str | Path | None = None) -> int:
    """Validate seeds + user file, then replace those snapshots in ref.leverage_brackets.

    Idempotent: a re-run leaves the same rows. Nothing is written if any row is invalid.
    Returns the number of tier rows the files define.
    """
    table = tier_table(tiers_file)
    conn.register(_STAGED, table)
    try:
        with transaction(conn):
            conn.execute(DELETE_SNAPSHOTS_SQL)
            conn.execute(INSERT_SNAPSHOTS_SQL)
    finally:
        conn.unregister(_STAGED)
    return len(table)


def missing_tiers(
    table: pd.DataFrame, venues: Iterable[str], symbols: Iterable[str]
) -> list[tuple[str, str]]:
    """(venue, symbol) pairs, in the given order, that have no tier snapshot in `table`."""
    present = set(zip(table["venue"], table["symbol"], strict=True))
    return [(v, s) for v in venues for s in symbols if (v, s) not in present]


def require_tiers(
    venues: Iterable[str], symbols: Iterable[str], tiers_file: str | Path | None = None
) -> pd.DataFrame:
    """Fail fast, before any download, when a configured venue/symbol has no tiers.

    Also validates the user file (a broken file fails here too). Returns the merged table.
    """
    table = tier_table(tiers_file)
    missing = missing_tiers(table, list(venues), list(symbols))
    if missing:
        pairs = ", ".join(f"{v} {s}" for v, s in missing)
        if tiers_file is not None:
            where = f"add rows to {tiers_file}"
        else:
            where = f"add rows to a CSV like {seed_tiers_path()} and set {TIERS_FILE_ENV} to it"
        raise MissingTiersError(
            f"no maintenance tiers for {pairs}; {where} (see {ADDING_A_SYMBOL})"
        )
    return table


def main(argv: list[str] | None = None) -> int:
    """`python -m transforms.reference.tiers [FILE]`: check a tier file (default: the seeds)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else seed_tiers_path()
    try:
        table = tier_table(path) if args else read_tiers_file(path)
    except TierFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    snapshots = table[["venue", "symbol", "effective_date"]].drop_duplicates()
    scope = "seeds + this file" if args else "seeds"
    print(f"{path}: ok, {len(table)} tier rows in {len(snapshots)} snapshots ({scope})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
