"""Compliance API: findings list with filters and pagination, summary, status, scope, roles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding
from tests.backend.test_compliance import AS_OF, add_room, make_site, occupy


def _over_standard_site(db: Session) -> Any:
    site = make_site(db)
    room = add_room(db, site, 20.0)
    occupy(db, room, site.agency, "section_head")
    return site, room


def test_findings_filters_and_pagination(client: Any, db: Session) -> None:
    site, room = _over_standard_site(db)
    r = client.post(
        "/api/v1/compliance/evaluations", json={"floor": site.floor.id, "as_of": str(AS_OF)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "incremental"
    r = client.get(
        "/api/v1/compliance/findings",
        params={"building": site.building.id, "rule": "office_over_standard"},
    )
    body = r.json()
    assert r.status_code == 200 and body["numberMatched"] == 1
    f = body["findings"][0]
    assert (f["rule_code"], f["room_id"], f["measured"], f["allowed"], f["excess_m2"]) == (
        "office_over_standard",
        room.id,
        20.0,
        18.0,
        2.0,
    )
    assert f["rule_name_zh"] == "办公室面积超标" and f["status"] == "open"
    # pagination over the demo's findings of one rule
    total = db.execute(
        select(func.count()).where(
            ComplianceFinding.rule_code == "idle_room", ComplianceFinding.status == "open"
        )
    ).scalar_one()
    assert total > 2
    p1 = client.get(
        "/api/v1/compliance/findings", params={"rule": "idle_room", "status": "open", "limit": 2}
    ).json()
    p2 = client.get(
        "/api/v1/compliance/findings",
        params={"rule": "idle_room", "status": "open", "limit": 2, "offset": 2},
    ).json()
    assert p1["numberMatched"] == p2["numberMatched"] == total
    assert p1["numberReturned"] == 2
    assert not {x["id"] for x in p1["findings"]} & {x["id"] for x in p2["findings"]}
    dq = client.get("/api/v1/compliance/findings", params={"rule": "data_quality"}).json()
    assert dq["numberMatched"] > 0
    assert all(x["rule_code"].startswith("data_quality.") for x in dq["findings"])
    bad = client.get("/api/v1/compliance/findings", params={"rule": "nope"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_parameter"


def test_region_filter_and_summary(client: Any, db: Session) -> None:
    site, _ = _over_standard_site(db)
    client.post(
        "/api/v1/compliance/evaluations", json={"floor": site.floor.id, "as_of": str(AS_OF)}
    )
    adcode = site.building.region_adcode
    listed = client.get("/api/v1/compliance/findings", params={"region": adcode, "limit": 10000})
    assert all(x["region_adcode"] == adcode for x in listed.json()["findings"])
    s = client.get("/api/v1/compliance/summary", params={"region": adcode, "level": "agency"})
    assert s.status_code == 200
    body = s.json()
    group = next(g for g in body["groups"] if g["key"] == site.agency.id)
    assert group["by_rule"]["office_over_standard"] == {"count": 1, "excess_m2": 2.0}
    assert group["name"] == site.agency.name
    province = client.get("/api/v1/compliance/summary").json()
    assert province["level"] == "city"
    assert {r["rule_code"] for r in province["rules"]} >= {"office_over_standard", "idle_floor"}
    assert province["standard_version"] == "cn-2014+demo-illustration"


def test_status_change_requires_inspector_or_admin(
    client: Any, client_as: Any, db: Session
) -> None:
    site, room = _over_standard_site(db)
    client.post(
        "/api/v1/compliance/evaluations", json={"floor": site.floor.id, "as_of": str(AS_OF)}
    )
    fid = client.get(
        "/api/v1/compliance/findings",
        params={"building": site.building.id, "rule": "office_over_standard"},
    ).json()["findings"][0]["id"]
    planner = client_as("planner")
    r = planner.patch(f"/api/v1/compliance/findings/{fid}", json={"status": "rectifying"})
    assert r.status_code == 403
    assert planner.post("/api/v1/compliance/evaluations", json={}).status_code == 403
    inspector = client_as("inspector", regions=[site.building.region_adcode])
    tag = inspector.get(f"/api/v1/compliance/findings/{fid}").headers["ETag"]
    r = inspector.patch(
        f"/api/v1/compliance/findings/{fid}",
        json={"status": "rectifying", "note": "限期腾退"},
        headers={"If-Match": tag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rectifying" and r.headers["ETag"] != tag
    assert db.get(ComplianceFinding, fid).status == "rectifying"  # type: ignore[union-attr]
    r = inspector.patch(
        f"/api/v1/compliance/findings/{fid}",
        json={"status": "done", "x": 1},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 422


def test_findings_are_scope_filtered(client_as: Any, db: Session) -> None:
    site, room = _over_standard_site(db)
    from backend.compliance import service as compliance

    compliance.evaluate_floor(db, site.floor.id, as_of=AS_OF)
    fid = db.scalars(select(ComplianceFinding.id).where(ComplianceFinding.room_id == room.id)).one()
    adcode = site.building.region_adcode
    inside = client_as("planner", regions=[adcode])
    mine = inside.get("/api/v1/compliance/findings", params={"limit": 10000}).json()
    assert fid in {x["id"] for x in mine["findings"]}
    assert all(x["region_adcode"] == adcode for x in mine["findings"])
    other_city = 330200 if adcode // 100 * 100 == 330100 else 330100
    outside = client_as("planner", regions=[other_city])
    theirs = outside.get("/api/v1/compliance/findings", params={"limit": 10000}).json()
    assert fid not in {x["id"] for x in theirs["findings"]}
    assert outside.get(f"/api/v1/compliance/findings/{fid}").status_code == 404
    assert inside.get(f"/api/v1/compliance/findings/{fid}").json()["excess_m2"] == float(
        Decimal("2.00")
    )


def test_status_change_takes_if_match(client: Any, client_as: Any, db: Session) -> None:
    """428 without If-Match, 412 when another inspector or a re-evaluation came first;
    nothing changes either way."""
    site, room = _over_standard_site(db)
    client.post(
        "/api/v1/compliance/evaluations", json={"floor": site.floor.id, "as_of": str(AS_OF)}
    )
    fid = db.scalars(select(ComplianceFinding.id).where(ComplianceFinding.room_id == room.id)).one()
    url = f"/api/v1/compliance/findings/{fid}"
    a = client_as("inspector", regions=[site.building.region_adcode])
    b = client_as("inspector", regions=[site.building.region_adcode])
    seen_by_a = a.get(url).headers["ETag"]
    seen_by_b = b.get(url).headers["ETag"]
    assert seen_by_a == seen_by_b == f'"{a.get(url).json()["version"]}"'

    missing = a.patch(url, json={"status": "closed"})
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    assert db.get(ComplianceFinding, fid).status == "open"  # type: ignore[union-attr]

    first = b.patch(url, json={"status": "rectifying"}, headers={"If-Match": seen_by_b})
    assert first.status_code == 200, first.text
    stale = a.patch(url, json={"status": "closed"}, headers={"If-Match": seen_by_a})
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert stale.json()["details"]["current_version"] == first.json()["version"]
    db.expire_all()
    assert db.get(ComplianceFinding, fid).status == "rectifying"  # type: ignore[union-attr]

    # a re-evaluation that clears the finding changes it too: the old ETag is stale
    now = a.get(url).headers["ETag"]
    db.execute(
        text("UPDATE rooms SET usable_area_m2 = 10, usable_area_raw = 10 WHERE id = :r"),
        {"r": room.id},
    )
    client.post(
        "/api/v1/compliance/evaluations", json={"floor": site.floor.id, "as_of": str(AS_OF)}
    )
    assert a.get(url).json()["status"] == "closed"
    late = a.patch(url, json={"status": "open"}, headers={"If-Match": now})
    assert late.status_code == 412
    assert a.get(url).json()["status"] == "closed"
