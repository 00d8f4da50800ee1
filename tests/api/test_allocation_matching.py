"""POST /api/v1/allocation-matchings on the demo: all open requests at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend import timekeeping


def test_province_wide_matching_places_rooms_once_within_the_standard(
    client: Any, client_as: Any, db: Session
) -> None:
    from backend.compliance import standards

    allowances = standards.office_allowances_in_effect(db, timekeeping.today())
    agencies = db.execute(
        text("SELECT id, region_adcode FROM agencies WHERE level = 'county' ORDER BY id LIMIT 6")
    ).all()
    db.execute(  # short of space: approved for far more than they hold
        text("UPDATE agencies SET approved_office_area_m2 = 99999 WHERE id = ANY(:a)"),
        {"a": [a.id for a in agencies]},
    )
    ids = []
    for i, a in enumerate(agencies):
        r = client.post(
            "/api/v1/space-requests",
            json={
                "agency_id": a.id,
                "offices": [{"rank_code": "below_section", "count": 1 + i % 3}],
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for role in ("agency_officer", "leader", "surveyor", "inspector"):
        c = client_as(role, regions=[330000])
        assert c.post("/api/v1/allocation-matchings", json={}).status_code == 403
    n_plans = db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one()
    r = client.post("/api/v1/allocation-matchings", json={"request_ids": ids})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "scipy.optimize.linear_sum_assignment"
    assert body["requests"] == len(ids)
    assert db.execute(text("SELECT count(*) FROM allocation_plans")).scalar_one() == n_plans
    areas = dict(db.execute(text("SELECT id, usable_area_m2 FROM rooms")).all())
    seen: set[int] = set()
    total = 0.0
    for m in body["matched"]:
        rooms: dict[int, float] = {}
        for a in m["assignments"]:
            rooms[a["room_id"]] = (
                rooms.get(a["room_id"], 0) + allowances[("county", a["rank_code"])]
            )
        for room, allowed in rooms.items():
            assert float(areas[room]) <= allowed  # never over standard
        assert not seen & rooms.keys()  # a room goes to one request only
        seen |= rooms.keys()
        total += sum(float(areas[x]) for x in rooms)
    assert body["idle_area_placed_m2"] == round(total, 2)
    assert len(body["matched"]) + len(body["unmatched"]) == len(ids)
    assert body["idle_area_placed_m2"] >= body["greedy_idle_area_placed_m2"] - 0.01
    assert body["matched"], "the demo's idle offices house some of these requests"
    approved = client.post(
        "/api/v1/allocation-matchings", json={"request_ids": ids, "approve": True}
    ).json()
    plan_ids = [m["plan_id"] for m in approved["matched"]]
    assert all(plan_ids)
    statuses = db.execute(
        text("SELECT status FROM space_requests WHERE id = ANY(:i)"),
        {"i": [m["request_id"] for m in approved["matched"]]},
    ).scalars()
    assert set(statuses) == {"planned"}
    # a planner of another region sees none of these requests
    region = agencies[0].region_adcode
    outside = 330100 if region // 100 != 3301 else 330200
    other = client_as("planner", regions=[outside]).post(
        "/api/v1/allocation-matchings", json={"request_ids": ids}
    )
    assert other.status_code == 200
    assert all(
        db.execute(
            text("SELECT region_adcode FROM space_requests WHERE id = :i"), {"i": i}
        ).scalar_one()
        // 100
        == outside // 100
        for i in [m["request_id"] for m in other.json()["matched"]] + other.json()["unmatched"]
    )
    bad = client.post("/api/v1/allocation-matchings", json={"region": "=1+1"})
    assert bad.status_code == 422
