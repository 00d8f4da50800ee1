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


def test_health(client: Any, anon_client: Any, client_as: Any) -> None:
    r = anon_client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}  # no versions, paths or sizes
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    details = client.get("/api/v1/health/details")
    assert details.json()["database"]["postgis"].startswith("3.")
    assert anon_client.get("/api/v1/health/details").status_code == 401
    assert client_as("planner").get("/api/v1/health/details").status_code == 403


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


# ----------------------------------------------------------------- lean by-id reads (B5)
def _get(url: str, token: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """GET on the live server (the app's own async pool, not the test session)."""
    import json
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as r:
            return r.status, json.loads(r.read()), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), {k.lower(): v for k, v in e.headers.items()}


def _ids(engine: Any) -> tuple[int, int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        building, room = conn.execute(
            text("SELECT min(building_id), min(id) FROM rooms WHERE agency_id IS NOT NULL")
        ).one()
    return int(building), int(room)


@pytest.mark.parametrize("kind", ["buildings", "rooms"])
def test_by_id_on_the_async_pool_equals_the_session_path(
    kind: str, client: Any, live_server: str, engine: Any
) -> None:
    from backend.accounts.auth import issue_token

    building, room = _ids(engine)
    key = building if kind == "buildings" else room
    status, body, headers = _get(f"{live_server}/api/v1/{kind}/{key}", issue_token("admin"))
    here = client.get(f"/api/v1/{kind}/{key}")
    assert status == here.status_code == 200
    assert body == here.json() and body["id"] == key
    assert headers["etag"] == here.headers["ETag"] == f'"{body["properties"]["version"]}"'
    assert headers["content-type"].startswith("application/geo+json")
    assert _get(f"{live_server}/api/v1/{kind}/999999999", issue_token("admin"))[0] == 404
    assert _get(f"{live_server}/api/v1/{kind}/{key}", None)[0] == 401


@pytest.fixture
def committed_user(engine: Any) -> Any:
    """A committed user (scope: one agency) whose row the test may change; removed afterwards."""
    from sqlalchemy import text
    from sqlalchemy import update as sa_update

    from backend.accounts.auth import issue_token
    from backend.db.access import User

    name = "b5-probe"
    with engine.begin() as conn:
        agency, room, outside = conn.execute(
            text(
                "SELECT r.agency_id, r.id, (SELECT min(id) FROM rooms o WHERE o.agency_id <> r.agency_id"
                " AND o.building_id NOT IN (SELECT building_id FROM rooms WHERE agency_id = r.agency_id))"
                " FROM rooms r WHERE r.agency_id IS NOT NULL ORDER BY r.id LIMIT 1"
            )
        ).one()
        conn.execute(
            text(
                "INSERT INTO users (username, password_hash, roles, agencies, active)"
                " VALUES (:u, '!', '{agency_officer}', ARRAY[:a], true)"
            ),
            {"u": name, "a": agency},
        )

    def update(**values: Any) -> None:
        with engine.begin() as conn:
            conn.execute(sa_update(User).where(User.username == name).values(**values))

    yield issue_token(name), room, outside, update
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": name})


def test_pool_path_enforces_scope_and_sees_revokes_at_once(
    live_server: str, committed_user: Any
) -> None:
    token, room, outside, update = committed_user
    rooms = f"{live_server}/api/v1/rooms"
    assert _get(f"{rooms}/{room}", token)[0] == 200
    assert _get(f"{rooms}/{outside}", token)[0] == 404  # outside the agency: never the object
    update(agencies=[])  # scope revoked: the very next read no longer sees the room
    assert _get(f"{rooms}/{room}", token)[0] == 404
    update(roles=["admin"])  # granted: the next read sees everything
    assert _get(f"{rooms}/{outside}", token)[0] == 200
    update(active=False)  # deactivated: 401 at once
    status, body, _ = _get(f"{rooms}/{room}", token)
    assert status == 401 and body["code"]


def test_session_path_rereads_a_changed_principal(client_as: Any, db: Any) -> None:
    from sqlalchemy import text

    agency, room = db.execute(
        text("SELECT agency_id, id FROM rooms WHERE agency_id IS NOT NULL ORDER BY id LIMIT 1")
    ).one()
    officer = client_as("agency_officer", agencies=[agency])
    assert officer.get(f"/api/v1/rooms/{room}").status_code == 200
    db.execute(text("UPDATE users SET agencies = '{}' WHERE username LIKE 'test-agency_officer-%'"))
    r = officer.get(f"/api/v1/rooms/{room}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_by_id_sets_the_rls_scope_for_the_caller(client_as: Any, db: Any) -> None:
    """The feature query runs after the scope settings the RLS policies read (same transaction)."""
    from sqlalchemy import text

    agency, room = db.execute(
        text("SELECT agency_id, id FROM rooms WHERE agency_id IS NOT NULL ORDER BY id LIMIT 1")
    ).one()
    assert client_as("agency_officer", agencies=[agency]).get(f"/api/v1/rooms/{room}").is_success
    settings = db.execute(
        text(
            "SELECT current_setting('officemap.unrestricted', true),"
            " current_setting('officemap.agencies', true)"
        )
    ).one()
    assert settings == ("", "{" + str(agency) + "}")
