"""Marts layer: the registry of `mart.*` tables, building them from the model, storing them."""

from transforms.marts.build import build_marts
from transforms.marts.registry import MART_ASSETS, MARTS, Mart, MartFrames
from transforms.marts.store import read_bars, write_marts

__all__ = ["MARTS", "MART_ASSETS", "Mart", "MartFrames", "build_marts", "read_bars", "write_marts"]
