"""Model state (issue 19): a day costs a day, and the rows are those of a full recompute.

Chained daily runs (each continuing from the state the previous one wrote), one range run and
from-scratch recomputes give the same mart rows for every venue and the aggregate; each rule
that makes a state untrusted (params, corrupt or foreign bytes, re-staged bars, a new tier
snapshot, --from-scratch) falls back visibly; a day without bars is never silent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import date, timedelta
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.model_helpers import flat_brackets, random_bars
from tests.pipeline_helpers import canonical_order
from tests.venue_helpers import synthetic_warehouse
from transforms.db import SCHEMA_MARK_TABLE, apply_schema
from transforms.marts import build as build_module
from transforms.marts import parallel
from transforms.marts import state as state_module
from transforms.marts import update as update_module
from transforms.marts.parallel import run_jobs, workers_for
from transforms.marts.registry import MARTS, Windowing
from transforms.marts.state import MAX_DELTA_DAYS, Anchor, MarketInputs, state_rows
from transforms.marts.update import prepare_marts, update_marts
from transforms.model import ModelParams
from transforms.model.cohorts import ModelCarry
from transforms.model.state import (
    CONTEXT,
    DELTA,
    MarketState,
    advance,
    carry_delta,
    pack,
    state_at,
    unpack,
)

PARAMS = ModelParams(lookback_days=7, bin_size=250.0, heatmap_bin_size=500.0)
VENUES = ("binance", "bybit")
FIRST = date(2025, 1, 1)
DAYS = 30
SCENARIOS = ("base", "never_close", "low_leverage", "high_leverage")
TABLES = [m.table for m in MARTS.values() if m.windowing in (Windowing.MODEL_DAYS,)] + [
    "mart.price_hourly"
]


def _day(i: int) -> date:
    return FIRST + timedelta(days=i)


def _update(conn, start: date, end: date, params=PARAMS, **kw):
    return update_marts(conn, "BTCUSDT", params, start, end, False, VENUES, **kw)


def _chain(conn, first: int, last: int, **kw) -> list:
    """Daily runs for days first..last (indices), each its own window."""
    return [_update(conn, _day(i), _day(i + 1), **kw) for i in range(first, last + 1)]


def _frame(conn, table: str) -> pd.DataFrame:
    return canonical_order(conn.execute(f"SELECT * FROM {table}").df())


def assert_same_rows(
    a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, table: str, some: bool = True
):
    """The non-float columns equal as multisets (EXCEPT ALL both ways) and, row by row in
    the same order, every float equal within 1e-9 relative (NaN where NaN); with `some`,
    rows of every venue and the aggregate."""
    fa, fb = _frame(a, table), _frame(b, table)
    assert len(fa) == len(fb), table
    if not some:
        return assert_same_rows(a, b, table) if len(fa) else None
    keys = [c for c in fa.columns if fa[c].dtype.kind != "f"]
    left = fa[keys].astype(str).value_counts()
    right = fb[keys].astype(str).value_counts()
    assert left.equals(right.reindex(left.index)) and len(left) == len(right), table
    for col in fa.columns:
        if fa[col].dtype.kind == "f":
            np.testing.assert_allclose(
                fa[col].to_numpy(), fb[col].to_numpy(), rtol=1e-9, atol=0, err_msg=f"{table}.{col}"
            )
    assert set(fa["venue"]) == {"binance", "bybit", "all"}, table


def _same_marts(a, b) -> None:
    for table in TABLES:
        assert_same_rows(a, b, table)


@pytest.fixture(scope="module")
def chained(tmp_path_factory):
    """30 days of two venues, built by 30 daily runs chained through the stored state."""
    path = tmp_path_factory.mktemp("chained") / "w.duckdb"
    conn = synthetic_warehouse(path, DAYS)
    updates = _chain(conn, 0, DAYS - 1)
    yield conn, updates
    conn.close()


# the two tests reading the 30-day chain share one worker (it is built once), first
CHAINED = pytest.mark.xdist_group("model_state_chained")


@CHAINED
@pytest.mark.slow  # about 10 s or more: scheduled first (docs/testing.md)
def test_chained_daily_equals_range_and_from_scratch(chained, tmp_path):
    conn, updates = chained
    # each daily run after the first continued from the day before and read one day of bars
    assert updates[0].state_day is None
    for i, update in enumerate(updates[1:], start=1):
        assert update.state_day == _day(i - 1), update.why
        assert update.bars == {"binance": 288, "bybit": 288}
    ranged = synthetic_warehouse(tmp_path / "range.duckdb", DAYS)
    assert _update(ranged, _day(0), _day(DAYS)).state_day is None
    _same_marts(conn, ranged)
    # the last days recomputed from scratch, day by day, over the range build: the same rows
    for update in _chain(ranged, DAYS - 6, DAYS - 1, from_scratch=True):
        assert update.state_day is None and "--from-scratch" in update.why
    _same_marts(conn, ranged)


@CHAINED
@pytest.mark.slow
def test_a_range_written_in_chunks_equals_the_chain(chained, tmp_path, monkeypatch):
    """A long window is modelled and written a chunk at a time (bounded memory), each chunk
    continuing from the state the one before left: the rows of the daily chain. It writes no
    state at its chunks' ends, nor at its last day (the next day is not staged: staging it
    refreshes that day's last bar), only at the day before (a retried range restarts before
    its first day; the next daily run continues from it), byte for byte the state the daily
    chain keeps there, for every venue and the aggregate; its recorded inputs name the last
    day's bars too (the next run rewrites that day when they change). The chunks are
    modelled in a worker process and written here, as the asset runs a range
    (transforms.marts.parallel)."""
    conn, _ = chained
    monkeypatch.setattr(update_module, "CHUNK_DAYS", 7)
    ranged = synthetic_warehouse(tmp_path / "chunks.duckdb", DAYS)
    assert workers_for(DAYS) > 0  # a range longer than a chunk
    job = prepare_marts(ranged, "BTCUSDT", PARAMS, _day(0), _day(DAYS), False, VENUES)
    (update,) = run_jobs(ranged, [job], 1)
    assert update.state_day is None
    # chunks end on days 6, 13, 20, 27, 28, 29: only the day before the last keeps its state
    assert update.rows["model_state"] == 11
    _same_marts(conn, ranged)
    kept = ranged.execute("SELECT DISTINCT day FROM mart.model_state ORDER BY day").fetchall()
    assert [r[0] for r in kept] == [_day(DAYS - 2)]
    _assert_same_states(ranged, conn, _day(DAYS - 2), [_day(DAYS - 1)])


class _Segment:
    """A segment's stand-in for the writer: its number and one market's mart of one row."""

    def __init__(self, seg: int):
        self.seg = seg
        rows = {"liq_map": pd.DataFrame({"x": [seg]})}
        self.markets = {"binance": SimpleNamespace(by_mart=lambda: rows)}


def test_segments_sharing_a_transaction_are_committed_whole_or_not_at_all(tmp_path, monkeypatch):
    """Segments share a write transaction up to a budget of mart rows (a commit rewrites
    each mart table's last row group): a write failing midway rolls its transaction back,
    the segments before it in that transaction with it (the next run models them again
    from the states committed before); segments written whole are committed when the run
    ends on another error (a worker's), and the connection is left outside a transaction."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("CREATE TABLE t (job INTEGER, seg INTEGER)")

    def replace(conn, job, batch):  # the segment's rows; segment -1 fails after writing
        conn.execute("INSERT INTO t VALUES ($job, $seg)", {"job": job, "seg": batch.seg})
        if batch.seg < 0:
            raise duckdb.ConstraintException("write failed midway")

    monkeypatch.setattr(parallel, "replace_batch", replace)
    writes = parallel._Writes(conn, rows_per_commit=2)
    for seg in (0, 1, 2):  # 0 and 1 share a transaction, committed when 2 would overflow it
        writes.write(1, _Segment(seg))
    with pytest.raises(duckdb.ConstraintException):
        writes.write(1, _Segment(-1))
    writes.close()
    assert conn.execute("SELECT * FROM t ORDER BY seg").fetchall() == [(1, 0), (1, 1)]
    writes.write(2, _Segment(0))  # whole, then the run fails elsewhere: kept
    writes.close()
    conn.execute("BEGIN TRANSACTION")  # none left open
    conn.execute("COMMIT")
    assert conn.execute("SELECT count(*) FROM t WHERE job = 2").fetchall() == [(1,)]
    conn.close()


def _whole_states(conn, day: date) -> dict[tuple[str, str], bytes]:
    """(venue, scenario) -> the state of `day` as whole bytes (a row stored as a change from
    its base applied to it first, as a run loads it)."""
    markets = ["binance", "bybit", "all"]
    hashes = dict(
        conn.execute(
            "SELECT DISTINCT scenario, params_hash FROM mart.model_state WHERE day = $d "
            "AND venue = 'binance'",
            {"d": day},
        ).fetchall()
    )
    hashes["base"] = hashes.pop(CONTEXT, hashes.get("base"))
    states, _, _, why = state_module._load_day(conn, "BTCUSDT", day, markets, hashes)
    assert why == ""
    return {
        (venue, sc): pack(fields)
        for venue, state in states.items()
        for sc, fields in state.rows().items()
    }


def _assert_same_states(got_conn, want_conn, day: date, later: list[date]) -> None:
    """The states of `day` byte for byte equal once whole (each may be stored as a change
    from an earlier one), for every venue and the aggregate, and so are their recorded
    inputs, but for the `later` days' bars recorded in `got_conn`'s only (written by its run
    after that day)."""
    sql = (
        "SELECT venue, scenario, params_hash, inputs FROM mart.model_state "
        "WHERE day = $d ORDER BY venue, scenario"
    )
    got, want = (c.execute(sql, {"d": day}).fetchall() for c in (got_conn, want_conn))
    assert {r[0] for r in want} == {"binance", "bybit", "all"}
    assert [r[:3] for r in got] == [r[:3] for r in want]
    assert _whole_states(got_conn, day) == _whole_states(want_conn, day)
    for g, w in zip(got, want, strict=True):
        if g[3] == "{}":
            assert w[3] == "{}"
            continue
        a, b = MarketInputs.from_json(g[3]), MarketInputs.from_json(w[3])
        assert (a.tiers, a.missing) == (b.tiers, b.missing)
        assert sorted(a.bars) == sorted(b.bars) + [d.isoformat() for d in later]
        assert {k: a.bars[k] for k in b.bars} == b.bars


def test_rerunning_an_earlier_day_after_a_range_build_keeps_its_rows(tmp_path):
    conn = synthetic_warehouse(tmp_path / "w.duckdb", 12)
    _update(conn, _day(0), _day(12))
    frames = {t: _frame(conn, t) for t in TABLES}
    update = _update(conn, _day(5), _day(6))
    assert update.state_day is None  # no state kept before day 5: from the first bar
    for table in TABLES:
        after = _frame(conn, table)
        pd.testing.assert_frame_equal(after, frames[table], check_exact=False, rtol=1e-9)


def test_the_state_before_the_last_day_is_that_of_a_run_ending_there(tmp_path, monkeypatch):
    """A window's last day is written in one pass with the days before it; the state at the
    end of the day before the last (where the next daily run continues) is taken from that
    pass's model (not a second run over the prefix): byte for byte the state a run ending
    there keeps, for every venue and the aggregate (its inputs name the last day's bars too)."""
    longer = synthetic_warehouse(tmp_path / "longer.duckdb", SHORT)
    shorter = synthetic_warehouse(tmp_path / "shorter.duckdb", SHORT)
    _update(longer, _day(0), _day(4))

    def second_pass(*args, **kw):
        raise AssertionError("the prefix was modelled a second time")

    # continues from the state of day 3; keeps days 5 (the prefix's end) and 6 (staged after)
    with monkeypatch.context() as m:
        m.setattr(build_module, "advance_market", second_pass)
        assert _update(longer, _day(4), _day(7)).state_day == _day(3)
    _update(shorter, _day(0), _day(6))  # keeps days 4 and 5 (its own end)
    _assert_same_states(longer, shorter, _day(5), [_day(6)])
    longer.close()
    shorter.close()


def test_state_round_trip_continues_like_one_run():
    bars = random_bars(6 * 288, seed=5)
    brackets = flat_brackets()
    whole, step = advance(MarketState.empty(), bars, PARAMS, brackets, SCENARIOS)
    state = MarketState.empty()
    liq = []
    for i in range(0, len(bars), 100):  # any bar boundary, not only days
        state, part = advance(state, bars.iloc[i : i + 100], PARAMS, brackets, SCENARIOS)
        liq.append(part.runs["base"].liq_long)
        state = MarketState.from_rows({k: unpack(pack(v)) for k, v in state.rows().items()})
    assert np.array_equal(np.concatenate(liq), step.runs["base"].liq_long)
    for key, fields in whole.rows().items():
        assert pack(fields) == pack(state.rows()[key]), key
    # the state at an earlier bar boundary taken from a run (state_at) is bit for bit the
    # one a run over the bars up to it keeps, with the same day rows and swings
    half, _ = advance(MarketState.empty(), bars.iloc[:700], PARAMS, brackets, SCENARIOS)
    rest = bars.iloc[700:]
    _, later = advance(half, rest, PARAMS, brackets, SCENARIOS)
    for k in (1, 164, 452, 1000):  # a bar, a UTC day's end (700 + 164 = 3 x 288), ...
        got, head = state_at(half, later, PARAMS, k)
        want, alone = advance(half, rest.iloc[:k], PARAMS, brackets, SCENARIOS)
        for key, fields in want.rows().items():
            assert pack(fields) == pack(got.rows()[key]), (k, key)
        pd.testing.assert_frame_equal(head.days, alone.days, check_exact=True)
        pd.testing.assert_frame_equal(head.moves, alone.moves, check_exact=True)
        for key in ("liq_long", "liq_short", "log_f", "end", "status", "n0"):
            assert np.array_equal(getattr(head.runs["base"], key), getattr(alone.runs["base"], key))
    # the scenarios' common arrays are stored in the base row only, the others name it
    rows = whole.rows()
    assert rows["never_close"]["entry"] == {"same_as": "base"}
    assert isinstance(rows["low_leverage"]["n0"], np.ndarray)  # its own sizes
    rows["high_leverage"]["lp"] = {"same_as": "nowhere"}  # a foreign row: refused
    with pytest.raises(ValueError, match="names no stored array"):
        MarketState.from_rows(rows)


def test_a_state_packs_to_the_same_bytes_whatever_its_scenarios_order():
    """The scenarios' shared arrays are stored in one row that the others name: the base
    scenario's, however the carries were ordered (advanced over another scenario order, or
    loaded from rows fetched in any order). A test comparing two warehouses' states failed
    about one run in seven when the rows came back in another order."""
    bars, brackets = random_bars(2 * 288, seed=7), flat_brackets()
    forward, _ = advance(MarketState.empty(), bars, PARAMS, brackets, SCENARIOS)
    backward, _ = advance(MarketState.empty(), bars, PARAMS, brackets, SCENARIOS[::-1])
    assert list(backward.carries) != list(forward.carries)
    loaded = MarketState.from_rows(dict(reversed(forward.rows().items())))
    want = {k: pack(v) for k, v in forward.rows().items()}
    for state in (backward, loaded):
        got = {k: pack(v) for k, v in state.rows().items()}
        assert got == want
    assert forward.rows()["high_leverage"]["entry"] == {"same_as": "base"}


def test_a_truncated_state_is_not_loaded():
    state, _ = advance(
        MarketState.empty(), random_bars(300, seed=2), PARAMS, flat_brackets(), SCENARIOS
    )
    blob = pack(state.rows()["base"])
    with pytest.raises(ValueError, match="truncated"):
        unpack(blob[:-10])
    with pytest.raises(ValueError, match="not a liqmap model state"):
        unpack(b"garbage")
    assert CONTEXT in state.rows()


def test_a_state_stored_as_its_change_from_an_earlier_one_is_rebuilt_bit_for_bit():
    """A day's state is stored as its change from an earlier state of the market (the
    cohorts gone, where the kept ones stand, the new ones): a fraction of the whole, and
    rebuilt from that earlier state bit for bit; never applied to another state."""
    bars, brackets = random_bars(6 * 288, seed=7), flat_brackets()
    before, _ = advance(MarketState.empty(), bars.iloc[: 5 * 288], PARAMS, brackets, SCENARIOS)
    after, _ = advance(before, bars.iloc[5 * 288 :], PARAMS, brackets, SCENARIOS)
    whole = {k: pack(v) for k, v in after.rows().items()}
    rows = {k: pack(v) for k, v in after.rows(before.carries).items()}
    assert all(unpack(rows[sc]).get(DELTA) for sc in SCENARIOS)
    assert sum(map(len, rows.values())) * 3 < sum(map(len, whole.values()))
    back = MarketState.from_rows({k: unpack(v) for k, v in rows.items()}, before.carries)
    assert {k: pack(v) for k, v in back.rows().items()} == whole
    with pytest.raises(ValueError, match="not given"):  # no base: refused
        MarketState.from_rows({k: unpack(v) for k, v in rows.items()})
    other, _ = advance(MarketState.empty(), bars.iloc[: 4 * 288], PARAMS, brackets, SCENARIOS)
    with pytest.raises(ValueError, match="cohorts"):  # another base: refused
        MarketState.from_rows({k: unpack(v) for k, v in rows.items()}, other.carries)
    # a kept cohort whose numbers differ from the base's: stored whole, never a change
    moved = before.carries["base"]
    change = carry_delta(after.carries["base"], moved)
    kept = np.flatnonzero(np.unpackbits(change["keep"], count=moved.n_cohorts))
    moved.lp[kept[-1]] = np.nextafter(moved.lp[kept[-1]], np.inf)
    assert carry_delta(after.carries["base"], moved) is None
    # a base with no cohorts (open interest not yet rising): the carry is stored whole
    empty = {sc: ModelCarry.empty() for sc in SCENARIOS}
    rows = after.rows(empty)
    assert not any(rows[sc].get(DELTA) for sc in SCENARIOS)
    assert {k: pack(v) for k, v in rows.items()} == whole


def test_a_change_is_stored_only_from_a_recent_whole_state():
    """The state rows of a venue are its change from the whole state the run started from
    (naming that day) up to MAX_DELTA_DAYS after it, then whole again (a base for the next)."""
    bars, brackets = random_bars(6 * 288, seed=3), flat_brackets()
    before, _ = advance(MarketState.empty(), bars.iloc[: 5 * 288], PARAMS, brackets, SCENARIOS)
    after, _ = advance(before, bars.iloc[5 * 288 :], PARAMS, brackets, SCENARIOS)
    hashes = {sc: "h" for sc in SCENARIOS}
    day = _day(5)
    for age, changed in ((1, True), (MAX_DELTA_DAYS, True), (MAX_DELTA_DAYS + 1, False)):
        base = Anchor(day - timedelta(days=age), dict(hashes), before.carries)
        rows = state_rows("binance", "BTCUSDT", day, after, hashes, None, base)
        scenarios = rows[rows["scenario"] != CONTEXT]
        want = base.day if changed else None
        assert list(scenarios["base_day"]) == [want] * len(SCENARIOS), age
        assert rows.loc[rows["scenario"] == CONTEXT, "base_day"].isna().all()


# --- a state that cannot be trusted is recomputed, with one line saying why -------------

SHORT = 8  # days of bars for the invalidation tests; days 0..5 chained, day 6 is the run


@pytest.fixture(scope="module")
def short_chain_file(tmp_path_factory):
    """Days 0..5 chained, built once for the module (the closed file): read-only, each test
    changes its own copy."""
    path = tmp_path_factory.mktemp("short_chain") / "w.duckdb"
    conn = synthetic_warehouse(path, SHORT)
    try:
        _chain(conn, 0, 5)
    finally:
        conn.close()
    return path


@pytest.fixture
def short_chain(short_chain_file, tmp_path):
    """A private copy of the chained days (what building them again would give)."""
    conn = duckdb.connect(str(shutil.copy(short_chain_file, tmp_path / "w.duckdb")))
    yield conn
    conn.close()


def _day_rows(conn, day: date) -> dict[str, pd.DataFrame]:
    out = {}
    for table in TABLES:
        out[table] = canonical_order(
            conn.execute(f"SELECT * FROM {table} WHERE day = $d", {"d": day}).df()
        )
    return out


def _run_day6_and_check_against_scratch(conn, params=PARAMS):
    """Run day 6 (continuing as the rules allow), then recompute it from scratch: the rows
    must not change. Returns the first run's update."""
    update = _update(conn, _day(6), _day(7), params)
    got = _day_rows(conn, _day(6))
    _update(conn, _day(6), _day(7), params, from_scratch=True)
    for table, frame in _day_rows(conn, _day(6)).items():
        assert len(frame) > 0, table
        pd.testing.assert_frame_equal(got[table], frame, check_exact=False, rtol=1e-9, obj=table)
    return update


def test_the_newest_state_is_continued(short_chain):
    update = _run_day6_and_check_against_scratch(short_chain)
    assert update.state_day == _day(5) and update.why == ""
    kept = short_chain.execute(
        "SELECT day, list_distinct(list(base_day)) FROM mart.model_state "
        "WHERE venue = 'binance' AND scenario <> 'context' GROUP BY day ORDER BY day"
    ).fetchall()
    # the three newest, each whole or stored as its change from a whole state kept with them
    # (here a whole state of day 3, which the chain's day 4 is stored against)
    bases = {d: b for d, b in kept}
    assert sorted(bases)[-3:] == [_day(4), _day(5), _day(6)]
    named = {b for d in (4, 5, 6) for b in bases[_day(d)]}
    assert named == {_day(3)} and sorted(bases) == [_day(3), _day(4), _day(5), _day(6)]
    assert bases[_day(3)] == []


def test_missing_state_recomputes_from_the_first_bar(short_chain):
    short_chain.execute("DELETE FROM mart.model_state")
    update = _run_day6_and_check_against_scratch(short_chain)
    assert update.state_day is None and "no model state" in update.why


def test_other_params_recompute_from_the_first_bar(short_chain):
    other = ModelParams(lookback_days=8, bin_size=250.0, heatmap_bin_size=500.0)
    update = _run_day6_and_check_against_scratch(short_chain, other)
    assert update.state_day is None
    assert "computed under params" in update.why and other.params_hash() in update.why


def test_a_corrupt_state_is_not_loaded(short_chain):
    short_chain.execute(
        "UPDATE mart.model_state SET state = state[1:100] "
        "WHERE venue = 'binance' AND day = $d AND scenario = 'base'",
        {"d": _day(5)},
    )
    update = _run_day6_and_check_against_scratch(short_chain)
    assert "corrupt" in update.why and "binance" in update.why
    assert update.state_day == _day(4)  # the newest state that holds


def test_a_foreign_state_is_not_loaded(short_chain):
    # bybit's (valid) state, hash and all, put in binance's place
    short_chain.execute(
        "UPDATE mart.model_state AS m SET state = o.state, content_hash = o.content_hash "
        "FROM mart.model_state AS o WHERE m.venue = 'binance' AND o.venue = 'bybit' "
        "AND m.day = $d AND o.day = $d AND m.scenario = 'base' AND o.scenario = 'base'",
        {"d": _day(5)},
    )
    update = _run_day6_and_check_against_scratch(short_chain)
    assert "corrupt" in update.why and update.state_day == _day(4)


def test_a_change_whose_base_is_damaged_is_not_applied(short_chain):
    """A state stored as its change from an earlier whole state is refused when that state
    is damaged (or rewritten): the run goes further back, saying why."""
    day, base = short_chain.execute(
        "SELECT max(day), any_value(base_day) FROM mart.model_state "
        "WHERE venue = 'binance' AND base_day IS NOT NULL"
    ).fetchone()
    short_chain.execute("DELETE FROM mart.model_state WHERE day > $d", {"d": day})
    short_chain.execute(
        "UPDATE mart.model_state SET state = state[1:100] "
        "WHERE venue = 'binance' AND day = $d AND scenario = 'base'",
        {"d": base},
    )
    update = _run_day6_and_check_against_scratch(short_chain)
    assert f"the binance BTCUSDT state for {day} lost its base" in update.why
    assert update.state_day is None or update.state_day < base


def test_a_warehouse_made_before_keeps_its_states(short_chain):
    """A warehouse whose state table predates the change rows (no base_day, the state column
    compressed by DuckDB) is given the new table on opening, its whole states kept and
    continued from."""
    ((whole,),) = short_chain.execute(  # the newest whole state (an old table's only kind)
        "SELECT max(day) FROM mart.model_state WHERE day NOT IN "
        "(SELECT day FROM mart.model_state WHERE base_day IS NOT NULL)"
    ).fetchall()
    short_chain.execute("DELETE FROM mart.model_state WHERE day <> $d", {"d": whole})
    short_chain.execute(
        "CREATE TABLE mart.old_state AS SELECT * EXCLUDE (base_day) FROM mart.model_state"
    )
    short_chain.execute("DROP TABLE mart.model_state")
    short_chain.execute("ALTER TABLE mart.old_state RENAME TO model_state")
    short_chain.execute(f"DROP TABLE {SCHEMA_MARK_TABLE}")
    apply_schema(short_chain)
    ((sql,),) = short_chain.execute(
        "SELECT sql FROM duckdb_tables() WHERE table_name = 'model_state'"
    ).fetchall()
    assert "state BLOB USING COMPRESSION Uncompressed" in sql and "base_day DATE" in sql
    rows = short_chain.execute("SELECT count(*) FROM mart.model_state").fetchone()
    assert rows == (11,)  # every market's, kept
    update = _run_day6_and_check_against_scratch(short_chain)
    assert update.state_day == whole and update.why == ""


def test_restaged_bars_recompute_from_the_day_before_them(short_chain):
    short_chain.execute(
        "UPDATE stg.bars_5m SET oi_base = oi_base * 1.01 WHERE venue = 'bybit' AND day = $d",
        {"d": _day(5)},
    )
    update = _update(short_chain, _day(6), _day(7))
    assert f"bybit BTCUSDT bars of {_day(5)} changed" in update.why
    assert update.state_day == _day(4)
    # day 5's rows were computed from the old bars: rewritten with day 6, as a range gives
    assert update.rewritten_from == _day(5)
    got = {d: _day_rows(short_chain, _day(d)) for d in (5, 6)}
    _update(short_chain, _day(0), _day(7), from_scratch=True)
    for d in (5, 6):
        for table, frame in _day_rows(short_chain, _day(d)).items():
            pd.testing.assert_frame_equal(got[d][table], frame, check_exact=False, rtol=1e-9)


def test_a_tier_snapshot_for_an_earlier_date_recomputes(short_chain):
    tiers = flat_brackets(mmr=0.006).assign(venue="binance", effective_date=_day(2))
    short_chain.register("t", tiers)
    short_chain.execute("INSERT INTO ref.leverage_brackets BY NAME SELECT * FROM t")
    update = _run_day6_and_check_against_scratch(short_chain)
    assert f"binance BTCUSDT tier snapshot for {_day(2)} changed" in update.why
    assert update.state_day is None  # no state kept from before that date


# --- a day without bars is never silent -----------------------------------------------


def test_a_missing_day_marks_the_later_days_and_the_other_venue_goes_on(tmp_path):
    gone = _day(3)
    conn = synthetic_warehouse(tmp_path / "w.duckdb", SHORT, skip={"bybit": {gone}})
    updates = _chain(conn, 0, 6)
    assert "bybit" in updates[3].failed and "bybit" not in updates[4].failed
    rows = conn.execute(
        "SELECT day, venue, history_incomplete FROM mart.daily_metrics WHERE scenario = 'base'"
    ).df()
    note = f"history incomplete: {gone} missing"
    rows["day"] = pd.to_datetime(rows["day"]).dt.date
    for day, venue, text in rows.itertuples(index=False):
        if day <= gone or venue == "binance":
            assert text == "", (day, venue, text)
        elif venue == "bybit":
            assert text == note, (day, text)
        else:
            assert text == f"bybit: {note}", (day, text)
    assert set(rows[rows["day"] == gone]["venue"]) == {"binance", "all"}
    # the same rows as a recompute from the first bar
    got = _day_rows(conn, _day(6))
    _update(conn, _day(6), _day(7), from_scratch=True)
    for table, frame in _day_rows(conn, _day(6)).items():
        pd.testing.assert_frame_equal(got[table], frame, check_exact=False, rtol=1e-9, obj=table)


# --- SIGKILL while the state and marts are written ---------------------------------------

CHILD = """
import sys
from datetime import date
import duckdb
from transforms.marts import update as update_module
from transforms.marts.parallel import run_jobs, workers_for
from transforms.marts.update import prepare_marts, update_marts
from transforms.model import ModelParams
from transforms.model.cohorts import ModelCarry
conn = duckdb.connect(sys.argv[1])
params = ModelParams(lookback_days=7, bin_size=250.0, heatmap_bin_size=500.0)
day = date.fromisoformat(sys.argv[2])
update_marts(conn, "BTCUSDT", params, day, date.fromordinal(day.toordinal() + 1), False,
             ("binance", "bybit"))
conn.close()
"""


def _all_rows(conn) -> dict[str, pd.DataFrame]:
    """Every mart's rows, and the states by identity and content hash."""
    states = conn.execute("SELECT * EXCLUDE (state) FROM mart.model_state").df()
    keys = ["venue", "day", "scenario"]
    return {
        **{t: _frame(conn, t) for t in TABLES},
        "state": states.sort_values(keys).reset_index(drop=True),
    }


def test_sigkill_during_the_state_write_keeps_the_previous_day(tmp_path, short_chain_file):
    path = tmp_path / "w.duckdb"
    conn = synthetic_warehouse(path, SHORT)
    _chain(conn, 0, 4)
    before = _all_rows(conn)
    conn.close()
    env = {**os.environ, "LIQMAP_FAILPOINT": "state-write"}
    crashed = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), _day(5).isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    conn = duckdb.connect(str(path))
    try:
        after = _all_rows(conn)
        for table, frame in before.items():  # nothing of day 5 landed, day 4 is whole
            pd.testing.assert_frame_equal(after[table], frame, obj=table)
        update = _update(conn, _day(5), _day(6))  # the next run finishes the day
        assert update.state_day == _day(4)
        clean = duckdb.connect(str(short_chain_file), read_only=True)  # days 0..5, unbroken
        try:
            _same_marts(conn, clean)
        finally:
            clean.close()
    finally:
        conn.close()
