"""Model parameters (plain JSON types, hashable); named scenarios are in scenarios.py.

Every mart row carries `params_hash`, a short sha256 of the canonical JSON of the parameter
set that produced it, and `mart.model_params` keeps the JSON, so any number on the site can be
traced back to its assumptions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIDE_SPLITS = ("taker", "symmetric")
CLOSINGS = ("total_oi", "never")


@dataclass(frozen=True)
class ModelParams:
    """Every knob of the liquidation model v1 (see docs/methodology.md for meanings)."""

    # Leverage mix: each new cohort is spread over these levels with these weights.
    leverage_levels: tuple[float, ...] = (5.0, 10.0, 25.0, 50.0, 100.0)
    leverage_weights: tuple[float, ...] = (0.10, 0.25, 0.30, 0.20, 0.15)
    side_split: str = "taker"  # "taker" (long share r/(1+r)) | "symmetric" (50/50)
    closing: str = "total_oi"  # "total_oi" (pro-rata vs total OI) | "never" (vendor-style)
    lookback_days: int = 365
    position_notional: float = 50_000.0  # representative position (USDT) for bracket lookup
    bin_size: float = 250.0  # liq_map / peak-cluster price bin (USDT)
    heatmap_bin_size: float = 500.0  # heatmap price bin (USDT)
    heatmap_range_pct: float = 0.5  # heatmap rows within the day's closes -/+ 50 % (rules.py)
    zigzag_pct: float = 0.10  # minimum swing for mart.moves
    ceiling_quantile: float = 0.90  # squeeze ceiling / flush floor cumulative point
    # Funding (rates are fractions per settlement; 0.0001 = 0.01 % per 8 h).
    funding_interval_hours: float = 8.0
    funding_mean_days: int = 7
    funding_elevated: float = 0.0002  # 7d mean >= this -> "elevated" (~21.9 %/yr at 8 h)
    funding_negative: float = 0.0  # 7d mean < this -> "negative"
    funding_reset_days: int = 30  # neutral within this many days after "elevated" -> "reset"
    funding_pctile_days: int = 365
    # Consolidation zone: walk back over daily closes while (max-min)/min <= zone_width_pct.
    zone_width_pct: float = 0.10
    zone_min_days: int = 3  # shorter runs -> no zone (NULL low/high)
    zone_max_days: int = 365

    def __post_init__(self) -> None:
        levels = tuple(float(x) for x in self.leverage_levels)
        weights = tuple(float(x) for x in self.leverage_weights)
        object.__setattr__(self, "leverage_levels", levels)
        object.__setattr__(self, "leverage_weights", weights)
        if len(levels) != len(weights) or not levels:
            raise ValueError("leverage_levels and leverage_weights must be non-empty, same length")
        if any(x < 1.0 for x in levels):
            raise ValueError("leverage levels must be >= 1")
        if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-9:
            raise ValueError(f"leverage_weights must be >= 0 and sum to 1, got {weights}")
        if self.side_split not in SIDE_SPLITS:
            raise ValueError(f"side_split must be one of {SIDE_SPLITS}")
        if self.closing not in CLOSINGS:
            raise ValueError(f"closing must be one of {CLOSINGS}")
        for name in ("bin_size", "heatmap_bin_size", "position_notional", "zigzag_pct"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if not 0 < self.ceiling_quantile <= 1:
            raise ValueError("ceiling_quantile must be in (0, 1]")
        if self.lookback_days < 1:
            raise ValueError("lookback_days must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, floats as Python repr."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def params_hash(self) -> str:
        """Stable 12-hex-digit sha256 prefix of the canonical JSON (computed once: a run
        asks for it per market, scenario and output)."""
        cached = self.__dict__.get("_params_hash")
        if cached is None:
            cached = hashlib.sha256(self.to_json().encode()).hexdigest()[:12]
            object.__setattr__(self, "_params_hash", cached)
        return cached

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelParams:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model parameters: {sorted(unknown)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)

    @classmethod
    def from_json(cls, s: str) -> ModelParams:
        return cls.from_dict(json.loads(s))
