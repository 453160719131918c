"""Funding of the running month from the USDⓈ-M REST API (binance source), replaced by the
monthly archive file once it lands."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs

import dagster as dg
import pytest
from ingest_helpers import SEED, SYMBOL, ArchiveServer, Fault, hide, publish, read_member

from orchestration.assets.raw import raw_assets
from orchestration.assets.staging import stg_bars_5m
from tests.pipeline_helpers import run_chain, temp_settings
from transforms.db import warehouse
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance import SourceError
from transforms.raw.venues.binance.funding_rest import (
    fetch_funding_rest,
    funding_frame,
    parse_funding_json,
)

ENDPOINT = "fapi/v1/fundingRate"
OFFSET = 0.00005  # REST rates differ from the archive's, to tell the two apart
JITTER_MS = 7


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return generate_mirror(
        tmp_path_factory.mktemp("mirror"), SYMBOL, date(2025, 11, 1), date(2025, 12, 3), SEED
    )


@pytest.fixture
def mirror(pristine, tmp_path):
    return Path(shutil.copytree(pristine, tmp_path / "mirror"))


def archive_settlements(root: Path) -> list[tuple[int, float]]:
    """(calc_time ms, rate) of every monthly funding file in the mirror, hidden or not."""
    out = []
    for zip_path in sorted(root.glob(f"monthly/fundingRate/{SYMBOL}/*.zip*")):
        if zip_path.name.endswith(".CHECKSUM") or ".CHECKSUM" in zip_path.name:
            continue
        for row in csv.reader(io.StringIO(read_member(zip_path).decode())):
            if row and row[0].isdigit():
                out.append((int(row[0]), float(row[2])))
    return out


def rest_route(root: Path, requests: list[dict]):
    """/fapi/v1/fundingRate like Binance: settlements in [startTime, endTime], jittered ms,
    rates as strings."""

    def handler(query: str) -> bytes:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        requests.append(params)
        lo, hi = int(params["startTime"]), int(params["endTime"])
        items = [
            {
                "symbol": params["symbol"],
                "fundingTime": ms + JITTER_MS,
                "fundingRate": f"{rate + OFFSET:.8f}",
                "markPrice": "91000.00000000",
            }
            for ms, rate in archive_settlements(root)
            if lo <= ms + JITTER_MS <= hi
        ]
        return json.dumps(items[: int(params["limit"])]).encode()

    return handler


@pytest.fixture
def server(mirror):
    with ArchiveServer(mirror) as srv:
        srv.rest_requests = []
        srv.routes[ENDPOINT] = rest_route(mirror, srv.rest_requests)
        yield srv


def _settings(tmp: Path, server: ArchiveServer):
    return temp_settings(
        tmp,
        "2025-11-28",
        "2025-12-03",
        LIQMAP_SOURCE="binance",
        LIQMAP_BINANCE_URL=server.url,
        LIQMAP_BINANCE_FAPI_URL=server.url,
    )


def _materialize(settings, day: date) -> dg.ExecuteInProcessResult:
    """The raw assets and staging for one day."""
    return run_chain(settings, day, assets=[*raw_assets, stg_bars_5m])


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _rows(path: Path, sql: str) -> list:
    with warehouse(path, read_only=True) as conn:
        return conn.execute(sql).fetchall()


# --- unit ------------------------------------------------------------------------------------


def test_parse_and_floor_jitter():
    payload = json.dumps(
        [
            {
                "symbol": SYMBOL,
                "fundingTime": _ms("2025-11-28 00:00:00") + 5,
                "fundingRate": "0.00010000",
                "markPrice": "1",
            },
            {
                "symbol": SYMBOL,
                "fundingTime": _ms("2025-11-28 04:00:00") + 12,
                "fundingRate": "-0.00002500",
                "markPrice": "1",
            },
            {
                "symbol": SYMBOL,
                "fundingTime": _ms("2025-11-28 08:00:00") + 1,
                "fundingRate": "0.00003000",
                "markPrice": "1",
            },
            {
                "symbol": SYMBOL,
                "fundingTime": _ms("2025-11-29 00:00:00") + 3,
                "fundingRate": "0.00004000",
                "markPrice": "1",
            },
        ]
    ).encode()
    settlements = parse_funding_json(payload, "test")
    frame = funding_frame(settlements, date(2025, 11, 28), date(2025, 11, 29))
    assert list(frame.columns) == ["calc_time", "funding_interval_hours", "last_funding_rate"]
    assert [str(t) for t in frame["calc_time"]] == [
        "2025-11-28 00:00:00",
        "2025-11-28 04:00:00",
        "2025-11-28 08:00:00",
    ]  # jitter floored to the hour; the next day's settlement is outside the window
    assert frame["funding_interval_hours"].tolist() == [4, 4, 4]
    assert frame["last_funding_rate"].tolist() == [0.0001, -0.000025, 0.00003]
    assert frame["last_funding_rate"].dtype == "float64"
    single = funding_frame(settlements[:1], date(2025, 11, 28), date(2025, 11, 29))
    assert single["funding_interval_hours"].tolist() == [8]
    with pytest.raises(SourceError, match="unexpected fundingRate response"):
        parse_funding_json(b'{"code": -1121, "msg": "Invalid symbol."}', "test")


def test_fetch_queries_the_endpoint(server):
    frame = fetch_funding_rest(server.url, SYMBOL, date(2025, 11, 28), date(2025, 11, 30))
    assert len(frame) == 6
    assert frame["funding_interval_hours"].tolist() == [8] * 6
    (params,) = server.rest_requests
    assert params == {
        "symbol": SYMBOL,
        "startTime": str(_ms("2025-11-28 00:00:00")),
        "endTime": str(_ms("2025-11-30 00:00:00") - 1),
        "limit": "1000",
    }


def test_451_is_a_clear_error(server):
    server.faults[ENDPOINT].append(Fault(status=451))
    with pytest.raises(SourceError, match=r"HTTP 451.*restricted regions"):
        fetch_funding_rest(server.url, SYMBOL, date(2025, 11, 28), date(2025, 11, 29))
    assert server.count(ENDPOINT) == 1  # not retried


# --- pipeline --------------------------------------------------------------------------------


def test_pending_month_uses_rest_then_archive(mirror, server, tmp_path):
    hide(mirror, "2025-11")
    hide(mirror, "2025-12")
    settings = _settings(tmp_path / "daily", server)
    wh = settings.warehouse_path
    for day in (date(2025, 11, 28), date(2025, 11, 29)):
        result = _materialize(settings, day)
        assert result.success
        meta = _metadata(result, "raw_funding")
        assert meta["pending_periods"] == "2025-11"
        assert meta["rest_days"] == 1
    rest = _rows(wh, "SELECT calc_time, funding_interval_hours, last_funding_rate FROM raw.funding")
    archive = {
        datetime.fromtimestamp(ms // 3_600_000 * 3600, UTC).replace(tzinfo=None): rate
        for ms, rate in archive_settlements(mirror)  # the archive's calc_time has jitter too
    }
    assert len(rest) == 6
    for calc_time, interval, rate in rest:
        assert calc_time.minute == 0 and calc_time.second == 0 and calc_time.microsecond == 0
        assert interval == 8
        assert rate == pytest.approx(archive[calc_time] + OFFSET)
    assert _rows(wh, "SELECT count(*) FROM raw.files WHERE dataset = 'funding'") == [(0,)]
    # staging carries the REST rates for the whole days
    bars = _rows(
        wh,
        "SELECT count(*), count(funding_rate) FROM stg.bars_5m "
        "WHERE ts >= TIMESTAMP '2025-11-28' AND ts < TIMESTAMP '2025-11-30'",
    )
    assert bars == [(2 * 288, 2 * 288)]
    carried = {r for (r,) in _rows(wh, "SELECT DISTINCT funding_rate FROM stg.bars_5m")}
    assert carried == {rate for _, _, rate in rest}

    # November lands; the Dec 1 partition (December still pending) replaces the REST rows
    publish(mirror, "2025-11")
    result = _materialize(settings, date(2025, 12, 1))
    assert result.success
    meta = _metadata(result, "raw_funding")
    assert meta["caught_up_months"] == f"{SYMBOL} 2025-11"
    assert meta["pending_periods"] == "2025-12"
    assert meta["rest_days"] == 1
    dupes = "SELECT count(*) - count(DISTINCT (symbol, calc_time)) FROM raw.funding"
    assert _rows(wh, dupes) == [(0,)]
    nov = "SELECT * FROM raw.funding WHERE day < DATE '2025-11-30' ORDER BY ALL"
    daily_nov = _rows(wh, nov)
    assert len(daily_nov) == 6
    for _, _, calc_time, _, rate, _ in daily_nov:
        assert rate == archive[calc_time]

    # identical to a clean load with November published from the start
    clean = _settings(tmp_path / "clean", server)
    for day in (date(2025, 11, 28), date(2025, 11, 29), date(2025, 12, 1)):
        result = _materialize(clean, day)
        assert result.success
    assert _rows(clean.warehouse_path, nov) == daily_nov
    dec = "SELECT * FROM raw.funding WHERE day >= DATE '2025-12-01' ORDER BY ALL"
    assert _rows(clean.warehouse_path, dec) == _rows(wh, dec)
    stg = "SELECT * FROM stg.bars_5m ORDER BY ALL"
    assert _rows(clean.warehouse_path, stg) == _rows(wh, stg)


def test_rest_failure_leaves_the_day_pending(mirror, server, tmp_path):
    hide(mirror, "2025-11")
    server.faults[ENDPOINT].append(Fault(status=451))
    settings = _settings(tmp_path, server)
    result = _materialize(settings, date(2025, 11, 28))
    assert result.success
    meta = _metadata(result, "raw_funding")
    assert meta["rest_days"] == 0
    assert meta["pending_periods"] == "2025-11"
    wh = settings.warehouse_path
    assert _rows(wh, "SELECT count(*) FROM raw.funding") == [(0,)]
    assert _rows(wh, "SELECT count(*), count(funding_rate) FROM stg.bars_5m") == [(288, 0)]
