"""The month files of day documents (reports.day_packs): decoded, every day document is
exactly what the build made for that day, and the packing round-trips whatever a document
holds (key orders that differ between days, fields some days lack, exact doubles)."""

from __future__ import annotations

import base64
import random
import struct
from pathlib import Path

import duckdb
import pytest

from reports import day_packs
from reports.datafiles import as_json
from reports.site import build_site
from tests.site_fixtures import GENERATED_AT, site_from_warehouse
from tests.venue_helpers import SYMBOL

pytestmark = pytest.mark.xdist_group("browser")  # the two-venue warehouse, as test_site_venues


def _f64(*values: float) -> dict:
    return {"$f64": base64.b64encode(struct.pack(f"<{len(values)}d", *values)).decode()}


def _doc(day: str, n: int) -> dict:
    doc = {"api_version": 3, "kind": "day", "symbol": "S", "venue": "all", "day": day}
    doc["charts"] = {"a": {"t": "x", "v": {"rows": [n, n + 1.5], "e": {}}}, "b": {"t": "y"}}
    doc["whatif"] = {"spot": 1.25, "l": {"$zeros": [[2, 1], _f64(0.1 * n, 1e-300 * n, 3.0)]}}
    doc["map"] = {"$cols": [["l", "s"], [{"$sig": [3, "biGbnK" * n]}, {"$sig": [4, "tArb_-09"]}]]}
    # array-index keys: JavaScript lists them first (the page walks the values so)
    doc["by"] = {"b": _f64(2.5), "10": {"$sig": [3, "AAA"]}, "2": _f64(-0.0, n)}
    doc["empty"] = {}
    doc["text"] = "Zone $83,600\u2013$87,300 \u2028 </script>"
    return doc


def test_a_month_round_trips_key_orders_missing_fields_and_exact_doubles():
    docs = [_doc(f"2026-03-{d:02d}", d) for d in range(1, 6)]
    docs[1] = {k: docs[1][k] for k in reversed(docs[1])}  # another key order
    del docs[2]["charts"]["b"]  # a chart one day lacks
    docs[3]["charts"]["c"] = {"t": "z", "v": {"$cols": [["k"], [[1, 2]]]}}  # one only it has
    raw = day_packs.pack_file("S", "all", "2026-03", True, docs)
    assert raw.startswith("\ufeff".encode("utf-16-le"))  # UTF-16 with its BOM
    key, obj = day_packs.read_file(raw)
    assert key == "S/all/days-2026-03" and obj["kind"] == "days" and obj["synthetic_data"]
    assert obj["days"] == [d["day"] for d in docs]
    back = day_packs.unpack(obj)
    assert [as_json(back[d["day"]]) for d in docs] == [as_json(d) for d in docs]
    assert list(back["2026-03-02"]) == list(docs[1])  # its own key order
    # the same documents give the same bytes (a month file written again is unchanged)
    assert day_packs.pack_file("S", "all", "2026-03", True, docs) == raw


def test_a_packed_document_round_trips_with_its_plain_fields_in_the_clear(tmp_path: Path):
    heat = {"api_version": 3, "kind": "heat", "symbol": "S", "venue": "all"}
    heat |= {
        "synthetic_data": False,
        "month": "2026-03",
        "base": {"png": "data:image/png;base64,iVBO"},
    }
    raw = day_packs.packed_doc("S/all/heat-2026-03", heat)
    key, obj = day_packs.read_file(raw)
    assert key == "S/all/heat-2026-03" and "base" not in obj
    assert {k: obj[k] for k in day_packs.PLAIN} == {k: heat[k] for k in day_packs.PLAIN}
    assert as_json(day_packs.unpack_doc(obj)) == as_json(heat)
    (tmp_path / "data" / "S" / "all").mkdir(parents=True)
    (tmp_path / "data" / "S" / "all" / "heat-2026-03.js").write_bytes(raw)
    assert day_packs.data_file(tmp_path, "S/all/heat-2026-03") == heat


def test_fifteen_bits_a_character_carry_any_bytes():
    rng = random.Random(7)
    for n in (1, 14, 15, 16, 1000):
        data = bytes(rng.randrange(256) for _ in range(n))
        text = day_packs._to_text(data)
        assert len(text) == -(-n * 8 // day_packs.BITS)
        assert all(0x800 <= ord(c) < 0x8800 for c in text)
        assert day_packs._from_text(text, n) == data
    # the line and paragraph separators (U+2028/9) are written escaped in the script
    data = int((0x2028 - 0x800) << 1).to_bytes(2, "big")
    assert day_packs._to_text(data)[0] == "\u2028"


def test_a_document_holding_what_stands_for_packed_values_is_refused():
    doc = {**_doc("2026-03-01", 1), "odd": {"$f64": 8}}
    with pytest.raises(ValueError, match="placeholder"):
        day_packs.pack_file("S", "all", "2026-03", True, [doc])


def test_a_day_key_names_its_month_file():
    assert day_packs.pack_key("BTCUSDT/bybit/day-2026-06-15") == "BTCUSDT/bybit/days-2026-06"
    with pytest.raises(ValueError, match="not a day data key"):
        day_packs.pack_key("BTCUSDT/bybit/daily")


def test_every_day_document_decoded_is_what_the_build_made(tmp_path, two_venue_chain, monkeypatch):
    """A real two-venue build: each day document the build handed to its month file (every
    venue, every day) comes back from the file the same JSON, and the files hold no other."""
    made: dict[str, str] = {}

    class Recording(day_packs.DayPacks):
        def add(self, symbol: str, venue: str, synthetic: bool, doc: dict) -> None:
            made[f"{symbol}/{venue}/day-{doc['day']}"] = as_json(doc)
            super().add(symbol, venue, synthetic, doc)

    monkeypatch.setattr("reports.site.DayPacks", Recording)
    out = tmp_path / "site"
    site_from_warehouse(two_venue_chain.path, out)
    got = {}
    for f in sorted((out / "data").rglob(f"{day_packs.KIND}-*.js")):
        prefix = f.parent.relative_to(out / "data").as_posix()
        for d, doc in day_packs.read_days(f).items():
            got[f"{prefix}/day-{d}"] = as_json(doc)
    assert {k.split("/")[1] for k in made} == {"all", "binance", "bybit"}
    assert got == made
    assert not list((out / "data").rglob("day-*.js"))  # no day has a file of its own
    # an older build's day file stays while a page not rendered again may load it, and goes
    # with a build that renders every page again
    old = out / "data" / SYMBOL / "bybit" / f"day-{two_venue_chain.days[0].isoformat()}.js"
    old.write_text('(window.LIQMAP_DATA=window.LIQMAP_DATA||{})["k"]={};\n')
    conn = duckdb.connect(str(two_venue_chain.path), read_only=True)
    try:
        build_site(
            conn, out, SYMBOL, [two_venue_chain.days[-1]], source="synthetic",
            methodology_md=None, generated_at=GENERATED_AT,
        )  # fmt: skip
    finally:
        conn.close()
    assert old.is_file()
    site_from_warehouse(two_venue_chain.path, out)
    assert not old.exists()


def test_a_missing_day_names_its_month_file(tmp_path: Path):
    raw = day_packs.pack_file("S", "all", "2026-03", False, [_doc("2026-03-01", 1)])
    (tmp_path / "data" / "S" / "all").mkdir(parents=True)
    (tmp_path / "data" / "S" / "all" / "days-2026-03.js").write_bytes(raw)
    assert day_packs.load_day(tmp_path, "S/all/day-2026-03-01")["day"] == "2026-03-01"
    with pytest.raises(FileNotFoundError, match="days-2026-03.js: no day 2026-03-02"):
        day_packs.load_day(tmp_path, "S/all/day-2026-03-02")
    # a damaged file: one line naming it (a build adding a day to it stops there)
    path = tmp_path / "data" / "S" / "all" / "days-2026-03.js"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"days-2026-03.js: not a month file of day documents"):
        day_packs.read_days(path)
