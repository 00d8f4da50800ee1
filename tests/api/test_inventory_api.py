"""Read API: FeatureCollections with ids, filters, bbox, pagination and JSON errors."""

from __future__ import annotations

from typing import Any

import pytest


def fc(client: Any, url: str) -> dict[str, Any]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body: dict[str, Any] = r.json()
    assert body["type"] == "FeatureCollection"
    for f in body["features"]:
        assert f["type"] == "Feature" and f["id"] is not None
    return body


def test_health(client: Any) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"]["postgis"].startswith("3.")


@pytest.mark.parametrize("path", ["regions", "agencies", "buildings", "floors", "rooms"])
def test_every_collection_pages(client: Any, path: str) -> None:
    first = fc(client, f"/api/v1/{path}?limit=3")
    assert first["numberReturned"] == len(first["features"]) == 3
    assert first["numberMatched"] > 3
    second = fc(client, f"/api/v1/{path}?limit=3&offset=3")
    assert {f["id"] for f in first["features"]}.isdisjoint({f["id"] for f in second["features"]})
    one = client.get(f"/api/v1/{path}/{first['features'][0]['id']}")
    assert one.status_code == 200
    assert one.json()["id"] == first["features"][0]["id"]


def test_room_properties_carry_area_and_method(client: Any) -> None:
    body = fc(client, "/api/v1/rooms?category=office&limit=5")
    for f in body["features"]:
        p = f["properties"]
        assert p["category"] == "office"
        assert isinstance(p["usable_area_m2"], (int, float)) and p["usable_area_m2"] > 0
        assert p["area_method"].startswith("planar:EPSG:45")
        assert f["geometry"]["type"] == "MultiPolygon"
        lon, lat = f["geometry"]["coordinates"][0][0][0]
        assert 118 < lon < 123 and 27 < lat < 31.5  # lon/lat order


def test_bbox_filter_and_region_subtree(client: Any) -> None:
    hz = fc(client, "/api/v1/buildings?region=330100&limit=1000")
    assert hz["numberMatched"] > 0
    assert all(330100 <= f["properties"]["region_adcode"] <= 330199 for f in hz["features"])
    # a bbox around the first Hangzhou building finds it; one in the sea finds nothing
    lon, lat = hz["features"][0]["geometry"]["coordinates"][0][0][0]
    near = fc(
        client, f"/api/v1/buildings?bbox={lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    )
    assert hz["features"][0]["id"] in {f["id"] for f in near["features"]}
    assert fc(client, "/api/v1/rooms?bbox=124.0,27.0,124.1,27.1")["numberMatched"] == 0


def test_floors_of_a_building_and_rooms_of_a_floor(client: Any) -> None:
    floors = fc(client, "/api/v1/buildings/1/floors")
    assert floors["numberMatched"] >= 3
    f = floors["features"][0]
    assert f["properties"]["building_area_m2"] > 0
    assert "GB/T 50353" in f["properties"]["area_rule"]
    rooms = fc(client, f"/api/v1/rooms?floor={f['id']}&limit=500")
    assert rooms["numberMatched"] == f["properties"]["rooms"]
    total = round(sum(r["properties"]["usable_area_m2"] for r in rooms["features"]), 2)
    assert total == pytest.approx(f["properties"]["usable_area_m2"], abs=0.005)


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/v1/buildings/999999", 404, "not_found"),
        ("/api/v1/rooms/0", 422, "invalid_parameter"),
        ("/api/v1/buildings?bbox=1,2,3", 422, "invalid_input"),
        ("/api/v1/buildings?bbox=30,120,31,121", 422, "invalid_input"),
        ("/api/v1/buildings?bbox=nan,1,2,3", 422, "invalid_input"),
        ("/api/v1/buildings?limit=0", 422, "invalid_parameter"),
        ("/api/v1/buildings?status=bogus", 422, "invalid_parameter"),
        ("/api/v1/rooms?category=office';drop table rooms;--", 422, "invalid_parameter"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ],
)
def test_errors_are_json_with_a_code(client: Any, url: str, status: int, code: str) -> None:
    r = client.get(url)
    assert r.status_code == status
    body = r.json()
    assert body["code"] == code
    assert body["message"] and body["message_zh"]


def test_swapped_bbox_axes_get_a_hint(client: Any) -> None:
    r = client.get("/api/v1/buildings?bbox=30.1,120.1,30.3,120.3")
    assert r.status_code == 422
    assert "swapped" in r.json()["message"]


def test_openapi_documents_the_register(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/buildings", "/api/v1/rooms/{room_id}", "/api/v1/health"]:
        assert path in spec["paths"]
    assert client.get("/docs").status_code == 200
