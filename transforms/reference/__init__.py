"""Reference data: dated maintenance-tier tables per venue and symbol, and price-scale rules.

`tiers` reads and validates the seeded tier table (`data/leverage_tiers.csv`) plus an optional
user file (`LIQMAP_TIERS_FILE`) and loads them into `ref.leverage_brackets`; `bins` derives a
symbol's price-bin size and display decimals from its price level.
"""
