"""Inspections: plan, reproducible weighted sample, checks, manual findings, scope, roles."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding
from backend.db.models import AuditEvent, Building
from backend.supervision.models import Inspection, InspectionCheck
from backend.supervision.service import draw_key
from tests.supervision.helpers import EVIL, TODAY, freeze, other_county, over_standard_world


def _plan(region: int, **kw: Any) -> dict[str, Any]:
    body = {
        "kind": "spot",
        "title": "2026年办公用房抽查",
        "region_adcode": region,
        "scope_regions": [region],
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-31",
    }
    return body | kw


def _count(db: Session, model: Any) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def test_sample_is_reproducible_and_weighted_by_open_findings(client: Any, db: Session) -> None:
    city = 330100
    rule = {"share": 0.3, "seed": 42, "weighting": "open_findings"}
    a = client.post("/api/v1/inspections", json=_plan(city, sampling=rule))
    assert a.status_code == 201, a.text
    b = client.post("/api/v1/inspections", json=_plan(city, sampling=rule)).json()
    drawn = [x["building_id"] for x in a.json()["buildings"]]
    assert drawn == [x["building_id"] for x in b["buildings"]]
    # recomputed independently: population, weights = 1 + open findings, top keys
    pop = db.execute(
        text("""
        SELECT b.id, (SELECT count(*) FROM compliance_findings f
                      WHERE f.building_id = b.id AND f.status <> 'closed') AS n
        FROM buildings b WHERE b.region_adcode BETWEEN 330100 AND 330199
          AND b.status <> 'disposed'""")
    ).all()
    n = math.ceil(0.3 * len(pop))
    keys = sorted(((draw_key(42, bid, 1.0 + k), bid) for bid, k in pop), reverse=True)
    assert sorted(drawn) == sorted(bid for _, bid in keys[:n])
    assert a.json()["sampling"]["population"] == len(pop) and len(drawn) == n
    weights = {x["building_id"]: x["weight"] for x in a.json()["buildings"]}
    assert all(weights[bid] == 1.0 + k for bid, k in pop if bid in weights)
    c = client.post("/api/v1/inspections", json=_plan(city, sampling=rule | {"seed": 43})).json()
    assert sorted(drawn) != sorted(x["building_id"] for x in c["buildings"])


def test_weighting_favours_buildings_with_open_findings() -> None:
    """Over 400 fixed seeds a weight-9 building is drawn far more often than weight-1 ones."""
    hits: Counter[int] = Counter()
    for seed in range(400):
        keys = sorted((draw_key(seed, b, 9.0 if b == 1 else 1.0), b) for b in range(1, 11))
        hits.update(b for _, b in keys[-2:])
    assert hits[1] > 250 and all(hits[b] < 100 for b in range(2, 11))


def test_no_sampling_takes_the_whole_scope_and_explicit_buildings(client: Any, db: Session) -> None:
    w = over_standard_world(db)
    r = client.post(
        "/api/v1/inspections",
        json=_plan(330000, kind="special", scope_regions=[], scope_buildings=[w.site.building.id]),
    )
    assert r.status_code == 201, r.text
    assert [b["building_id"] for b in r.json()["buildings"]] == [w.site.building.id]
    assert r.json()["buildings"][0]["open_findings"] >= 1
    assert r.headers["ETag"] == '"1"'


def test_bad_plans_are_refused_and_store_nothing(client: Any, db: Session) -> None:
    before = _count(db, Inspection), _count(db, AuditEvent)
    bad = [
        _plan(330100, ends_on="2026-11-01"),
        _plan(330100, colour="red"),
        _plan(330100, scope_regions=[]),
        _plan(330100, scope_regions=[330200]),
        _plan(330100, kind="raid"),
        _plan(330100, sampling={"share": 0, "seed": 1}),
        _plan(330100, sampling={"share": 0.5, "seed": -1}),
        _plan(330100, team=["two words"]),
        _plan(330100, title=""),
        _plan(999900),
        _plan(330100, scope_regions=[], scope_buildings=[2**31 - 1]),
    ]
    for body in bad:
        r = client.post("/api/v1/inspections", json=body)
        assert r.status_code in (404, 422), (body, r.status_code, r.text)
        assert set(r.json()) == {"code", "message", "message_zh", "details"}
    assert (_count(db, Inspection), _count(db, AuditEvent)) == before


def test_roles_and_scope_of_inspections(client_as: Any, client: Any, db: Session) -> None:
    w = over_standard_world(db)
    city = w.county - w.county % 100
    far = other_county(db, w.county)
    for role in ("planner", "surveyor", "leader"):
        c = client_as(role, regions=[330000])
        assert c.post("/api/v1/inspections", json=_plan(city)).status_code == 403
    officer = client_as("agency_officer", agencies=[w.site.agency.id])
    assert officer.get("/api/v1/inspections").status_code == 403
    inspector = client_as("inspector", regions=[city])
    r = inspector.post("/api/v1/inspections", json=_plan(city))
    assert r.status_code == 201, r.text
    mine = r.json()["id"]
    # outside the inspector's scope: the region, a building, an agency → 404
    assert inspector.post("/api/v1/inspections", json=_plan(far)).status_code == 404
    province = client.post("/api/v1/inspections", json=_plan(330000)).json()["id"]
    assert inspector.get(f"/api/v1/inspections/{province}").status_code == 404
    ids = {i["id"] for i in inspector.get("/api/v1/inspections?limit=10000").json()["items"]}
    assert mine in ids and province not in ids
    far_building = db.scalars(
        select(Building.id).where(
            Building.region_adcode.between(far - far % 100, far - far % 100 + 99)
        )
    ).first()
    r = inspector.post("/api/v1/inspections", json=_plan(city, scope_buildings=[far_building]))
    assert r.status_code == 404
    leader = client_as("leader", regions=[city])
    assert leader.get(f"/api/v1/inspections/{mine}").status_code == 200
    other = client_as("inspector", regions=[far - far % 100])
    assert other.get(f"/api/v1/inspections/{mine}").status_code == 404
    assert (
        other.post(f"/api/v1/inspections/{mine}/checks", json={"building_id": 1}).status_code == 404
    )


def test_inspection_update_needs_if_match(client: Any, db: Session) -> None:
    i = client.post("/api/v1/inspections", json=_plan(330100)).json()
    url = f"/api/v1/inspections/{i['id']}"
    assert client.patch(url, json={"status": "completed"}).status_code == 428
    assert (
        client.patch(url, json={"status": "completed"}, headers={"If-Match": '"7"'}).status_code
        == 412
    )
    r = client.patch(
        url, json={"title": EVIL[0], "ends_on": "2027-01-31"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    assert r.json()["title"] == "{{7*7}}"
    assert (
        client.patch(url, json={"ends_on": "2020-01-01"}, headers={"If-Match": '"2"'}).status_code
        == 422
    )
    assert (
        client.patch(url, json={"scope_regions": [1]}, headers={"If-Match": '"2"'}).status_code
        == 422
    )
    ev = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "inspection", AuditEvent.object_id == str(i["id"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in ev] == ["inspection.create", "inspection.update"]


def test_checks_confirm_or_raise_findings(client: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    b = w.site.building.id
    i = client.post(
        "/api/v1/inspections", json=_plan(330000, scope_regions=[], scope_buildings=[b])
    ).json()
    url = f"/api/v1/inspections/{i['id']}/checks"
    form = client.get(f"/api/v1/inspections/{i['id']}/buildings/{b}").json()
    assert w.finding.id in [f["id"] for f in form["open_findings"]]
    assert form["rooms"][0]["usable_area_m2"] == 20.0
    # confirm the rule finding
    r = client.post(
        url,
        json={
            "building_id": b,
            "room_id": w.room.id,
            "measured_area_m2": "20.40",
            "actual_use": "office",
            "occupant_found": EVIL[1],
            "confirm_finding_id": w.finding.id,
            "notes": EVIL[2],
        },
    )
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["outcome"], c["finding_id"], c["register_area_m2"], c["area_difference_m2"]) == (
        "confirmed",
        w.finding.id,
        20.0,
        0.4,
    )
    assert c["occupants_registered"] == ["测试人"] and c["occupant_found"] == EVIL[1]
    assert c["notes"] == "=1+1" and c["checked_on"] == TODAY.isoformat()
    # raise a manual finding: measured vs register
    r = client.post(
        url,
        json={
            "building_id": b,
            "room_id": w.room.id,
            "measured_area_m2": "26.50",
            "manual_finding": {"rule_code": "manual.area_mismatch", "note": EVIL[0]},
        },
    )
    assert r.status_code == 201, r.text
    f = db.get(ComplianceFinding, r.json()["finding_id"])
    assert f is not None
    assert (f.rule_code, f.object_type, f.object_id, f.room_id, f.building_id, f.status) == (
        "manual.area_mismatch",
        "room",
        str(w.room.id),
        w.room.id,
        b,
        "open",
    )
    assert (float(f.measured), float(f.allowed), float(f.excess_m2), float(f.excess_pct)) == (
        26.5,
        20.0,
        6.5,
        32.5,
    )
    assert f.details["note"] == "{{7*7}}" and f.details["check_id"] == r.json()["id"]
    assert f.agency_id == w.site.agency.id and f.region_adcode == w.county
    shown = client.get(f"/api/v1/compliance/findings/{f.id}").json()
    assert shown["measured"] == 26.5 and shown["unit"] == "m2"
    # the same manual finding twice → 409 naming the open one
    r = client.post(
        url,
        json={
            "building_id": b,
            "room_id": w.room.id,
            "measured_area_m2": "27",
            "manual_finding": {"rule_code": "manual.area_mismatch"},
        },
    )
    assert r.status_code == 409 and r.json()["details"]["finding"] == f.id
    # a manual finding survives a re-evaluation (the rules never close it)
    from tests.backend.test_compliance import evaluate

    evaluate(db, w.site)
    db.refresh(f)
    assert f.status == "open"
    assert db.get(Inspection, i["id"]).status == "in_progress"  # type: ignore[union-attr]


def test_bad_checks_are_refused_and_store_nothing(client: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    w2 = over_standard_world(db)
    b = w.site.building.id
    i = client.post(
        "/api/v1/inspections", json=_plan(330000, scope_regions=[], scope_buildings=[b])
    ).json()
    url = f"/api/v1/inspections/{i['id']}/checks"
    before = _count(db, InspectionCheck), _count(db, ComplianceFinding), _count(db, AuditEvent)
    bad = [
        {"building_id": w2.site.building.id},  # not in the sample
        {"building_id": b, "room_id": w2.room.id},  # room of another building
        {"building_id": b, "confirm_finding_id": w2.finding.id},  # finding of another building
        {
            "building_id": b,
            "confirm_finding_id": w.finding.id,
            "manual_finding": {"rule_code": "manual.other"},
        },
        {"building_id": b, "measured_area_m2": -3},
        {"building_id": b, "actual_use": "casino"},
        {"building_id": b, "checked_on": "2027-01-01"},
        {"building_id": b, "manual_finding": {"rule_code": "office_over_standard"}},
        {"building_id": b, "manual_finding": {"rule_code": "manual.area_mismatch"}},
        {"building_id": b, "colour": "red"},
        {"building_id": b, "room_id": 2**62},
    ]
    for body in bad:
        r = client.post(url, json=body)
        assert r.status_code in (404, 422), (body, r.status_code, r.text)
    assert (
        _count(db, InspectionCheck),
        _count(db, ComplianceFinding),
        _count(db, AuditEvent),
    ) == before


def test_team_members_only(client: Any, client_as: Any, app: Any, db: Session) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    b = w.site.building.id
    outsider = client_as("inspector", regions=[330000])
    member = client_as("inspector", regions=[330000])
    member_name = db.execute(
        text("SELECT max(username) FROM users WHERE username LIKE 'test-inspector-%'")
    ).scalar_one()
    i = client.post(
        "/api/v1/inspections",
        json=_plan(330000, scope_regions=[], scope_buildings=[b], team=[member_name]),
    ).json()
    url = f"/api/v1/inspections/{i['id']}/checks"
    assert outsider.post(url, json={"building_id": b}).status_code == 403
    assert member.post(url, json={"building_id": b}).status_code == 201


def test_a_building_finding_is_seen_within_scope_only(
    client_as: Any, app: Any, db: Session
) -> None:
    freeze(app, TODAY)
    w = over_standard_world(db)
    b = w.site.building.id
    inspector = client_as("inspector", regions=[w.county])
    i = inspector.post(
        "/api/v1/inspections", json=_plan(w.county, scope_regions=[], scope_buildings=[b])
    ).json()
    r = inspector.post(
        f"/api/v1/inspections/{i['id']}/checks",
        json={
            "building_id": b,
            "lease_found": True,
            "lease_note": "一层出租给超市",
            "manual_finding": {"rule_code": "manual.lease", "measured": "120.5", "unit": "m2"},
        },
    )
    assert r.status_code == 201, r.text
    f = r.json()["finding_id"]
    shown = inspector.get(f"/api/v1/compliance/findings/{f}")
    assert shown.status_code == 200 and shown.json()["object_type"] == "building"
    assert shown.json()["rule_name_zh"] == "出租出借"
    far = client_as("inspector", regions=[other_county(db, w.county)])
    assert far.get(f"/api/v1/compliance/findings/{f}").status_code == 404
    ids = {x["id"] for x in far.get("/api/v1/compliance/findings?limit=10000").json()["findings"]}
    assert f not in ids
