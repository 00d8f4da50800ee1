"""Read access to the register: regions, agencies, buildings, floors and rooms as GeoJSON.

FeatureCollections are assembled by PostgreSQL (``json_build_object`` + ``ST_AsGeoJSON``)
and returned as text, so large pages are not re-serialised in Python. Geometries are
lon/lat (EPSG:4490, RFC 7946 axis order). Every query is filtered by the caller's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON, BigInteger, Numeric, Text

from backend.accounts import auth, users
from backend.db.async_pool import Compiled, Reader, Statement, compile_statement
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Region, Room
from backend.services import scope as scopes
from backend.services.errors import NotFound
from backend.services.scope import Scope, adcode_range

GEOJSON_DECIMALS = 7  # ~1 cm at these latitudes


@dataclass(frozen=True)
class BBox:
    """A lon/lat bounding box in CGCS2000 (minx, miny, maxx, maxy)."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    def envelope(self) -> ColumnElement[Any]:
        return func.ST_MakeEnvelope(self.minx, self.miny, self.maxx, self.maxy, 4490)


@dataclass(frozen=True)
class Page:
    limit: int = 100
    offset: int = 0


def _feature(id_col: Any, geom: Any, props: dict[str, Any]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, col in props.items():
        args += [literal(key), col]
    geometry = (
        cast(func.ST_AsGeoJSON(geom, GEOJSON_DECIMALS, 0), JSON)
        if geom is not None
        else literal(None)
    )
    return func.json_build_object(
        "type",
        "Feature",
        "id",
        id_col,
        "geometry",
        geometry,
        "properties",
        func.json_build_object(*args),
    )


def _collection(
    session: Session, stmt: Select[Any], feature: ColumnElement[Any], page: Page
) -> str:
    """Run ``stmt`` (already filtered) as one FeatureCollection page; returns JSON text."""
    filtered = stmt.subquery("filtered")
    count = select(func.count()).select_from(filtered).scalar_subquery()
    rows = stmt.add_columns(feature.label("f")).limit(page.limit).offset(page.offset).subquery("p")
    features = select(
        func.coalesce(func.json_agg(rows.c.f), func.json_build_array())
    ).scalar_subquery()
    doc = func.json_build_object(
        "type",
        "FeatureCollection",
        "numberMatched",
        count,
        "numberReturned",
        select(func.count()).select_from(rows).scalar_subquery(),
        "limit",
        page.limit,
        "offset",
        page.offset,
        "features",
        features,
    )
    return str(session.connection().execute(select(cast(doc, Text))).scalar_one())


def _one(
    session: Session, stmt: Select[Any], feature: ColumnElement[Any], what: str, key: Any
) -> str:
    row = (
        session.connection()
        .execute(stmt.add_columns(cast(feature, Text).label("f")).limit(1))
        .first()
    )
    if row is None:
        raise NotFound(f"{what} {key} not found", message_zh=f"{what} {key} 不存在")
    return str(row.f)


# ---------------------------------------------------------------- regions
def _region_feature(simplify: float | None) -> ColumnElement[Any]:
    geom: Any = Region.boundary
    if simplify:
        geom = func.ST_SimplifyPreserveTopology(Region.boundary, simplify)
    return _feature(
        Region.adcode,
        geom,
        {
            "adcode": Region.adcode,
            "name": Region.name,
            "level": Region.level,
            "parent_adcode": Region.parent_adcode,
            "seat": cast(func.ST_AsGeoJSON(Region.seat, 6, 0), JSON),
        },
    )


def list_regions(
    session: Session,
    *,
    scope: Scope,
    level: str | None = None,
    parent: int | None = None,
    bbox: BBox | None = None,
    simplify: float | None = 0.001,
    page: Page = Page(),
) -> str:
    stmt = select(Region.adcode).where(scopes.regions(scope)).order_by(Region.adcode)
    if level:
        stmt = stmt.where(Region.level == level)
    if parent is not None:
        stmt = stmt.where(Region.parent_adcode == parent)
    if bbox:
        stmt = stmt.where(Region.boundary.op("&&")(bbox.envelope()))
    return _collection(session, stmt, _region_feature(simplify), page)


def get_region(
    session: Session, adcode: int, *, scope: Scope, simplify: float | None = None
) -> str:
    stmt = select(Region.adcode).where(Region.adcode == adcode, scopes.regions(scope))
    return _one(session, stmt, _region_feature(simplify), "region", adcode)


# ---------------------------------------------------------------- agencies
Bounds = tuple[float, float, float, float]


def province_view(session: Session) -> tuple[int | None, Bounds | None]:
    """The province's adcode and boundary bounds: the first view of the pages' maps."""
    row = session.execute(
        select(
            Region.adcode,
            func.ST_XMin(Region.boundary),
            func.ST_YMin(Region.boundary),
            func.ST_XMax(Region.boundary),
            func.ST_YMax(Region.boundary),
        )
        .where(Region.level == "province")
        .order_by(Region.adcode)
        .limit(1)
    ).first()
    if row is None:
        return None, None
    bounds = (
        None if row[1] is None else (float(row[1]), float(row[2]), float(row[3]), float(row[4]))
    )
    return int(row[0]), bounds


def _agency_feature() -> ColumnElement[Any]:
    staffing = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(
                            "rank_code",
                            AgencyStaffing.rank_code,
                            "quota",
                            AgencyStaffing.quota,
                            "headcount",
                            AgencyStaffing.headcount,
                        ),
                        AgencyStaffing.rank_code,
                    )
                ),
                func.json_build_array(),
            )
        )
        .where(AgencyStaffing.agency_id == Agency.id)
        .correlate(Agency)
        .scalar_subquery()
    )
    # the agency sits at its region's seat (statements join Region for it)
    return _feature(
        Agency.id,
        Region.seat,
        {
            "name": Agency.name,
            "credit_code": Agency.credit_code,
            "level": Agency.level,
            "region_adcode": Agency.region_adcode,
            "parent_id": Agency.parent_id,
            "approved_office_area_m2": Agency.approved_office_area_m2,
            "staffing": staffing,
            "version": Agency.version,
        },
    )


def list_agencies(
    session: Session,
    *,
    scope: Scope,
    region: int | None = None,
    level: str | None = None,
    q: str | None = None,
    page: Page = Page(),
) -> str:
    stmt = (
        select(Agency.id)
        .join(Region, Region.adcode == Agency.region_adcode)
        .where(scopes.agencies(scope))
        .order_by(Agency.id)
    )
    if region is not None:
        stmt = stmt.where(Agency.region_adcode.between(*adcode_range(region)))
    if level:
        stmt = stmt.where(Agency.level == level)
    if q:
        stmt = stmt.where(Agency.name.contains(q, autoescape=True))
    return _collection(session, stmt, _agency_feature(), page)


def get_agency(session: Session, agency_id: int, *, scope: Scope) -> str:
    stmt = (
        select(Agency.id)
        .join(Region, Region.adcode == Agency.region_adcode)
        .where(Agency.id == agency_id, scopes.agencies(scope))
    )
    return _one(session, stmt, _agency_feature(), "agency", agency_id)


# ---------------------------------------------------------------- buildings
def _building_feature() -> ColumnElement[Any]:
    current = and_(Floor.building_id == Building.id, Floor.valid_to.is_(None))
    floors = select(func.count()).where(current).scalar_subquery()
    building_area = select(func.sum(Floor.building_area_m2)).where(current).scalar_subquery()
    return _feature(
        Building.id,
        Building.footprint,
        {
            "name": Building.name,
            "address": Building.address,
            "region_adcode": Building.region_adcode,
            "agency_id": Building.agency_id,
            "ownership": Building.ownership,
            "registered_owner": Building.registered_owner,
            "land_certificate_no": Building.land_certificate_no,
            "building_certificate_no": Building.building_certificate_no,
            "year_built": Building.year_built,
            "storeys_above": Building.storeys_above,
            "storeys_below": Building.storeys_below,
            "status": Building.status,
            "footprint_area_m2": Building.footprint_area_m2,
            "floors": floors,
            "building_area_m2": building_area,
            "area_method": Building.area_method,
            "version": Building.version,
        },
    )


def list_buildings(
    session: Session,
    *,
    scope: Scope,
    bbox: BBox | None = None,
    region: int | None = None,
    agency: int | None = None,
    status: str | None = None,
    q: str | None = None,
    page: Page = Page(),
) -> str:
    stmt = select(Building.id).where(scopes.buildings(scope)).order_by(Building.id)
    if bbox:
        stmt = stmt.where(Building.footprint.op("&&")(bbox.envelope()))
    if region is not None:
        stmt = stmt.where(Building.region_adcode.between(*adcode_range(region)))
    if agency is not None:
        stmt = stmt.where(Building.agency_id == agency)
    # disposed buildings only when asked for by their status (history)
    stmt = stmt.where(Building.status == status if status else scopes.live_buildings())
    if q:
        stmt = stmt.where(Building.name.contains(q, autoescape=True))
    return _collection(session, stmt, _building_feature(), page)


def get_building(session: Session, building_id: int, *, scope: Scope) -> str:
    stmt = select(Building.id).where(Building.id == building_id, scopes.buildings(scope))
    return _one(session, stmt, _building_feature(), "building", building_id)


def require_building(
    session: Session, building_id: int, *, scope: Scope, whole: bool = False
) -> Building:
    """The building row, or NotFound (also when it lies outside the scope; with ``whole``,
    also when the caller sees it only through one of their rooms)."""
    visible = scopes.buildings_managed(scope) if whole else scopes.buildings(scope)
    b = session.execute(
        select(Building).where(Building.id == building_id, visible)
    ).scalar_one_or_none()
    if b is None:
        raise NotFound(
            f"building {building_id} not found", message_zh=f"办公楼 {building_id} 不存在"
        )
    return b


# ---------------------------------------------------------------- floors
def _floor_feature(scope: Scope) -> ColumnElement[Any]:
    """A floor with its room count and usable area over the rooms the caller may see."""
    visible = and_(Room.floor_id == Floor.id, scopes.rooms(scope))
    rooms = select(func.count()).where(visible).scalar_subquery()
    usable = select(func.sum(Room.usable_area_m2)).where(visible).scalar_subquery()
    return _feature(
        Floor.id,
        Floor.outline,
        {
            "building_id": Floor.building_id,
            "level": Floor.level,
            "name": Floor.name,
            "storey_height_m": Floor.storey_height_m,
            "building_area_m2": Floor.building_area_m2,
            "area_rule": Floor.area_rule,
            "area_method": Floor.area_method,
            "rooms": rooms,
            "usable_area_m2": usable,
            "version": Floor.version,
            "valid_from": Floor.valid_from,
            "valid_to": Floor.valid_to,
            "source_sha256": Floor.source_sha256,
        },
    )


def list_floors(
    session: Session,
    *,
    scope: Scope,
    building: int | None = None,
    bbox: BBox | None = None,
    level: int | None = None,
    include_history: bool = False,
    page: Page = Page(),
) -> str:
    stmt = (
        select(Floor.id)
        .where(scopes.floors(scope))
        .order_by(Floor.building_id, Floor.level, Floor.version)
    )
    if not include_history:
        stmt = stmt.where(Floor.valid_to.is_(None))
    if building is not None:
        stmt = stmt.where(Floor.building_id == building)
    if level is not None:
        stmt = stmt.where(Floor.level == level)
    if bbox:
        stmt = stmt.where(Floor.outline.op("&&")(bbox.envelope()))
    return _collection(session, stmt, _floor_feature(scope), page)


def get_floor(session: Session, floor_id: int, *, scope: Scope) -> str:
    stmt = select(Floor.id).where(Floor.id == floor_id, scopes.floors(scope))
    return _one(session, stmt, _floor_feature(scope), "floor", floor_id)


# ---------------------------------------------------------------- rooms
def _room_feature() -> ColumnElement[Any]:
    return _feature(
        Room.id,
        Room.geom,
        {
            "number": Room.number,
            "category": Room.category,
            "subcategory": Room.subcategory,
            "usable_area_m2": Room.usable_area_m2,
            "area_method": Room.area_method,
            "agency_id": Room.agency_id,
            "floor_id": Room.floor_id,
            "building_id": Room.building_id,
            "level": Floor.level,
            "version": Room.version,
        },
    )


def list_rooms(
    session: Session,
    *,
    scope: Scope,
    bbox: BBox | None = None,
    floor: int | None = None,
    building: int | None = None,
    agency: int | None = None,
    category: str | None = None,
    current_only: bool = True,
    page: Page = Page(),
) -> str:
    stmt = (
        select(Room.id)
        .join(Floor, Floor.id == Room.floor_id)
        .where(scopes.rooms(scope))
        .order_by(Room.id)
    )
    if current_only and floor is None:
        stmt = stmt.where(Floor.valid_to.is_(None))
    if bbox:
        stmt = stmt.where(Room.geom.op("&&")(bbox.envelope()))
    if floor is not None:
        stmt = stmt.where(Room.floor_id == floor)
    if building is not None:
        stmt = stmt.where(Room.building_id == building)
    if agency is not None:
        stmt = stmt.where(Room.agency_id == agency)
    if category:
        stmt = stmt.where(or_(Room.category == category, Room.subcategory == category))
    return _collection(session, stmt, _room_feature(), page)


def get_room(session: Session, room_id: int, *, scope: Scope) -> str:
    stmt = (
        select(Room.id)
        .join(Floor, Floor.id == Room.floor_id)
        .where(Room.id == room_id, scopes.rooms(scope))
    )
    return _one(session, stmt, _room_feature(), "room", room_id)


# ---------------------------------------------------------------- lean by-id reads
@dataclass(frozen=True)
class VersionedFeature:
    """One feature as GeoJSON text with its row version (the ETag)."""

    version: int
    body: str


@lru_cache(maxsize=512)
def _by_id_statement(kind: str, scope: Scope) -> Compiled:
    """The by-id statement of ``kind`` for ``scope``, compiled once (``id`` bound per call)."""
    if kind == "building":
        stmt = select(Building.version, cast(_building_feature(), Text)).where(
            Building.id == bindparam("id", 0, BigInteger), scopes.buildings(scope)
        )
    else:
        stmt = (
            select(Room.version, cast(_room_feature(), Text))
            .join(Floor, Floor.id == Room.floor_id)
            .where(Room.id == bindparam("id", 0, BigInteger), scopes.rooms(scope))
        )
    return compile_statement(stmt)


def _by_id(kind: str, key: int) -> Callable[[Scope], Statement]:
    def statement_for(scope: Scope) -> Statement:
        return _by_id_statement(kind, scope), {"id": key}

    return statement_for


async def _read_one(
    reader: Reader, kind: str, key: int, user: auth.TokenClaims
) -> VersionedFeature:
    row = await users.read_as(reader, user, _by_id(kind, key))
    if row is None:
        raise NotFound(f"{kind} {key} not found", message_zh=f"{kind} {key} 不存在")
    return VersionedFeature(version=int(row[0]), body=str(row[1]))


async def read_building(
    reader: Reader, building_id: int, *, user: auth.TokenClaims
) -> VersionedFeature:
    """``get_building`` for the token's user, on the lean read path: one round trip, scope,
    RLS and the token's revocation check."""
    return await _read_one(reader, "building", building_id, user)


async def read_room(reader: Reader, room_id: int, *, user: auth.TokenClaims) -> VersionedFeature:
    """``get_room`` for the token's user, on the lean read path: one round trip, scope, RLS
    and the token's revocation check."""
    return await _read_one(reader, "room", room_id, user)


# ---------------------------------------------------------------- health
def database_answers(session: Session) -> None:
    """A trivial statement: raises when the database does not answer."""
    session.execute(select(literal(1))).scalar_one()


def database_health(session: Session) -> dict[str, Any]:
    """PostgreSQL and PostGIS versions and register size (cheap estimates)."""
    pg = session.execute(select(func.current_setting("server_version"))).scalar_one()
    postgis = session.execute(select(func.postgis_lib_version())).scalar_one()
    return {"postgresql": pg, "postgis": postgis, "checked_at": dt.datetime.now(dt.UTC).isoformat()}


__all__: Sequence[str] = [
    "BBox",
    "Page",
    "list_regions",
    "get_region",
    "list_agencies",
    "get_agency",
    "list_buildings",
    "get_building",
    "require_building",
    "list_floors",
    "get_floor",
    "list_rooms",
    "get_room",
    "VersionedFeature",
    "read_building",
    "read_room",
    "database_answers",
    "database_health",
]


def building_points(session: Session, *, scope: Scope, region: int | None = None) -> str:
    """Compact marker list ``{"points": [[id, lon, lat, status, name], …]}`` for clustering."""
    point = func.ST_PointOnSurface(Building.footprint)
    stmt = select(
        func.json_build_array(
            Building.id,
            func.round(cast(func.ST_X(point), Numeric), 6),
            func.round(cast(func.ST_Y(point), Numeric), 6),
            Building.status,
            Building.name,
        ).label("p")
    ).where(scopes.buildings(scope))
    if region is not None:
        stmt = stmt.where(Building.region_adcode.between(*adcode_range(region)))
    sub = stmt.subquery()
    doc = func.json_build_object(
        "points",
        select(func.coalesce(func.json_agg(sub.c.p), func.json_build_array())).scalar_subquery(),
    )
    return str(session.connection().execute(select(cast(doc, Text))).scalar_one())
