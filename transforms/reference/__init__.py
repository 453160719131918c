"""Reference data: dated maintenance-tier tables per venue and symbol, and price-scale rules.

`tiers` reads and validates the seeded tier table (`data/leverage_tiers.csv`) plus an optional
user file (`LIQMAP_TIERS_FILE`) and loads them into `ref.leverage_brackets` (the one tier
path); `brackets` reads one venue's dated brackets back for the model; `bins` derives a
symbol's price-bin size and display decimals from its price level.
"""

from transforms.reference.brackets import bracket_table, load_brackets
from transforms.reference.tiers import load_tiers, require_tiers, tiers_file_from_env

__all__ = ["bracket_table", "load_brackets", "load_tiers", "require_tiers", "tiers_file_from_env"]
