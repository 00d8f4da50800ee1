"""OGC API – Features under /ogc: documents, items, scope, CRS, CQL2, bad input, HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.ogc.collections import COLLECTIONS

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
# collection → the register API list that answers for the same scope
TWINS = {
    "buildings": "/api/v1/buildings",
    "floors": "/api/v1/floors",
    "rooms": "/api/v1/rooms",
    "agencies": "/api/v1/agencies",
    "regions": "/api/v1/regions",
    "findings": "/api/v1/compliance/findings",
}


def matched(c: Any, path: str, **params: Any) -> int:
    r = c.get(path, params={"limit": 1, **params})
    assert r.status_code == 200, (path, r.text)
    return int(r.json()["numberMatched"])


@pytest.fixture
def scoped(db: Session) -> dict[str, int]:
    """A city with buildings, and an agency whose rooms lie (also) outside that city."""
    row = db.execute(
        text("""
        SELECT r.agency_id, b.region_adcode FROM rooms r JOIN buildings b ON b.id = r.building_id
        WHERE r.agency_id IS NOT NULL AND b.region_adcode % 100 <> 0
        GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1""")
    ).one()
    city = row.region_adcode - row.region_adcode % 100
    outside_room = db.execute(
        text("SELECT id FROM rooms WHERE agency_id <> :a ORDER BY id LIMIT 1"),
        {"a": row.agency_id},
    ).scalar_one()
    return {"agency": row.agency_id, "city": city, "outside_room": outside_room}


def test_landing_conformance_and_api_definition(client: Any, anon_client: Any) -> None:
    land = client.get("/ogc/")
    assert land.status_code == 200
    rels = {link["rel"]: link for link in land.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get("/ogc").status_code == 200
    conf = client.get("/ogc/conformance")
    assert conf.headers["content-type"] == "application/json"
    classes = conf.json()["conformsTo"]
    for part in (
        "features-1/1.0/conf/core",
        "features-2/1.0/conf/crs",
        "features-3/1.0/conf/filter",
    ):
        assert any(part in c for c in classes), part
    # the API definition is public (it describes the API, no data); everything else is not
    api = anon_client.get("/ogc/api")
    assert api.status_code == 200 and api.json()["openapi"].startswith("3.0")
    bbox = api.json()["components"]["parameters"]["bbox"]
    assert bbox["schema"]["minItems"] == 4 and bbox["style"] == "form" and not bbox["explode"]
    assert "/collections/rooms/items" in api.json()["paths"]
    for path in ("/ogc/", "/ogc/collections", "/ogc/collections/rooms/items"):
        r = anon_client.get(path)
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    # a browser asking for HTML is sent to the sign-in page instead
    r = anon_client.get("/ogc/collections", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_collections_describe_every_collection(client: Any) -> None:
    doc = client.get("/ogc/collections").json()
    ids = [c["id"] for c in doc["collections"]]
    assert ids == list(COLLECTIONS)
    assert set(ids) == {
        "buildings", "floors", "rooms", "agencies", "findings", "regions", "idle-space",
        "over-standard",
    }  # fmt: skip
    for c in doc["collections"]:
        assert c["storageCrs"] == EPSG + "4490"
        assert {CRS84, EPSG + "4490", EPSG + "4491", EPSG + "4549", EPSG + "4554"} <= set(c["crs"])
        minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
        assert 118 < minx < maxx < 123.5 and 27 < miny < maxy < 31.5  # Zhejiang
        assert {link["rel"] for link in c["links"]} >= {"self", "items"}
        one = client.get(f"/ogc/collections/{c['id']}")
        assert one.status_code == 200 and one.json()["id"] == c["id"]
    assert client.get("/ogc/collections/nope").status_code == 404


@pytest.mark.parametrize("cid", list(COLLECTIONS))
def test_items_page_and_item(client: Any, cid: str) -> None:
    r = client.get(f"/ogc/collections/{cid}/items", params={"limit": 3})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    assert r.headers["content-crs"] == f"<{CRS84}>"
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberReturned"] == len(doc["features"]) == 3
    assert doc["numberMatched"] >= 3
    assert doc["timeStamp"].endswith("Z")
    rels = {link["rel"] for link in doc["links"]}
    assert {"self", "alternate", "next", "collection"} <= rels
    assert "queryables" in r.headers["link"]
    f = doc["features"][0]
    one = client.get(f"/ogc/collections/{cid}/items/{f['id']}")
    assert one.status_code == 200
    assert one.json()["id"] == f["id"] and one.json()["geometry"] == f["geometry"]
    assert client.get(f"/ogc/collections/{cid}/items/999999999").status_code == 404
    assert client.get(f"/ogc/collections/{cid}/items/abc").status_code == 404


def test_paging_walks_every_feature_once(client: Any) -> None:
    url: str | None = "/ogc/collections/agencies/items?limit=7"
    seen: list[int] = []
    total = None
    while url:
        doc = client.get(url).json()
        total = doc["numberMatched"]
        seen += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"}, {"limit": "10001"}, {"limit": "unlimited"}, {"offset": "-1"},
        {"ooga": "booga"}, {"bbox": "1,2,3"}, {"bbox": "a,b,c,d"}, {"bbox": "121,31,120,30"},
        {"bbox": "120,30,121,91"}, {"bbox": "120,30,121,31", "bbox-crs": "EPSG:3857"},
        {"bbox-crs": CRS84}, {"crs": "EPSG:3857"}, {"crs": "x"}, {"datetime": "yesterday"},
        {"datetime": "2026-02-01/2026-01-01"}, {"datetime": "../.."}, {"f": "xml"},
        {"filter": "usable_area_m2 >"}, {"filter": "nope = 1"},
        {"filter": "usable_area_m2 = 'abc'"}, {"filter": "category LIKE 3"},
        {"filter": "{\"op\": \"=\"", "filter-lang": "cql2-json"},
        {"filter": "number = '1'", "filter-lang": "sql"},
        {"filter": "name; DROP TABLE rooms"}, {"filter": "unknownfn(category) = 'a'"},
    ],
)  # fmt: skip
def test_bad_parameters_answer_400(client: Any, db: Session, params: dict[str, str]) -> None:
    before = db.execute(text("SELECT count(*) FROM rooms")).scalar_one()
    r = client.get("/ogc/collections/rooms/items", params=params)
    assert r.status_code == 400, (params, r.status_code, r.text)
    body = r.json()
    assert body["code"] in ("invalid_parameter", "invalid_filter") and body["message_zh"]
    assert "Traceback" not in r.text and "psycopg" not in r.text
    assert db.execute(text("SELECT count(*) FROM rooms")).scalar_one() == before


def test_repeated_and_unknown_parameters_on_every_document(client: Any) -> None:
    for path in ("/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/rooms",
                 "/ogc/collections/rooms/queryables", "/ogc/collections/rooms/items/1"):  # fmt: skip
        assert client.get(path, params={"ooga": "booga"}).status_code == 400, path
    assert client.get("/ogc/collections/rooms/items?limit=1&limit=2").status_code == 400


def test_bbox_in_each_crs_selects_the_same_rooms(client: Any, db: Session) -> None:
    box = (120.10, 30.20, 120.30, 30.35)
    expected = db.execute(
        text("""SELECT count(*) FROM rooms r JOIN floors f ON f.id = r.floor_id
                WHERE f.valid_to IS NULL
                  AND ST_Intersects(r.geom, ST_MakeEnvelope(:a, :b, :c, :d, 4490))"""),
        dict(zip("abcd", box, strict=True)),
    ).scalar_one()
    assert expected > 0
    lonlat = ",".join(map(str, box))
    latlon = ",".join(map(str, (box[1], box[0], box[3], box[2])))
    url = "/ogc/collections/rooms/items"
    assert matched(client, url, bbox=lonlat) == expected
    assert matched(client, url, bbox=lonlat, **{"bbox-crs": CRS84}) == expected
    assert matched(client, url, bbox=latlon, **{"bbox-crs": EPSG + "4490"}) == expected
    # the same box in the GK zone of 120°E (northing first), slightly larger after projection
    gk = db.execute(
        text("""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM
                (SELECT ST_Transform(ST_MakeEnvelope(:a, :b, :c, :d, 4490), 4549)::box2d e) s"""),
        dict(zip("abcd", box, strict=True)),
    ).one()
    gk_box = ",".join(map(str, (gk[1], gk[0], gk[3], gk[2])))
    n = matched(client, url, bbox=gk_box, **{"bbox-crs": EPSG + "4549"})
    assert expected <= n <= expected * 1.1 + 5


def test_crs_of_the_answer(client: Any, db: Session) -> None:
    room = db.execute(text("SELECT min(id) FROM rooms")).scalar_one()
    x, y = db.execute(
        text("""SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointN(
                ST_ExteriorRing(ST_GeometryN(geom, 1)), 1), 4549) p FROM rooms WHERE id = :r) s"""),
        {"r": room},
    ).one()
    lon = client.get(f"/ogc/collections/rooms/items/{room}").json()["geometry"]["coordinates"][0][
        0
    ][0]
    assert 118 < lon[0] < 123 and 27 < lon[1] < 32
    r = client.get(f"/ogc/collections/rooms/items/{room}", params={"crs": EPSG + "4490"})
    assert r.headers["content-crs"] == f"<{EPSG}4490>"
    assert r.json()["geometry"]["coordinates"][0][0][0] == [lon[1], lon[0]]  # lat, lon
    r = client.get(f"/ogc/collections/rooms/items/{room}", params={"crs": EPSG + "4549"})
    north, east = r.json()["geometry"]["coordinates"][0][0][0]
    assert north == pytest.approx(y, abs=0.002) and east == pytest.approx(x, abs=0.002)
    page = client.get("/ogc/collections/rooms/items", params={"crs": "[EPSG:4549]", "limit": 1})
    assert page.headers["content-crs"] == f"<{EPSG}4549>"


def test_cql2_text_and_json_agree_with_sql(client: Any, db: Session) -> None:
    expected = db.execute(
        text("""SELECT count(*) FROM rooms r JOIN floors f ON f.id = r.floor_id
                WHERE f.valid_to IS NULL AND r.usable_area_m2 > 30 AND r.category = 'office'""")
    ).scalar_one()
    assert expected > 0
    url = "/ogc/collections/rooms/items"
    assert matched(client, url, filter="usable_area_m2 > 30 AND category = 'office'") == expected
    as_json = json.dumps({"op": "and", "args": [
        {"op": ">", "args": [{"property": "usable_area_m2"}, 30]},
        {"op": "=", "args": [{"property": "category"}, "office"]},
    ]})  # fmt: skip
    assert matched(client, url, filter=as_json, **{"filter-lang": "cql2-json"}) == expected
    page = client.get(url, params={"filter": "usable_area_m2 > 30 AND category = 'office'"})
    for f in page.json()["features"]:
        assert f["properties"]["usable_area_m2"] > 30 and f["properties"]["category"] == "office"
    # spatial, IN, LIKE, BETWEEN
    inside = matched(client, url, bbox="120.1,30.2,120.3,30.35")
    spatial = "S_INTERSECTS(geometry, BBOX(120.1,30.2,120.3,30.35))"
    assert matched(client, url, filter=spatial) == inside
    poly = "S_INTERSECTS(geometry, POLYGON((120.1 30.2,120.3 30.2,120.3 30.35,120.1 30.35,120.1 30.2)))"
    assert matched(client, url, filter=poly) == inside
    latlon = "S_INTERSECTS(geometry, POLYGON((30.2 120.1,30.2 120.3,30.35 120.3,30.35 120.1,30.2 120.1)))"
    assert matched(client, url, filter=latlon, **{"filter-crs": EPSG + "4490"}) == inside
    n_in = matched(client, url, filter="category IN ('office','service')")
    n_like = matched(client, url, filter="subcategory LIKE 'office.%'")
    n_between = matched(client, url, filter="usable_area_m2 BETWEEN 10 AND 20")
    assert n_in > 0 and n_like > 0 and n_between > 0


def test_filter_values_are_never_sql(client: Any, db: Session) -> None:
    url = "/ogc/collections/buildings/items"
    assert matched(client, url, filter="name = 'x'' OR ''1''=''1'") == 0
    assert matched(client, url, filter="name = 'x; DROP TABLE buildings; --'") == 0
    assert db.execute(text("SELECT count(*) FROM buildings")).scalar_one() > 0


def test_datetime_answers_from_the_history(client: Any, db: Session) -> None:
    """The state at the end of a day comes from the history service (as the register API)."""
    url = "/ogc/collections/buildings/items"
    today = db.execute(text("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")).scalar_one()
    now = matched(client, url)
    assert matched(client, url, datetime=today.isoformat()) == now
    assert matched(client, url, datetime=f"{today.isoformat()}T10:00:00Z") == now
    assert matched(client, url, datetime=f"2000-01-01/{today.isoformat()}") == now
    assert matched(client, url, datetime="2000-01-01") == 0
    for cid in ("buildings", "floors", "rooms"):
        ours = matched(client, f"/ogc/collections/{cid}/items", datetime=today.isoformat())
        theirs = matched(client, f"/api/v1/{cid}", as_of=today.isoformat())
        assert ours == theirs, cid
    # collections without time ignore it
    assert matched(client, "/ogc/collections/agencies/items", datetime="2000-01-01") > 0


def _client_for(client_as: Any, who: str, s: dict[str, int]) -> Any:
    if who == "officer":
        return client_as("agency_officer", agencies=[s["agency"]])
    if who == "planner":
        return client_as("planner", regions=[s["city"]])
    if who == "nobody":
        return client_as("leader")
    return client_as("inspector", regions=[s["city"]], agencies=[s["agency"]])


@pytest.mark.parametrize("who", ["officer", "planner", "nobody", "mixed"])
def test_scope_is_exactly_the_register_apis(
    client_as: Any, client: Any, scoped: dict[str, int], who: str
) -> None:
    c = _client_for(client_as, who, scoped)
    for cid, twin in TWINS.items():
        ours = matched(c, f"/ogc/collections/{cid}/items")
        assert ours == matched(c, twin), (who, cid)
        if who != "nobody" and cid != "regions":
            assert ours < matched(client, f"/ogc/collections/{cid}/items"), (who, cid)
    if who == "nobody":
        for cid in COLLECTIONS:
            if cid != "regions":
                assert matched(c, f"/ogc/collections/{cid}/items") == 0, cid


def test_officer_sees_only_their_agency(
    client_as: Any, scoped: dict[str, int], db: Session
) -> None:
    c = _client_for(client_as, "officer", scoped)
    rooms = c.get("/ogc/collections/rooms/items", params={"limit": 10000}).json()
    assert rooms["features"] and all(
        f["properties"]["agency_id"] == scoped["agency"] for f in rooms["features"]
    )
    for cid in ("idle-space", "over-standard", "findings"):
        doc = c.get(f"/ogc/collections/{cid}/items", params={"limit": 10000}).json()
        for f in doc["features"]:
            assert f["properties"]["agency_id"] == scoped["agency"], cid
    agencies = c.get("/ogc/collections/agencies/items").json()["features"]
    assert [a["id"] for a in agencies] == [scoped["agency"]]
    # an object just outside: 404, and a filter cannot reach it either
    out = scoped["outside_room"]
    assert c.get(f"/ogc/collections/rooms/items/{out}").status_code == 404
    assert matched(c, "/ogc/collections/rooms/items", filter=f"id = {out}") == 0
    assert (
        matched(c, "/ogc/collections/rooms/items", filter=f"agency_id <> {scoped['agency']}") == 0
    )


def test_queryables_name_the_filterable_properties(client: Any) -> None:
    for cid, coll in COLLECTIONS.items():
        r = client.get(f"/ogc/collections/{cid}/queryables")
        assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
        doc = r.json()
        assert doc["$id"].endswith(f"/ogc/collections/{cid}/queryables")
        assert doc["type"] == "object" and doc["additionalProperties"] is False
        assert doc["properties"]["geometry"]["format"].startswith("geometry-")
        assert {p.name for p in coll.props} <= set(doc["properties"])
    rooms = client.get("/ogc/collections/rooms/queryables").json()["properties"]
    assert rooms["usable_area_m2"]["type"] == "number" and rooms["category"]["type"] == "string"


HOSTILE = "<script>alert(1)</script>{{7*7}}=1+1"


def test_html_pages_show_user_text_as_text(client: Any, db: Session) -> None:
    bid = db.execute(text("SELECT min(id) FROM buildings")).scalar_one()
    db.execute(text("UPDATE buildings SET name = :n WHERE id = :b"), {"n": HOSTILE, "b": bid})
    db.flush()
    for url in (
        f"/ogc/collections/buildings/items?f=html&filter=id={bid}",
        f"/ogc/collections/buildings/items/{bid}?f=html",
    ):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "<script>" not in r.text and "&lt;script&gt;" in r.text
        assert "{{7*7}}" in r.text and ">49<" not in r.text
    for url in ("/ogc/", "/ogc/conformance", "/ogc/collections", "/ogc/collections/rooms",
                "/ogc/collections/rooms/queryables"):  # fmt: skip
        r = client.get(url, headers={"Accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
    # JSON keeps the text as it is
    doc = client.get(f"/ogc/collections/buildings/items/{bid}").json()
    assert doc["properties"]["name"] == HOSTILE


def test_queryables_as_query_parameters(client: Any) -> None:
    url = "/ogc/collections/rooms/items"
    n = matched(client, url, category="office")
    assert n == matched(client, url, filter="category = 'office'") > 0
    assert matched(client, url, category="office", level="2") == matched(
        client, url, filter="category = 'office' AND level = 2"
    )
    assert client.get(url, params={"geometry": "x"}).status_code == 400
