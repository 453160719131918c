"""A failed `==` between large values explained in a few lines instead of pytest's full diff.

On CI (`CI` set) pytest neither truncates an assertion's explanation nor stops making it
early, and for two large values it runs difflib over their whole reprs: two dicts of
model-state bytes (~1 MB of repr) kept a worker busy until the 600 s timeout, and the run
ended in an INTERNALERROR instead of one failed test. Above `BIG_REPR` characters of repr a
failed comparison says where the values first differ (the keys, the index, the lengths),
which is what a reader needs, in one linear pass; smaller values, other operators and values
this module cannot describe keep pytest's own explanation.

How: pytest calls every `pytest_assertrepr_compare` implementation before it looks at their
answers, so a hook answering first would not spare the diff. pytest's assertion rewriting
asks `_pytest.assertion.util._reprcompare` for each failed comparison, a function pytest's own
`pytest_runtest_protocol` wrapper installs for the test; this plugin's wrapper, inside
pytest's, answers large `==` there and hands the rest to pytest's. That name is pytest's
private API: without it the plugin does nothing (`tests/test_compact_asserts.py` then fails,
saying so) and pytest explains as before.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from _pytest.assertion import util as assertion_util

PLUGIN = "liqmap-compact-asserts"
#: reprs longer than this (both sides together) get the compact explanation
BIG_REPR = 20_000
#: differing keys named at most
KEYS_SHOWN = 5
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlong = 40

Compare = Callable[[str, Any, Any], "str | None"]


def is_big(left: Any, right: Any) -> bool:
    """Whether pytest's own explanation of `left == right` would diff long reprs (a linear
    pass; pandas and numpy reprs are already short)."""
    return len(repr(left)) + len(repr(right)) > BIG_REPR


def _differ(a: Any, b: Any) -> bool:
    """`a != b` as one bool, for values whose `==` is elementwise (numpy arrays) or raises."""
    try:
        return not bool(a == b)
    except Exception:  # noqa: BLE001 - an elementwise or failing ==
        pass
    try:
        return not np.array_equal(a, b)
    except Exception:  # noqa: BLE001 - not array-like either: the same object or not
        return a is not b


def first_difference(left: Sequence, right: Sequence) -> int:
    """The first index where two sequences differ (the shorter one's length when one is a
    prefix of the other)."""
    for i, (a, b) in enumerate(zip(left, right, strict=False)):
        if _differ(a, b):
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
        differ = [k for k in left if k in right and _differ(left[k], right[k])]
        if only_left:
            lines.append(f"keys only on the left ({len(only_left)}): {only_left[:KEYS_SHOWN]}")
        if only_right:
            lines.append(f"keys only on the right ({len(only_right)}): {only_right[:KEYS_SHOWN]}")
        lines.append(f"keys whose values differ ({len(differ)}): {differ[:KEYS_SHOWN]}")
        for key in differ[:KEYS_SHOWN]:
            lines.extend(_describe(f"[{key!r}]", left[key], right[key]))
        return lines
    return lines + _describe("value", left, right)


def compact(op: str, left: Any, right: Any) -> list[str] | None:
    """The compact explanation of a failed comparison, or None where pytest's own applies
    (another operator, small values, values this module cannot describe)."""
    if op != "==":
        return None
    try:
        return explain(left, right) if is_big(left, right) else None
    except Exception:  # noqa: BLE001 - a repr or an accessor that raises: pytest's own
        return None


def _answering(pytests: Compare, escape: bool) -> Compare:
    """pytest's per-test comparison explainer with large `==` answered first, its lines
    joined and escaped the way pytest joins a hook's answer (newlines, then % for rewritten
    asserts)."""

    def reprcompare(op: str, left: Any, right: Any) -> str | None:
        lines = compact(op, left, right)
        if lines is None:
            return pytests(op, left, right)
        text = "\n~".join(line.replace("\n", "\\n") for line in lines)
        return text.replace("%", "%%") if escape else text

    return reprcompare


class CompactAsserts:
    """The pytest plugin (conftest registers it)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        pytests = getattr(assertion_util, "_reprcompare", None)
        if pytests is None:  # pytest without its per-test explainer: explain as it does
            return (yield)
        escape = item.config.getvalue("assertmode") == "rewrite"
        assertion_util._reprcompare = _answering(pytests, escape)
        try:
            return (yield)
        finally:
            assertion_util._reprcompare = pytests


def active() -> bool:
    """Whether the plugin answers in this test (pytest's explainer is wrapped)."""
    current = getattr(assertion_util, "_reprcompare", None)
    return getattr(current, "__name__", "") == "reprcompare"
