"""Parsing archive zips: header sniffing, units, schema drift, and the genuine archive file."""

from __future__ import annotations

from datetime import datetime

import pytest
from ingest_helpers import rezip, write_archive

from transforms.raw.venues.binance import CorruptArchive
from transforms.raw.venues.binance.datasets import KLINE_COLUMNS
from transforms.raw.venues.binance.parsing import extract_csv, parse_zip, sniff_header

GENUINE = "roshan7869-algotrading/futures-um-klines-BTCUSDT-1h-2024-10-28.zip"
HEADER = ",".join(KLINE_COLUMNS)
ROW_MS = (
    "1735689600000,93500.1,93600.0,93400.5,93550.2,120.5,1735689659999,"
    "11270000.1,1500,60.2,5630000.5,0"
)
ROW_US = (
    "1735689600000000,93500.1,93600.0,93400.5,93550.2,120.5,1735689659999999,"
    "11270000.1,1500,60.2,5630000.5,0"
)


def _zip(tmp_path, name, text):
    rel = f"daily/klines/BTCUSDT/1m/{name}.zip"
    return write_archive(tmp_path / "m", rel, f"{name}.csv", text)


def test_genuine_archive_zip_parses_with_the_same_parser(real_data_dir, tmp_path):
    df = parse_zip(real_data_dir / GENUINE, "klines_1m", tmp_path)
    assert len(df) == 24
    assert df["open_time"].iloc[0] == datetime(2024, 10, 28, 0, 0)
    assert df["open_time"].iloc[-1] == datetime(2024, 10, 28, 23, 0)
    assert {t.date().isoformat() for t in df["open_time"]} == {"2024-10-28"}
    assert df["close_time"].iloc[0] == datetime(2024, 10, 28, 0, 59, 59, 999000)
    assert df["open"].iloc[0] == pytest.approx(67992.7)
    assert df["trade_count"].iloc[0] == 85022
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    csv = extract_csv(real_data_dir / GENUINE, "klines_1m", tmp_path)
    assert csv.has_header


def test_headered_and_headerless_give_identical_rows(tmp_path):
    a = parse_zip(
        _zip(tmp_path, "BTCUSDT-1m-2025-01-01", f"{HEADER}\n{ROW_MS}\n"), "klines_1m", tmp_path
    )
    b = parse_zip(_zip(tmp_path, "BTCUSDT-1m-2025-01-02", f"{ROW_MS}\n"), "klines_1m", tmp_path)
    assert a.equals(b)
    assert a["open_time"].iloc[0] == datetime(2025, 1, 1)


def test_microsecond_epochs_are_detected(tmp_path):
    ms = parse_zip(_zip(tmp_path, "BTCUSDT-1m-2025-01-01", f"{ROW_MS}\n"), "klines_1m", tmp_path)
    us = parse_zip(_zip(tmp_path, "BTCUSDT-1m-2025-01-03", f"{ROW_US}\n"), "klines_1m", tmp_path)
    assert us["open_time"].iloc[0] == ms["open_time"].iloc[0] == datetime(2025, 1, 1)
    assert us["close_time"].iloc[0] == datetime(2025, 1, 1, 0, 0, 59, 999999)


def test_metrics_create_time_string_and_empty_values(tmp_path):
    text = (
        "create_time,symbol,sum_open_interest,sum_open_interest_value,"
        "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,"
        "count_long_short_ratio,sum_taker_long_short_vol_ratio\n"
        "2025-01-01 00:05:00,BTCUSDT,80000.5,7500000000.25,1.5,1.2,1.9,0.95\n"
        "2025-01-01 00:10:00,BTCUSDT,80001.5,7500100000.25,,1.2,1.9,\n"
    )
    path = write_archive(
        tmp_path / "m",
        "daily/metrics/BTCUSDT/BTCUSDT-metrics-2025-01-01.zip",
        "BTCUSDT-metrics-2025-01-01.csv",
        text,
    )
    df = parse_zip(path, "metrics", tmp_path)
    assert list(df["create_time"]) == [datetime(2025, 1, 1, 0, 5), datetime(2025, 1, 1, 0, 10)]
    assert df["sum_open_interest_value"].iloc[0] == pytest.approx(7.50000000025e9)
    assert df["count_toptrader_long_short_ratio"].isna().iloc[1]


def test_funding_calc_time_is_floored_to_the_hour(tmp_path):
    text = "calc_time,funding_interval_hours,last_funding_rate\n1751328000007,8,0.00010000\n"
    path = write_archive(
        tmp_path / "m",
        "monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2025-07.zip",
        "BTCUSDT-fundingRate-2025-07.csv",
        text,
    )
    df = parse_zip(path, "funding", tmp_path)
    assert df["calc_time"].iloc[0] == datetime(2025, 7, 1, 0, 0)
    assert df["funding_interval_hours"].iloc[0] == 8
    assert df["last_funding_rate"].iloc[0] == pytest.approx(0.0001)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (HEADER.replace("count", "trades") + "\n" + ROW_MS + "\n", "does not match"),
        (HEADER + ",extra\n" + ROW_MS + "\n", "does not match"),
        (ROW_MS + ",7\n", "13 columns"),
        (ROW_MS.rsplit(",", 1)[0] + "\n", "11 columns"),
        (f"{HEADER}\n{ROW_MS}\n{ROW_MS},9\n", "cannot parse"),
        (f"{HEADER}\n{ROW_MS}\nabc,1,2,3,4,5,6,7,8,9,10,11\n", "cannot parse"),
        ("", "empty"),
    ],
)
def test_schema_drift_is_corrupt_archive(tmp_path, text, match):
    path = _zip(tmp_path, "BTCUSDT-1m-2025-01-05", text)
    with pytest.raises(CorruptArchive, match=match):
        parse_zip(path, "klines_1m", tmp_path)


def test_unexpected_members_and_bad_zips(tmp_path):
    two = tmp_path / "two.zip"
    import zipfile

    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", ROW_MS)
        zf.writestr("b.csv", ROW_MS)
    with pytest.raises(CorruptArchive, match="exactly one"):
        parse_zip(two, "klines_1m", tmp_path)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rezip("x.csv", ROW_MS.encode())[:-30])
    with pytest.raises(CorruptArchive, match="zip"):
        parse_zip(bad, "klines_1m", tmp_path)


def test_sniff_header_rules():
    assert sniff_header(HEADER + "\r\n", "klines_1m", "x") is True
    assert sniff_header(ROW_MS, "klines_1m", "x") is False
    assert sniff_header("2025-01-01 00:00:00,BTCUSDT,1,2,3,4,5,6", "metrics", "x") is False
    with pytest.raises(CorruptArchive):
        sniff_header("calc_time,rate", "funding", "x")
