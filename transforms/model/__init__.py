"""The liquidation model v1 (pure numpy/pandas): cohorts, consumption, closing, metrics."""

from transforms.model.bars import BarArrays
from transforms.model.brackets import bracket_for, liquidation_price
from transforms.model.cohorts import ALIVE, EXPIRED, LIQUIDATED, LONG, SHORT, ModelRun, run_model
from transforms.model.grid import Grid, alive_grid
from transforms.model.params import ModelParams
from transforms.model.scenarios import SCENARIO_NAMES, SCENARIOS, scenario_params

__all__ = [
    "ALIVE",
    "EXPIRED",
    "LIQUIDATED",
    "LONG",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "SHORT",
    "BarArrays",
    "Grid",
    "ModelParams",
    "ModelRun",
    "alive_grid",
    "bracket_for",
    "liquidation_price",
    "run_model",
    "scenario_params",
]
