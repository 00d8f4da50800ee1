"""The role × action table: the README's table is ``access.PERMISSIONS`` and the app does
exactly what it says — every action performed by every role, within the caller's scope.

An allowed action succeeds (2xx); a refused one answers 403 and changes nothing. The
managing office (admin, planner) sets the figures an agency is judged by: an agency officer
may not change its own agency's staffing quota or approved area.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from backend import reference
from backend.accounts import auth
from backend.accounts.access import PERMISSIONS, ROLES, SYSTEM, permission_table
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
    made: dict[str, Any] = field(default_factory=dict)  # what SETUPS prepared, by action


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


# ---------------------------------------------------------------- reallocation, lifecycle,
# supervision, stock-take: each probe sets up what its action needs (as the system) and
# performs the action through the API as the role under test
def _space_request(db: Session, w: World) -> int:
    from backend.allocation.models import SpaceRequest

    region = db.execute(select(Agency.region_adcode).where(Agency.id == w.agency_id)).scalar_one()
    return int(
        db.execute(
            insert(SpaceRequest)
            .values(
                agency_id=w.agency_id,
                region_adcode=region,
                status="submitted",
                offices=[{"rank_code": _rank(db, w.agency_id), "count": 1}],
                rooms=[],
                releases=[],
                created_by="system",
            )
            .returning(SpaceRequest.id)
        ).scalar_one()
    )


def _rent_plan(db: Session, w: World) -> int:
    from backend.allocation import schemas as plans
    from backend.allocation import service as allocation

    return allocation.approve_plan(
        db,
        plans.PlanCreate(request_id=_space_request(db, w), route="rent", area_m2=9.0),
        principal=SYSTEM,
    )


def _file_request(c: Any, w: World, db: Session, username: str) -> Any:
    offices = [{"rank_code": _rank(db, w.agency_id), "count": 1}]
    return c.post("/api/v1/space-requests", json={"agency_id": w.agency_id, "offices": offices})


def _candidates(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get(f"/api/v1/space-requests/{w.made['allocation.candidates']}/candidates")


def _approve_plan(c: Any, w: World, db: Session, username: str) -> Any:
    body = {"request_id": w.made["allocation.approve"], "route": "rent", "area_m2": 9.0}
    return c.post("/api/v1/allocation-plans", json=body)


def _execute_plan(c: Any, w: World, db: Session, username: str) -> Any:
    plan = w.made["allocation.execute"]
    return c.post(f"/api/v1/allocation-plans/{plan}/execute", headers={"If-Match": '"1"'})


def _match(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/allocation-matchings", json={"request_ids": [w.made["allocation.match"]]}
    )


def _idle_room(db: Session, w: World) -> int:
    """A room of the site's building nobody uses today and not in the pool."""
    return int(
        db.execute(
            text(
                "SELECT r.id FROM rooms r JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
                "WHERE r.building_id = :b AND NOT EXISTS (SELECT 1 FROM occupancies o "
                "WHERE o.room_id = r.id AND (o.end_date IS NULL OR o.end_date > current_date)) "
                "AND NOT EXISTS (SELECT 1 FROM approved_uses u WHERE u.room_id = r.id) "
                "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id "
                "OR l.building_id = r.building_id) "
                "AND NOT EXISTS (SELECT 1 FROM asset_pool p WHERE p.room_id = r.id) "
                "ORDER BY r.id LIMIT 1"
            ),
            {"b": w.site.building_id},
        ).scalar_one()
    )


def _pool(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/asset-pool", json={"room_id": _idle_room(db, w)})


def _unapproved_lease(db: Session, w: World) -> int:
    return int(
        db.execute(
            text(
                "INSERT INTO leases (room_id, agency_id, kind, counterparty, start_date) "
                "VALUES (:r, :a, 'lend', '某单位', current_date) RETURNING id"
            ),
            {"r": w.room_id, "a": w.agency_id},
        ).scalar_one()
    )


def _approve_lease(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        f"/api/v1/leases/{w.made['lease.approve']}/approve",
        json={"approval_ref": "批-1"},
        headers={"If-Match": '"1"'},
    )


def _request_maintenance(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/maintenance", json={"building_id": w.site.building_id, "work": "屋面"})


def _maintenance(db: Session, w: World) -> int:
    from backend.lifecycle import schemas as lifecycle_schemas
    from backend.lifecycle import service as lifecycle

    return lifecycle.request_maintenance(
        db,
        lifecycle_schemas.MaintenanceCreate(building_id=w.site.building_id, work="外墙"),
        principal=SYSTEM,
    )


def _decide_maintenance(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        f"/api/v1/maintenance/{w.made['maintenance.decide']}/reject",
        json={"note": "预算不足"},
        headers={"If-Match": '"1"'},
    )


def _disposal(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/disposals",
        json={"building_id": w.site.building_id, "kind": "sale", "counterpart": "某公司"},
    )


def _title(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/titles",
        json={
            "building_id": w.site.building_id,
            "certificate_no": f"浙(2026)第{username}号",
            "certified_area_m2": "1000.00",
            "holder": "机关事务管理局",
        },
    )


def _reconciliation(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/reconciliation")


def _inspections(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/inspections")


def _plan_inspection(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/inspections",
        json={
            "title": "专项检查",
            "kind": "special",
            "region_adcode": w.city,
            "scope_buildings": [w.site.building_id],
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-31",
        },
    )


def _open_finding(db: Session, w: World) -> None:
    """The world's finding open again (a re-evaluation by an earlier probe may close it:
    its idle room is made up) and off the ledger."""
    db.execute(text("DELETE FROM rectifications WHERE finding_id = :f"), {"f": w.finding_id})
    db.execute(
        text("UPDATE compliance_findings SET status = 'open', closed_at = NULL WHERE id = :f"),
        {"f": w.finding_id},
    )


def _item(db: Session, w: World) -> None:
    """The world's finding on the rectification ledger (once)."""
    from backend.supervision import ledger
    from backend.supervision.schemas import RectificationCreate

    if db.execute(
        text("SELECT 1 FROM rectifications WHERE finding_id = :f"), {"f": w.finding_id}
    ).first():
        return
    body = RectificationCreate(responsible_person="张三", deadline=dt.date(2027, 1, 31))
    _open_finding(db, w)
    ledger.create(db, w.finding_id, body, principal=SYSTEM, today=dt.date(2026, 12, 1))


def _evidence(c: Any, w: World, db: Session, username: str) -> Any:
    from tests.supervision.helpers import png

    return c.post(
        "/api/v1/evidence",
        files={"file": ("p.png", png(), "image/png")},
        data={"phase": "before", "finding_id": str(w.finding_id)},
    )


def _rectifications(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/rectifications")


def _create_rectification(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        f"/api/v1/findings/{w.finding_id}/rectification",
        json={"responsible_person": "李四", "deadline": "2027-01-31"},
    )


def _update_rectification(c: Any, w: World, db: Session, username: str) -> Any:
    url = f"/api/v1/findings/{w.finding_id}/rectification"
    return c.patch(url, json={"measures": f"腾退 {username}"}, headers=_etag_of(db, w))


def _etag_of(db: Session, w: World) -> dict[str, str]:
    version = db.execute(
        text("SELECT version FROM rectifications WHERE finding_id = :f"), {"f": w.finding_id}
    ).scalar_one()
    return {"If-Match": f'"{version}"'}


def _flag_overdue(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/rectifications/overdue-flags")


def _accountability_list(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/accountability")


def _accountability(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post(
        "/api/v1/accountability",
        json={
            "person_name": "王五",
            "agency_id": w.agency_id,
            "finding_ids": [w.finding_id],
            "measure": "talk",
            "decided_on": "2026-12-01",
            "issuing_body": "纪委",
        },
    )


def _assessments(c: Any, w: World, db: Session, username: str) -> Any:
    return c.get("/api/v1/assessments")


def _ledger_import(c: Any, w: World, db: Session, username: str) -> Any:
    from openpyxl import Workbook

    from tests.stocktake.ledgers import save
    from tests.stocktake.test_ledger_import import post as post_ledger

    wb = Workbook()
    ws = wb.active
    ws.title = "房间台账"
    ws.append(["房屋编号", "楼层", "房间号", "用房类别", "账面面积（㎡）"])
    ws.append([w.site.building_id, 1, f"P-{username}", "一般工作人员办公室", "18.00"])
    return post_ledger(c, save(wb), dry_run=True)


def _create_agency(c: Any, w: World, db: Session, username: str) -> Any:
    from tests.stocktake.ledgers import code

    region = db.execute(select(Agency.region_adcode).where(Agency.id == w.agency_id)).scalar_one()
    return c.post(
        "/api/v1/agencies",
        json={
            "name": "权限测试单位",
            "credit_code": code(900, region),
            "level": "county",
            "region_adcode": region,
        },
    )


def _campaign_body(w: World) -> dict[str, Any]:
    return {"name": "权限测试清查", "region_adcode": w.city, "deadline": "2026-12-31"}


def _launch(c: Any, w: World, db: Session, username: str) -> Any:
    return c.post("/api/v1/campaigns", json=_campaign_body(w))


def _campaign(db: Session, w: World, status: str) -> int:
    from backend.stocktake import service as stocktake
    from backend.stocktake.schemas import CampaignCreate

    campaign = stocktake.create_campaign(db, CampaignCreate(**_campaign_body(w)), principal=SYSTEM)
    db.execute(
        text("UPDATE campaign_agencies SET status = :s WHERE campaign_id = :c AND agency_id = :a"),
        {"s": status, "c": campaign, "a": w.agency_id},
    )
    return campaign


def _submit(c: Any, w: World, db: Session, username: str) -> Any:
    campaign = w.made["campaign.submit"]
    return c.post(
        f"/api/v1/campaigns/{campaign}/agencies/{w.agency_id}/status",
        json={"status": "submitted"},
        headers={"If-Match": '"1"'},
    )


def _verify(c: Any, w: World, db: Session, username: str) -> Any:
    campaign = w.made["campaign.verify"]
    return c.post(
        f"/api/v1/campaigns/{campaign}/agencies/{w.agency_id}/status",
        json={"status": "verified"},
        headers={"If-Match": '"1"'},
    )


# what a probe needs, made before the state is taken (a refused probe changes nothing)
SETUPS: dict[str, Callable[[Session, World], Any]] = {
    "allocation.candidates": _space_request,
    "allocation.approve": _space_request,
    "allocation.execute": _rent_plan,
    "allocation.match": _space_request,
    "lease.approve": _unapproved_lease,
    "maintenance.decide": _maintenance,
    "evidence.upload": _item,
    "rectification.create": _open_finding,
    "rectification.update": _item,
    "accountability.write": _open_finding,
    "campaign.submit": lambda db, w: _campaign(db, w, "in_progress"),
    "campaign.verify": lambda db, w: _campaign(db, w, "submitted"),
}

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
    "space_request.create": _file_request,
    "allocation.candidates": _candidates,
    "allocation.approve": _approve_plan,
    "allocation.execute": _execute_plan,
    "allocation.match": _match,
    "asset_pool.release": _pool,
    "lease.approve": _approve_lease,
    "maintenance.request": _request_maintenance,
    "maintenance.decide": _decide_maintenance,
    "disposal.write": _disposal,
    "title.write": _title,
    "reconciliation.read": _reconciliation,
    "inspection.read": _inspections,
    "inspection.write": _plan_inspection,
    "evidence.upload": _evidence,
    "rectification.read": _rectifications,
    "rectification.create": _create_rectification,
    "rectification.update": _update_rectification,
    "rectification.flag_overdue": _flag_overdue,
    "accountability.read": _accountability_list,
    "accountability.write": _accountability,
    "assessment.read": _assessments,
    "ledger.import": _ledger_import,
    "agency.create": _create_agency,
    "campaign.create": _launch,
    "campaign.submit": _submit,
    "campaign.verify": _verify,
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
        *(_table(db, t) for t in WRITTEN),
    )


# the tables the newer actions write: every row's content, compared before and after
WRITTEN = (
    "space_requests",
    "allocation_plans",
    "asset_pool",
    "leases",
    "maintenance_requests",
    "disposals",
    "titles",
    "inspections",
    "evidence",
    "rectifications",
    "accountability_records",
    "ledger_rooms",
    "agencies",
    "campaigns",
    "campaign_agencies",
)


def _table(db: Session, table: str) -> Any:
    sql = f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t"  # noqa: S608
    return db.execute(text(sql)).scalar_one()


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
        if action in SETUPS:
            world.made[action] = SETUPS[action](db, world)
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
        ("GET", "/api/v1/space-requests/{request_id}/candidates"): "allocation.candidates",
        ("POST", "/api/v1/allocation-plans"): "allocation.approve",
        ("POST", "/api/v1/allocation-plans/{plan_id}/execute"): "allocation.execute",
        ("POST", "/api/v1/allocation-matchings"): "allocation.match",
        ("POST", "/api/v1/asset-pool"): "asset_pool.release",
        ("GET", "/api/v1/inspections"): "inspection.read",
        ("POST", "/api/v1/inspections"): "inspection.write",
        ("POST", "/api/v1/evidence"): "evidence.upload",
        ("GET", "/api/v1/rectifications"): "rectification.read",
        ("POST", "/api/v1/findings/{finding_id}/rectification"): "rectification.create",
        ("PATCH", "/api/v1/findings/{finding_id}/rectification"): "rectification.update",
        ("POST", "/api/v1/rectifications/overdue-flags"): "rectification.flag_overdue",
        ("GET", "/api/v1/accountability"): "accountability.read",
        ("POST", "/api/v1/accountability"): "accountability.write",
        ("GET", "/api/v1/assessments"): "assessment.read",
    }
    for key, action in expect.items():
        assert by_route[key] == frozenset(PERMISSIONS[action].roles), key
    assert set(PERMISSIONS["staffing.quota"].roles) <= set(PERMISSIONS["staffing.headcount"].roles)
    assert re.search(r"agency_officer", " ".join(PERMISSIONS["staffing.quota"].roles)) is None
