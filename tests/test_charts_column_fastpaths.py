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
