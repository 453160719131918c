"""A failed `==` between large values is explained in short (tests/compact_asserts.py): the
explanation pytest would make on CI diffs both reprs whole and took longer than the timeout."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compact_asserts import BIG_REPR, active, compact, explain, first_difference, is_big


def _big_states() -> tuple[dict, dict]:
    left = {("binance", f"s{i}"): bytes(range(256)) * 300 for i in range(6)}
    right = dict(left)
    changed = left[("binance", "s3")]
    right[("binance", "s3")] = changed[:1000] + b"\x00" + changed[1001:]
    right[("bybit", "s0")] = b"new"
    return left, right


def test_a_failed_comparison_of_large_values_names_where_they_differ():
    assert active(), "pytest no longer has _pytest.assertion.util._reprcompare: see the plugin"
    left, right = _big_states()
    assert is_big(left, right)
    with pytest.raises(AssertionError) as failed:
        assert left == right, "the states of 2025-01-05"
    text = str(failed.value)
    assert "the states of 2025-01-05" in text  # the assert's own message is kept
    assert "keys only on the right (1): [('bybit', 's0')]" in text
    assert "keys whose values differ (1): [('binance', 's3')]" in text
    assert "first difference at index 1000" in text
    assert len(text) < 2_000


def test_values_whose_equality_is_elementwise_are_described_too():
    left = {f"k{i}": np.arange(900.0) for i in range(4)}  # numpy prints them whole
    right = {**left, "k2": np.zeros(900), "k9": np.zeros(1)}
    assert is_big(left, right)
    with pytest.raises(AssertionError) as failed:
        assert left == right  # unequal at once: right has one key more
    assert "keys whose values differ (1): ['k2']" in str(failed.value)
    lines = explain(left, right)
    assert "keys only on the right (1): ['k9']" in lines
    assert "keys whose values differ (1): ['k2']" in lines


def test_small_values_and_other_operators_keep_pytests_own_explanation():
    assert not is_big({"a": 1}, {"a": 2})
    assert not is_big("x" * (BIG_REPR // 4), "y" * (BIG_REPR // 4))
    assert compact("!=", "x" * BIG_REPR, "x" * BIG_REPR) is None
    with pytest.raises(AssertionError) as failed:
        assert {"a": 1} == {"a": 2}
    assert "compared in short" not in str(failed.value)
    assert "Differing items" in str(failed.value)


def test_a_value_whose_repr_fails_falls_back_to_pytest():
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert compact("==", Unprintable(), 1) is None


def test_sequences_and_other_values():
    assert first_difference(b"abcd", b"abXd") == 2
    assert first_difference([1, 2], [1, 2, 3]) == 2
    assert first_difference([np.zeros(2), np.ones(3)], [np.zeros(2), np.ones(2)]) == 1
    lines = explain(list(range(10_000)), list(range(5_000)))
    assert "list of length 10000 vs 5000, first difference at index 5000" in lines[1]
    assert explain(b"a" * 30_000, "a" * 30_000)[1] == "value: bytes != str"
