"""The site's data files are a documented API: every data file and every latest file
validates against docs/api/schema-v3.json, says whether its data is synthetic, and the
stable latest URL of each symbol and venue names the latest day."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reports import day_packs
from reports.datafiles import parse_js
from tests.test_site_venues import SYMBOL, built  # noqa: F401  (the two-venue site)

pytestmark = pytest.mark.xdist_group("browser")  # the two-venue site, as test_site_venues

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "api" / "schema-v3.json").read_text()
)


def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


def test_every_data_file_validates_against_the_schema(built):  # noqa: F811
    out, _, _ = built
    v = _validator()
    files = sorted((out / "data").rglob("*.js"))
    kinds = set()
    for f in files:
        raw = f.read_bytes()
        if raw.startswith(day_packs.BOM):  # packed: the month files, the heat months
            key, obj = day_packs.read_file(raw)
            assert obj["kind"] in (day_packs.KIND, "heat"), f
        else:
            key, obj = parse_js(raw.decode())
        assert f"data/{key}.js" == f.relative_to(out).as_posix()
        v.validate(obj)
        if obj["kind"] == "heat":
            # packed: the document it holds validates too, its plain fields the same
            doc = day_packs.unpack_doc(obj)
            v.validate(doc)
            assert {k: doc[k] for k in day_packs.PLAIN} == {k: obj[k] for k in day_packs.PLAIN}
        assert obj["synthetic_data"] is True
        kinds.add(obj["kind"])
        if obj["kind"] == day_packs.KIND:
            # each day document of a month file validates too, and names its day
            docs = day_packs.unpack(obj)
            assert list(docs) == obj["days"] and all(d[:7] == obj["month"] for d in docs)
            for day, doc in docs.items():
                v.validate(doc)
                assert doc["kind"] == "day" and doc["day"] == day and doc["venue"] == obj["venue"]
                kinds.add(doc["kind"])
    assert kinds == {"day", "days", "daily", "moves", "heat"}
    # every venue, every day: a month file per venue holding each day it has
    for venue in ("all", "binance", "bybit"):
        assert list((out / "data" / SYMBOL / venue).glob("days-*.js")), venue


def test_latest_urls_validate_and_name_the_latest_day(built):  # noqa: F811
    out, _, wh = built
    v = _validator()
    for rel, venue in (("", "all"), ("binance/", "binance"), ("bybit/", "bybit")):
        path = out / "api" / "v3" / SYMBOL / rel / "latest.json"
        obj = json.loads(path.read_text())
        v.validate(obj)
        assert obj["venue"] == venue and obj["symbol"] == SYMBOL
        key, twin = parse_js(path.with_suffix(".js").read_text())
        assert twin == obj and key == path.relative_to(out).with_suffix("").as_posix()
        assert (out / obj["links"]["page"]).is_file() and (out / obj["links"]["day_data"]).is_file()
    latest = json.loads((out / "api" / "v3" / SYMBOL / "latest.json").read_text())
    assert latest["day"] == wh.days[-1].isoformat()
    # Bybit lacks the last day: its latest is its own last day
    bybit = json.loads((out / "api" / "v3" / SYMBOL / "bybit" / "latest.json").read_text())
    assert bybit["day"] == wh.second_venue_last.isoformat()


def test_the_schema_rejects_a_file_that_breaks_it(built):  # noqa: F811
    out, _, _ = built
    v = _validator()
    pack = next((out / "data" / SYMBOL / "all").glob("days-*.js"))
    obj = next(iter(day_packs.read_days(pack).values()))
    for broken in (
        {**obj, "api_version": 1},
        {**obj, "synthetic_data": "yes"},
        {k: x for k, x in obj.items() if k != "heat_months"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            v.validate(broken)
