"""Staging layer: `stg.*` tables built in SQL from `raw.*` (the model's only input)."""

from transforms.staging.bars import build_bars_5m, incomplete_bar_days

__all__ = ["build_bars_5m", "incomplete_bar_days"]
