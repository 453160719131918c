"""Liquidation price, brackets and parameters: hand-checked numbers."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from tests.model_helpers import flat_brackets
from transforms.db import apply_schema
from transforms.model import SCENARIOS, ModelParams, bracket_for, liquidation_price, scenario_params
from transforms.model.brackets import lp_ratios
from transforms.reference import bracket_table, load_brackets, load_tiers


def test_lp_hand_checked_longs_and_shorts():
    # 100x long at 100k with 0.4 % MMR: 100000 * 0.99 / 0.996 = 99,397.59 (0.60 % away, not 1 %)
    lp = liquidation_price(100_000.0, 100, "long", 0.004, 0.0, 0.5)
    assert lp == pytest.approx(99_397.59, abs=0.01)
    assert liquidation_price(100_000.0, 10, "long", 0.004, 0.0, 0.5) == pytest.approx(
        90_361.45, abs=0.01
    )
    # Shorts: EP (1 + 1/L) / (1 + m): 101000/1.004 and 110000/1.004
    assert liquidation_price(100_000.0, 100, "short", 0.004, 0.0, 0.5) == pytest.approx(
        100_597.61, abs=0.01
    )
    assert liquidation_price(100_000.0, 10, -1, 0.004, 0.0, 0.5) == pytest.approx(
        109_561.75, abs=0.01
    )


def test_lp_cum_term_and_vectorized():
    # 1 BTC at 100k, 10x, tier 2 of the later snapshot (m 0.5 %, cum 50):
    # long 100000*0.9/0.995 - 50/0.995 = 90402.01 - 50.25 = 90,351.76
    lp = liquidation_price(
        np.array([100_000.0, 100_000.0]), 10, np.array(["long", "short"]), 0.005, 50.0, 1.0
    )
    assert lp[0] == pytest.approx(100_000 * 0.9 / 0.995 - 50 / 0.995)
    assert lp[1] == pytest.approx(100_000 * 1.1 / 1.005 + 50 / 1.005)
    with pytest.raises(ValueError):
        liquidation_price(1.0, 10, "sideways", 0.004, 0.0, 1.0)


def test_cum_formula_matches_published_values():
    t = bracket_table("BTCUSDT", "binance")
    later = t[t["effective_date"] == date(2023, 1, 1)]
    assert later["cum"].tolist() == [0.0, 50.0, 950.0, 11_450.0, 131_450.0]
    cap2026 = t[t["effective_date"] == date(2026, 9, 2)]
    assert cap2026["cum"].tolist() == [0.0, 300.0]
    y2021 = t[t["effective_date"] == date(2021, 3, 18)]
    assert y2021["cum"].tolist()[:6] == [0.0, 50.0, 1_300.0, 16_300.0, 266_300.0, 1_266_300.0]
    # floors chain: each floor is the previous cap
    for _, g in t.groupby("effective_date"):
        assert g["notional_floor"].iloc[0] == 0.0
        assert (g["notional_floor"].to_numpy()[1:] == g["notional_cap"].to_numpy()[:-1]).all()


def test_bracket_boundaries():
    t = bracket_table("BTCUSDT", "binance")
    later = t[t["effective_date"] == date(2023, 1, 1)]
    at_cap = bracket_for(later, 50_000.0)
    over = bracket_for(later, 50_000.01)
    assert (at_cap["maint_margin_rate"], at_cap["cum"]) == (0.004, 0.0)
    assert (over["maint_margin_rate"], over["cum"]) == (0.005, 50.0)
    assert bracket_for(later, 600_000.0)["bracket"] == 2
    assert bracket_for(later, 600_000.5)["bracket"] == 3
    assert bracket_for(later, 1e12)["bracket"] == 5  # beyond the table: last tier
    # cum makes maintenance margin MM = N*m - cum continuous across every tier boundary.
    for n in later["notional_cap"].to_numpy()[:-1]:
        lo, hi = bracket_for(later, n), bracket_for(later, n + 1e-6)
        assert lo["bracket"] + 1 == hi["bracket"]
        mm = [n * b["maint_margin_rate"] - b["cum"] for b in (lo, hi)]
        assert mm[0] == pytest.approx(mm[1], rel=1e-9)


def test_lp_ratios_cap_leverage_at_bracket_max():
    k_long, k_short, lev = lp_ratios(flat_brackets(max_lev=50.0), (10.0, 100.0), 50_000.0)
    assert lev.tolist() == [10.0, 50.0]
    assert k_long[0] == pytest.approx(0.9 / 0.996)
    assert k_short[1] == pytest.approx(1.02 / 1.004)


def test_seed_and_load_brackets_idempotent_and_dated():
    conn = duckdb.connect()
    apply_schema(conn)
    load_tiers(conn)
    load_tiers(conn)
    n = conn.execute(
        "SELECT count(*) FROM ref.leverage_brackets WHERE symbol = 'BTCUSDT'"
    ).fetchall()[0][0]
    assert n == len(bracket_table("BTCUSDT", "binance"))
    assert (
        conn.execute(
            "SELECT count(*) FROM ref.leverage_brackets WHERE source IS NULL OR source = ''"
        ).fetchall()[0][0]
        == 0
    )
    assert set(
        load_brackets(conn, "BTCUSDT", date(2022, 3, 1), venue="binance")["effective_date"]
    ) == {date(2022, 2, 5)}
    b = load_brackets(conn, "BTCUSDT", date(2026, 3, 1), venue="binance")
    assert set(b["effective_date"]) == {date(2024, 5, 30)} and len(b) == 12
    assert set(
        load_brackets(conn, "BTCUSDT", date(2026, 9, 2), venue="binance")["effective_date"]
    ) == {date(2026, 9, 2)}
    # before the first snapshot: earliest one
    assert set(
        load_brackets(conn, "BTCUSDT", date(2019, 9, 8), venue="binance")["effective_date"]
    ) == {date(2021, 3, 18)}
    assert len(load_brackets(conn, "ETHUSDT", date(2026, 1, 1), venue="binance")) > 1
    with pytest.raises(LookupError, match="no bybit leverage brackets for BTCUSDT"):
        load_brackets(conn, "BTCUSDT", date(2026, 1, 1), venue="bybit")
    with pytest.raises(LookupError, match="no binance leverage brackets for NOPEUSDT"):
        load_brackets(conn, "NOPEUSDT", date(2026, 1, 1), venue="binance")


def test_params_hash_json_roundtrip_and_validation():
    p = ModelParams()
    assert p.params_hash() == ModelParams.from_json(p.to_json()).params_hash()
    assert len(p.params_hash()) == 12
    assert ModelParams(lookback_days=30).params_hash() != p.params_hash()
    assert ModelParams.from_dict({"leverage_levels": [5, 10], "leverage_weights": [0.5, 0.5]})
    with pytest.raises(ValueError):
        ModelParams(leverage_weights=(0.5, 0.5, 0.5, 0.5, 0.5))
    with pytest.raises(ValueError):
        ModelParams(closing="sometimes")
    with pytest.raises(ValueError):
        ModelParams.from_dict({"nope": 1})
    hashes = {scenario_params(p, s).params_hash() for s in SCENARIOS}
    assert len(hashes) == 4
    assert scenario_params(p, "never_close").closing == "never"
    with pytest.raises(ValueError):
        scenario_params(p, "moon")
