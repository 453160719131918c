"""Dated maintenance tiers: seeded table, user file, validation, loading into a DuckDB file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.legacy_btc_brackets import legacy_bracket_table
from transforms.db import open_warehouse
from transforms.model import ModelParams
from transforms.model.brackets import lp_ratios
from transforms.reference.tiers import (
    TIER_COLUMNS,
    MissingTiersError,
    TierFileError,
    load_tiers,
    main,
    read_tiers_file,
    require_tiers,
    seed_tiers_path,
    tier_table,
    tiers_file_from_env,
)

SEEDED_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]
HEADER = ",".join(TIER_COLUMNS)
SRC = "test fixture (not a venue's table)"
# A small valid two-snapshot table for a symbol nothing seeds: cum 0, 0 + 10000*(0.01-0.005)=50
USER_ROWS = [
    f"binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,50,{SRC}",
    f"binance,TESTUSDT,2025-01-01,2,10000,50000,0.01,50,25,{SRC}",
    f"binance,TESTUSDT,2025-01-01,3,50000,250000,0.025,800,10,{SRC}",
]


def in_force(
    table: pd.DataFrame, venue: str, symbol: str, day: date, tier_column: str = "tier"
) -> pd.DataFrame:
    """The snapshot in force on `day` (newest effective_date <= day), ordered by tier."""
    rows = table[(table["venue"] == venue) & (table["symbol"] == symbol)]
    eff = rows.loc[rows["effective_date"] <= day, "effective_date"].max()
    return rows[rows["effective_date"] == eff].sort_values(tier_column).reset_index(drop=True)


def write(tmp_path: Path, lines: list[str], name: str = "tiers.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def warehouse_rows(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(
        "SELECT venue, symbol, effective_date, bracket, notional_floor, notional_cap, "
        "maint_margin_rate, cum, max_leverage, source FROM ref.leverage_brackets "
        "ORDER BY ALL"
    ).fetchall()


# --- the seeded table ------------------------------------------------------------------------


def test_seed_table_covers_five_symbols_with_dated_sourced_snapshots():
    seeded = read_tiers_file(seed_tiers_path())
    assert set(seeded["venue"]) == {"binance"}
    for symbol in SEEDED_SYMBOLS:
        snaps = seeded.loc[seeded["symbol"] == symbol, "effective_date"].unique()
        assert len(snaps) >= 2, symbol
    assert seeded["source"].str.len().min() > 20
    freqtrade = seeded[seeded["source"].str.contains("github.com/freqtrade/freqtrade/blob/")]
    assert set(freqtrade["symbol"]) == set(SEEDED_SYMBOLS)
    # a dated link to one commit, never a moving branch
    assert freqtrade["source"].str.contains(r"/blob/[0-9a-f]{40}/", regex=True).all()


def test_seed_keeps_the_existing_btc_brackets_exactly():
    seeded = read_tiers_file(seed_tiers_path())
    old = legacy_bracket_table("BTCUSDT")
    for eff in old["effective_date"].unique():
        ours = seeded[(seeded["symbol"] == "BTCUSDT") & (seeded["effective_date"] == eff)]
        theirs = old[old["effective_date"] == eff]
        assert ours["tier"].tolist() == theirs["bracket"].tolist()
        for a, b in [
            ("notional_floor", "notional_floor"),
            ("notional_cap", "notional_cap"),
            ("maint_margin_rate", "maint_margin_rate"),
            ("maint_amount", "cum"),
            ("max_leverage", "max_leverage"),
            ("source", "source"),
        ]:
            assert ours[a].tolist() == theirs[b].tolist(), (eff, a)


def test_seed_matches_the_research_note_examples():
    # research/venues-and-scale.md s.4 (freqtrade history): ETH tier 1 0-100k at 0.5 % (2023-06),
    # 0-200k at 0.5 % (2023-12), 0-50k at 0.4 % (2024-10); SOL 0-50k at 1 % (2023-06),
    # 0-20k at 0.5 % (2024-10).
    seeded = read_tiers_file(seed_tiers_path())
    cases = [
        ("ETHUSDT", date(2023, 6, 30), 100_000, 0.005),
        ("ETHUSDT", date(2023, 12, 31), 200_000, 0.005),
        ("ETHUSDT", date(2024, 10, 31), 50_000, 0.004),
        ("SOLUSDT", date(2023, 6, 30), 50_000, 0.01),
        ("SOLUSDT", date(2024, 10, 31), 20_000, 0.005),
    ]
    for symbol, day, cap, mmr in cases:
        first = in_force(seeded, "binance", symbol, day).iloc[0]
        assert (first["notional_floor"], first["notional_cap"]) == (0, cap), (symbol, day)
        assert first["maint_margin_rate"] == mmr, (symbol, day)
    # Binance's published cum for BTC (research/liquidation-methods.md s.1), 2024 snapshot
    btc = in_force(seeded, "binance", "BTCUSDT", date(2024, 10, 31))
    assert btc["maint_amount"].tolist()[:5] == [0, 50, 950, 11_450, 131_450]


def test_btc_liquidation_ratios_unchanged_over_the_demo_window():
    # Swapping the model's built-in BTC brackets for this table must not move BTC's numbers:
    # on every cohort opening day the demo can see (a year of lookback before 2025-11-01
    # through 2026-10-31), the table in force prices the default position identically.
    # Tables are piecewise constant in time, so checking each change day covers every day.
    p = ModelParams()
    args = (p.leverage_levels, p.position_notional)
    ours = read_tiers_file(seed_tiers_path()).rename(
        columns={"tier": "bracket", "maint_amount": "cum"}
    )
    theirs = legacy_bracket_table("BTCUSDT").assign(venue="binance")
    first, last = date(2024, 11, 1), date(2026, 10, 31)
    changes = set(ours["effective_date"]) | set(theirs["effective_date"])
    days = [first] + sorted(d for d in changes if first < d <= last)
    assert date(2026, 9, 2) in days
    for day in days:
        a = lp_ratios(in_force(ours, "binance", "BTCUSDT", day, "bracket"), *args)
        b = lp_ratios(in_force(theirs, "binance", "BTCUSDT", day, "bracket"), *args)
        for x, y in zip(a, b, strict=True):
            assert x.tolist() == y.tolist(), day


# --- loading into a real warehouse file ------------------------------------------------------


def test_load_is_idempotent_in_a_warehouse_file(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    conn = open_warehouse(db)
    try:
        n = load_tiers(conn)
        first = warehouse_rows(conn)
        assert load_tiers(conn) == n == len(first)
        assert warehouse_rows(conn) == first
    finally:
        conn.close()
    conn = duckdb.connect(str(db), read_only=True)
    try:
        assert warehouse_rows(conn) == first
        eth = conn.execute(
            "SELECT bracket, notional_floor, notional_cap, maint_margin_rate, cum, max_leverage "
            "FROM ref.leverage_brackets WHERE venue = 'binance' AND symbol = 'ETHUSDT' "
            "AND effective_date = DATE '2024-05-30' ORDER BY bracket LIMIT 3"
        ).fetchall()
    finally:
        conn.close()
    assert eth == [
        (1, 0.0, 50_000.0, 0.004, 0.0, 125.0),
        (2, 50_000.0, 600_000.0, 0.005, 50.0, 100.0),
        (3, 600_000.0, 3_000_000.0, 0.0065, 950.0, 75.0),
    ]


def test_user_file_adds_and_overrides_and_reruns_cleanly(tmp_path):
    seeded = read_tiers_file(seed_tiers_path())
    eth_day = date(2024, 5, 30)
    assert len(in_force(seeded, "binance", "ETHUSDT", eth_day)) == 12
    override = [  # the ETH 2024-05-30 table replaced as a whole by a two-tier one
        f"binance,ETHUSDT,{eth_day},1,0,100000,0.004,0,125,{SRC}",
        f"binance,ETHUSDT,{eth_day},2,100000,900000,0.005,,100,{SRC}",  # blank cum: computed
    ]
    user = write(tmp_path, USER_ROWS + override)
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    try:
        load_tiers(conn)  # seeds only first: the override must replace these rows
        n = load_tiers(conn, user)
        assert load_tiers(conn, user) == n
        rows = warehouse_rows(conn)
        assert len(rows) == n == len(seeded) - 12 + 2 + 3
        eth = conn.execute(
            "SELECT bracket, notional_cap, cum, source FROM ref.leverage_brackets "
            "WHERE symbol = 'ETHUSDT' AND effective_date = ? ORDER BY bracket",
            [eth_day],
        ).fetchall()
        assert eth == [(1, 100_000.0, 0.0, SRC), (2, 900_000.0, 100.0, SRC)]
        assert conn.execute(
            "SELECT count(*) FROM ref.leverage_brackets WHERE symbol = 'TESTUSDT'"
        ).fetchall() == [(3,)]
    finally:
        conn.close()


def test_older_warehouse_gains_the_venue_column(tmp_path):
    db = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(db))
    conn.execute("CREATE SCHEMA ref")
    conn.execute(
        "CREATE TABLE ref.leverage_brackets (symbol VARCHAR NOT NULL, effective_date DATE NOT "
        "NULL, bracket INTEGER NOT NULL, notional_floor DOUBLE NOT NULL, notional_cap DOUBLE NOT "
        "NULL, max_leverage DOUBLE NOT NULL, maint_margin_rate DOUBLE NOT NULL, cum DOUBLE NOT "
        "NULL, source VARCHAR)"
    )
    conn.execute(
        "INSERT INTO ref.leverage_brackets VALUES "
        "('BTCUSDT', DATE '2020-01-01', 1, 0, 50000, 125, 0.004, 0, 'older run')"
    )
    conn.close()
    conn = open_warehouse(db)
    try:
        assert conn.execute("SELECT venue, source FROM ref.leverage_brackets").fetchall() == [
            ("binance", "older run")
        ]
        load_tiers(conn)  # a snapshot the files do not define is left alone
        assert conn.execute(
            "SELECT count(*) FROM ref.leverage_brackets WHERE source = 'older run'"
        ).fetchall() == [(1,)]
    finally:
        conn.close()


# --- validation: one line naming file, line, column, rule, expected; nothing loaded ----------

BAD_FILES = [
    # (rows, line, column, words that must appear in the message)
    (["binance,TESTUSDT,2025-13-01,1,0,10000,0.005,0,50,s"], 2, "effective_date", "YYYY-MM-DD"),
    (["binance,TESTUSDT,01/02/2025,1,0,10000,0.005,0,50,s"], 2, "effective_date", "YYYY-MM-DD"),
    (["Binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,50,s"], 2, "venue", "lower-case"),
    (["binance,test-usdt,2025-01-01,1,0,10000,0.005,0,50,s"], 2, "symbol", "upper-case"),
    (["binance,TESTUSDT,2025-01-01,0,0,10000,0.005,0,50,s"], 2, "tier", "integer >= 1"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,1.5,0,50,s"], 2, "maint_margin_rate", "(0, 1)"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,0,0,50,s"], 2, "maint_margin_rate", "(0, 1)"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,abc,0,50,s"], 2, "maint_margin_rate", "decimal"),
    (["binance,TESTUSDT,2025-01-01,1,0,0,0.005,0,50,s"], 2, "notional_cap", "> 0"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,0.5,s"], 2, "max_leverage", ">= 1"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,50,"], 2, "source", "come from"),
    (["binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,50"], 2, "*", "10 fields"),
    (["binance,TESTUSDT,2025-01-01,1,5,10000,0.005,0,50,s"], 2, "notional_floor", "expected 0"),
    (  # floor of tier 2 must equal tier 1's cap
        [USER_ROWS[0], "binance,TESTUSDT,2025-01-01,2,20000,50000,0.01,100,25,s"],
        3,
        "notional_floor",
        "expected 10000",
    ),
    (  # cum must follow cum_i = cum_{i-1} + floor_i (mmr_i - mmr_{i-1}) = 50
        [USER_ROWS[0], "binance,TESTUSDT,2025-01-01,2,10000,50000,0.01,49,25,s"],
        3,
        "maint_amount",
        "expected 50",
    ),
    ([USER_ROWS[0], USER_ROWS[2]], 3, "tier", "expected tier 2"),  # a gap in the numbering
    ([USER_ROWS[0], USER_ROWS[0]], 3, "tier", "duplicate tier"),
    (  # rates must not fall from tier to tier
        [USER_ROWS[0], "binance,TESTUSDT,2025-01-01,2,10000,50000,0.004,0,25,s"],
        3,
        "maint_margin_rate",
        ">= 0.005",
    ),
]


@pytest.mark.parametrize(("rows", "line", "column", "words"), BAD_FILES)
def test_bad_rows_get_one_line_errors_and_nothing_loads(tmp_path, rows, line, column, words):
    bad = write(tmp_path, rows)
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    try:
        load_tiers(conn)
        before = warehouse_rows(conn)
        with pytest.raises(TierFileError) as err:
            load_tiers(conn, bad)
        assert warehouse_rows(conn) == before
    finally:
        conn.close()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{bad}:{line}: column {column!r}: ")
    assert words in message and "expected" in message


def test_bad_header_and_unreadable_file(tmp_path):
    typo = tmp_path / "typo.csv"
    typo.write_text(HEADER.replace("maint_amount", "maint_ammount") + "\n", encoding="utf-8")
    with pytest.raises(TierFileError, match=r"typo\.csv:1: column 'header': bad header"):
        read_tiers_file(typo)
    with pytest.raises(TierFileError, match=r"absent\.csv: cannot read tier file"):
        tier_table(tmp_path / "absent.csv")


def test_quoted_multiline_source_keeps_true_line_numbers(tmp_path):
    rows = [
        'binance,TESTUSDT,2025-01-01,1,0,10000,0.005,0,50,"a source\nover two lines"',
        "binance,TESTUSDT,2025-01-01,2,10000,50000,0.01,7,25,s",
    ]
    with pytest.raises(TierFileError, match=r"tiers\.csv:4: column 'maint_amount'"):
        read_tiers_file(write(tmp_path, rows))


# --- fail fast before downloading --------------------------------------------------------------


def test_require_tiers_passes_for_seeded_symbols():
    table = require_tiers(["binance"], SEEDED_SYMBOLS)
    assert set(SEEDED_SYMBOLS) <= set(table["symbol"])


def test_require_tiers_names_the_file_to_edit(tmp_path):
    user = write(tmp_path, USER_ROWS)
    with pytest.raises(MissingTiersError) as err:
        require_tiers(["binance", "bybit"], ["TESTUSDT", "ADAUSDT"], user)
    assert str(err.value) == (
        "no maintenance tiers for binance ADAUSDT, bybit TESTUSDT, bybit ADAUSDT; "
        f"add rows to {user} (see README 'Adding a symbol')"
    )
    with pytest.raises(MissingTiersError, match=r"binance ADAUSDT; .*set LIQMAP_TIERS_FILE"):
        require_tiers(["binance"], ["BTCUSDT", "ADAUSDT"])
    assert "TESTUSDT" in set(require_tiers(["binance"], ["TESTUSDT"], user)["symbol"])


def test_require_tiers_rejects_a_broken_user_file_first(tmp_path):
    bad = write(tmp_path, ["binance,TESTUSDT,2025-01-01,1,0,10000,2,0,50,s"])
    with pytest.raises(TierFileError, match="maint_margin_rate"):
        require_tiers(["binance"], ["BTCUSDT"], bad)


def test_tiers_file_from_env(tmp_path):
    assert tiers_file_from_env({}) is None
    assert tiers_file_from_env({"LIQMAP_TIERS_FILE": "  "}) is None
    path = tiers_file_from_env({"LIQMAP_TIERS_FILE": str(tmp_path / "t.csv")})
    assert path == (tmp_path / "t.csv").resolve()


def test_the_documented_example_file_is_valid(tmp_path):
    doc = (Path(__file__).resolve().parent.parent / "docs/adding-a-symbol.md").read_text()
    block = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.csv"
    path.write_text(block, encoding="utf-8")
    table = read_tiers_file(path)
    assert table["maint_amount"].tolist() == [0, 50, 800]
    assert "EXAMPLEUSDT" in set(require_tiers(["binance"], ["EXAMPLEUSDT"], path)["symbol"])


def test_check_command_reports_ok_or_the_error_line(tmp_path, capsys):
    assert main([str(write(tmp_path, USER_ROWS))]) == 0
    assert "ok, " in capsys.readouterr().out
    bad = write(tmp_path, [USER_ROWS[0], USER_ROWS[2]], name="bad.csv")
    assert main([str(bad)]) == 1
    assert capsys.readouterr().err.startswith(f"{bad}:3: column 'tier'")
