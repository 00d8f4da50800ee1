"""Reallocation (issue 15): requests, entitlement, candidates in the rule order, plans.

Figures are checked against independent SQL on the demo register; every role and an
agency outside the caller's scope are tried.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend import timekeeping


def _allowances(db: Session) -> dict[tuple[str, str], float]:
    from backend.compliance import standards

    return standards.office_allowances_in_effect(db, timekeeping.today())


def _county_agency(db: Session) -> Any:
    """A county-level agency with staffing (any will do: the demo has many)."""
    return db.execute(
        text(
            "SELECT a.id, a.region_adcode, a.level FROM agencies a WHERE a.level = 'county' "
            "AND EXISTS (SELECT 1 FROM agency_staffing s WHERE s.agency_id = a.id) "
            "ORDER BY a.id LIMIT 1"
        )
    ).one()


def _vacant_ids(db: Session) -> set[int]:
    """Vacant office rooms today by plain SQL (the independent check)."""
    return set(
        db.scalars(
            text(
                "SELECT r.id FROM rooms r JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
                "JOIN buildings b ON b.id = r.building_id WHERE r.category = 'office' "
                "AND b.status <> 'disposed' AND NOT EXISTS (SELECT 1 FROM occupancies o "
                "WHERE o.room_id = r.id AND o.start_date <= :d AND (o.end_date IS NULL OR o.end_date > :d)) "
                "AND NOT EXISTS (SELECT 1 FROM approved_uses u WHERE u.room_id = r.id "
                "AND u.start_date <= :d AND (u.end_date IS NULL OR u.end_date > :d)) "
                "AND NOT EXISTS (SELECT 1 FROM leases l WHERE (l.room_id = r.id OR l.building_id = r.building_id) "
                "AND l.start_date <= :d AND (l.end_date IS NULL OR l.end_date > :d))"
            ),
            {"d": timekeeping.today()},
        )
    )


def _short_of_space(db: Session, agency_id: int) -> None:
    """The agency is approved for far more office area than it holds."""
    db.execute(
        text("UPDATE agencies SET approved_office_area_m2 = 99999 WHERE id = :a"), {"a": agency_id}
    )


def _request(client: Any, agency_id: int, rank: str, count: int, **extra: Any) -> Any:
    body = {"agency_id": agency_id, "offices": [{"rank_code": rank, "count": count}], **extra}
    return client.post("/api/v1/space-requests", json=body)


def test_candidates_follow_the_rule_order_and_never_exceed_the_standard(
    client: Any, db: Session
) -> None:
    agency = _county_agency(db)
    _short_of_space(db, agency.id)
    allowances = _allowances(db)
    # three staff: the demo's smallest offices (≈ 17–24 m²) are shared offices for 9 m² staff
    r = _request(client, agency.id, "below_section", 3, reason="{{7*7}}<script>x</script>")
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["reason"] == "{{7*7}}<script>x</script>" and r.headers["etag"] == '"1"'
    c = client.get(f"/api/v1/space-requests/{req['id']}/candidates")
    assert c.status_code == 200, c.text
    body = c.json()
    assert body["people_needed"] == 3
    assert body["entitled_m2"] == pytest.approx(3 * allowances[("county", "below_section")])
    found = body["candidates"]
    assert found and [x["rank"] for x in found] == list(range(1, len(found) + 1))
    order = {"transfer": 0, "swap": 1, "rent": 2, "build": 3}
    assert [order[x["route"]] for x in found] == sorted(order[x["route"]] for x in found)
    vacant = _vacant_ids(db)
    areas = {
        i: a
        for i, a in db.execute(
            text("SELECT id, usable_area_m2 FROM rooms WHERE category = 'office'")
        )
    }
    for cand in found:
        allowed: dict[int, float] = {}
        for a in cand["assignments"]:
            # a transfer takes rooms nobody uses today (a swap: the other agency's, who move)
            assert (a["room_id"] in vacant) == (cand["route"] == "transfer")
            allowed[a["room_id"]] = (
                allowed.get(a["room_id"], 0) + allowances[("county", a["rank_code"])]
            )
        for room, m2 in allowed.items():  # shared offices: within the sum of the allowances
            assert float(areas[room]) <= m2
        if cand["route"] == "transfer":
            assert cand["area_m2"] == pytest.approx(sum(float(areas[r]) for r in allowed), abs=0.01)
        assert cand["reasons"] and cand["reasons_en"]
    full = [x for x in found if x["route"] == "transfer" and x["people_housed"] == 3]
    assert full, "the demo has idle offices that fit three staff"
    assert full[0] is found[0]  # everyone housed ranks before partial fits


def test_nothing_fits_proposes_rent_then_build(client: Any, db: Session) -> None:
    agency = _county_agency(db)
    r = _request(client, agency.id, "county_head", 400)
    assert r.status_code == 201, r.text
    found = client.get(f"/api/v1/space-requests/{r.json()['id']}/candidates").json()["candidates"]
    assert [x["route"] for x in found[-2:]] == ["rent", "build"]
    assert all(x["people_housed"] < x["people_needed"] for x in found[:-2])
    allowance = _allowances(db)[("county", "county_head")]
    assert found[-1]["area_m2"] == pytest.approx(400 * allowance)


def test_approve_and_execute_a_transfer_closes_the_idle_finding(client: Any, db: Session) -> None:
    allowances = _allowances(db)
    idle = db.execute(
        text(
            "SELECT f.id, f.room_id, r.usable_area_m2, r.region_adcode FROM compliance_findings f "
            "JOIN rooms r ON r.id = f.room_id WHERE f.rule_code = 'idle_room' "
            "AND f.status = 'open' ORDER BY r.usable_area_m2 LIMIT 1"
        )
    ).one()
    agency = db.execute(
        text(
            "SELECT id, level FROM agencies WHERE level = 'county' "
            "AND region_adcode BETWEEN :lo AND :hi ORDER BY id LIMIT 1"
        ),
        {"lo": idle.region_adcode // 100 * 100, "hi": idle.region_adcode // 100 * 100 + 99},
    ).one()
    _short_of_space(db, agency.id)
    rank = min(
        (
            code
            for (lvl, code), m2 in allowances.items()
            if lvl == "county" and m2 >= float(idle.usable_area_m2)
        ),
        key=lambda code: allowances[("county", code)],
    )
    req = _request(client, agency.id, rank, 1).json()
    plan = client.post(
        "/api/v1/allocation-plans",
        json={
            "request_id": req["id"],
            "route": "transfer",
            "assignments": [{"room_id": idle.room_id, "rank_code": rank}],
        },
    )
    assert plan.status_code == 201, plan.text
    again = client.post(
        "/api/v1/allocation-plans",
        json={"request_id": req["id"], "route": "rent", "area_m2": 10},
    )
    assert again.status_code == 409  # one plan per request
    plan_id = plan.json()["id"]
    assert client.post(f"/api/v1/allocation-plans/{plan_id}/execute").status_code == 428
    assert (
        client.post(
            f"/api/v1/allocation-plans/{plan_id}/execute", headers={"If-Match": '"7"'}
        ).status_code
        == 412
    )
    done = client.post(
        f"/api/v1/allocation-plans/{plan_id}/execute", headers={"If-Match": plan.headers["etag"]}
    )
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["occupancies_created"] == 1 and result["idle_findings_closed"] == 1
    status = db.execute(
        text("SELECT status FROM compliance_findings WHERE id = :i"), {"i": idle.id}
    ).scalar_one()
    assert status == "closed"
    occ = db.execute(
        text(
            "SELECT agency_id, rank_code, end_date FROM occupancies WHERE room_id = :r AND start_date = :d"
        ),
        {"r": idle.room_id, "d": timekeeping.today()},
    ).one()
    assert (occ.agency_id, occ.rank_code, occ.end_date) == (agency.id, rank, None)
    assert (
        db.execute(
            text("SELECT agency_id FROM rooms WHERE id = :r"), {"r": idle.room_id}
        ).scalar_one()
        == agency.id
    )
    assert client.get(f"/api/v1/space-requests/{req['id']}").json()["status"] == "executed"
    actions = db.scalars(
        text(
            "SELECT action FROM audit_events WHERE object_type IN ('space_request', 'allocation_plan') ORDER BY id"
        )
    ).all()
    assert actions[-3:] == [
        "space_request.create",
        "allocation_plan.approve",
        "allocation_plan.execute",
    ]
    redo = client.post(
        f"/api/v1/allocation-plans/{plan_id}/execute", headers={"If-Match": done.headers["etag"]}
    )
    assert redo.status_code == 409


def _count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def test_bad_plans_are_refused_and_change_nothing(client: Any, db: Session) -> None:
    allowances = _allowances(db)
    agency = _county_agency(db)
    req = _request(client, agency.id, "below_section", 1).json()
    big = db.execute(
        text(
            "SELECT id FROM rooms WHERE category = 'office' AND usable_area_m2 > :m ORDER BY id LIMIT 1"
        ),
        {"m": allowances[("county", "below_section")]},
    ).scalar_one()
    occupied = db.execute(
        text("SELECT room_id FROM occupancies WHERE end_date IS NULL ORDER BY id LIMIT 1")
    ).scalar_one()
    before = (_count(db, "allocation_plans"), _count(db, "occupancies"))
    cases = [
        {"route": "transfer", "assignments": [{"room_id": big, "rank_code": "below_section"}]},
        {"route": "transfer", "assignments": [{"room_id": occupied, "rank_code": "below_section"}]},
        {
            "route": "transfer",
            "assignments": [{"room_id": occupied, "rank_code": "below_section"}] * 2,
        },
        {"route": "transfer", "assignments": []},
        {"route": "rent"},
        {"route": "transfer", "assignments": [{"room_id": big, "rank_code": "county_head"}] * 3},
        {"route": "transfer", "assignments": [{"room_id": big, "rank_code": "below_section"}] * 2},
        {"route": "teleport", "area_m2": 1},
    ]
    for case in cases:
        r = client.post("/api/v1/allocation-plans", json={"request_id": req["id"], **case})
        assert r.status_code == 422, (case, r.text)
        assert {"code", "message", "message_zh"} <= r.json().keys()
    assert (_count(db, "allocation_plans"), _count(db, "occupancies")) == before
    bad = [
        {
            "agency_id": agency.id,
            "offices": [{"rank_code": "minister", "count": 1}],
        },  # not a county rank
        {"agency_id": agency.id, "offices": []},
        {"agency_id": agency.id, "rooms": [{"subcategory": "nope", "count": 1, "area_m2": 5}]},
        {"agency_id": agency.id, "offices": [{"rank_code": "below_section", "count": 0}]},
        {
            "agency_id": agency.id,
            "offices": [{"rank_code": "below_section", "count": 1}],
            "extra": 1,
        },
    ]
    n = _count(db, "space_requests")
    for body in bad:
        assert client.post("/api/v1/space-requests", json=body).status_code == 422, body
    assert _count(db, "space_requests") == n


def test_roles_and_scope(client: Any, client_as: Any, db: Session) -> None:
    mine, other = db.execute(
        text(
            "SELECT a.id FROM agencies a WHERE a.level = 'county' AND EXISTS "
            "(SELECT 1 FROM agency_staffing s WHERE s.agency_id = a.id) ORDER BY a.id LIMIT 2"
        )
    ).scalars()
    officer = client_as("agency_officer", agencies=[mine])
    own = _request(officer, mine, "below_section", 1)
    assert own.status_code == 201, own.text
    assert _request(officer, other, "below_section", 1).status_code == 404  # like a missing agency
    foreign = _request(client, other, "below_section", 1).json()
    assert officer.get(f"/api/v1/space-requests/{foreign['id']}").status_code == 404
    listed = officer.get("/api/v1/space-requests").json()["items"]
    assert {i["agency_id"] for i in listed} == {mine}
    # candidates show other agencies' rooms: the managing office only
    assert officer.get(f"/api/v1/space-requests/{own.json()['id']}/candidates").status_code == 403
    assert officer.get(f"/api/v1/agencies/{mine}/entitlement").status_code == 200
    assert officer.get(f"/api/v1/agencies/{other}/entitlement").status_code == 404
    plan = {"request_id": own.json()["id"], "route": "rent", "area_m2": 9}
    for role in ("agency_officer", "leader", "surveyor", "inspector"):
        c = client_as(role, regions=[330000], agencies=[mine])
        assert c.post("/api/v1/allocation-plans", json=plan).status_code == 403, role
    region = db.execute(
        text("SELECT region_adcode FROM agencies WHERE id = :a"), {"a": mine}
    ).scalar_one()
    outside = 330100 if region // 100 != 3301 else 330200
    planner = client_as("planner", regions=[outside])
    assert planner.get(f"/api/v1/space-requests/{own.json()['id']}/candidates").status_code == 404
    assert planner.post("/api/v1/allocation-plans", json=plan).status_code == 404
    assert client.post("/api/v1/allocation-plans", json=plan).status_code == 201


def test_entitlement_matches_staffing_times_the_standard(client: Any, db: Session) -> None:
    agency = _county_agency(db)
    allowances = _allowances(db)
    e = client.get(f"/api/v1/agencies/{agency.id}/entitlement").json()
    staffing = db.execute(
        text("SELECT rank_code, quota FROM agency_staffing WHERE agency_id = :a"), {"a": agency.id}
    ).all()
    expected = sum(q * allowances[("county", r)] for r, q in staffing)
    assert e["entitled_office_m2"] == pytest.approx(expected, abs=0.01)
    held = db.execute(
        text(
            "SELECT coalesce(sum(r.usable_area_m2), 0) FROM rooms r JOIN floors f ON f.id = r.floor_id "
            "AND f.valid_to IS NULL WHERE r.agency_id = :a AND r.category = 'office'"
        ),
        {"a": agency.id},
    ).scalar_one()
    assert e["held_office_m2"] == pytest.approx(float(held), abs=0.01)


def test_a_transfer_never_takes_the_agency_over_its_entitlement(client: Any, db: Session) -> None:
    """An agency holding its approved area gets no transfer (not proposed, not approvable);
    with the approved area raised by the room's area it gets it."""
    agency = _county_agency(db)
    held = db.execute(
        text(
            "SELECT coalesce(sum(r.usable_area_m2), 0) FROM rooms r JOIN floors f "
            "ON f.id = r.floor_id AND f.valid_to IS NULL WHERE r.agency_id = :a "
            "AND r.category = 'office'"
        ),
        {"a": agency.id},
    ).scalar_one()
    db.execute(
        text("UPDATE agencies SET approved_office_area_m2 = :h WHERE id = :a"),
        {"h": held, "a": agency.id},
    )
    allowances = _allowances(db)
    room, area = db.execute(
        text(
            "SELECT id, usable_area_m2 FROM rooms WHERE id = ANY(:v) ORDER BY usable_area_m2 LIMIT 1"
        ),
        {"v": sorted(_vacant_ids(db))},
    ).one()
    rank = min(
        (c for (lvl, c), m2 in allowances.items() if lvl == "county" and m2 >= float(area)),
        key=lambda c: allowances[("county", c)],
    )
    req = _request(client, agency.id, rank, 1).json()
    found = client.get(f"/api/v1/space-requests/{req['id']}/candidates").json()["candidates"]
    assert all(c["route"] != "transfer" for c in found)
    body = {
        "request_id": req["id"],
        "route": "transfer",
        "assignments": [{"room_id": room, "rank_code": rank}],
    }
    n = db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one()
    refused = client.post("/api/v1/allocation-plans", json=body)
    assert refused.status_code == 422 and "headroom_m2" in refused.json()["details"]
    assert db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one() == n
    db.execute(
        text("UPDATE agencies SET approved_office_area_m2 = :h WHERE id = :a"),
        {"h": held + area + 100, "a": agency.id},
    )
    found = client.get(f"/api/v1/space-requests/{req['id']}/candidates").json()["candidates"]
    assert found[0]["route"] == "transfer"
