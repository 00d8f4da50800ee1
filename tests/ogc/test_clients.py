"""Real GIS clients against a live server: GDAL's OAPIF driver (through pyogrio) and OWSLib.

Each reads as several callers — the admin, a city planner and the demo agency officer,
who must see only their own agency's features — with bbox, CRS and attribute filters.
The figures are checked against the register API (``/api/v1``) for the same caller.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from backend.accounts.auth import issue_token
from backend.ogc.collections import COLLECTIONS

CITY = 330100  # Hangzhou: most demo buildings stand there
CITY_USER = "ogc-test-city-planner"
BOX = (120.0, 30.1, 120.4, 30.45)  # around Hangzhou's centre
GDAL_CLIENT = Path(__file__).with_name("gdal_client.py")


def _get(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback test server
        return json.loads(r.read())


@pytest.fixture(scope="module")
def callers(engine: Engine) -> Iterator[dict[str, str]]:
    """username → token: admin, the demo agency officer, and a committed city planner."""
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO users (username, password_hash, roles, regions, agencies)
                    VALUES (:u, '!', '{planner}', ARRAY[:c], '{}')
                    ON CONFLICT (username) DO NOTHING"""),
            {"u": CITY_USER, "c": CITY},
        )
    yield {u: issue_token(u) for u in ("admin", "officer", CITY_USER)}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": CITY_USER})


@pytest.fixture(scope="module")
def officer_agency(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT agencies[1] FROM users WHERE username = 'officer'")
            ).scalar_one()
        )


def twin_count(live_server: str, token: str, path: str, **params: Any) -> int:
    q = urllib.parse.urlencode({"limit": 1, **params})
    return int(_get(f"{live_server}/api/v1/{path}?{q}", token)["numberMatched"])


def gdal(live_server: str, token: str, **request: Any) -> Any:
    """Run GDAL's OAPIF driver in its own process (see gdal_client.py)."""
    out = subprocess.run(
        [sys.executable, str(GDAL_CLIENT), f"{live_server}/ogc", token, json.dumps(request)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("who", ["admin", CITY_USER, "officer"])
def test_gdal_lists_and_reads_every_collection(
    who: str, callers: dict[str, str], live_server: str, officer_agency: int
) -> None:
    token = callers[who]
    layers = {name for name, _ in gdal(live_server, token, op="layers")["layers"]}
    assert layers == set(COLLECTIONS)
    for cid in COLLECTIONS:
        box = (120.1, 30.2, 120.2, 30.3) if cid == "regions" else BOX  # boundaries are large
        got = gdal(live_server, token, op="read", layer=cid, bbox=box, want=["agency_id"])
        assert got["epsg"] in (4326, 4490) or "CRS84" in got["crs"], (cid, got["crs"])
        # (buildings: an agency also sees the buildings that house it, as in /api/v1)
        if who == "officer" and "agency_id" in got["columns"] and cid != "buildings":
            assert {int(a) for a in got["columns"]["agency_id"] if a is not None} <= {
                officer_agency
            }, cid
        if got["count"]:
            minx, miny, maxx, maxy = got["bounds"]
            assert maxx >= box[0] and minx <= box[2] and maxy >= box[1] and miny <= box[3], cid
        if cid in ("rooms", "buildings") and who != "officer":
            assert got["count"] > 0, cid


@pytest.mark.parametrize("who", ["admin", CITY_USER, "officer"])
def test_gdal_reads_rooms_with_an_attribute_filter(
    who: str, callers: dict[str, str], live_server: str, officer_agency: int
) -> None:
    token = callers[who]
    where = "category = 'office' AND usable_area_m2 > 30"
    got = gdal(live_server, token, op="read", layer="rooms", where=where,
               want=["category", "usable_area_m2"])  # fmt: skip
    expected = int(
        _get(
            f"{live_server}/ogc/collections/rooms/items?limit=1&"
            + urllib.parse.urlencode({"filter": where}),
            token,
        )["numberMatched"]
    )
    assert got["count"] == expected > 0
    assert set(got["columns"]["category"]) == {"office"}
    assert min(got["columns"]["usable_area_m2"]) > 30
    everything = gdal(live_server, token, op="read", layer="rooms", want=["agency_id"])
    assert everything["count"] == twin_count(live_server, token, "rooms")
    if who == "officer":
        assert {int(a) for a in everything["columns"]["agency_id"]} == {officer_agency}


def test_gdal_reads_in_a_gauss_kruger_zone(callers: dict[str, str], live_server: str) -> None:
    token = callers["admin"]
    lonlat = gdal(live_server, token, op="read", layer="buildings", bbox=BOX)
    gk_box = Transformer.from_crs(4490, 4549, always_xy=True).transform_bounds(*BOX)
    gk = gdal(live_server, token, op="read", layer="buildings", bbox=gk_box, crs="EPSG:4549")
    # the box grows a little when projected: at least the same buildings, a few more at most
    assert gk["epsg"] == 4549 and lonlat["count"] > 0
    assert lonlat["count"] <= gk["count"] <= lonlat["count"] * 1.2 + 3
    east_min, north_min, east_max, north_max = gk["bounds"]
    assert 300_000 < east_min < east_max < 700_000 and 3_000_000 < north_min < north_max < 3_600_000


@pytest.mark.parametrize("who", ["admin", CITY_USER, "officer"])
def test_owslib_features_client(
    who: str, callers: dict[str, str], live_server: str, officer_agency: int
) -> None:
    from owslib.ogcapi.features import Features

    token = callers[who]
    w = Features(f"{live_server}/ogc", headers={"Authorization": f"Bearer {token}"})
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in w.conformance()["conformsTo"]
    )
    ids = [c["id"] for c in w.collections()["collections"]]
    assert ids == list(COLLECTIONS)
    for cid in COLLECTIONS:
        assert w.collection(cid)["id"] == cid
        assert "properties" in w.collection_queryables(cid)
        page = w.collection_items(cid, limit=5, bbox=list(BOX))
        assert page["numberReturned"] == len(page["features"]) <= 5
        for f in page["features"]:
            if who == "officer" and "agency_id" in f["properties"] and cid != "buildings":
                assert f["properties"]["agency_id"] == officer_agency, cid
    rooms = w.collection_items("rooms", limit=1)
    assert rooms["numberMatched"] == twin_count(live_server, token, "rooms")
    office = w.collection_items("rooms", limit=100, filter="category = 'office'")
    assert office["numberMatched"] == twin_count(live_server, token, "rooms", category="office")
    assert all(f["properties"]["category"] == "office" for f in office["features"])
    first = rooms["features"][0]["id"]
    assert w.collection_item("rooms", str(first))["id"] == first


def test_a_client_without_a_token_gets_401(live_server: str) -> None:
    req = urllib.request.Request(f"{live_server}/ogc/collections")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)  # noqa: S310 - loopback test server
    assert err.value.code == 401
