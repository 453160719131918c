"""The scenario registry: every named parameter variant, its label, and how it derives.

Marts compute daily metrics for each scenario (in this order); the report labels and orders
them from here. Adding a scenario is one entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from transforms.model.params import ModelParams

LOW_LEVERAGE_WEIGHTS = (0.30, 0.35, 0.20, 0.10, 0.05)
HIGH_LEVERAGE_WEIGHTS = (0.05, 0.10, 0.25, 0.30, 0.30)
DEFAULT_LEVELS = (5.0, 10.0, 25.0, 50.0, 100.0)


def _reweight(p: ModelParams, weights: tuple[float, ...]) -> ModelParams:
    return dataclasses.replace(p, leverage_levels=DEFAULT_LEVELS, leverage_weights=weights)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    derive: Callable[[ModelParams], ModelParams]


_ENTRIES = (
    Scenario("base", "Base model", lambda p: p),
    Scenario(
        "never_close",
        "Never close (vendor-style)",
        lambda p: dataclasses.replace(p, closing="never"),
    ),
    Scenario("low_leverage", "Low leverage mix", lambda p: _reweight(p, LOW_LEVERAGE_WEIGHTS)),
    Scenario("high_leverage", "High leverage mix", lambda p: _reweight(p, HIGH_LEVERAGE_WEIGHTS)),
)

#: name -> how its parameters derive from the base parameters, in display order
SCENARIOS: MappingProxyType[str, Callable[[ModelParams], ModelParams]] = MappingProxyType(
    {s.name: s.derive for s in _ENTRIES}
)
SCENARIO_NAMES: tuple[str, ...] = tuple(s.name for s in _ENTRIES)
SCENARIO_LABELS: MappingProxyType[str, str] = MappingProxyType({s.name: s.label for s in _ENTRIES})


def scenario_params(base: ModelParams, scenario: str) -> ModelParams:
    """The parameter set of a named scenario derived from `base`."""
    try:
        return SCENARIOS[scenario](base)
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {sorted(SCENARIOS)}") from None
