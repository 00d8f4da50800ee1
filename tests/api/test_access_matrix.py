"""The access matrix (OWASP API1/API3/API5): every endpoint × every role × in/out of scope.

Routes are enumerated from the app, so endpoints added later are covered too. A scoped
caller asking for an object outside their scope gets 404 (never the object), lists never
contain out-of-scope rows, role-restricted routes refuse other roles with 403, anonymous
callers get 401 (API) or are sent to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts.access import ROLES
from backend.api.authn import is_public

MARKER = "LEAKMARKER-7f3a"


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    path_params: tuple[str, ...]
    required_query: tuple[str, ...]
    roles: frozenset[str] | None  # None: any signed-in caller


def _required_roles(dependant: Any) -> frozenset[str] | None:
    found: frozenset[str] | None = None
    for dep in dependant.dependencies:
        call = dep.call
        if getattr(call, "__qualname__", "").startswith("require_roles.") and call.__closure__:
            for cell in call.__closure__:
                if isinstance(cell.cell_contents, tuple):
                    found = frozenset(cell.cell_contents)
        inner = _required_roles(dep)
        if inner is not None:
            found = inner if found is None else found & inner
    return found


def _required_query(dependant: Any) -> list[str]:
    names = [p.name for p in dependant.query_params if p.field_info.is_required()]
    for dep in dependant.dependencies:
        names += _required_query(dep)
    return names


def routes(app: Any) -> list[RouteInfo]:
    """Every HTTP route of the app (APIRoutes, also inside included routers)."""
    out: list[RouteInfo] = []

    def add(path: str, methods: set[str], dependant: Any) -> None:
        out.append(
            RouteInfo(
                path=path,
                methods=frozenset(methods) - {"HEAD", "OPTIONS"},
                path_params=tuple(p.name for p in dependant.path_params),
                required_query=tuple(_required_query(dependant)),
                roles=_required_roles(dependant),
            )
        )

    for r in app.routes:
        if hasattr(r, "effective_candidates"):
            for c in r.effective_candidates():
                add(c.path, set(c.methods or ()), c.dependant)
        elif hasattr(r, "dependant"):
            add(r.path, set(r.methods or ()), r.dependant)
    return out


@dataclass
class World:
    """A city-scoped region, the officer's agency, and objects outside both."""

    city: int
    agency: int
    inside: dict[str, int]
    outside: dict[str, int]


@pytest.fixture
def world(db: Session) -> World:
    row = db.execute(
        text("""
        SELECT b.id, b.region_adcode, b.agency_id FROM buildings b
        WHERE b.agency_id IS NOT NULL AND b.source = 'demo generator' AND b.region_adcode % 100 <> 0
          AND EXISTS (SELECT 1 FROM occupancies o JOIN rooms r ON r.id = o.room_id
                      WHERE r.building_id = b.id AND r.agency_id = b.agency_id
                        AND o.agency_id = b.agency_id)
        ORDER BY b.id LIMIT 1""")
    ).one()
    city = row.region_adcode - row.region_adcode % 100
    agency = row.agency_id
    out = db.execute(
        text("""
        SELECT b.id, b.agency_id, b.region_adcode FROM buildings b
        WHERE b.region_adcode NOT BETWEEN :lo AND :hi AND b.agency_id <> :a
          AND b.region_adcode % 100 <> 0
          AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.building_id = b.id AND r.agency_id = :a)
          AND EXISTS (SELECT 1 FROM occupancies o JOIN rooms r ON r.id = o.room_id
                      WHERE r.building_id = b.id AND o.agency_id <> :a)
          AND (SELECT region_adcode FROM agencies WHERE id = b.agency_id) NOT BETWEEN :lo AND :hi
        ORDER BY b.id LIMIT 1"""),
        {"lo": city, "hi": city + 99, "a": agency},
    ).one()

    def objects(building: int, agency_id: int, region: int, inside: bool) -> dict[str, int]:
        q = db.execute(
            text("""
            SELECT f.id AS floor, r.id AS room, o.id AS occ FROM floors f
            JOIN rooms r ON r.floor_id = f.id JOIN occupancies o ON o.room_id = r.id
            WHERE f.building_id = :b AND f.valid_to IS NULL
              AND coalesce(r.agency_id = :a AND o.agency_id = :a, false) = :inside
              AND (:inside OR (r.agency_id IS DISTINCT FROM :officer AND o.agency_id <> :officer))
            ORDER BY r.id LIMIT 1"""),
            {"b": building, "a": agency_id, "inside": inside, "officer": agency},
        ).one()
        return {
            "building_id": building,
            "floor_id": q.floor,
            "room_id": q.room,
            "occupancy_id": q.occ,
            "agency_id": agency_id,
            "adcode": region,
        }

    outside = objects(out.id, out.agency_id, out.region_adcode, False)
    inside = objects(row.id, agency, row.region_adcode, True)
    db.execute(
        text("UPDATE buildings SET name = :m WHERE id = :b"), {"m": MARKER + "-b", "b": out.id}
    )
    db.execute(
        text("UPDATE agencies SET name = :m WHERE id = :a"),
        {"m": MARKER + "-a", "a": out.agency_id},
    )
    db.execute(
        text("UPDATE occupancies SET person_name = :m WHERE id = :o"),
        {"m": MARKER + "-o", "o": outside["occupancy_id"]},
    )
    db.flush()
    return World(city=city, agency=agency, inside=inside, outside=outside)


def scoped_client(client_as: Any, role: str, w: World) -> Any:
    if role == "agency_officer":
        return client_as(role, agencies=[w.agency])
    return client_as(role, regions=[w.city])


def fill(path: str, ids: dict[str, int]) -> str | None:
    """The path with known parameters filled in; None if a parameter is unknown."""
    names = re.findall(r"{(\w+)(?::\w+)?}", path)
    if any(n not in ids for n in names):
        return None
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(ids[m.group(1)]), path)


def test_the_matrix_covers_every_route(app: Any) -> None:
    rs = routes(app)
    paths = {r.path for r in rs}
    assert {"/api/v1/buildings/{building_id}", "/api/v1/audit", "/map"} <= paths
    assert len(rs) >= 25


def test_anonymous_callers_reach_only_login_health_and_docs(anon_client: Any, app: Any) -> None:
    ids = dict.fromkeys(["building_id", "floor_id", "room_id", "occupancy_id", "agency_id"], 1) | {
        "adcode": 330000
    }
    for r in routes(app):
        url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(ids.get(m.group(1), 1)), r.path)
        for method in r.methods:
            resp = anon_client.request(method, url, follow_redirects=False)
            if is_public(r.path):
                assert resp.status_code < 500, (method, url)
                continue
            if r.path.startswith(("/api/", "/ogc")):  # GIS clients get 401, not a login page
                assert resp.status_code == 401, (method, url, resp.status_code)
                assert resp.json()["code"] == "unauthenticated"
            else:
                assert resp.status_code == 303, (method, url, resp.status_code)
                assert resp.headers["location"].startswith("/login?next=")
    assert anon_client.get("/api/v1/health").status_code == 200
    assert anon_client.get("/login").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_role_restricted_routes_refuse_other_roles(
    role: str, app: Any, client_as: Any, world: World
) -> None:
    c = scoped_client(client_as, role, world)
    checked = 0
    for r in routes(app):
        if r.roles is None or role in r.roles:
            continue
        url = fill(r.path, world.inside)
        if url is None:
            continue
        for method in r.methods:
            resp = c.request(method, url, json={}, headers={"If-Match": '"1"'})
            assert resp.status_code == 403, (role, method, url, resp.status_code)
            checked += 1
    if role != "admin":
        assert checked > 0


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_out_of_scope_objects_are_not_found(
    role: str, app: Any, client_as: Any, world: World
) -> None:
    c = scoped_client(client_as, role, world)
    checked = 0
    for r in routes(app):
        if not r.path_params or (r.roles is not None and role not in r.roles):
            continue
        url = fill(r.path, world.outside)
        if url is None:
            continue
        for method in r.methods:
            resp = c.request(method, url, json={}, headers={"If-Match": '"1"'})
            if method == "GET":
                assert resp.status_code == 404, (role, url, resp.status_code)
            else:
                assert resp.status_code in (403, 404, 422), (role, method, url, resp.status_code)
            assert MARKER not in resp.text
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_in_scope_objects_are_readable(role: str, app: Any, client_as: Any, world: World) -> None:
    c = scoped_client(client_as, role, world)
    for name in ("buildings", "rooms", "floors"):
        key = {"buildings": "building_id", "rooms": "room_id", "floors": "floor_id"}[name]
        resp = c.get(f"/api/v1/{name}/{world.inside[key]}")
        assert resp.status_code == 200, (role, name, resp.text)
        assert resp.headers["ETag"]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_lists_and_pages_never_leak(role: str, app: Any, client_as: Any, world: World) -> None:
    c = scoped_client(client_as, role, world)
    seen = 0
    for r in routes(app):
        if "GET" not in r.methods or r.required_query or (r.roles and role not in r.roles):
            continue
        url = fill(r.path, world.inside)
        if url is None or r.path.startswith(("/docs", "/redoc", "/api/v1/openapi")):
            continue
        for extra in ("", "?limit=10000"):
            resp = c.get(url + (extra if "?" not in url else ""))
            assert resp.status_code < 500, (url, resp.status_code)
            assert MARKER not in resp.text, (role, url)
            seen += 1
    assert seen >= 10


def test_admin_sees_the_out_of_scope_marker(client: Any, world: World) -> None:
    """The leak test can fail: the marker is visible to whoever may see it."""
    resp = client.get(f"/api/v1/buildings/{world.outside['building_id']}")
    assert MARKER in resp.text


def test_unknown_and_read_only_fields_are_refused(client: Any, world: World) -> None:
    b = world.inside["building_id"]
    etag = client.get(f"/api/v1/buildings/{b}").headers["ETag"]
    for body in ({"colour": "red"}, {"version": 9}, {"id": 1}, {"footprint_area_m2": 1}):
        resp = client.patch(f"/api/v1/buildings/{b}", json=body, headers={"If-Match": etag})
        assert resp.status_code == 422, body
    resp = client.patch(
        f"/api/v1/rooms/{world.inside['room_id']}",
        json={"usable_area_m2": 1},
        headers={"If-Match": '"1"'},
    )
    assert resp.status_code == 422


def test_writes_cannot_move_objects_out_of_scope(client_as: Any, world: World) -> None:
    planner = client_as("planner", regions=[world.city])
    room = world.inside["room_id"]
    etag = planner.get(f"/api/v1/rooms/{room}").headers["ETag"]
    resp = planner.patch(
        f"/api/v1/rooms/{room}",
        json={"agency_id": world.outside["agency_id"]},
        headers={"If-Match": etag},
    )
    assert resp.status_code == 404


@pytest.fixture
def officer_scope(db: Session) -> Iterator[int]:
    agency = db.execute(
        text("SELECT agencies[1] FROM users WHERE username = 'officer'")
    ).scalar_one()
    yield agency


def test_demo_officer_sees_only_their_agency(app: Any, officer_scope: int) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import bearer

    with TestClient(app, headers=bearer("officer")) as c:
        agencies = c.get("/api/v1/agencies?limit=10000").json()["features"]
        assert [a["id"] for a in agencies] == [officer_scope]
        rooms = c.get("/api/v1/rooms?limit=10000").json()["features"]
        assert rooms and {r["properties"]["agency_id"] for r in rooms} == {officer_scope}
        occ = c.get("/api/v1/occupancies?limit=10000").json()["items"]
        room_ids = {r["id"] for r in rooms}
        assert occ and all(o["agency_id"] == officer_scope or o["room_id"] in room_ids for o in occ)
        buildings = c.get("/api/v1/buildings?limit=10000").json()["features"]
        housing = {r["properties"]["building_id"] for r in rooms}
        assert {b["id"] for b in buildings} <= housing | {
            b["id"] for b in buildings if b["properties"]["agency_id"] == officer_scope
        }
        points = c.get("/api/v1/map/building-points").json()["points"]
        assert {p[0] for p in points} == {b["id"] for b in buildings}
