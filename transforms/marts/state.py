"""The model state in the warehouse (`mart.model_state`): write it with a day's marts, find
the newest state a run can continue from, and say why a state cannot be used.

A state row is trusted only when everything it was computed from still holds:

* it exists for every market of the symbol (each venue modelled, and the aggregate 'all')
  under the scenario's current `params_hash`;
* its content hash matches (a corrupt, truncated or foreign state is never loaded);
* the staged bars of every day it covers have the fingerprint recorded with it (a re-loaded
  raw day changes them), and the tier snapshots in force up to its day are those it used.

When the newest state fails, an older kept state before the first day that matters is tried,
else the run starts from each market's first bar; `Restart.why` is the one line saying so.
Kept: the three newest days per market (`RETAIN_SQL`), and the whole state they are stored
as a change from; a change older than those is recomputed from the first bar.

A venue's scenario rows are written as their change from the whole state the run started
from (its `Anchor`: the loaded state, or the base it was stored against) while that state is
at most MAX_DELTA_DAYS older (transforms.model.state.carry_delta): a day's state is then a
few percent of a whole one (a market-year's whole state is megabytes per scenario, written,
logged and checkpointed by every daily run otherwise). A delta row names its base day
(`base_day`) and holds the base row's content hash: a base rewritten, lost or damaged makes
the delta refused (recomputed from further back), never applied to other numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import duckdb
import pandas as pd

from transforms.marts.registry import MARTS
from transforms.model.cohorts import ModelCarry
from transforms.model.state import CONTEXT, DELTA, MarketState, pack, unpack
from transforms.venues import AGGREGATE_VENUE

STATE_TABLE = MARTS["model_state"].table
KEEP_NEWEST = 3
#: the oldest base a day's state is stored as a change from (days): a change grows by about
#: a day's cohorts per day (~0.1 MB for 6 markets at a year of history, beside ~0.25 MB of
#: kept-cohort bits) and a whole state is ~15 MB, so every MAX_DELTA_DAYS-th daily run writes
#: a whole one; a fortnight is near the least written per day on average
MAX_DELTA_DAYS = 14
BASE_HASH = "base_hash"  # a delta row's field: the content hash of its base row

# Per-day fingerprint of the staged bars the model reads (row count and a hash sum).
BARS_FINGERPRINT_SQL = """
SELECT day, count(*) AS n,
       sum(hash(ts, open, high, low, close, mark_high, mark_low, mark_close,
                oi_base, oi_value, taker_ratio, funding_rate))::VARCHAR AS h
FROM stg.bars_5m
WHERE venue = $venue AND symbol = $symbol AND day <= $until
GROUP BY day
"""
STATE_DAYS_SQL = """
SELECT DISTINCT day FROM mart.model_state
WHERE symbol = $symbol AND venue IN (SELECT unnest($venues)) AND day < $before
ORDER BY day DESC
"""
# The recorded inputs alone (the context rows): whether a state is stale is read off them
# before any state blob is fetched, decompressed and hashed.
STATE_INPUTS_SQL = f"""
SELECT venue, inputs FROM mart.model_state
WHERE symbol = $symbol AND day = $day AND scenario = '{CONTEXT}'
  AND venue IN (SELECT unnest($venues))
"""
STATE_ROWS_SQL = """
SELECT venue, day, scenario, params_hash, inputs, state, content_hash, base_day
FROM mart.model_state
WHERE symbol = $symbol AND day = $day AND venue IN (SELECT unnest($venues))
"""
# The days some kept state of the symbol is stored as a change from (written whole again
# when rewritten: see state_rows).
BASE_DAYS_SQL = """
SELECT DISTINCT venue, base_day FROM mart.model_state
WHERE symbol = $symbol AND base_day IS NOT NULL
"""
DELETE_STATE_SQL = """
DELETE FROM mart.model_state WHERE venue = $venue AND symbol = $symbol AND day = $day
"""
# Keep the newest KEEP_NEWEST days of a market (a whole state is ~60 bytes per alive cohort
# and scenario: a market-year's is tens of MB, so older checkpoints are not kept), and the
# days those are stored as a change from.
RETAIN_SQL = f"""
WITH kept AS (
    SELECT DISTINCT day FROM mart.model_state
    WHERE venue = $venue AND symbol = $symbol ORDER BY day DESC LIMIT {KEEP_NEWEST}
), bases AS (
    SELECT DISTINCT base_day AS day FROM mart.model_state
    WHERE venue = $venue AND symbol = $symbol AND base_day IS NOT NULL
      AND day IN (SELECT day FROM kept)
)
DELETE FROM mart.model_state
WHERE venue = $venue AND symbol = $symbol
  AND day NOT IN (SELECT day FROM kept) AND day NOT IN (SELECT day FROM bases)
"""
FIRST_CLOSE_SQL = """
SELECT close FROM stg.bars_5m
WHERE venue = $venue AND symbol = $symbol AND ts < $until ORDER BY ts LIMIT 1
"""
FIRST_DAY_SQL = """
SELECT min(day) FROM stg.bars_5m WHERE venue = $venue AND symbol = $symbol AND day < $until
"""


def content_hash(
    venue: str, symbol: str, day: date, scenario: str, params_hash: str, inputs: str, blob: bytes
) -> str:
    """sha256 over the row's identity, inputs and state bytes (fed in turn: the state's
    megabytes are not copied into one string first)."""
    head = f"{venue}|{symbol}|{day.isoformat()}|{scenario}|{params_hash}|{inputs}|".encode()
    digest = hashlib.sha256(head)
    digest.update(blob)
    return digest.hexdigest()


def bars_fingerprints(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, until: date
) -> dict[str, list]:
    """ISO day -> [rows, hash] of the market's staged bars up to `until` (inclusive)."""
    rows = conn.execute(
        BARS_FINGERPRINT_SQL, {"venue": venue, "symbol": symbol, "until": until}
    ).fetchall()
    return {d.isoformat(): [int(n), str(h)] for d, n, h in rows}


def tiers_fingerprints(brackets: pd.DataFrame) -> dict[str, str]:
    """ISO effective date -> sha256 of that tier snapshot's rows."""
    out = {}
    cols = ["bracket", "notional_floor", "notional_cap", "max_leverage", "maint_margin_rate", "cum"]
    for eff, rows in brackets.groupby("effective_date", sort=True):
        values = rows.sort_values("bracket")[cols].to_numpy(dtype=float).tolist()
        text = json.dumps(values)  # floats as repr: exact
        out[pd.Timestamp(eff).date().isoformat()] = hashlib.sha256(text.encode()).hexdigest()
    return out


@dataclass(frozen=True)
class MarketInputs:
    """What a market's state at `day` was computed from (recorded with it as JSON)."""

    #: ISO day -> [rows, hash]: the days up to the state's day, and the later days the run
    #: that wrote it wrote too (its window's last day's state is not kept, see update_marts)
    bars: dict[str, list]
    tiers: dict[str, str]  # ISO effective date -> hash, all snapshots
    missing: tuple[str, ...] = ()  # ISO days of the history without bars (raw missing)

    def to_json(self) -> str:
        return json.dumps(
            {"bars": self.bars, "tiers": self.tiers, "missing": list(self.missing)},
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> MarketInputs:
        d = json.loads(text)
        return cls(d.get("bars", {}), d.get("tiers", {}), tuple(d.get("missing", ())))


def first_change(old: Mapping[str, object], new: Mapping[str, object], upto: date) -> date | None:
    """The first ISO day <= upto whose entry differs between `old` and `new` (added,
    removed or changed), or None."""
    limit = upto.isoformat()
    keys = {k for k in (*old, *new) if k <= limit and old.get(k) != new.get(k)}
    return date.fromisoformat(min(keys)) if keys else None


def tier_change(old: Mapping[str, str], new: Mapping[str, str], upto: date) -> date | None:
    """The first day whose cohorts a tier change reprices: the earliest changed snapshot's
    date, or date.min when it is (or precedes) the first snapshot, which also prices every
    earlier cohort."""
    changed = first_change(old, new, upto)
    if changed is None:
        return None
    first = min(date.fromisoformat(k) for k in (*old, *new))
    return date.min if changed <= first else changed


@dataclass(frozen=True)
class Anchor:
    """A venue's whole state as stored at `day`: what the states a run writes are stored as
    a change from (`state_rows`). `hashes`: scenario -> its row's content hash."""

    day: date
    hashes: dict[str, str]
    carries: dict[str, ModelCarry]


@dataclass
class Restart:
    """Where a symbol's run starts: the state day (None: from each market's first bar), the
    states to continue (venue -> MarketState, and 'all'), each market's recorded inputs, and
    why an older start was taken (empty when the newest state was used or none existed)."""

    day: date | None
    states: dict[str, MarketState] = field(default_factory=dict)
    inputs: dict[str, MarketInputs] = field(default_factory=dict)
    why: str = ""
    #: the first day whose staged bars or tiers changed under a newer state: its marts and
    #: every later day's are stale and are rewritten with the window's
    rewrite_from: date | None = None
    #: venue -> the whole state the loaded one is (or is stored as a change from)
    anchors: dict[str, Anchor] = field(default_factory=dict)


_Row = tuple[str, str, str, bytes, str, date | None]  # params_hash, inputs, blob, hash, base


def _checked(
    venue: str, symbol: str, day: date, scenario: str, phash: str, row: _Row
) -> tuple[dict, str]:
    """A row's unpacked fields, or ({}, why not): its params hash, content hash and bytes."""
    have, inputs, blob, digest, _ = row
    if have != phash:
        why = (
            f"the {venue} {symbol} state for {day} was computed under params "
            f"{have} ({scenario}), now {phash}"
        )
        return {}, why
    if content_hash(venue, symbol, day, scenario, have, inputs, blob) != digest:
        return {}, f"the {venue} {symbol} state for {day} ({scenario}) is corrupt"
    try:
        return unpack(blob), ""
    except (ValueError, KeyError, TypeError) as exc:
        return {}, f"the {venue} {symbol} state for {day} is unreadable ({exc})"


def _fetch(
    conn: duckdb.DuckDBPyConnection, symbol: str, day: date, markets: Sequence[str]
) -> dict[tuple[str, date], dict[str, _Row]]:
    """(venue, day) -> scenario -> the stored rows of `day`, and of the days they are stored
    as a change from (one statement per day: a filter on `day` alone reads only its rows'
    bytes)."""
    found: dict[tuple[str, date], dict[str, _Row]] = {}
    days: dict[date, list[str]] = {day: list(markets)}
    while days:
        at, venues = days.popitem()
        rows = conn.execute(STATE_ROWS_SQL, {"symbol": symbol, "day": at, "venues": venues})
        for venue, _, scenario, phash, inputs, blob, digest, base in rows.fetchall():
            found.setdefault((venue, at), {})[scenario] = (phash, inputs, blob, digest, base)
            if at == day and base is not None and base != day:
                days.setdefault(base, [])
                if venue not in days[base]:
                    days[base].append(venue)
    return found


def _wanted(venue: str, hashes: Mapping[str, str]) -> dict[str, str]:
    """scenario -> params hash of the rows a market's state has (the aggregate: context)."""
    if venue == AGGREGATE_VENUE:
        return {CONTEXT: hashes["base"]}
    return {**hashes, CONTEXT: hashes["base"]}


def _checked_parts(
    got: Mapping[str, _Row],
    symbol: str,
    venue: str,
    day: date,
    hashes: Mapping[str, str],
    whole: bool,
) -> tuple[dict[str, dict], str]:
    """Every row a market's state at `day` has (`got`: its stored rows) unpacked and checked
    (`_checked`), or ({}, why not); `whole`: a row stored as a change is refused (a base)."""
    parts = {}
    for scenario, phash in _wanted(venue, hashes).items():
        if scenario not in got:
            return {}, f"no {venue} {symbol} state for {scenario} at the end of {day}"
        if whole and got[scenario][4] is not None:
            return {}, f"the {venue} {symbol} state for {day} is not whole"
        parts[scenario], why = _checked(venue, symbol, day, scenario, phash, got[scenario])
        if why:
            return {}, why
    return parts, ""


def _load_base(
    got: Mapping[str, _Row], symbol: str, venue: str, day: date, hashes: Mapping[str, str]
) -> tuple[Anchor | None, str]:
    """The whole state of `venue` stored at `day` (`got`: its rows; the base of a change),
    or (None, why not)."""
    parts, why = _checked_parts(got, symbol, venue, day, hashes, whole=True)
    if why:
        return None, why
    try:
        carries = MarketState.from_rows(parts).carries
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"the {venue} {symbol} state for {day} is unreadable ({exc})"
    return Anchor(day, {sc: got[sc][3] for sc in carries}, carries), ""


def _load_day(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    day: date,
    markets: Sequence[str],
    hashes: Mapping[str, str],
) -> tuple[dict[str, MarketState], dict[str, MarketInputs], dict[str, Anchor], str]:
    """Every market's state at `day` (a venue's rows stored as a change: applied to their
    base, checked by its content hash), or ({}, {}, {}, why not)."""
    found = _fetch(conn, symbol, day, markets)
    states, recorded, anchors = {}, {}, {}
    fail: tuple[dict, dict, dict] = ({}, {}, {})
    for venue in markets:
        got = found.get((venue, day), {})
        parts, why = _checked_parts(got, symbol, venue, day, hashes, whole=False)
        if why:
            return *fail, why
        recorded[venue] = MarketInputs.from_json(got[CONTEXT][1])
        bases = {got[sc][4] for sc in parts if sc != CONTEXT} - {None}
        anchor = None
        if len(bases) > 1:
            return *fail, f"the {venue} {symbol} state for {day} names several bases"
        if bases:
            (base_day,) = bases
            stored = found.get((venue, base_day), {})
            anchor, why = _load_base(stored, symbol, venue, base_day, hashes)
            if anchor is None:
                return *fail, f"the {venue} {symbol} state for {day} lost its base: {why}"
            for scenario, fields in parts.items():
                if scenario == CONTEXT or (got[scenario][4] is None and not fields.get(DELTA)):
                    continue  # a whole row (a change names its base in its bytes too)
                if fields.pop(BASE_HASH, None) != anchor.hashes.get(scenario):
                    return *fail, f"the {venue} {symbol} state for {day} lost its base ({base_day})"
        try:
            states[venue] = MarketState.from_rows(parts, anchor.carries if anchor else None)
        except (ValueError, KeyError, TypeError) as exc:
            return *fail, f"the {venue} {symbol} state for {day} is unreadable ({exc})"
        if anchor is None and venue != AGGREGATE_VENUE:
            carries = states[venue].carries
            anchor = Anchor(day, {sc: got[sc][3] for sc in carries}, carries)
        if anchor is not None:
            anchors[venue] = anchor
    return states, recorded, anchors, ""


def find_restart(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    venues: Sequence[str],
    hashes: Mapping[str, str],
    tiers: Mapping[str, Mapping[str, str]],
    start: date,
    prints: Mapping[str, Mapping[str, list]] | None = None,
) -> Restart:
    """The newest state before `start` every market of the symbol can continue from (see
    module doc). `hashes`: scenario -> params_hash; `tiers`: venue -> tiers_fingerprints;
    `prints`: venue -> bars_fingerprints up to `start` or later (read here when None)."""
    markets = [*venues, AGGREGATE_VENUE]
    days = [
        r[0]
        for r in conn.execute(
            STATE_DAYS_SQL, {"symbol": symbol, "venues": markets, "before": start}
        ).fetchall()
    ]
    if not days:
        return Restart(None, why=f"{symbol}: no model state before {start}: from the first bar")
    reasons: list[str] = []
    limit = start
    changed_from: date | None = None
    for day in days:
        if day >= limit:
            continue
        # Stale (bars or tiers changed since) is decided from the recorded inputs first:
        # a stale state's blobs are never read (the next day's run always finds the
        # newest day's last bar refreshed, so this is the common case).
        # A state found fresh is then verified whole (its content hash covers the inputs
        # just read, so a state whose inputs were tampered with is refused there).
        stale, later = _stale(conn, symbol, day, venues, tiers, prints)
        if stale is None:
            states, recorded, anchors, why = _load_day(conn, symbol, day, markets, hashes)
            if why:
                reasons.append(why)
                continue
        if stale is not None:
            reasons.append(f"{stale[1]} (state of {day})")
            limit = min(limit, stale[0])
            changed_from = limit
            continue
        why = ""
        if reasons:
            why = f"{symbol}: continued from the state of {day}: {reasons[0]}"
        elif later is not None and later[0] < start:
            why = f"{symbol}: continued from the state of {day}: {later[1]}"
        if later is not None:  # the days its run wrote after it: rewritten from the change
            changed_from = min(later[0], changed_from or later[0])
        return Restart(day, states, recorded, why, changed_from, anchors)
    why = f"{symbol}: recomputed from the first bar: {reasons[0]}"
    return Restart(None, why=why, rewrite_from=changed_from)


Change = tuple[date, str]  # (first changed day, why)


def _stale(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    day: date,
    venues: Sequence[str],
    tiers: Mapping[str, Mapping[str, str]],
    prints: Mapping[str, Mapping[str, list]] | None = None,
) -> tuple[Change | None, Change | None]:
    """(stale, later), read off the inputs recorded with the state of `day` before its blobs.
    `stale`: the staged bars or tiers of a venue changed under the state (a state found fresh
    here is then verified by `_load_day`, whose content hash covers these inputs; a tampered
    one found stale is only recomputed from further back, which gives the same rows); None
    when fresh, or when the inputs are missing or unreadable (`_load_day` then says why).
    `later`: the first recorded day after `day` (written by the same run, without a state of
    its own) whose staged bars changed since: the state holds, those rows are rewritten."""
    rows = conn.execute(
        STATE_INPUTS_SQL, {"symbol": symbol, "day": day, "venues": list(venues)}
    ).fetchall()
    try:
        recorded = {venue: MarketInputs.from_json(text) for venue, text in rows}
    except (ValueError, TypeError, AttributeError):
        return None, None
    if any(v not in recorded for v in venues):
        return None, None
    later: Change | None = None
    for venue in venues:
        upto = max([day, *(date.fromisoformat(k) for k in recorded[venue].bars)])
        if prints is not None and venue in prints:
            now_all = prints[venue]  # first_change looks at days <= upto only
        else:
            now_all = bars_fingerprints(conn, venue, symbol, upto)
        limit = day.isoformat()
        after = {k: v for k, v in recorded[venue].bars.items() if k > limit}
        if after:
            moved = first_change(after, {k: v for k, v in now_all.items() if k > limit}, upto)
            if moved is not None and (later is None or moved < later[0]):
                later = (moved, f"the staged {venue} {symbol} bars of {moved} changed")
        now = {k: v for k, v in now_all.items() if k <= limit}
        changed = first_change(recorded[venue].bars, now, day)
        tier_day = tier_change(recorded[venue].tiers, tiers[venue], day)
        stale = None
        if changed is not None:
            stale = (changed, f"the staged {venue} {symbol} bars of {changed} changed")
        if tier_day is not None and (stale is None or tier_day < stale[0]):
            what = "before its first" if tier_day == date.min else f"for {tier_day}"
            stale = (tier_day, f"a {venue} {symbol} tier snapshot {what} changed")
        if stale is not None:
            return stale, None
    return None, later


def first_day(conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, until: date) -> date | None:
    """The market's first staged day before `until` (None without bars)."""
    row = conn.execute(FIRST_DAY_SQL, {"venue": venue, "symbol": symbol, "until": until}).fetchone()
    return row[0] if row and row[0] is not None else None


def first_close(
    conn: duckdb.DuckDBPyConnection, venue: str, symbol: str, until: date
) -> float | None:
    """Close of the market's first staged bar before `until` (None without bars)."""
    stamp = datetime.combine(until, datetime.min.time())
    row = conn.execute(FIRST_CLOSE_SQL, {"venue": venue, "symbol": symbol, "until": stamp})
    got = row.fetchone()
    return float(got[0]) if got else None


def state_rows(
    venue: str,
    symbol: str,
    day: date,
    state: MarketState,
    hashes: Mapping[str, str],
    inputs: MarketInputs | None,
    anchor: Anchor | None = None,
) -> pd.DataFrame:
    """mart.model_state rows of one market's state at the end of `day` (the inputs go with
    the context row; scenario rows record '{}'). With `anchor` (a whole state of the venue
    stored before `day`, at most MAX_DELTA_DAYS before), each scenario row is stored as its
    change from the anchor's where that is exact (`base_day` names the anchor's day)."""
    bases = None
    if anchor is not None and 0 < (day - anchor.day).days <= MAX_DELTA_DAYS:
        bases = anchor.carries
    out = []
    for scenario, fields in state.rows(bases).items():
        phash = hashes["base"] if scenario == CONTEXT else hashes[scenario]
        text = inputs.to_json() if (scenario == CONTEXT and inputs is not None) else "{}"
        base_day = None
        if fields.get(DELTA) is True and anchor is not None:
            fields = {**fields, BASE_HASH: anchor.hashes[scenario]}
            base_day = anchor.day
        blob = pack(fields)
        carry = state.carries.get(scenario)
        last = state.last_ts
        out.append(
            (
                venue,
                symbol,
                day,
                scenario,
                phash,
                pd.Timestamp(last) if last >= 0 else pd.NaT,
                0 if carry is None else carry.n_cohorts,
                text,
                blob,
                content_hash(venue, symbol, day, scenario, phash, text, blob),
                base_day,
            )
        )
    return pd.DataFrame(out, columns=list(MARTS["model_state"].columns))


def base_days(conn: duckdb.DuckDBPyConnection, symbol: str) -> set[tuple[str, date]]:
    """(venue, day) of the states some kept state of `symbol` is stored as a change from: a
    state rewritten there is written whole (a change from a change is not stored)."""
    return {(v, d) for v, d in conn.execute(BASE_DAYS_SQL, {"symbol": symbol}).fetchall()}


def replace_state(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> int:
    """Replace each market's state rows of their day and drop states no longer kept. Call it
    inside the transaction that writes the day's marts."""
    for venue, symbol, day in (
        rows[["venue", "symbol", "day"]].drop_duplicates().itertuples(index=False)
    ):
        conn.execute(DELETE_STATE_SQL, {"venue": venue, "symbol": symbol, "day": day})
    conn.register("_state_rows", rows)
    try:
        conn.execute(f"INSERT INTO {STATE_TABLE} BY NAME SELECT * FROM _state_rows")
    finally:
        conn.unregister("_state_rows")
    for venue, symbol in rows[["venue", "symbol"]].drop_duplicates().itertuples(index=False):
        conn.execute(RETAIN_SQL, {"venue": venue, "symbol": symbol})
    return len(rows)


def history_note(missing: Sequence[str], day: date, lookback_days: int) -> str:
    """'history incomplete: 2025-11-03 missing' for the missing days before `day` whose effect
    is still within the lookback (empty when none)."""
    lo = (day - timedelta(days=lookback_days)).isoformat()
    hit = sorted(d for d in missing if lo <= d < day.isoformat())
    if not hit:
        return ""
    shown = ", ".join(hit[:3]) + (f" and {len(hit) - 3} more" if len(hit) > 3 else "")
    return f"history incomplete: {shown} missing"
