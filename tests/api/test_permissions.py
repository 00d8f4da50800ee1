"""The role × action table: the README's table is ``access.PERMISSIONS`` and the app does
exactly what it says — every action performed by every role, within the caller's scope.

An allowed action succeeds (2xx); a refused one answers 403 and changes nothing. The
managing office (admin, planner) sets the figures an agency is judged by: an agency officer
may not change its own agency's staffing quota or approved area.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend import reference
from backend.accounts import auth
from backend.accounts.access import PERMISSIONS, ROLES, permission_table
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Room
from tests.api.test_plan_upload import plan, post
from tests.backend.test_plans_support import Site, demo_site

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- permissions:begin -->", "<!-- permissions:end -->"


def readme_table() -> str:
    text_ = README.read_text(encoding="utf-8")
    assert BEGIN in text_ and END in text_, "README lacks the role × action table markers"
    return text_.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_readme_carries_the_table_the_app_enforces() -> None:
    assert readme_table() == permission_table()


def test_readme_table_parsed_matches_the_structure() -> None:
    """Parsed cell by cell (so an edit of the README by hand is caught with a clear diff)."""
    lines = [ln for ln in readme_table().splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[2:] == list(ROLES)
    parsed: dict[str, set[str]] = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        parsed[cells[0]] = {
            role for role, mark in zip(ROLES, cells[2:], strict=True) if mark == "✓"
        }
    assert parsed == {p.what: set(p.roles) for p in PERMISSIONS.values()}


@dataclass
class World:
    site: Site
    agency_id: int
    city: int
    floor_id: int
    room_id: int
    finding_id: int


@pytest.fixture
def world(db: Session) -> World:
    site = demo_site(db)
    building = db.get(Building, site.building_id)
    assert building is not None and building.agency_id is not None
    floor_id, room_id = db.execute(
        select(Floor.id, Room.id)
        .join(Room, Room.floor_id == Floor.id)
        .where(
            Floor.building_id == site.building_id,
            Floor.valid_to.is_(None),
            Room.agency_id == building.agency_id,
        )
        .order_by(Floor.level.desc(), Room.id)
        .limit(1)
    ).one()
    finding = ComplianceFinding(
        rule_code="idle_room",
        object_type="room",
        object_id=str(room_id),
        room_id=room_id,
        floor_id=floor_id,
        building_id=site.building_id,
        agency_id=building.agency_id,
        region_adcode=building.region_adcode,
        standard_version="test",
        evaluated_at=db.execute(text("SELECT now()")).scalar_one(),
        status="open",
    )
    db.execute(
        text("UPDATE compliance_findings SET status = 'closed' WHERE object_id = :o"),
        {"o": str(room_id)},
    )
    db.add(finding)
    db.flush()
    return World(
        site=site,
        agency_id=building.agency_id,
        city=building.region_adcode // 100 * 100,
        floor_id=floor_id,
        room_id=room_id,
        finding_id=finding.id,
    )


def _etag(c: Any, url: str) -> dict[str, str]:
    r = c.get(url)
    assert r.status_code == 200, (url, r.text)
    return {"If-Match": r.headers["ETag"]}


def _staffing(db: Session, agency_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        select(AgencyStaffing.rank_code, AgencyStaffing.quota, AgencyStaffing.headcount)
        .where(AgencyStaffing.agency_id == agency_id)
        .order_by(AgencyStaffing.rank_code)
    ).mappings()
    return [dict(r) for r in rows] or [
        {"rank_code": _rank(db, agency_id), "quota": 0, "headcount": 0}
    ]


def _rank(db: Session, agency_id: int) -> str:
    """A rank of the standards for the agency's level (ranks are checked against them)."""
    level = db.execute(select(Agency.level).where(Agency.id == agency_id)).scalar_one()
    return next(code for lv, code in reference.ranks() if lv == level)


Probe = Callable[[Any, World, Session, str], Any]


def _read(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get(f"/api/v1/buildings/{w.site.building_id}")


def _create_building(c: Any, w: World, db: Session, username: str) -> Any:
    lon, lat = db.execute(
        text(
            "SELECT ST_X(ST_Centroid(footprint)), ST_Y(ST_Centroid(footprint)) FROM buildings "
            "WHERE id = :b"
        ),
        {"b": w.site.building_id},
    ).one()
    ring = [[lon, lat], [lon + 0.0002, lat], [lon + 0.0002, lat + 0.0002], [lon, lat]]
    return c.post(
        "/api/v1/buildings",
        json={
            "name": "权限测试楼",
            "region_adcode": w.site.region_adcode,
            "agency_id": w.agency_id,
            "footprint": {"type": "Polygon", "coordinates": [ring]},
        },
    )


def _update_building(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/rooms/{w.room_id}"
    return c.patch(url, json={"number": "R-1"}, headers=_etag(c, url))


def _dry_run(c: Any, w: World, db: Session, username: str) -> Any:
    _, data = plan(w.site)
    return post(c, w.site, data, crs=w.site.crs, dry_run="true")


def _import(c: Any, w: World, db: Session, username: str) -> Any:
    _, data = plan(w.site)
    return post(c, w.site, data, crs=w.site.crs)


def _occupancy(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/occupancies",
        json={
            "room_id": w.room_id,
            "agency_id": w.agency_id,
            "rank_code": _rank(db, w.agency_id),
            "person_id": f"perm-{username}",
            "start_date": "2026-01-05",
        },
    )


def _headcount(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/agencies/{w.agency_id}"
    rows = _staffing(db, w.agency_id)
    rows[0] = rows[0] | {"headcount": rows[0]["headcount"] + 1}
    return c.put(url + "/staffing", json={"staffing": rows}, headers=_etag(c, url))


def _quota(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/agencies/{w.agency_id}"
    rows = _staffing(db, w.agency_id)
    rows[0] = rows[0] | {"quota": rows[0]["quota"] + 5}
    return c.put(url + "/staffing", json={"staffing": rows}, headers=_etag(c, url))


def _approved_area(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/agencies/{w.agency_id}"
    return c.patch(url, json={"approved_office_area_m2": "999.50"}, headers=_etag(c, url))


def _finding_status(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/compliance/findings/{w.finding_id}"
    return c.patch(url, json={"status": "rectifying"}, headers=_etag(c, url))


def _evaluate(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/compliance/evaluations", json={"floor": w.floor_id})


def _audit(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/audit")


def _lease(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/leases",
        json={"room_id": w.room_id, "kind": "lend", "start_date": "2026-01-05"},
    )


def _whatif(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/whatif/scenarios", json={"name": "权限", "idle_threshold_days": 90})


def _password(c: Any, w: World, db: Session, username: str) -> Any:
    db.execute(
        text("UPDATE users SET password_hash = :h WHERE username = :u"),
        {"h": auth.hash_password("before-change-1"), "u": username},
    )
    return c.post(
        "/api/v1/auth/password",
        json={"current_password": "before-change-1", "new_password": "after-change-2"},
    )


PROBES: dict[str, Probe] = {
    "register.read": _read,
    "building.create": _create_building,
    "building.update": _update_building,
    "plan.dry_run": _dry_run,
    "plan.import": _import,
    "occupancy.write": _occupancy,
    "staffing.headcount": _headcount,
    "staffing.quota": _quota,
    "agency.approved_area": _approved_area,
    "finding.status": _finding_status,
    "compliance.evaluate": _evaluate,
    "audit.read": _audit,
    "lease.write": _lease,
    "whatif.run": _whatif,
    "password.change": _password,  # last: it revokes the client's token
}


def test_every_action_has_a_probe() -> None:
    assert list(PROBES) == list(PERMISSIONS)


def _state(db: Session, w: World) -> tuple[Any, ...]:
    """What the refused probes could have changed."""
    agency = db.get(Agency, w.agency_id)
    db.refresh(agency)  # type: ignore[arg-type]
    return (
        db.execute(text("SELECT count(*) FROM buildings")).scalar_one(),
        db.execute(text("SELECT number, version FROM rooms WHERE id = :r"), {"r": w.room_id}).one(),
        db.execute(text("SELECT count(*) FROM floors")).scalar_one(),
        db.execute(text("SELECT count(*) FROM occupancies")).scalar_one(),
        tuple(tuple(r.values()) for r in _staffing(db, w.agency_id)),
        agency.approved_office_area_m2 if agency else None,
        db.execute(
            text("SELECT status, version FROM compliance_findings WHERE id = :f"),
            {"f": w.finding_id},
        ).one(),
        db.execute(text("SELECT count(*) FROM compliance_evaluations")).scalar_one(),
        db.execute(text("SELECT count(*) FROM leases")).scalar_one(),
        db.execute(text("SELECT count(*) FROM whatif_scenarios")).scalar_one(),
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_app_does_what_the_table_says(
    role: str, world: World, client_as: Any, db: Session
) -> None:
    if role == "agency_officer":
        c = client_as(role, agencies=[world.agency_id])  # its own agency
    else:
        c = client_as(role, regions=[world.city])
    username = c.get("/api/v1/auth/me").json()["username"]
    for action, probe in PROBES.items():
        allowed = role in PERMISSIONS[action].roles
        before = _state(db, world)
        r = probe(c, world, db, username)
        if allowed:
            assert 200 <= r.status_code < 300, (role, action, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, action, r.status_code, r.text)
            assert r.json()["code"] == "forbidden"
            assert _state(db, world) == before, (role, action)


def test_routes_use_the_table(app: Any) -> None:
    """The role checks of the routes are the table's rows (no second list of roles)."""
    from tests.api.test_access_matrix import routes

    by_route = {(m, r.path): r.roles for r in routes(app) for m in r.methods}
    expect = {
        ("POST", "/api/v1/buildings"): "building.create",
        ("PATCH", "/api/v1/buildings/{building_id}"): "building.update",
        ("PATCH", "/api/v1/rooms/{room_id}"): "building.update",
        ("PATCH", "/api/v1/floors/{floor_id}"): "building.update",
        ("POST", "/api/v1/occupancies"): "occupancy.write",
        ("PATCH", "/api/v1/agencies/{agency_id}"): "agency.approved_area",
        ("PUT", "/api/v1/agencies/{agency_id}/staffing"): "staffing.headcount",
        ("PATCH", "/api/v1/compliance/findings/{finding_id}"): "finding.status",
        ("POST", "/api/v1/compliance/evaluations"): "compliance.evaluate",
        ("GET", "/api/v1/audit"): "audit.read",
        ("POST", "/api/v1/occupancies/{occupancy_id}/move"): "occupancy.write",
        ("POST", "/api/v1/leases"): "lease.write",
        ("PATCH", "/api/v1/leases/{lease_id}"): "lease.write",
        ("POST", "/api/v1/whatif/scenarios"): "whatif.run",
    }
    for key, action in expect.items():
        assert by_route[key] == frozenset(PERMISSIONS[action].roles), key
    assert set(PERMISSIONS["staffing.quota"].roles) <= set(PERMISSIONS["staffing.headcount"].roles)
    assert re.search(r"agency_officer", " ".join(PERMISSIONS["staffing.quota"].roles)) is None
