"""Lease writes: scope, roles, If-Match, bad input stores nothing, the finding follows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding, Lease


def a_room(db: Session) -> tuple[int, int]:
    room, region = db.execute(
        text(
            "SELECT r.id, r.region_adcode FROM rooms r JOIN floors f ON f.id = r.floor_id "
            "AND f.valid_to IS NULL WHERE r.category = 'office' AND NOT EXISTS "
            "(SELECT 1 FROM leases l WHERE l.room_id = r.id) ORDER BY r.id LIMIT 1"
        )
    ).one()
    return int(room), int(region)


def stored(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(Lease)).scalar_one())


def test_lease_create_end_and_finding_follow(client: Any, db: Session) -> None:
    room, _ = a_room(db)
    r = client.post(
        "/api/v1/leases",
        json={
            "room_id": room,
            "kind": "rent_out",
            "counterparty": '=HYPERLINK("x") <b>某公司</b>',
            "start_date": "2026-01-01",
        },
    )
    assert r.status_code == 201, r.text
    lease = r.json()
    assert lease["counterparty"].startswith("=HYPERLINK")
    finding = db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.rule_code == "unapproved_lease",
            ComplianceFinding.object_id == str(lease["id"]),
            ComplianceFinding.status == "open",
        )
    ).one()
    assert finding.room_id == room
    url = f"/api/v1/leases/{lease['id']}"
    assert client.patch(url, json={"end_date": "2026-02-01"}).status_code == 428
    assert (
        client.patch(url, json={"end_date": "2026-02-01"}, headers={"If-Match": '"9"'}).status_code
        == 412
    )
    ended = client.patch(
        url, json={"end_date": "2026-02-01"}, headers={"If-Match": r.headers["ETag"]}
    )
    assert ended.status_code == 200 and ended.json()["version"] == 2
    db.expire_all()
    assert db.get(ComplianceFinding, finding.id).status == "closed"  # type: ignore[union-attr]


def test_bad_leases_are_refused_and_store_nothing(client: Any, client_as: Any, db: Session) -> None:
    room, region = a_room(db)
    n = stored(db)
    base = {"kind": "lend", "start_date": "2026-01-01"}
    cases = [
        {**base, "room_id": room, "building_id": 1},  # both
        {**base},  # neither
        {**base, "room_id": room, "kind": "sell"},
        {**base, "room_id": room, "end_date": "2025-01-01"},
        {**base, "room_id": room, "approved": True},  # approved without its reference
        {**base, "room_id": room, "rent": 1},
    ]
    for body in cases:
        assert client.post("/api/v1/leases", json=body).status_code == 422, body
    for role in ("leader", "surveyor", "inspector"):
        c = client_as(role, regions=[region])
        assert c.post("/api/v1/leases", json={**base, "room_id": room}).status_code == 403
    other = 330100 if region // 100 != 3301 else 330200
    outsider = client_as("planner", regions=[other])
    assert outsider.post("/api/v1/leases", json={**base, "room_id": room}).status_code == 404
    assert stored(db) == n
