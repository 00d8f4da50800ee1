"""As-of queries: the register as it stood at the end of a given day (Asia/Shanghai).

Choice: earlier row images are kept by a trigger in ``row_history`` (the OLD row as JSONB,
with the time it stopped being current), not reconstructed from audit ``before`` images,
so every change is covered — also writes that do not go through this API. The state at
time T of a table is: for rows changed after T, the first image that stopped being
current after T; for the others, the current row; rows recorded after T are left out.
Floors are plan versions: the version valid at T (``valid_from ≤ T < valid_to``).
Occupancy carries its own dates: occupied on day D as ``backend.timekeeping`` defines it
(``[start_date, end_date)``). Row images are scoped with the predicates of
``backend.services.scope`` applied to the image's own columns (a room by its agency and
``region_adcode`` then). Raw SQL of this capability lives in this module; identifiers come
from the ORM tables, every value is bound.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    cast,
    column,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON, Text

from backend import timekeeping
from backend.db.models import Building, Floor, Occupancy, Room
from backend.inventory.service import GEOJSON_DECIMALS, BBox, Page
from backend.services import scope as scopes
from backend.services.errors import NotFound
from backend.services.scope import Scope, adcode_range


def _state(table: Table, at: dt.datetime, extra: tuple[str, ...] = ()) -> Any:
    """The rows of ``table`` as they stood at ``at`` (a subquery with the table's columns)."""
    names = [c.name for c in table.c] + list(extra)
    cols = ", ".join(f'"{n}"' for n in names)
    sql = f"""
        SELECT {cols} FROM (
            SELECT (jsonb_populate_record(NULL::{table.name}, h.data)).*
            FROM (SELECT DISTINCT ON (row_id) row_id, data FROM row_history
                  WHERE table_name = :tname AND valid_to >= :at
                  ORDER BY row_id, valid_to) h
        ) img
        UNION ALL
        SELECT {cols} FROM {table.name} t
        WHERE NOT EXISTS (SELECT 1 FROM row_history r WHERE r.table_name = :tname
                          AND r.row_id = t.id AND r.valid_to >= :at)
    """  # noqa: S608 - identifiers from the ORM table, values bound
    columns = [*table.c, *(column(n, DateTime(timezone=True)) for n in extra)]
    stmt = text(sql).bindparams(tname=table.name, at=at).columns(*columns)
    return stmt.subquery(f"{table.name}_as_of")


def _feature(
    sub: Any, geom: str, props: list[str], extra: dict[str, Any] | None = None
) -> ColumnElement[Any]:
    args: list[Any] = []
    for p in props:
        args += [p, sub.c[p]]
    for k, v in (extra or {}).items():
        args += [k, v]
    return func.json_build_object(
        "type",
        "Feature",
        "id",
        sub.c.id,
        "geometry",
        cast(func.ST_AsGeoJSON(sub.c[geom], GEOJSON_DECIMALS, 0), JSON),
        "properties",
        func.json_build_object(*args),
    )


def _collection(
    session: Session, stmt: Select[Any], feature: ColumnElement[Any], page: Page, day: dt.date
) -> str:
    rows = stmt.add_columns(feature.label("f")).limit(page.limit).offset(page.offset).subquery("p")
    count = select(func.count()).select_from(stmt.subquery("all")).scalar_subquery()
    doc = func.json_build_object(
        "type",
        "FeatureCollection",
        "as_of",
        day.isoformat(),
        "numberMatched",
        count,
        "numberReturned",
        select(func.count()).select_from(rows).scalar_subquery(),
        "features",
        select(func.coalesce(func.json_agg(rows.c.f), func.json_build_array())).scalar_subquery(),
    )
    return str(session.execute(select(cast(doc, Text))).scalar_one())


def _one(
    session: Session, stmt: Select[Any], feature: ColumnElement[Any], what: str, key: int
) -> str:
    row = session.execute(stmt.add_columns(cast(feature, Text).label("f")).limit(1)).first()
    if row is None:
        raise NotFound(f"{what} {key} not found on that date", message_zh=f"该日期无 {what} {key}")
    return str(row.f)


BUILDING_PROPS = [
    "name", "address", "region_adcode", "agency_id", "ownership", "registered_owner",
    "land_certificate_no", "building_certificate_no", "year_built", "storeys_above",
    "storeys_below", "status", "footprint_area_m2", "area_method", "version",
]  # fmt: skip
FLOOR_PROPS = [
    "building_id", "level", "name", "storey_height_m", "building_area_m2", "area_rule",
    "area_method", "version", "valid_from", "valid_to",
]  # fmt: skip
ROOM_PROPS = [
    "number", "category", "subcategory", "usable_area_m2", "area_method", "agency_id",
    "floor_id", "building_id", "version",
]  # fmt: skip


def _buildings(day: dt.date, scope: Scope) -> tuple[Any, Select[Any]]:
    at = timekeeping.end_of_day(day)
    b = _state(Building.__table__, at, ("created_at",))  # type: ignore[arg-type]
    visible = scopes.buildings(scope, id=b.c.id, region=b.c.region_adcode, agency=b.c.agency_id)
    return b, select(b.c.id).where(b.c.created_at < at, visible).order_by(b.c.id)


def list_buildings(
    session: Session, *, scope: Scope, day: dt.date, bbox: BBox | None = None,
    region: int | None = None, agency: int | None = None, page: Page,
) -> str:  # fmt: skip
    b, stmt = _buildings(day, scope)
    if bbox:
        stmt = stmt.where(b.c.footprint.op("&&")(bbox.envelope()))
    if region is not None:
        stmt = stmt.where(b.c.region_adcode.between(*adcode_range(region)))
    if agency is not None:
        stmt = stmt.where(b.c.agency_id == agency)
    return _collection(session, stmt, _feature(b, "footprint", BUILDING_PROPS), page, day)


def get_building(session: Session, building_id: int, *, scope: Scope, day: dt.date) -> str:
    b, stmt = _buildings(day, scope)
    stmt = stmt.where(b.c.id == building_id)
    return _one(session, stmt, _feature(b, "footprint", BUILDING_PROPS), "building", building_id)


def _floors(day: dt.date, scope: Scope) -> tuple[Any, Select[Any]]:
    at = timekeeping.end_of_day(day)
    f = _state(Floor.__table__, at)  # type: ignore[arg-type]
    # the building seen whole that day, or (scope.floors) a floor holding a scoped
    # agency's room: a building seen through one room shows that room's floors only
    b = _state(Building.__table__, at, ("created_at",))  # type: ignore[arg-type]
    whole = select(b.c.id).where(
        b.c.created_at < at,
        scopes.buildings_managed(scope, region=b.c.region_adcode, agency=b.c.agency_id),
    )
    stmt = (
        select(f.c.id)
        .where(
            f.c.valid_from < at,
            or_(f.c.valid_to.is_(None), f.c.valid_to >= at),
            or_(
                f.c.building_id.in_(whole),
                scopes.floors(scope, building_id=f.c.building_id, id=f.c.id),
            ),
        )
        .order_by(f.c.building_id, f.c.level)
    )
    return f, stmt


def list_floors(
    session: Session, *, scope: Scope, day: dt.date, building: int | None = None,
    bbox: BBox | None = None, page: Page,
) -> str:  # fmt: skip
    f, stmt = _floors(day, scope)
    if building is not None:
        stmt = stmt.where(f.c.building_id == building)
    if bbox:
        stmt = stmt.where(f.c.outline.op("&&")(bbox.envelope()))
    return _collection(session, stmt, _feature(f, "outline", FLOOR_PROPS), page, day)


def get_floor(session: Session, floor_id: int, *, scope: Scope, day: dt.date) -> str:
    f, stmt = _floors(day, scope)
    stmt = stmt.where(f.c.id == floor_id)
    return _one(session, stmt, _feature(f, "outline", FLOOR_PROPS), "floor", floor_id)


def _rooms(day: dt.date, scope: Scope) -> tuple[Any, Select[Any]]:
    at = timekeeping.end_of_day(day)
    r = _state(Room.__table__, at, ("created_at",))  # type: ignore[arg-type]
    floors_then = select(Floor.id).where(
        Floor.valid_from < at, or_(Floor.valid_to.is_(None), Floor.valid_to >= at)
    )
    # images written before rooms carried their region (migration 0005) lack it: take the
    # building's, which a room never leaves
    region = func.coalesce(
        r.c.region_adcode,
        select(Building.region_adcode).where(Building.id == r.c.building_id).scalar_subquery(),
    )
    visible = scopes.rooms(scope, region=region, agency=r.c.agency_id)
    stmt = (
        select(r.c.id)
        .where(and_(r.c.created_at < at, r.c.floor_id.in_(floors_then), visible))
        .order_by(r.c.id)
    )
    return r, stmt


def list_rooms(
    session: Session, *, scope: Scope, day: dt.date, bbox: BBox | None = None,
    floor: int | None = None, building: int | None = None, agency: int | None = None,
    page: Page,
) -> str:  # fmt: skip
    r, stmt = _rooms(day, scope)
    if bbox:
        stmt = stmt.where(r.c.geom.op("&&")(bbox.envelope()))
    if floor is not None:
        stmt = stmt.where(r.c.floor_id == floor)
    if building is not None:
        stmt = stmt.where(r.c.building_id == building)
    if agency is not None:
        stmt = stmt.where(r.c.agency_id == agency)
    return _collection(session, stmt, _feature(r, "geom", ROOM_PROPS), page, day)


def get_room(session: Session, room_id: int, *, scope: Scope, day: dt.date) -> str:
    r, stmt = _rooms(day, scope)
    stmt = stmt.where(r.c.id == room_id)
    return _one(session, stmt, _feature(r, "geom", ROOM_PROPS), "room", room_id)


def occupied_on(day: dt.date) -> ColumnElement[bool]:
    """Occupancies running on ``day`` (their own valid-time dates, ``backend.timekeeping``)."""
    return timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day)
