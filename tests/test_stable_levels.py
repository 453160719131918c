"""The nearest major cluster held steady: a sequence that ping-pongs with the fresh rule
(the issue's BTC longs $67,125 → $55,875 → $67,125 … with closes moving 1–3 %) stays put, and
a level jumps by more than 10 % only when price moved ≥ 5 % or the cluster was consumed or
closed, with the stored move saying which."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transforms.model.levels import LevelParams, key_levels
from transforms.model.stable_levels import JUMP_MOVES, PrevLevels, stabilize

BIN = 250.0
PRICE_LOW = np.arange(50_000.0, 80_000.0, BIN)
OI = 10e9  # threshold at 70,000: 10e9 × 250 / 70,000 ≈ $35.7M per bin
A, B = 67_000.0, 55_750.0  # bins centred at 67,125 and 55,875 (the prices)


def _grids(a_sizes: list[float], b_size: float = 100e6) -> tuple[np.ndarray, np.ndarray]:
    """Longs: bin A (near spot) with the given notional per day, bin B (far) steady."""
    long = np.zeros((len(a_sizes), len(PRICE_LOW)))
    long[:, np.flatnonzero(PRICE_LOW == A)[0]] = a_sizes
    long[:, np.flatnonzero(PRICE_LOW == B)[0]] = b_size
    return long, np.zeros_like(long)


def _run(a_sizes, spots, lows=None, prev=None):
    long, short = _grids(a_sizes)
    spots = np.asarray(spots, dtype=float)
    fresh = key_levels(PRICE_LOW, BIN, long, short, spots, np.full(len(spots), OI))
    lows = spots * 0.99 if lows is None else np.asarray(lows, dtype=float)
    held = stabilize(fresh, PRICE_LOW, BIN, long, short, spots, lows, spots * 1.01, prev)
    return fresh, held


def _jumps(prices: np.ndarray) -> np.ndarray:
    return np.abs(prices[1:] / prices[:-1] - 1.0) > 0.10


# A hovers around the threshold (40M above it, 30M below it but above half of it) while the
# close moves 1–3 % a day: the fresh level ping-pongs between A and B.
PING = [40e6, 30e6, 40e6, 30e6, 40e6, 30e6]
SPOTS = [70_000.0, 69_000.0, 70_400.0, 69_500.0, 70_900.0, 69_800.0]


def test_fresh_rule_ping_pongs_and_the_held_level_does_not() -> None:
    fresh, held = _run(PING, SPOTS)
    moves_price = np.abs(np.diff(SPOTS) / np.asarray(SPOTS[:-1]))
    assert (moves_price < 0.05).all()
    fresh_p = fresh["nearest_cluster_below_price"].to_numpy()
    assert list(fresh_p) == [67_125.0, 55_875.0] * 3  # today's ping-pong
    assert _jumps(fresh_p).sum() == 5
    held_p = held["nearest_cluster_below_price"].to_numpy()
    assert (held_p == 67_125.0).all() and not _jumps(held_p).any()
    assert list(held["nearest_cluster_below_move"]) == ["new", *["held", "near"] * 2, "held"]
    # a held level carries today's notional in its bin, and its distance from today's spot
    assert list(held["nearest_cluster_below_notional"]) == PING
    np.testing.assert_allclose(
        held["nearest_cluster_below_pct"], 67_125.0 / np.asarray(SPOTS) - 1.0
    )
    # the side without notional has no level and says so
    assert set(held["nearest_cluster_above_move"]) == {"none"}


def test_a_price_move_of_5pct_lets_the_level_jump() -> None:
    spots = [70_000.0, 69_000.0, 65_000.0]  # −5.8 % on the last day
    _, held = _run([40e6, 30e6, 30e6], spots)
    assert list(held["nearest_cluster_below_move"]) == ["new", "held", "price"]
    assert held["nearest_cluster_below_price"].iloc[-1] == 55_875.0


def test_a_consumed_cluster_lets_the_level_jump() -> None:
    spots = [70_000.0, 69_000.0, 68_500.0]  # small closes, but the last day's low hit A
    lows = [69_300.0, 68_300.0, 67_100.0]
    _, held = _run([40e6, 30e6, 30e6], spots, lows)
    assert list(held["nearest_cluster_below_move"]) == ["new", "held", "consumed"]
    assert held["nearest_cluster_below_price"].iloc[-1] == 55_875.0


def test_a_closed_cluster_lets_the_level_jump_or_go() -> None:
    _, held = _run([40e6, 30e6, 10e6], SPOTS[:3])  # 10M < half the threshold: closed
    assert list(held["nearest_cluster_below_move"]) == ["new", "held", "closed"]
    assert held["nearest_cluster_below_price"].iloc[-1] == 55_875.0
    # with nothing else major the side has no nearest cluster at all
    long, short = _grids([40e6, 0.0], b_size=0.0)
    spots = np.array(SPOTS[:2])
    fresh = key_levels(PRICE_LOW, BIN, long, short, spots, np.full(2, OI))
    held = stabilize(fresh, PRICE_LOW, BIN, long, short, spots, spots * 0.99, spots * 1.01)
    assert list(held["nearest_cluster_below_move"]) == ["new", "closed"]
    assert np.isnan(held["nearest_cluster_below_price"].iloc[-1])


def test_every_jump_over_10pct_has_a_reason_on_a_noisy_market() -> None:
    """Persistent clusters with ±35 % daily noise, price oscillating ±4 %: the fresh level
    jumps often; the held one only for a reason, and far less often."""
    rng = np.random.default_rng(6)
    n = 120
    spots = 70_000.0 * np.exp(0.04 * np.sin(np.arange(n) / 9) + rng.normal(0, 0.01, n))
    base = rng.exponential(15e6, len(PRICE_LOW)) * (rng.random(len(PRICE_LOW)) < 0.5)
    noise = np.exp(rng.normal(0, 0.35, (n, len(PRICE_LOW))))
    long, short = base * noise, base[::-1] * noise[:, ::-1]
    long[PRICE_LOW[None, :] >= spots[:, None]] = 0.0
    short[PRICE_LOW[None, :] + BIN <= spots[:, None]] = 0.0
    fresh = key_levels(PRICE_LOW, BIN, long, short, spots, np.full(n, OI))
    lows, highs = spots * 0.985, spots * 1.015
    held = stabilize(fresh, PRICE_LOW, BIN, long, short, spots, lows, highs)
    for kind in ("nearest_cluster", "peak_cluster"):
        fresh_jumps = held_jumps = 0
        for side in ("above", "below"):
            p = held[f"{kind}_{side}_price"].to_numpy()
            jumps = np.flatnonzero(_jumps(p)) + 1
            assert set(held[f"{kind}_{side}_move"].iloc[jumps]) <= set(JUMP_MOVES), kind
            held_jumps += len(jumps)
            fresh_jumps += _jumps(fresh[f"{kind}_{side}_price"].to_numpy()).sum()
        assert fresh_jumps >= 10 and held_jumps * 4 <= fresh_jumps, (kind, fresh_jumps, held_jumps)
    # a run split in two, the second half starting from the stored row before it, is the
    # same as one run (what makes a range run equal daily runs)
    k = 47
    last = held.iloc[k - 1]
    prev = PrevLevels(
        spots[k - 1],
        last["nearest_cluster_above_price"],
        last["nearest_cluster_below_price"],
        last["peak_cluster_above_price"],
        last["peak_cluster_below_price"],
    )
    tail = stabilize(
        fresh.iloc[k:].reset_index(drop=True),
        PRICE_LOW,
        BIN,
        long[k:],
        short[k:],
        spots[k:],
        lows[k:],
        highs[k:],
        prev,
    )
    pd.testing.assert_frame_equal(tail, held.iloc[k:].reset_index(drop=True))


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match="hold_share"):
        LevelParams(hold_share=0.0)
