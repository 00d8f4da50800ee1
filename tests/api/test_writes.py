"""Writes with optimistic locking: ETag on reads, If-Match on writes, one of two concurrent edits wins."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.accounts.access import SYSTEM
from backend.db.models import Floor
from backend.inventory import writes
from backend.services.errors import StaleVersion


def _room(db: Session) -> int:
    return int(db.execute(text("SELECT min(id) FROM rooms")).scalar_one())


def test_update_needs_if_match_and_refuses_stale(client: Any, db: Session) -> None:
    room = _room(db)
    read = client.get(f"/api/v1/rooms/{room}")
    etag = read.headers["ETag"]
    assert client.patch(f"/api/v1/rooms/{room}", json={"number": "A-1"}).status_code == 428
    ok = client.patch(f"/api/v1/rooms/{room}", json={"number": "A-1"}, headers={"If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["properties"]["number"] == "A-1"
    assert ok.headers["ETag"] != etag
    stale = client.patch(
        f"/api/v1/rooms/{room}", json={"number": "A-2"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert client.get(f"/api/v1/rooms/{room}").json()["properties"]["number"] == "A-1"
    ev = client.get(f"/api/v1/audit?object_type=room&object_id={room}").json()["items"][0]
    assert ev["action"] == "room.update" and ev["after"]["number"] == "A-1"
    assert ev["actor"] == "admin" and ev["before"]["number"] != "A-1"


def test_create_building_and_update_it(client: Any) -> None:
    footprint = {
        "type": "Polygon",
        "coordinates": [
            [[120.1, 30.2], [120.1005, 30.2], [120.1005, 30.2004], [120.1, 30.2004], [120.1, 30.2]]
        ],
    }
    resp = client.post(
        "/api/v1/buildings",
        json={"name": "新建办公楼", "region_adcode": 330106, "footprint": footprint},
    )
    assert resp.status_code == 201, resp.text
    props = resp.json()["properties"]
    assert 1900 < float(props["footprint_area_m2"]) < 2300  # ~48 m × 44 m
    url = resp.headers["Location"]
    upd = client.patch(url, json={"status": "idle"}, headers={"If-Match": resp.headers["ETag"]})
    assert upd.status_code == 200 and upd.json()["properties"]["status"] == "idle"
    bad = client.post(
        "/api/v1/buildings",
        json={
            "name": "x",
            "region_adcode": 330106,
            "footprint": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
            },
        },
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_geometry"


def test_floor_storey_height_recounts_building_area(client: Any, db: Session) -> None:
    floor = db.execute(
        text(
            "SELECT id FROM floors WHERE valid_to IS NULL AND outline_area_raw > 0 ORDER BY id LIMIT 1"
        )
    ).scalar_one()
    read = client.get(f"/api/v1/floors/{floor}")
    resp = client.patch(
        f"/api/v1/floors/{floor}",
        json={"storey_height_m": "2.10"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert resp.status_code == 200, resp.text
    p = resp.json()["properties"]
    assert "half" in p["area_rule"]
    raw = db.execute(select(Floor.outline_area_raw).where(Floor.id == floor)).scalar_one()
    assert abs(float(p["building_area_m2"]) - raw / 2) < 0.01


def test_occupancy_and_staffing_writes(client: Any, db: Session) -> None:
    room, agency = db.execute(
        text(
            "SELECT r.id, r.agency_id FROM rooms r JOIN agencies a ON a.id = r.agency_id "
            "WHERE a.level = 'county' ORDER BY r.id LIMIT 1"
        )
    ).one()
    resp = client.post(
        "/api/v1/occupancies",
        json={
            "room_id": room,
            "agency_id": agency,
            "rank_code": "below_section",  # a rank of the standards for a county agency
            "person_id": "T-0001",
            "start_date": "2025-01-01",
            "person_name": "张三",
        },
    )
    assert resp.status_code == 201, resp.text
    url = resp.headers["Location"]
    upd = client.patch(
        url, json={"end_date": "2025-06-30"}, headers={"If-Match": resp.headers["ETag"]}
    )
    assert upd.status_code == 200 and upd.json()["end_date"] == "2025-06-30"
    a = client.get(f"/api/v1/agencies/{agency}")
    s = client.put(
        f"/api/v1/agencies/{agency}/staffing",
        json={"staffing": [{"rank_code": "below_section", "quota": 10, "headcount": 9}]},
        headers={"If-Match": a.headers["ETag"]},
    )
    assert s.status_code == 200, s.text
    assert s.json()["properties"]["staffing"] == [
        {"rank_code": "below_section", "quota": 10, "headcount": 9}
    ]
    again = client.put(
        f"/api/v1/agencies/{agency}/staffing",
        json={"staffing": []},
        headers={"If-Match": a.headers["ETag"]},
    )
    assert again.status_code == 412


def test_readers_cannot_write(client_as: Any, db: Session) -> None:
    room = _room(db)
    leader = client_as("leader", regions=[330000])
    assert (
        leader.patch(
            f"/api/v1/rooms/{room}", json={"number": "x"}, headers={"If-Match": '"1"'}
        ).status_code
        == 403
    )


def test_two_concurrent_edits_of_one_floor_exactly_one_wins(engine: Engine) -> None:
    with Session(engine) as s:
        floor, version = s.execute(
            text("SELECT id, version FROM floors WHERE valid_to IS NULL ORDER BY id DESC LIMIT 1")
        ).one()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def edit(name: str) -> None:
        with Session(engine) as s, s.begin():
            barrier.wait()
            try:
                writes.update_floor(
                    s, floor, writes.FloorUpdate(name=name), expected=version, principal=SYSTEM
                )
                outcomes.append("won")
            except StaleVersion:
                outcomes.append("stale")

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("F-east", "F-west")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["stale", "won"]
    with Session(engine) as s:
        name, new_version = s.execute(
            text("SELECT name, version FROM floors WHERE id = :f"), {"f": floor}
        ).one()
    assert new_version == version + 1 and name in ("F-east", "F-west")


@pytest.mark.parametrize("header", ['"abc"', "*", '"999999"'])
def test_unusable_if_match_is_412(client: Any, db: Session, header: str) -> None:
    resp = client.patch(
        f"/api/v1/rooms/{_room(db)}", json={"number": "x"}, headers={"If-Match": header}
    )
    assert resp.status_code == 412
