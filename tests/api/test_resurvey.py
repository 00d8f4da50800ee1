"""Re-surveys keep their occupants: occupancies, leases, approved uses and findings move to
the new version's rooms (by number, then by overlap); unmatched rooms need a decision."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.compliance import service as compliance
from backend.db.compliance import ApprovedUse, ComplianceFinding, Lease
from backend.db.models import Agency, Floor, Occupancy, Room
from tests.backend.test_live_compliance import live_findings
from tests.backend.test_plans_support import Site, counts, demo_site, feature_collection, rooms_in

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr(timekeeping, "today", lambda: TODAY)
    return TODAY


def upload(client: Any, site: Site, data: bytes, **form: str) -> Any:
    """A dry run, or a commit naming the floor version it replaces (If-Match)."""
    headers = {}
    if form.get("dry_run") != "true":
        current = client.get(f"/api/v1/buildings/{site.building_id}/floors").json()["features"]
        version = next(
            f["properties"]["version"] for f in current if f["properties"]["level"] == site.level
        )
        headers["If-Match"] = f'"{version}"'
    return client.post(
        f"/api/v1/buildings/{site.building_id}/floors/{site.level}/plan",
        files={"file": ("plan.geojson", data, "application/octet-stream")},
        data={"crs": site.crs, **form},
        headers=headers,
    )


def current_rooms(db: Session, site: Site) -> dict[str | None, int]:
    floor = db.scalars(
        select(Floor.id).where(
            Floor.building_id == site.building_id,
            Floor.level == site.level,
            Floor.valid_to.is_(None),
        )
    ).one()
    return {n: i for i, n in db.execute(select(Room.id, Room.number).where(Room.floor_id == floor))}


@pytest.fixture
def occupied(client: Any, db: Session) -> tuple[Site, dict[str, Any]]:
    """A floor surveyed as rooms 100–105, then used: occupants in 100 and 103, a lease on
    101, an approved use on 102, an over-standard finding in 100 under rectification."""
    site = demo_site(db)
    boxes = rooms_in(site, 6)
    props = [{"number": f"10{k}", "category": "office.staff_office"} for k in range(6)]
    assert upload(client, site, feature_collection(boxes, props)).status_code == 201
    rooms = current_rooms(db, site)
    agency = db.scalars(select(Agency).where(Agency.level == "county")).first()
    assert agency is not None
    for number, person in (("100", "R1"), ("103", "R2")):
        r = client.post(
            "/api/v1/occupancies",
            json={
                "room_id": rooms[number],
                "agency_id": agency.id,
                "rank_code": "below_section",  # 9 m² in an 18 m² room: over standard
                "person_id": person,
                "person_name": "复测<script>",
                "start_date": "2025-01-01",
            },
        )
        assert r.status_code == 201, r.text
    db.add(Lease(room_id=rooms["101"], kind="lend", approved=False, start_date=dt.date(2025, 6, 1)))
    db.add(ApprovedUse(room_id=rooms["102"], purpose="档案", start_date=dt.date(2025, 1, 1)))
    db.flush()
    finding = db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.rule_code == "office_over_standard",
            ComplianceFinding.room_id == rooms["100"],
            ComplianceFinding.status == "open",
        )
    ).one()
    finding.status = "rectifying"
    db.flush()
    return site, {"rooms": rooms, "boxes": boxes, "finding": finding.id}


def resurvey(site: Site, boxes: list[Any]) -> bytes:
    """New version: 100 and 101 keep their numbers (101 a little smaller), 102 renumbered 'A'
    at the same place, 103 demolished (its place left empty), 104/105 as before."""
    shifted = shapely.affinity.scale(boxes[1], 0.9, 0.9)
    geoms = [boxes[0], shifted, boxes[2], boxes[4], boxes[5]]
    props = [
        {"number": n, "category": "office.staff_office"} for n in ("100", "101", "A", "104", "105")
    ]
    return feature_collection(geoms, props)


def test_unmatched_room_is_listed_in_the_dry_run_and_refuses_the_commit(
    client: Any, db: Session, occupied: tuple[Site, dict[str, Any]]
) -> None:
    site, world = occupied
    data = resurvey(site, world["boxes"])
    dry = upload(client, site, data, dry_run="true")
    assert dry.status_code == 200, dry.text
    carry = dry.json()["carry_over"]
    by_old = {c["old_room_id"]: c for c in carry["matched"]}
    rooms = world["rooms"]
    assert by_old[rooms["100"]]["by"] == "number" and by_old[rooms["100"]]["new_feature"] == 0
    assert by_old[rooms["101"]]["by"] == "number"
    assert by_old[rooms["102"]]["by"] == "overlap" and by_old[rooms["102"]]["new_number"] == "A"
    assert [c["old_room_id"] for c in carry["unmatched"]] == [rooms["103"]]
    assert any(w["code"] == "carry_over_undecided" for w in dry.json()["warnings"])

    before = counts(db, site.building_id, site.level)
    refused = upload(client, site, data)
    assert refused.status_code == 422
    (err,) = refused.json()["errors"]
    assert err["code"] == "carry_over_undecided"
    assert err["details"]["old_room_ids"] == [rooms["103"]]
    assert counts(db, site.building_id, site.level) == before  # nothing stored

    bad = upload(client, site, data, carry_over=json.dumps({str(rooms["103"]): 99}))
    assert bad.status_code == 422 and bad.json()["details"]["parameter"] == "carry_over"
    stranger = upload(client, site, data, carry_over=json.dumps({"1": "end"}))
    assert stranger.status_code == 422
    assert counts(db, site.building_id, site.level) == before


def test_commit_moves_occupants_uses_and_findings_keeping_status(
    client: Any, db: Session, occupied: tuple[Site, dict[str, Any]]
) -> None:
    site, world = occupied
    rooms = world["rooms"]
    decision = json.dumps({str(rooms["103"]): "end"})
    r = upload(client, site, resurvey(site, world["boxes"]), carry_over=decision)
    assert r.status_code == 201, r.text
    new = current_rooms(db, site)
    db.expire_all()
    moved = db.scalars(select(Occupancy).where(Occupancy.person_id == "R1")).one()
    assert moved.room_id == new["100"] and moved.end_date is None
    ended = db.scalars(select(Occupancy).where(Occupancy.person_id == "R2")).one()
    assert ended.room_id == rooms["103"] and ended.end_date == TODAY
    assert db.scalars(select(Lease.room_id).where(Lease.room_id.in_(list(new.values())))).all() == [
        new["101"]
    ]
    use = db.scalars(select(ApprovedUse).where(ApprovedUse.purpose == "档案")).one()
    assert use.room_id == new["A"]
    finding = db.get(ComplianceFinding, world["finding"])
    assert finding is not None
    assert (finding.status, finding.room_id, finding.object_id) == (
        "rectifying",
        new["100"],
        str(new["100"]),
    )
    # nothing is left on the old version's rooms but history
    old_ids = list(rooms.values())
    assert not db.scalars(
        select(ComplianceFinding.id).where(
            ComplianceFinding.room_id.in_(old_ids), ComplianceFinding.status != "closed"
        )
    ).all()
    # the findings after the upload are what a full run makes of the register
    after = live_findings(db)
    compliance.run_full(db, as_of=TODAY)
    assert live_findings(db) == after
