"""As-of queries: the register as it stood at the end of a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
YESTERDAY = TODAY - dt.timedelta(days=1)


def _backdate(db: Session, building: int) -> None:
    """Pretend the building, its floors and rooms were recorded in 2020 (triggers off)."""
    db.execute(text("SET LOCAL session_replication_role = replica"))
    db.execute(
        text("UPDATE buildings SET created_at = '2020-01-01' WHERE id = :b"), {"b": building}
    )
    db.execute(
        text("UPDATE rooms SET created_at = '2020-01-01' WHERE building_id = :b"), {"b": building}
    )
    db.execute(
        text("UPDATE floors SET valid_from = '2020-01-01' WHERE building_id = :b"), {"b": building}
    )
    db.execute(text("SET LOCAL session_replication_role = origin"))


def test_building_attributes_as_of_yesterday(client: Any, db: Session) -> None:
    b, old = db.execute(text("SELECT id, name FROM buildings ORDER BY id LIMIT 1")).one()
    _backdate(db, b)
    etag = client.get(f"/api/v1/buildings/{b}").headers["ETag"]
    assert (
        client.patch(
            f"/api/v1/buildings/{b}", json={"name": "改名后"}, headers={"If-Match": etag}
        ).status_code
        == 200
    )
    then = client.get(f"/api/v1/buildings/{b}?as_of={YESTERDAY}").json()
    now = client.get(f"/api/v1/buildings/{b}?as_of={TODAY}").json()
    assert then["properties"]["name"] == old and now["properties"]["name"] == "改名后"
    listed = client.get(f"/api/v1/buildings?as_of={YESTERDAY}&limit=10000").json()
    assert {f["properties"]["name"] for f in listed["features"] if f["id"] == b} == {old}
    assert client.get("/api/v1/buildings?as_of=2019-12-31").json()["numberMatched"] == 0


def test_rooms_and_floors_as_of(client: Any, db: Session) -> None:
    room, b, floor, agency = db.execute(
        text(
            "SELECT id, building_id, floor_id, agency_id FROM rooms WHERE agency_id IS NOT NULL ORDER BY id LIMIT 1"
        )
    ).one()
    other = db.execute(
        text("SELECT id FROM agencies WHERE id <> :a ORDER BY id LIMIT 1"), {"a": agency}
    ).scalar_one()
    _backdate(db, b)
    etag = client.get(f"/api/v1/rooms/{room}").headers["ETag"]
    assert (
        client.patch(
            f"/api/v1/rooms/{room}", json={"agency_id": other}, headers={"If-Match": etag}
        ).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/rooms/{room}?as_of={YESTERDAY}").json()["properties"]["agency_id"]
        == agency
    )
    assert (
        client.get(f"/api/v1/rooms/{room}?as_of={TODAY}").json()["properties"]["agency_id"] == other
    )
    ids = {
        f["id"]
        for f in client.get(f"/api/v1/rooms?as_of={YESTERDAY}&building={b}&limit=10000").json()[
            "features"
        ]
    }
    assert room in ids
    assert client.get(f"/api/v1/floors/{floor}?as_of={YESTERDAY}").status_code == 200
    assert client.get(f"/api/v1/floors/{floor}?as_of=2019-06-01").status_code == 404


def test_new_building_did_not_exist_yesterday(client: Any) -> None:
    fp = {
        "type": "Polygon",
        "coordinates": [[[120.1, 30.2], [120.1003, 30.2], [120.1003, 30.2003], [120.1, 30.2]]],
    }
    url = client.post(
        "/api/v1/buildings", json={"name": "新楼", "region_adcode": 330106, "footprint": fp}
    ).headers["Location"]
    assert client.get(f"{url}?as_of={YESTERDAY}").status_code == 404
    assert client.get(f"{url}?as_of={TODAY}").status_code == 200


def test_occupancy_as_of_uses_its_dates(client: Any, db: Session) -> None:
    room, agency = db.execute(
        text(
            "SELECT r.id, r.agency_id FROM rooms r JOIN agencies a ON a.id = r.agency_id "
            "WHERE a.level = 'county' ORDER BY r.id LIMIT 1"
        )
    ).one()
    occ = client.post(
        "/api/v1/occupancies",
        json={
            "room_id": room,
            "agency_id": agency,
            "rank_code": "below_section",  # a rank of the standards for a county agency
            "person_id": "T-0001",
            "start_date": "2025-01-01",
            "end_date": "2025-06-30",
        },
    ).json()["id"]
    during = {
        o["id"]
        for o in client.get(f"/api/v1/occupancies?room={room}&as_of=2025-03-01").json()["items"]
    }
    after = {
        o["id"]
        for o in client.get(f"/api/v1/occupancies?room={room}&as_of=2025-08-01").json()["items"]
    }
    assert occ in during and occ not in after
