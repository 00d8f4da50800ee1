"""Reallocation, part two: 置换 (swap), other rooms by category, rooms given back to the
public asset pool, and the planner's release route. Checked with plain SQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend import timekeeping


def _allowances(db: Session) -> dict[tuple[str, str], float]:
    from backend.compliance import standards

    return standards.office_allowances_in_effect(db, timekeeping.today())


def _idle_room(db: Session, category: str = "office") -> Any:
    return db.execute(
        text(
            "SELECT f.room_id, r.usable_area_m2, r.region_adcode, r.agency_id FROM compliance_findings f "
            "JOIN rooms r ON r.id = f.room_id WHERE f.rule_code = 'idle_room' AND f.status = 'open' "
            "AND r.category = :c ORDER BY r.id LIMIT 1"
        ),
        {"c": category},
    ).one()


def _swap_case(db: Session) -> dict[str, Any]:
    """An office X of agency B used by exactly one of B's people; a requester A (county) in
    the same city with a rank whose allowance covers X; a room Y given back by A that fits
    B's person. Entitlements are set so that both stay within them."""
    d = timekeeping.today()
    allowances = _allowances(db)
    rows = db.execute(
        text(
            "SELECT r.id, r.usable_area_m2 AS area, r.region_adcode, r.agency_id, a.level, "
            "min(o.rank_code) AS rank FROM rooms r JOIN agencies a ON a.id = r.agency_id "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "JOIN occupancies o ON o.room_id = r.id AND o.start_date <= :d "
            "AND (o.end_date IS NULL OR o.end_date > :d) "
            "WHERE r.category = 'office' GROUP BY r.id, a.level "
            "HAVING count(*) = 1 AND bool_and(o.agency_id = r.agency_id) ORDER BY r.id LIMIT 400"
        ),
        {"d": d},
    ).all()
    for x in rows:
        b_allow = allowances.get((x.level, x.rank))
        if b_allow is None:
            continue
        city = x.region_adcode // 100 * 100
        ranks = sorted(
            (m2, code)
            for (lvl, code), m2 in allowances.items()
            if lvl == "county" and m2 >= float(x.area)
        )
        if not ranks:
            continue
        agency = db.execute(
            text(
                "SELECT id FROM agencies WHERE level = 'county' AND id <> :b "
                "AND region_adcode BETWEEN :lo AND :hi ORDER BY id LIMIT 1"
            ),
            {"b": x.agency_id, "lo": city, "hi": city + 99},
        ).scalar()
        if agency is None:
            continue
        y = db.execute(
            text(
                "SELECT r.id, r.usable_area_m2 FROM rooms r JOIN floors f ON f.id = r.floor_id "
                "AND f.valid_to IS NULL JOIN buildings b ON b.id = r.building_id "
                "WHERE r.category = 'office' AND b.status <> 'disposed' "
                "AND r.usable_area_m2 BETWEEN :lo AND :hi AND r.id <> :x "
                "AND NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id "
                "AND o.start_date <= :d AND (o.end_date IS NULL OR o.end_date > :d)) "
                "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id OR l.building_id = r.building_id) "
                "AND NOT EXISTS (SELECT 1 FROM approved_uses u WHERE u.room_id = r.id) "
                "ORDER BY r.id LIMIT 1"
            ),
            {"lo": 0.6 * b_allow, "hi": min(b_allow, float(x.area)), "x": x.id, "d": d},
        ).one_or_none()
        if y is None:
            continue
        db.execute(text("UPDATE rooms SET agency_id = :a WHERE id = :y"), {"a": agency, "y": y.id})
        db.execute(
            text("UPDATE agencies SET approved_office_area_m2 = 1000000 WHERE id = :a"),
            {"a": agency},
        )
        held_b = db.execute(
            text(
                "SELECT sum(r.usable_area_m2) FROM rooms r JOIN floors f ON f.id = r.floor_id "
                "AND f.valid_to IS NULL WHERE r.agency_id = :b AND r.category = 'office'"
            ),
            {"b": x.agency_id},
        ).scalar_one()
        db.execute(
            text("UPDATE agencies SET approved_office_area_m2 = :h WHERE id = :b"),
            {"h": held_b, "b": x.agency_id},
        )
        return {
            "x": x.id,
            "b": x.agency_id,
            "a": agency,
            "y": y.id,
            "rank": ranks[0][1],
            "b_rank": x.rank,
            "b_allow": b_allow,
        }
    pytest.fail("the demo has no office for a swap")


def test_a_swap_rehouses_the_other_agency_and_releases_the_rest(client: Any, db: Session) -> None:
    case = _swap_case(db)
    d = timekeeping.today()
    r = client.post(
        "/api/v1/space-requests",
        json={
            "agency_id": case["a"],
            "offices": [{"rank_code": case["rank"], "count": 1}],
            "releases": [case["y"]],
        },
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["releases"] == [case["y"]]
    found = client.get(f"/api/v1/space-requests/{req['id']}/candidates").json()["candidates"]
    order = {"transfer": 0, "swap": 1, "rent": 2, "build": 3}
    assert [order[c["route"]] for c in found] == sorted(order[c["route"]] for c in found)
    swaps = [c for c in found if c["route"] == "swap"]
    assert swaps, "the exchange of X for the room given back is proposed"
    for c in swaps:
        assert c["rehousing"] and c["route_zh"] == "置换" and c["moves"] >= 1
        assert all(h["to_room_id"] != h["from_room_id"] for h in c["rehousing"])
    assert all(a["room_id"] != case["y"] for c in found for a in c["assignments"])
    plan = client.post(
        "/api/v1/allocation-plans",
        json={
            "request_id": req["id"],
            "route": "swap",
            "assignments": [{"room_id": case["x"], "rank_code": case["rank"]}],
        },
    )
    assert plan.status_code == 201, plan.text
    body = plan.json()
    assert body["route"] == "swap" and body["releases"] == [case["y"]]
    (move,) = body["rehousing"]
    assert move["from_room_id"] == case["x"] and move["agency_id"] == case["b"]
    done = client.post(
        f"/api/v1/allocation-plans/{body['id']}/execute",
        headers={"If-Match": plan.headers["etag"]},
    )
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["people_rehoused"] == 1 and result["occupancies_created"] == 1
    owner = dict(
        db.execute(
            text("SELECT id, agency_id FROM rooms WHERE id IN (:x, :y, :t)"),
            {"x": case["x"], "y": case["y"], "t": move["to_room_id"]},
        ).all()
    )
    assert owner[case["x"]] == case["a"]
    assert owner[move["to_room_id"]] == case["b"]
    active = db.execute(
        text(
            "SELECT o.room_id, o.agency_id FROM occupancies o WHERE o.room_id IN (:x, :t) "
            "AND o.start_date <= :d AND (o.end_date IS NULL OR o.end_date > :d)"
        ),
        {"d": d, "x": case["x"], "t": move["to_room_id"]},
    ).all()
    assert sorted(active) == sorted([(case["x"], case["a"]), (move["to_room_id"], case["b"])])
    old = db.execute(
        text("SELECT end_date FROM occupancies WHERE id = :o"), {"o": move["occupancy_id"]}
    ).scalar_one()
    assert old == d
    pooled = db.execute(
        text("SELECT count(*) FROM asset_pool WHERE room_id = :y AND taken_on IS NULL"),
        {"y": case["y"]},
    ).scalar_one()
    if move["to_room_id"] == case["y"]:
        assert pooled == 0 and result["rooms_released_to_pool"] == 0
    else:  # B moved into its own idle office: the room given back goes to the pool
        assert pooled == 1 and owner[case["y"]] is None
    actions = db.scalars(
        text("SELECT action FROM audit_events WHERE object_type = 'allocation_plan' ORDER BY id")
    ).all()
    assert actions[-2:] == ["allocation_plan.approve", "allocation_plan.execute"]


def test_a_swap_that_would_leave_the_other_agency_over_its_entitlement_is_refused(
    client: Any, db: Session
) -> None:
    case = _swap_case(db)
    db.execute(  # B may hold less than it has after the exchange
        text("UPDATE agencies SET approved_office_area_m2 = 1 WHERE id = :b"), {"b": case["b"]}
    )
    db.execute(  # and the room given back is larger than what B gives
        text("UPDATE rooms SET agency_id = NULL WHERE id = :y"), {"y": case["y"]}
    )
    req = client.post(
        "/api/v1/space-requests",
        json={"agency_id": case["a"], "offices": [{"rank_code": case["rank"], "count": 1}]},
    ).json()
    n = db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one()
    r = client.post(
        "/api/v1/allocation-plans",
        json={
            "request_id": req["id"],
            "route": "swap",
            "assignments": [{"room_id": case["x"], "rank_code": case["rank"]}],
        },
    )
    # no room given back: B's person can only move into B's own idle offices, and only if
    # B then still holds no more than … 1 m² — impossible
    assert r.status_code == 422, r.text
    assert db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one() == n


def test_releases_must_be_the_agencys_rooms(client: Any, db: Session) -> None:
    agency = db.execute(
        text("SELECT id FROM agencies WHERE level = 'county' ORDER BY id LIMIT 1")
    ).scalar_one()
    foreign = db.execute(
        text("SELECT id FROM rooms WHERE agency_id <> :a ORDER BY id LIMIT 1"), {"a": agency}
    ).scalar_one()
    n = db.execute(text("SELECT count(*) FROM space_requests")).scalar_one()
    base = {"agency_id": agency, "offices": [{"rank_code": "below_section", "count": 1}]}
    assert (
        client.post("/api/v1/space-requests", json={**base, "releases": [foreign]}).status_code
        == 422
    )
    assert (
        client.post("/api/v1/space-requests", json={**base, "releases": [2**40]}).status_code == 404
    )
    assert (
        client.post("/api/v1/space-requests", json={**base, "releases": ["=1+1"]}).status_code
        == 422
    )
    assert db.execute(text("SELECT count(*) FROM space_requests")).scalar_one() == n


def test_other_rooms_are_matched_by_category_and_never_larger(client: Any, db: Session) -> None:
    room = db.execute(
        text(
            "SELECT r.id, r.subcategory, r.usable_area_m2, r.region_adcode FROM rooms r "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "JOIN buildings b ON b.id = r.building_id "
            "WHERE r.category = 'service' AND r.subcategory = 'service.meeting' AND b.status <> 'disposed' "
            "AND NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id) "
            "AND NOT EXISTS (SELECT 1 FROM approved_uses u WHERE u.room_id = r.id) "
            "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id OR l.building_id = r.building_id) "
            "ORDER BY r.id LIMIT 1"
        )
    ).one()
    agency = db.execute(
        text("SELECT id FROM agencies WHERE level = 'county' ORDER BY id LIMIT 1")
    ).scalar_one()
    wanted = float(room.usable_area_m2)
    req = client.post(
        "/api/v1/space-requests",
        json={
            "agency_id": agency,
            "rooms": [{"subcategory": "service.meeting", "count": 1, "area_m2": wanted}],
        },
    ).json()
    body = client.get(f"/api/v1/space-requests/{req['id']}/candidates").json()
    assert body["rooms_needed"] == 1
    areas = dict(db.execute(text("SELECT id, usable_area_m2 FROM rooms")).all())
    subs = dict(db.execute(text("SELECT id, subcategory FROM rooms")).all())
    matched = [c for c in body["candidates"] if c["route"] == "transfer"]
    assert matched, "the demo has a vacant meeting room"
    for c in matched:
        for a in c["assignments"]:
            assert a["subcategory"] == "service.meeting" == subs[a["room_id"]]
            assert 0.6 * wanted <= float(areas[a["room_id"]]) <= wanted
    plan = client.post(
        "/api/v1/allocation-plans",
        json={
            "request_id": req["id"],
            "route": "transfer",
            "assignments": [{"room_id": room.id, "subcategory": "service.meeting"}],
        },
    )
    assert plan.status_code == 201, plan.text
    done = client.post(
        f"/api/v1/allocation-plans/{plan.json()['id']}/execute",
        headers={"If-Match": plan.headers["etag"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["occupancies_created"] == 0
    use = db.execute(
        text("SELECT purpose FROM approved_uses WHERE room_id = :r AND end_date IS NULL"),
        {"r": room.id},
    ).scalar_one()
    assert use == "会议室"
    assert (
        db.execute(text("SELECT agency_id FROM rooms WHERE id = :r"), {"r": room.id}).scalar_one()
        == agency
    )


def test_planner_releases_an_idle_room_to_the_pool(
    client: Any, client_as: Any, db: Session
) -> None:
    idle = _idle_room(db)
    occupied = db.execute(
        text("SELECT room_id FROM occupancies WHERE end_date IS NULL ORDER BY id LIMIT 1")
    ).scalar_one()
    n = db.execute(text("SELECT count(*) FROM asset_pool")).scalar_one()
    assert client.post("/api/v1/asset-pool", json={"room_id": occupied}).status_code == 422
    assert client.post("/api/v1/asset-pool", json={"room_id": 2**40}).status_code == 404
    for role in ("agency_officer", "leader", "surveyor", "inspector"):
        c = client_as(role, regions=[330000])
        assert c.post("/api/v1/asset-pool", json={"room_id": idle.room_id}).status_code == 403
    outside = 330100 if idle.region_adcode // 100 != 3301 else 330200
    assert (
        client_as("planner", regions=[outside])
        .post("/api/v1/asset-pool", json={"room_id": idle.room_id})
        .status_code
        == 404
    )
    assert db.execute(text("SELECT count(*) FROM asset_pool")).scalar_one() == n
    r = client.post("/api/v1/asset-pool", json={"room_id": idle.room_id, "note": "=1+1<script>"})
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/asset-pool", json={"room_id": idle.room_id}).status_code == 409
    listed = client.get("/api/v1/asset-pool").json()["items"]
    entry = next(i for i in listed if i["room_id"] == idle.room_id)
    assert entry["note"] == "=1+1<script>" and entry["released_from_agency_id"] == idle.agency_id
    assert (
        db.execute(
            text("SELECT agency_id FROM rooms WHERE id = :r"), {"r": idle.room_id}
        ).scalar_one()
        is None
    )
    assert (
        db.execute(text("SELECT action FROM audit_events ORDER BY id DESC LIMIT 1")).scalar_one()
        == "asset_pool.release"
    )
