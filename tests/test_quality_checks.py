"""The raw tables' data checks (transforms.raw.quality): every symbol's window in one query
finds each kind of bad day, named with its count, and nothing else."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from transforms.db import warehouse
from transforms.raw.quality import CheckOutcome, check_dataset, check_markets

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def _klines(conn, venue: str, symbol: str, day: date, change=None) -> None:
    """A complete day of plausible 1-minute klines, `change(rows)` applied."""
    start = datetime(day.year, day.month, day.day)
    rows = [
        [venue, symbol, day, start + timedelta(minutes=i), 100.0, 101.0, 99.0, 100.0]
        for i in range(1440)
    ]
    if change is not None:
        change(rows)
    conn.register("_rows", pd.DataFrame(rows, columns=["v", "s", "d", "t", "o", "h", "l", "c"]))
    conn.execute(
        "INSERT INTO raw.klines_1m (venue, symbol, day, open_time, open, high, low, close) "
        "SELECT * FROM _rows"
    )
    conn.unregister("_rows")


def _failures(outcomes: list[CheckOutcome]) -> dict[str, list[tuple[str, int]]]:
    return {o.name: o.failures for o in outcomes if not o.passed}


def test_checks_of_every_symbol_in_one_query_name_each_bad_day(tmp_path):
    with warehouse(tmp_path / "w.duckdb") as conn:
        for day in (D1, D2, D3):
            _klines(conn, "binance", "GOODUSDT", day)
        _klines(conn, "binance", "BADUSDT", D1, lambda rows: rows.pop(7))  # 1439 rows
        # a repeated minute (1441 rows) and an impossible bar (low above high)
        _klines(
            conn,
            "binance",
            "BADUSDT",
            D2,
            lambda rows: (rows.append(list(rows[5])), rows[9].__setitem__(6, 102.0)),
        )
        # a row whose time is in the next day
        _klines(
            conn,
            "binance",
            "BADUSDT",
            D3,
            lambda rows: rows[-1].__setitem__(3, datetime(2026, 3, 4, 0, 5)),
        )
        _klines(conn, "bybit", "BADUSDT", D1, lambda rows: rows.pop(0))  # another venue's
        windows = {"GOODUSDT": (D1, D3 + timedelta(days=1)), "BADUSDT": (D1, date(2026, 3, 5))}
        found = check_markets(conn, "klines_1m", "binance", windows)
        assert [o.name for o in found["GOODUSDT"]] == [
            "complete_days",
            "no_duplicate_timestamps",
            "monotone_timestamps",
            "prices_sane",
        ]
        assert all(o.passed for o in found["GOODUSDT"])
        assert _failures(found["BADUSDT"]) == {
            # 2026-03-04: in the window, no rows at all
            "complete_days": [("2026-03-01", 1439), ("2026-03-02", 1441), ("2026-03-04", 0)],
            "no_duplicate_timestamps": [("2026-03-02", 1)],
            # the repeated minute is not after the one before it either
            "monotone_timestamps": [("2026-03-02", 1), ("2026-03-03", 1)],
            "prices_sane": [("2026-03-02", 1)],
        }
        # one symbol's window alone gives the same as within the batch
        assert check_dataset(conn, "klines_1m", "BADUSDT", D2, D3, "binance") == [
            CheckOutcome("complete_days", False, [("2026-03-02", 1441)]),
            CheckOutcome("no_duplicate_timestamps", False, [("2026-03-02", 1)]),
            CheckOutcome("monotone_timestamps", False, [("2026-03-02", 1)]),
            CheckOutcome("prices_sane", False, [("2026-03-02", 1)]),
        ]
        assert _failures(check_dataset(conn, "klines_1m", "BADUSDT", D1, D2, "bybit")) == {
            "complete_days": [("2026-03-01", 1439)]
        }
        conn.execute(
            "INSERT INTO raw.metrics_5m (venue, symbol, day, create_time, sum_open_interest, "
            "sum_open_interest_value) SELECT 'binance', 'BADUSDT', DATE '2026-03-01', t, "
            "CASE WHEN t = TIMESTAMP '2026-03-01 10:00' THEN -1 ELSE 5 END, 500 "
            "FROM range(TIMESTAMP '2026-03-01', TIMESTAMP '2026-03-02', INTERVAL 5 MINUTE) r(t)"
        )
        assert _failures(check_dataset(conn, "metrics", "BADUSDT", D1, D2, "binance")) == {
            "open_interest_non_negative": [("2026-03-01", 1)]
        }
        empty = check_markets(conn, "funding", "binance", {"BADUSDT": (D2, D2)})
        assert [(o.name, o.passed) for o in empty["BADUSDT"]] == [
            ("no_duplicate_timestamps", True),
            ("monotone_timestamps", True),
        ]
