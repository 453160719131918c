"""The column coder's numpy fast paths (reports.charts.spec) give the same values, types and
codings as the plain Python rules they shortcut: tightening whole floats to ints, and the
dictionary of a few distinct numbers in order of first appearance."""

from __future__ import annotations

import random

import numpy as np
import pytest

from reports.charts.spec import _column, _numeric, _tight_all, _tight_numeric, decode_column


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 3.0, -0.0, 5],
        [1.5, 2.25, 3.125],
        [1.0, 1.5, 2, 2.0],
        [2e15, 1.0, 3.0],  # past 1e15 a whole float stays a float
        [2**52, 1.0],  # an int stays an int at any size
    ],
)
def test_tight_numeric_equals_tight_all(values) -> None:
    arr = _numeric(values)
    assert arr is not None
    got, want = _tight_numeric(values, arr), _tight_all(values)
    assert got == want
    assert [type(v) for v in got] == [type(v) for v in want]


def test_few_distinct_numbers_code_as_a_dictionary_in_order_of_first_appearance() -> None:
    rng = random.Random(7)
    keys = [0.5, 3, 120.25, 7.0, 0]
    values = [rng.choice(keys) for _ in range(300)]
    col = _column(values)
    assert isinstance(col, dict) and "$dict" in col
    seen = list(dict.fromkeys(_tight_all(values)))
    assert col["$dict"][0] == seen
    assert decode_column(col) == _tight_all(values)
    assert np.array_equal(np.array(decode_column(col), dtype=float), np.array(values, dtype=float))


def test_text_values_in_runs_code_a_dictionary_from_the_runs_heads() -> None:
    """The dictionary of text values in few runs is built from the runs' heads: the same
    keys (values tightened: 2.0 as 2; by type and value: -0.0 and 0 as one) and indices
    as from every value."""
    label = ["long-label-a"] * 3 + ["long-label-b"] * 3 + ["long-label-c"] * 2
    texts = ["a-long-text"] * 4 + [None] * 4 + ["another-long-text"] * 4
    mixed = (texts + [2] * 4 + [2.5] * 4 + [2.0] * 4 + [-0.0] * 4 + [0.0] * 4) * 3
    for values in (label * 8, mixed + ["a-long-text"] * 4):
        col = _column(values)
        assert isinstance(col, dict) and "$dict" in col, col
        keys, idx = col["$dict"]
        uniq = {}
        for v in _tight_all(values):
            uniq.setdefault((type(v), v), len(uniq))
        assert keys == [v for _, v in uniq]
        assert decode_column(idx) == [uniq[(type(v), v)] for v in _tight_all(values)]
        assert [repr(v) for v in decode_column(col)] == [repr(v) for v in _tight_all(values)]


def _sig_cases() -> list[np.ndarray]:
    """Columns for `_sig_parts`: few significant digits (found), prices with cents (not),
    mixes, and the edges the early stop leaves to the loop (near a power of ten, exponents
    near the clip)."""
    rng = np.random.default_rng(11)
    m = rng.integers(-999, 1000, 200).astype(float)
    e = rng.integers(-8, 12, 200)
    sig3 = np.where(e >= 0, m * 10.0 ** np.abs(e), m / 10.0 ** np.abs(e))
    cents = np.round(rng.uniform(100, 90_000, 200), 2)
    cases = [
        sig3,
        cents,
        np.concatenate([sig3[:50], cents[:3]]),
        np.concatenate([sig3[:50], [0.0, 0.0, 123456.0]]),
        np.array([999.9999999999, 1e-21, 1.5e-22, 1e22, 2.5e21, 99999.0, 12345.0, 0.0]),
        np.array([1e-20, 3e-21, 7.77e-19, 999.0, 1000.0, 9.99e22]),
        np.array([0.1 + 0.2, 1 / 3, 2 / 3, 100.0, 0.3]),
        rng.uniform(-1e6, 1e6, 300),
    ]
    return [c for c in cases if np.isfinite(c).all()]


@pytest.mark.parametrize("digits,limit", [(3, 2048), (4, 16384)])
def test_sig_parts_early_stop_equals_trying_every_shift(monkeypatch, digits, limit) -> None:
    """`_sig_parts` stops after the first shift when the values left fail every shift: the
    same (m, e), or None, as trying every shift."""
    from reports.charts import spec

    fast = [spec._sig_parts(arr, digits, limit) for arr in _sig_cases()]
    monkeypatch.setattr(spec, "_fails_every_shift", lambda *a: False)
    slow = [spec._sig_parts(arr, digits, limit) for arr in _sig_cases()]
    assert [f is None for f in fast] == [s is None for s in slow]
    assert any(f is None for f in fast) and any(f is not None for f in fast)
    for f, s in zip(fast, slow, strict=True):
        if f is not None:
            assert np.array_equal(f[0], s[0]) and np.array_equal(f[1], s[1])


def test_sig_early_stop_leaves_the_edges_to_the_loop() -> None:
    """The early stop's proof needs |value| < 10^(top + 1) and no clipped exponent: values
    near a power of ten or at the exponent clip are left to the loop (False)."""
    from reports.charts.spec import _fails_every_shift

    def check(values: list[float], digits: int = 3, limit: int = 2048) -> bool:
        a = np.abs(np.array(values))
        return _fails_every_shift(a, np.floor(np.log10(a)).astype(np.int64), digits, limit)

    assert check([70_123.45, 0.125])  # ordinary prices: stop early
    assert not check([999.99999999999])  # log10 may round up to the next power
    assert not check([1.5e-21])  # a shift's exponent would be clipped at -22
    assert not check([3.3e22])  # ... or at 22
    assert not check([70_123.45], digits=4, limit=8192)  # 10^digits must be under the limit


def test_a_column_coded_again_is_looked_up_with_the_same_coding() -> None:
    """`_column` remembers recent codings by the values' repr: columns equal under `==` but
    not the same JSON (1, 1.0, True; 0.0 and -0.0 in a $sig column) never share a coding,
    and a repeat gives what coding it afresh gives."""
    import json

    from reports.charts import spec

    cols = [
        [1] * 20,
        [1.0] * 20,
        [True] * 20,
        [0.0, 1.5e6, 2.25e6] * 10,
        [-0.0, 1.5e6, 2.25e6] * 10,
        [None, 1.5, 2.0] * 10,
        ["a", "b"] * 10,
    ]
    fresh = [json.dumps(spec._column_sized(c, 0, need_size=False)[0]) for c in cols]
    spec._CODED.clear()
    first = [json.dumps(spec._column(c)) for c in cols]
    again = [json.dumps(spec._column(list(c))) for c in cols]
    assert first == fresh and again == fresh
    assert fresh[0] != fresh[2]  # ones and trues: equal under ==, coded differently
    assert len(spec._CODED) == len(cols)


def _coder_cases() -> list[list]:
    """Columns like the pages' (a map's views one after another: a repeated price grid,
    3-digit notionals with runs of zeros, cumulative figures with nulls, view names) and
    edges (whole floats past 1e15, ints and floats mixed, tiny and negative numbers)."""
    rng = random.Random(5)
    grid = [2340.0 + 20 * i for i in range(60)] + [3000.5 + 0.25 * i for i in range(20)]
    notional = [0.0] * 30 + [float(f"{rng.uniform(1e5, 1e8):.3g}") for _ in range(50)]
    cum = [None] * 25 + [float(f"{1e9 - 1e7 * i:.3g}") for i in range(55)]
    cases = [grid * 4, notional * 3, notional[::-1] + notional, cum * 2, [c or 0.0 for c in cum]]
    cases += [["base/all"] * 40 + ["base/high"] * 40, [rng.choice("abc") for _ in range(60)]]
    cases += [[rng.choice([1, 2.5, 1e16, 2e15, -0.0, 3]) for _ in range(48)]]
    cases += [[rng.uniform(-1e-6, 1e-6) for _ in range(40)], [i * 0.1 for i in range(40)]]
    cases += [[round(rng.uniform(1, 9e4), 2) for _ in range(120)], [7] * 10 + [8] * 30]
    cases += [[rng.choice([None, 1.5, 2.25, 0]) for _ in range(64)], sorted(grid * 3)]
    # short columns of few shapes: codings of close lengths, where a bound decides
    for _ in range(300):
        n, step, start = rng.randint(16, 40), rng.choice([1, 5, 0.5, 0.25, 20]), rng.randint(0, 99)
        col = [start + step * i + rng.choice([0, 0, 0, 1, 0.5]) for i in range(n)]
        shape = rng.randrange(4)
        if shape == 1:
            col = col[: n // 2] * 2
        elif shape == 2:
            col = [0.0 if rng.random() < 0.4 else float(f"{v * 1e4:.2g}") for v in col]
        elif shape == 3:
            col = [v if rng.random() < 0.7 else None for v in col]
        cases.append(col)
    return cases


def test_pruned_coding_search_equals_trying_every_coding(monkeypatch) -> None:
    """`_column_sized` tries a coding only when a lower bound of its length leaves it a
    chance, and gives nested columns a budget: the same coding and length as trying every
    one (spec.PRUNE off), and the coding gives back the values."""
    from reports.charts import spec

    cases = _coder_cases()
    pruned = [spec._column_sized(list(c), 0) for c in cases]
    monkeypatch.setattr(spec, "PRUNE", False)
    every = [spec._column_sized(list(c), 0) for c in cases]
    assert [repr(p) for p in pruned] == [repr(e) for e in every]
    kinds = {next(iter(c)) for c, _ in pruned if isinstance(c, dict)}
    assert {"$rep", "$sig", "$nulls", "$rle", "$dec"} <= kinds, kinds
    for c, (coding, _) in zip(cases, pruned, strict=True):
        assert decode_column(coding) == _tight_all(c)


def test_three_digits_equals_formatting_each_value() -> None:
    """The map's notionals rounded to 3 significant digits at once (cards.liq_map.three_digits)
    are the floats `float(f"{v:.3g}")` gives, value by value: magnitudes from 1e-25 to 1e25,
    ties (x.5 at the third digit, exact and one ulp either side), powers of ten and their
    neighbours, zeros and non-finite values."""
    from reports.cards.liq_map import three_digits

    rng = np.random.default_rng(3)
    ties = (rng.integers(100, 1000, 20_000) + 0.5) * 10.0 ** rng.integers(-10, 10, 20_000)
    cases = [
        10 ** rng.uniform(-25, 25, 50_000) * rng.choice([-1, 1], 50_000),
        rng.uniform(0, 1e10, 20_000),
        ties,
        np.nextafter(ties, np.inf),
        np.nextafter(ties, -np.inf),
        np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 999.5, 99.95, 1e-300, 5e-324, 1.7e308]),
        np.array([100.0, 1000.0, 999.4999999999, 99.99999999999, 1e22, 1e23, 1e-22, 0.1 + 0.2]),
    ]
    for a in cases:
        got = three_digits(a)
        want = [float(f"{v:.3g}") for v in a.tolist()]
        assert [repr(v) for v in got] == [repr(v) for v in want]
        assert all(type(v) is float for v in got)


def test_plain_floor_bounds_the_plain_length() -> None:
    """`_plain_floor` (coarse and `fine`) never exceeds the JSON length of the values as the
    coder writes them (`_tight_numeric`), and is that length when it says it is exact: full
    precision, few decimals, ties near 10^-j, whole numbers, tiny and huge values, signs."""
    from reports.charts import spec

    rng = np.random.default_rng(9)
    n = 4000
    cases = [
        rng.uniform(-1e8, 1e8, n),
        np.round(rng.uniform(0, 1e5, n), 1),
        np.round(rng.uniform(-1e5, 1e5, n), 2),
        np.round(rng.uniform(0, 10, n), 3),
        rng.integers(-(10**9), 10**9, n).astype(float),
        10 ** rng.uniform(-12, 20, n) * rng.choice([-1, 1], n),
        np.array([0.1, 0.5, 1e-4, 9.99e-5, 1e15, 1e16, 2.0**50 / 10, 0.3 + 0.6, 123.456, -0.0]),
    ]
    for arr in cases:
        values = arr.tolist()
        size = spec._size(spec._tight_numeric(values, arr))
        for fine in (False, True):
            floor, exact = spec._plain_floor(arr, fine)
            assert floor <= size
            assert not exact or floor == size
        for v in arr[:300]:  # value by value too (a sum could hide one over its length)
            one = np.array([v])
            assert spec._plain_floor(one, True)[0] <= spec._size(spec._tight_numeric([v], one))
    assert spec._plain_floor(cases[0], True)[0] > spec._plain_floor(cases[0])[0]
