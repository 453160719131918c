"""A failed `==` between large values explained in a few lines instead of pytest's full diff.

On CI (`CI` set) pytest neither truncates an assertion's explanation nor stops making it
early, and for two large values it runs difflib over their whole reprs: two dicts of
model-state bytes (~1 MB of repr) kept a worker busy until the 600 s timeout, and the run
ended in an INTERNALERROR instead of one failed test. Above `BIG_REPR` characters of repr a
failed comparison says where the values first differ (the keys, the index, the lengths),
which is what a reader needs, in one linear pass; smaller values keep pytest's explanation.

pytest calls every `pytest_assertrepr_compare` implementation before it looks at their
answers, so returning one would not spare the diff: this one, called first, raises the
test's AssertionError itself, which ends the hook call before pytest's own.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

PLUGIN = "liqmap-compact-asserts"
#: reprs longer than this (both sides together) get the compact explanation
BIG_REPR = 20_000
#: differing keys named at most
KEYS_SHOWN = 5
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlong = 40


def is_big(left: Any, right: Any) -> bool:
    """Whether pytest's own explanation of `left == right` would diff long reprs (a linear
    pass; pandas and numpy reprs are already short)."""
    return len(repr(left)) + len(repr(right)) > BIG_REPR


def first_difference(left: Sequence, right: Sequence) -> int:
    """The first index where two sequences differ (the shorter one's length when one is a
    prefix of the other)."""
    for i, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return i
    return min(len(left), len(right))


def _describe(name: str, left: Any, right: Any) -> list[str]:
    """Lines saying how two values differ: type, length and first differing index."""
    if type(left) is not type(right):
        return [f"{name}: {type(left).__name__} != {type(right).__name__}"]
    if isinstance(left, (bytes, str, list, tuple)):
        i = first_difference(left, right)
        return [
            f"{name}: {type(left).__name__} of length {len(left)} vs {len(right)}, "
            f"first difference at index {i}: "
            f"{_short.repr(left[i : i + 16])} vs {_short.repr(right[i : i + 16])}"
        ]
    return [f"{name}: {_short.repr(left)} != {_short.repr(right)}"]


def explain(left: Any, right: Any) -> list[str]:
    """The compact explanation of a failed `left == right` (first line: the summary)."""
    lines = [
        f"{type(left).__name__} == {type(right).__name__}: large values, compared in short "
        f"(tests/compact_asserts.py)"
    ]
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        only_left = [k for k in left if k not in right]
        only_right = [k for k in right if k not in left]
        differ = [k for k in left if k in right and left[k] != right[k]]
        if only_left:
            lines.append(f"keys only on the left ({len(only_left)}): {only_left[:KEYS_SHOWN]}")
        if only_right:
            lines.append(f"keys only on the right ({len(only_right)}): {only_right[:KEYS_SHOWN]}")
        lines.append(f"keys whose values differ ({len(differ)}): {differ[:KEYS_SHOWN]}")
        for key in differ[:KEYS_SHOWN]:
            lines.extend(_describe(f"[{key!r}]", left[key], right[key]))
        return lines
    return lines + _describe("value", left, right)


class CompactAsserts:
    """The pytest plugin (conftest registers it): first among the comparison hooks."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_assertrepr_compare(self, op: str, left: Any, right: Any) -> list[str] | None:
        __tracebackhide__ = True
        if op != "==" or not is_big(left, right):
            return None
        raise AssertionError("\n".join(explain(left, right)))
