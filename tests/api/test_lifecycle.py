"""The asset lifecycle (issue 15): leases, maintenance, disposal, title — API, If-Match,
history, scope and roles; every bad input stores nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

EVIL = "{{7*7}}<script>alert(1)</script>=1+1"


def _count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def _vacant_office(db: Session) -> Any:
    return db.execute(
        text(
            "SELECT r.id, r.building_id, r.region_adcode, r.agency_id, r.usable_area_m2 "
            "FROM rooms r JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "JOIN buildings b ON b.id = r.building_id WHERE r.category = 'office' "
            "AND b.status <> 'disposed' AND r.agency_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM occupancies o WHERE o.room_id = r.id) "
            "AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.room_id = r.id OR l.building_id = r.building_id) "
            "ORDER BY r.id LIMIT 1"
        )
    ).one()


def _building(db: Session, offset: int = 0) -> Any:
    return db.execute(
        text(
            "SELECT b.id, b.region_adcode, b.agency_id FROM buildings b WHERE b.status <> 'disposed' "
            "AND b.agency_id IS NOT NULL ORDER BY b.id OFFSET :o LIMIT 1"
        ),
        {"o": offset},
    ).one()


def _outside(region: int) -> int:
    return 330100 if region // 100 != 3301 else 330200


def _finding(db: Session, lease_id: int) -> Any:
    return db.execute(
        text(
            "SELECT status FROM compliance_findings WHERE rule_code = 'unapproved_lease' "
            "AND object_id = :i ORDER BY id DESC LIMIT 1"
        ),
        {"i": str(lease_id)},
    ).scalar()


def test_maintenance_request_approve_complete_and_the_yearly_plan(
    client: Any, client_as: Any, db: Session
) -> None:
    b = _building(db)
    floor, room = db.execute(
        text(
            "SELECT f.id, r.id FROM floors f JOIN rooms r ON r.floor_id = f.id "
            "WHERE f.building_id = :b AND f.valid_to IS NULL ORDER BY r.id LIMIT 1"
        ),
        {"b": b.id},
    ).one()
    foreign_room = db.execute(
        text("SELECT id FROM rooms WHERE building_id <> :b ORDER BY id LIMIT 1"), {"b": b.id}
    ).scalar_one()
    officer = client_as("agency_officer", agencies=[b.agency_id])
    body = {"building_id": b.id, "floor_id": floor, "room_id": room, "work": EVIL}
    n = _count(db, "maintenance_requests")
    for bad in (
        {**body, "room_id": foreign_room},
        {**body, "work": ""},
        {**body, "year": 1900},
        {**body, "cost_estimate_yuan": "-5"},
    ):
        assert officer.post("/api/v1/maintenance", json=bad).status_code == 422, bad
    assert (
        client_as("planner", regions=[_outside(b.region_adcode)])
        .post("/api/v1/maintenance", json=body)
        .status_code
        == 404
    )
    assert _count(db, "maintenance_requests") == n
    r = officer.post("/api/v1/maintenance", json=body)  # the agency asks
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["work"] == EVIL and m["status"] == "requested"
    url = f"/api/v1/maintenance/{m['id']}"
    approve = {
        "approval_ref": "A-1",
        "contractor": "某建设公司",
        "cost_estimate_yuan": "50000.00",
        "planned_start": "2026-12-01",
        "planned_end": "2026-11-01",
    }
    assert (
        client.post(f"{url}/approve", json=approve, headers={"If-Match": '"1"'}).status_code == 422
    )
    approve["planned_end"] = "2026-12-31"
    assert (
        officer.post(f"{url}/approve", json=approve, headers={"If-Match": '"1"'}).status_code == 403
    )
    assert (
        client.post(
            f"{url}/complete",
            json={"cost_actual_yuan": 1, "evidence": "x"},
            headers={"If-Match": '"1"'},
        ).status_code
        == 409
    )  # not approved yet
    ok = client.post(f"{url}/approve", json=approve, headers={"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    done = client.post(
        f"{url}/complete",
        json={"cost_actual_yuan": "48000.00", "evidence": "验收单 2026-12-20"},
        headers={"If-Match": ok.headers["etag"]},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    plan = client.get(
        "/api/v1/maintenance/plan", params={"region": b.region_adcode, "year": m["year"]}
    ).json()
    row = next(x for x in plan["buildings"] if x["building_id"] == b.id)
    assert (row["requests"], row["approved"], row["completed"]) == (1, 1, 1)
    assert float(row["cost_actual_yuan"]) == 48000.0
    history = client.get("/api/v1/maintenance", params={"building_id": b.id}).json()["items"]
    assert [x["id"] for x in history] == [m["id"]]
    expected = ["maintenance.request", "maintenance.approve", "maintenance.complete"]
    assert [h["action"] for h in client.get(f"{url}/history").json()] == expected
    # a scoped planner sees the history too (row-level security on audit_events, 0016)
    local = client_as("planner", regions=[b.region_adcode // 100 * 100])
    assert [h["action"] for h in local.get(f"{url}/history").json()] == expected
    assert officer.get(f"{url}/history").status_code == 200


def _live_view(client: Any, db: Session, b: Any) -> dict[str, Any]:
    """What the live register shows of building ``b``: lists, search, tiles, the map's
    summary of its county, OGC items, its open findings."""
    from tests.api.test_tiles import decode, ids, tile_of

    name, lon, lat = db.execute(
        text(
            "SELECT name, ST_X(ST_PointOnSurface(footprint)), ST_Y(ST_PointOnSurface(footprint)) "
            "FROM buildings WHERE id = :b"
        ),
        {"b": b.id},
    ).one()
    x, y = tile_of(lon, lat, 16)
    from backend.maps import tiles

    tiles.invalidate()  # as the data version check does within VERSION_CHECK_S
    tile = decode(client.get(f"/tiles/buildings/16/{x}/{y}.pbf").content)
    rooms = decode(client.get(f"/tiles/rooms/16/{x}/{y}.pbf").content)
    listed = client.get("/api/v1/buildings", params={"q": name, "limit": 100}).json()
    items = client.get(
        "/ogc/collections/buildings/items",
        params={"bbox": f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"},
    )
    return {
        "listed": b.id in {f["id"] for f in listed["features"]},
        "tile": b.id in ids(tile.get("buildings", {"features": []})),
        "room_tile": any(
            f["properties"].get("building_id") == b.id
            for f in rooms.get("rooms", {"features": []})["features"]
        ),
        "ogc": b.id in {f["id"] for f in items.json().get("features", [])},
        "summary": client.get("/api/v1/map/summary", params={"region": b.region_adcode}).json(),
        "open_findings": db.execute(
            text(
                "SELECT count(*) FROM compliance_findings WHERE building_id = :b "
                "AND status <> 'closed'"
            ),
            {"b": b.id},
        ).scalar_one(),
    }


def _building_with_findings(db: Session) -> Any:
    """A building with current rooms and open room findings (the demo has several)."""
    return db.execute(
        text(
            "SELECT b.id, b.region_adcode, b.agency_id FROM buildings b WHERE b.status <> 'disposed' "
            "AND b.agency_id IS NOT NULL AND EXISTS (SELECT 1 FROM compliance_findings f "
            "WHERE f.building_id = b.id AND f.status = 'open' AND f.room_id IS NOT NULL) "
            "ORDER BY b.id LIMIT 1"
        )
    ).one()


def test_disposal_takes_a_building_out_of_the_live_register(client: Any, db: Session) -> None:
    b = _building_with_findings(db)
    rooms = db.execute(
        text(
            "SELECT count(*) FROM rooms r JOIN floors f ON f.id = r.floor_id "
            "AND f.valid_to IS NULL WHERE r.building_id = :b"
        ),
        {"b": b.id},
    ).scalar_one()
    live = _live_view(client, db, b)
    assert live["listed"] and live["tile"] and live["room_tile"] and live["ogc"]
    assert live["open_findings"] > 0
    n = _count(db, "disposals")
    for bad in (
        {"building_id": b.id, "kind": "sale"},  # a sale names the counterpart
        {"building_id": b.id, "kind": "change_of_use"},  # and a change of use the new use
        {"building_id": b.id, "kind": "burn"},
    ):
        assert client.post("/api/v1/disposals", json=bad).status_code == 422, bad
    assert _count(db, "disposals") == n
    r = client.post(
        "/api/v1/disposals",
        json={"building_id": b.id, "kind": "sale", "counterpart": EVIL, "price_yuan": "1.00"},
    )
    assert r.status_code == 201, r.text
    d = r.json()
    again = client.post("/api/v1/disposals", json={"building_id": b.id, "kind": "demolition"})
    assert again.status_code == 409
    url = f"/api/v1/disposals/{d['id']}"
    assert client.post(f"{url}/complete", json={}, headers={"If-Match": '"1"'}).status_code == 409
    ok = client.post(
        f"{url}/approve", json={"approval_ref": "处置〔2026〕2号"}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    done = client.post(f"{url}/complete", json={}, headers={"If-Match": '"2"'})
    assert done.status_code == 200, done.text
    assert done.json()["building_status_before"] != "disposed"
    status = db.execute(
        text("SELECT status FROM buildings WHERE id = :b"), {"b": b.id}
    ).scalar_one()
    assert status == "disposed"
    gone = _live_view(client, db, b)
    # out of the lists, the search, the tiles, the OGC items, the map's totals and vacancy
    assert not (gone["listed"] or gone["tile"] or gone["room_tile"] or gone["ogc"])
    before, after = live["summary"], gone["summary"]
    assert after["buildings"] == before["buildings"] - 1
    assert after["rooms"] == before["rooms"] - rooms
    assert gone["open_findings"] == 0  # its findings closed by the re-evaluation
    closed = db.execute(
        text(
            "SELECT count(*) FROM compliance_findings WHERE building_id = :b AND status = 'closed' "
            "AND details->>'closed_by' = 're-evaluation'"
        ),
        {"b": b.id},
    ).scalar_one()
    assert closed >= live["open_findings"]
    # but in history and the disposal records: by id, by status, in the list of disposals
    assert client.get(f"/api/v1/buildings/{b.id}").status_code == 200
    disposed = client.get("/api/v1/buildings", params={"status": "disposed", "limit": 100})
    assert b.id in {f["id"] for f in disposed.json()["features"]}
    records = client.get("/api/v1/disposals", params={"building_id": b.id}).json()
    assert d["id"] in {x["id"] for x in records["items"]}
    blocked = client.post("/api/v1/maintenance", json={"building_id": b.id, "work": "repaint"})
    assert blocked.status_code == 409  # no new work on a disposed building
    hist = client.get(f"{url}/history").json()
    assert hist[-1]["after"]["building"]["status"] == "disposed"


def test_title_register_and_transfer_to_the_managing_office(
    client: Any, client_as: Any, db: Session
) -> None:
    b = _building(db, 2)
    body = {
        "building_id": b.id,
        "certificate_no": "浙(2026)杭州市不动产权第0000001号",
        "certified_area_m2": "5230.50",
        "holder": EVIL,
    }
    n = _count(db, "titles")
    for bad in ({**body, "certified_area_m2": "0"}, {**body, "holder": ""}):
        assert client.post("/api/v1/titles", json=bad).status_code == 422
    for role in ("agency_officer", "leader", "surveyor", "inspector"):
        c = client_as(role, regions=[330000], agencies=[b.agency_id])
        assert c.post("/api/v1/titles", json=body).status_code == 403
    assert _count(db, "titles") == n
    r = client.post("/api/v1/titles", json=body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["holder"] == EVIL
    assert client.post("/api/v1/titles", json=body).status_code == 409  # one current title
    other = _building(db, 3)
    dup = client.post("/api/v1/titles", json={**body, "building_id": other.id})
    assert dup.status_code == 409  # the certificate number is taken
    url = f"/api/v1/titles/{t['id']}"
    transfer = {
        "certificate_no": "浙(2026)杭州市不动产权第0000002号",
        "holder": "浙江省机关事务管理局",
    }
    assert client.post(f"{url}/transfer", json=transfer).status_code == 428
    new = client.post(f"{url}/transfer", json=transfer, headers={"If-Match": r.headers["etag"]})
    assert new.status_code == 201, new.text
    assert new.json()["status"] == "current" and new.json()["certified_area_m2"] == "5230.50"
    old = client.get(url).json()
    assert old["status"] == "superseded" and old["superseded_by"] == new.json()["id"]
    owner = db.execute(
        text("SELECT registered_owner, building_certificate_no FROM buildings WHERE id = :b"),
        {"b": b.id},
    ).one()
    assert tuple(owner) == ("浙江省机关事务管理局", transfer["certificate_no"])
    assert (
        client.post(f"{url}/transfer", json=transfer, headers={"If-Match": '"2"'}).status_code
        == 409
    )
    outsider = client_as("inspector", regions=[_outside(b.region_adcode)])
    assert outsider.get(url).status_code == 404
    assert [h["action"] for h in client.get(f"{url}/history").json()] == [
        "title.register",
        "title.transfer",
    ]
