"""The log of the (table, day) partitions writers replace: what a publication re-reads.

The snapshot (transforms.publish) must know which partitions changed since it last
published. Hashing every row of every table answers that exactly but reads the whole
warehouse (~2.8 s at a year, most of it the model's heatmaps); the big day-partitioned
tables in `LOGGED_TABLES` are instead hashed again only on the days their writers noted here,
and on any day whose row count moved (transforms.publish.fingerprint). Every other table is
still hashed whole on every publication.

The rule for a writer of a table in `LOGGED_TABLES`: call `note_days` with the days it
replaces, in the same transaction as the write or before it (a crash after the note costs a
needless re-hash of the day; a note after the write could be lost). The call sites:

* transforms/marts/store.py `replace_markets`: the model marts' window, every market;
* transforms/staging/bars.py `build_bars_5m`: the window and the days before it refreshed;
* transforms/raw/venues/binance/loading.py (archive days), transforms/raw/venues/bybit/load.py
  `replace_days`, transforms/raw/rest/load.py `replace_venue_days`: the days replaced;
* transforms/raw/intraday/provisional.py (a day in progress) and
  transforms/raw/intraday/nowcast.py (its trim): that day.

A writer of these tables that does not note its days is caught only when it changes a day's
row count: a same-count rewrite would stay unpublished until the day is written again
(tests/test_snapshot_incremental.py compares the logged fingerprints with full ones).

Each note takes the next sequence number after the log's origin, a random number written
with the table (transforms/sql/schema.sql; a note on an empty log draws one too), so a
publication knows a rebuilt warehouse's log from the one it read before (`log_position`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date

import duckdb

CHANGES_TABLE = "main.changed_days"

#: tables every writer of which notes the days it replaces (the call sites above)
LOGGED_TABLES = frozenset(
    {
        "mart.liq_heatmap",
        "mart.liq_map",
        "mart.liq_layer_map",
        "mart.liq_layer_heatmap",
        "mart.daily_metrics",
        "raw.klines_1m",
        "raw.mark_klines_1m",
        "raw.metrics_5m",
        "stg.bars_5m",
    }
)

_NOTE_SQL = f"""
INSERT INTO {CHANGES_TABLE}
SELECT coalesce((SELECT max(seq) FROM {CHANGES_TABLE}), $origin) + 1, t.name, d.day
FROM unnest($tables) AS t(name), unnest($days) AS d(day)
"""


def note_days(conn: duckdb.DuckDBPyConnection, tables: Iterable[str], days: Iterable[date]) -> None:
    """Record that `tables` ('schema.table'; those not logged are ignored) have the rows of
    `days` replaced, inserted, updated or deleted."""
    names = sorted(set(tables) & LOGGED_TABLES)
    days = sorted(set(days))
    if names and days:
        # the origin of an empty log: random, so a recreated log never continues an old one
        origin = secrets.randbelow(2**52)
        conn.execute(_NOTE_SQL, {"origin": origin, "tables": names, "days": days})


def _qualified(catalog: str) -> str:
    schema, name = CHANGES_TABLE.split(".")
    return f'"{catalog.replace(chr(34), 2 * chr(34))}".{schema}.{name}'


def log_position(conn: duckdb.DuckDBPyConnection, catalog: str) -> tuple[int, int] | None:
    """(the log's first and last sequence numbers) of `catalog`, (0, 0) for an empty log,
    None without a log table."""
    try:
        row = conn.execute(f"SELECT min(seq), max(seq) FROM {_qualified(catalog)}").fetchone()
    except duckdb.CatalogException:
        return None
    return (int(row[0]), int(row[1])) if row[0] is not None else (0, 0)


def noted_since(conn: duckdb.DuckDBPyConnection, catalog: str, after: int) -> dict[str, set[date]]:
    """Table -> the days noted with a sequence number above `after`."""
    rows = conn.execute(
        f"SELECT DISTINCT table_name, day FROM {_qualified(catalog)} WHERE seq > $after",
        {"after": after},
    ).fetchall()
    out: dict[str, set[date]] = {}
    for table, day in rows:
        out.setdefault(table, set()).add(day)
    return out
