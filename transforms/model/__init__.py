"""The liquidation model v1 (pure numpy/pandas): cohorts, consumption, closing, metrics."""

from transforms.model.aggregate import Grid, alive_grid
from transforms.model.bars import BarArrays
from transforms.model.brackets import (
    bracket_for,
    bracket_table,
    liquidation_price,
    load_brackets,
    seed_brackets,
)
from transforms.model.cohorts import ALIVE, EXPIRED, LIQUIDATED, LONG, SHORT, ModelRun, run_model
from transforms.model.params import SCENARIOS, ModelParams, scenario_params

__all__ = [
    "ALIVE",
    "EXPIRED",
    "LIQUIDATED",
    "LONG",
    "SCENARIOS",
    "SHORT",
    "BarArrays",
    "Grid",
    "ModelParams",
    "ModelRun",
    "alive_grid",
    "bracket_for",
    "bracket_table",
    "liquidation_price",
    "load_brackets",
    "run_model",
    "scenario_params",
    "seed_brackets",
]
