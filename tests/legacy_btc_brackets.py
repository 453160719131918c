"""The BTCUSDT brackets the model used before the tier file (transforms/reference/data):
kept only so tests can prove the tier file prices BTC exactly as before."""

from __future__ import annotations

from datetime import date

import pandas as pd

from transforms.model.brackets import BRACKET_COLUMNS

_SRC_2021 = (
    "Binance announcement 2021-03-18 'Adjustment of leverage and margin tiers' BTCUSDT "
    "(research/liquidation-methods.md s.1: 50k 0.40% 125x | 250k 0.5% 100x | 1M 1% 50x | "
    "10M 2.5% 20x | 20M 5% 10x | 50M 10% 5x | ... | 500M 50% 1x); cum computed"
)
_SRC_2021_GAP = (
    "tier elided ('...') in the research note; cap/MMR/leverage from Binance's published "
    "2021 BTCUSDT table as remembered, NOT verified against a primary source; cum computed"
)
_SRC_LATER = (
    "later code snapshot (research/liquidation-methods.md s.1: 50k 0.4% 0 | 600k 0.5% 50 | "
    "3M 0.65% 950 | 12M 1% 11,450 | 70M 2% 131,450); effective date approximate "
    "(snapshot undated); max leverage not in the note, Binance's 125/100/75/50/25x of that era"
)
_SRC_2026 = (
    "exchangeInfo/leverageBracket capture 2026-09-02 (research/liquidation-methods.md s.1: "
    "0-300k 0.4% up to 150x; 300k-800k 0.5% cum 300); only the first 2 of 12 tiers transcribed"
)

# (effective_date, [(cap, mmr, max_leverage, source)...]); floors are the previous cap.
_SNAPSHOTS: list[tuple[date, list[tuple[float, float, float, str]]]] = [
    (
        date(2021, 3, 18),
        [
            (50_000, 0.004, 125, _SRC_2021),
            (250_000, 0.005, 100, _SRC_2021),
            (1_000_000, 0.01, 50, _SRC_2021),
            (10_000_000, 0.025, 20, _SRC_2021),
            (20_000_000, 0.05, 10, _SRC_2021),
            (50_000_000, 0.10, 5, _SRC_2021),
            (100_000_000, 0.125, 4, _SRC_2021_GAP),
            (200_000_000, 0.15, 3, _SRC_2021_GAP),
            (300_000_000, 0.25, 2, _SRC_2021_GAP),
            (500_000_000, 0.50, 1, _SRC_2021),
        ],
    ),
    (
        date(2023, 1, 1),
        [
            (50_000, 0.004, 125, _SRC_LATER),
            (600_000, 0.005, 100, _SRC_LATER),
            (3_000_000, 0.0065, 75, _SRC_LATER),
            (12_000_000, 0.01, 50, _SRC_LATER),
            (70_000_000, 0.02, 25, _SRC_LATER),
        ],
    ),
    (
        date(2026, 9, 2),
        [
            (300_000, 0.004, 150, _SRC_2026),
            (800_000, 0.005, 100, _SRC_2026),
        ],
    ),
]


def legacy_bracket_table(symbol: str = "BTCUSDT") -> pd.DataFrame:
    """All seeded snapshots as rows of `ref.leverage_brackets` (cum computed, not typed in)."""
    rows = []
    for eff, tiers in _SNAPSHOTS:
        floor, prev_mmr, cum = 0.0, 0.0, 0.0
        for n, (cap, mmr, lev, src) in enumerate(tiers, start=1):
            cum = round(cum + floor * (mmr - prev_mmr), 6) if n > 1 else 0.0  # exact cents
            rows.append((symbol, eff, n, floor, float(cap), float(lev), mmr, cum, src))
            floor, prev_mmr = float(cap), mmr
    df = pd.DataFrame(rows, columns=BRACKET_COLUMNS)
    df["effective_date"] = pd.to_datetime(df["effective_date"]).dt.date
    return df
