"""rooms.region_adcode follows the building's region (migration 0005 triggers)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.db.models import Building, Room
from backend.services import scope as scopes
from backend.services.scope import Scope, adcode_range


def test_every_room_carries_its_buildings_region(db: Session) -> None:
    mismatched = db.execute(
        text(
            "SELECT count(*) FROM rooms r JOIN buildings b ON b.id = r.building_id "
            "WHERE r.region_adcode IS DISTINCT FROM b.region_adcode"
        )
    ).scalar_one()
    assert mismatched == 0


def test_a_new_room_gets_the_region_and_a_moved_building_takes_its_rooms(db: Session) -> None:
    room = db.execute(select(Room).limit(1)).scalar_one()
    copy = Room(
        floor_id=room.floor_id,
        building_id=room.building_id,
        number="X-1",
        category="office",
        subcategory="office.staff_office",
        geom=room.geom,
        usable_area_raw=1.0,
        usable_area_m2=1,
        area_method=room.area_method,
        agency_id=room.agency_id,
    )
    db.add(copy)
    db.flush()
    db.refresh(copy)
    building = db.get(Building, room.building_id)
    assert building is not None
    assert copy.region_adcode == building.region_adcode
    other = db.execute(
        select(Building.region_adcode)
        .where(Building.region_adcode != building.region_adcode)
        .limit(1)
    ).scalar_one()
    building.region_adcode = other
    db.flush()
    left_behind = db.execute(
        select(func.count()).where(Room.building_id == building.id, Room.region_adcode != other)
    ).scalar_one()
    assert left_behind == 0


def test_region_scope_selects_exactly_the_regions_rooms(db: Session) -> None:
    region = db.execute(select(Building.region_adcode).limit(1)).scalar_one()
    scope = Scope(regions=frozenset({region}))
    via_predicate = db.execute(
        select(func.count()).select_from(Room).where(scopes.rooms(scope))
    ).scalar_one()
    via_buildings = db.execute(
        select(func.count())
        .select_from(Room)
        .join(Building, Building.id == Room.building_id)
        .where(Building.region_adcode.between(*adcode_range(region)))
    ).scalar_one()
    assert via_predicate == via_buildings > 0
