"""Model state (issue 19): a day costs a day, and the rows are those of a full recompute.

Chained daily runs (each continuing from the state the previous one wrote), one range run and
from-scratch recomputes give the same mart rows for every venue and the aggregate; each rule
that makes a state untrusted (params, corrupt or foreign bytes, re-staged bars, a new tier
snapshot, --from-scratch) falls back visibly; a day without bars is never silent.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.model_helpers import flat_brackets, random_bars
from tests.venue_helpers import synthetic_warehouse
from transforms.marts.registry import MARTS, Windowing
from transforms.marts.update import update_marts
from transforms.model import ModelParams
from transforms.model.state import CONTEXT, MarketState, advance, pack, unpack

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
    df = conn.execute(f"SELECT * FROM {table}").df()
    keys = [c for c in df.columns if df[c].dtype.kind != "f"]
    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    return df.sort_values([*keys, *floats], kind="stable").reset_index(drop=True)


def assert_same_rows(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, table: str):
    """The non-float columns equal as multisets (EXCEPT ALL both ways) and, row by row in
    the same order, every float equal within 1e-9 relative (NaN where NaN)."""
    fa, fb = _frame(a, table), _frame(b, table)
    assert len(fa) == len(fb) > 0, table
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


def test_rerunning_an_earlier_day_after_a_range_build_keeps_its_rows(tmp_path):
    conn = synthetic_warehouse(tmp_path / "w.duckdb", 12)
    _update(conn, _day(0), _day(12))
    frames = {t: _frame(conn, t) for t in TABLES}
    update = _update(conn, _day(5), _day(6))
    assert update.state_day is None  # no state kept before day 5: from the first bar
    for table in TABLES:
        after = _frame(conn, table)
        pd.testing.assert_frame_equal(after, frames[table], check_exact=False, rtol=1e-9)


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
