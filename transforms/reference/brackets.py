"""The model's view of the tier tables: one venue's dated brackets for one symbol.

The tiers themselves come from one place, `transforms.reference.tiers` (the seeded CSV plus
the user's LIQMAP_TIERS_FILE, loaded into `ref.leverage_brackets` by `load_tiers`). This
module only reads them back in the column layout the model uses (BRACKET_COLUMNS), always
filtered by venue, since two venues' tables for one symbol describe different exchanges.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from transforms.model.brackets import BRACKET_COLUMNS
from transforms.reference.tiers import tier_table

READ_BRACKETS_SQL = """
SELECT * FROM ref.leverage_brackets
WHERE venue = $venue AND symbol = $symbol
ORDER BY effective_date, bracket
"""


def bracket_table(symbol: str, venue: str, tiers_file: str | Path | None = None) -> pd.DataFrame:
    """Every dated snapshot of one venue/symbol from the tier files, as model bracket rows
    (no database needed: tests and benchmarks use it)."""
    t = tier_table(tiers_file)
    t = t[(t["venue"] == venue) & (t["symbol"] == symbol)]
    df = t.rename(columns={"tier": "bracket", "maint_amount": "cum"})[BRACKET_COLUMNS]
    return df.astype({"bracket": "int64"}).reset_index(drop=True)


def load_brackets(
    conn: duckdb.DuckDBPyConnection,
    symbol: str,
    as_of: date | None = None,
    *,
    venue: str,
) -> pd.DataFrame:
    """Dated bracket snapshots of `venue` for `symbol` from `ref.leverage_brackets`.

    With `as_of`, only the snapshot in force that day (newest effective_date <= as_of; before
    the first snapshot, the earliest one). Without it, every snapshot: the model then prices
    each cohort with the table in force on its opening day, so a day's numbers do not depend
    on how far the run's window reaches.
    """
    df = conn.execute(READ_BRACKETS_SQL, {"venue": venue, "symbol": symbol}).df()
    if df.empty:
        raise LookupError(
            f"no {venue} leverage brackets for {symbol} in ref.leverage_brackets; "
            "load_tiers loads them (README 'Adding a symbol')"
        )
    df["effective_date"] = pd.to_datetime(df["effective_date"]).dt.date
    if as_of is None:
        return df[BRACKET_COLUMNS].reset_index(drop=True)
    eligible = df.loc[df["effective_date"] <= as_of, "effective_date"]
    eff = eligible.max() if len(eligible) else df["effective_date"].min()
    out = df[df["effective_date"] == eff].sort_values("bracket").reset_index(drop=True)
    return out[BRACKET_COLUMNS]
