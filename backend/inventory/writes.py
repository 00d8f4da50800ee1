"""Writes to the register with optimistic locking: buildings, floors, rooms, occupancy, staffing.

Every update names the version it was based on (``If-Match``); the UPDATE applies only
``WHERE version = expected`` and bumps it, so of two concurrent edits exactly one wins and
the other gets StaleVersion (412). Targets and new references must lie in the caller's
scope (else NotFound, as for reads). Every write appends an audit event with before and
after images; earlier row images are also kept by the ``row_history`` trigger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.orm import Session

from backend.accounts.access import Principal, roles_for
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Region, Room
from backend.domain import AgencyLevel, BuildingStatus, LeaveReason, Ownership, SpaceCategory
from backend.inventory.history import occupied_on
from backend.inventory.service import Page
from backend.services import scope as scopes
from backend.services.errors import InvalidGeometry, InvalidInput, NotFound, not_found, stale
from gis.area import lonlat_planar_areas, round_area, storey_building_area

Category = SpaceCategory

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------- schemas
DB_INT_MAX = 2**31 - 1  # integer (int4) id columns
# a date the register can hold and compute with (1900-01-01 … 2199-12-31)
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31))]


class BuildingBase(BaseModel):
    model_config = FORBID
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    agency_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)
    ownership: Ownership = "owned"
    registered_owner: str | None = Field(default=None, max_length=200)
    land_certificate_no: str | None = Field(default=None, max_length=64)
    building_certificate_no: str | None = Field(default=None, max_length=64)
    year_built: int | None = Field(default=None, ge=1800, le=2100)
    storeys_above: int | None = Field(default=None, ge=0, le=200)
    storeys_below: int | None = Field(default=None, ge=0, le=20)
    status: BuildingStatus = "in_use"


class BuildingCreate(BuildingBase):
    region_adcode: int = Field(ge=100000, le=999999)
    footprint: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon, lon/lat")


class BuildingUpdate(BaseModel):
    """Attributes only; the footprint comes with surveyed plans."""

    model_config = FORBID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    agency_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)
    ownership: Ownership | None = None
    registered_owner: str | None = Field(default=None, max_length=200)
    land_certificate_no: str | None = Field(default=None, max_length=64)
    building_certificate_no: str | None = Field(default=None, max_length=64)
    year_built: int | None = Field(default=None, ge=1800, le=2100)
    storeys_above: int | None = Field(default=None, ge=0, le=200)
    storeys_below: int | None = Field(default=None, ge=0, le=20)
    status: BuildingStatus | None = None


class FloorUpdate(BaseModel):
    model_config = FORBID
    name: str | None = Field(default=None, max_length=40)
    storey_height_m: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=2)


class RoomUpdate(BaseModel):
    model_config = FORBID
    number: str | None = Field(default=None, max_length=40)
    category: Category | None = None
    subcategory: str | None = Field(default=None, max_length=40, pattern=r"^[a-z_.]+$")
    agency_id: int | None = Field(default=None, ge=1, le=DB_INT_MAX)


class OccupancyBase(BaseModel):
    model_config = FORBID
    person_name: str | None = Field(default=None, max_length=80)
    person_id: str | None = Field(default=None, max_length=64)
    post_title: str | None = Field(default=None, max_length=120)
    is_concurrent_post: bool = False
    concurrent_approved: bool = False
    end_date: Day | None = None
    left_post_on: Day | None = None
    left_post_reason: LeaveReason | None = None


class OccupancyCreate(OccupancyBase):
    room_id: int = Field(ge=1, le=2**63 - 1)
    agency_id: int = Field(ge=1, le=DB_INT_MAX)
    rank_code: str = Field(min_length=1, max_length=40)
    start_date: Day

    @model_validator(mode="after")
    def _dates(self) -> OccupancyCreate:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class OccupancyUpdate(BaseModel):
    model_config = FORBID
    person_name: str | None = Field(default=None, max_length=80)
    post_title: str | None = Field(default=None, max_length=120)
    rank_code: str | None = Field(default=None, min_length=1, max_length=40)
    is_concurrent_post: bool | None = None
    concurrent_approved: bool | None = None
    end_date: Day | None = None
    left_post_on: Day | None = None
    left_post_reason: LeaveReason | None = None


class AgencyUpdate(BaseModel):
    """Reference figures and details of an agency, set by the managing office: approved
    office area (核定面积), name, credit code, level; staffing has its own PUT."""

    model_config = FORBID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    credit_code: str | None = Field(
        default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
    )
    level: AgencyLevel | None = None
    approved_office_area_m2: Decimal | None = Field(
        default=None, ge=0, le=10_000_000, decimal_places=2, description="核定面积; null: none"
    )


class OccupancyMove(BaseModel):
    """Move the person to another room: this occupancy ends on ``date``, a new one starts."""

    model_config = FORBID
    room_id: int = Field(ge=1)
    date: dt.date


class StaffingRow(BaseModel):
    model_config = FORBID
    rank_code: str = Field(min_length=1, max_length=40)
    quota: int = Field(ge=0, le=100_000)
    headcount: int = Field(ge=0, le=100_000)


class StaffingUpdate(BaseModel):
    """The agency's whole staffing table (编制 and headcount per rank), replacing the old."""

    model_config = FORBID
    staffing: list[StaffingRow] = Field(max_length=100)


# ---------------------------------------------------------------- helpers
def _columns(model: Any, names: list[str]) -> list[Any]:
    return [getattr(model, n) for n in names]


def _read(
    session: Session, model: Any, key: int, visible: ColumnElement[bool], names: list[str]
) -> dict[str, Any]:
    row = (
        session.execute(
            select(*_columns(model, ["id", "version", *names])).where(model.id == key, visible)
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise not_found(model.__tablename__.rstrip("s"), key)
    return dict(row)


def apply_changes(
    session: Session,
    *,
    principal: Principal,
    model: Any,
    what: str,
    key: int,
    expected: int,
    changes: dict[str, Any],
    visible: ColumnElement[bool],
) -> int:
    """The optimistic update register writes go through: compare-and-set on
    ``version``, one audit event, compliance follows the change; returns the new version."""
    names = sorted(changes)
    before = _read(session, model, key, visible, names)
    if before["version"] != expected:
        raise stale(what, key, before["version"], expected)
    values = {**changes, "version": model.version + 1}
    if hasattr(model, "updated_at"):
        values["updated_at"] = func.now()
    new_version = session.execute(
        update(model)
        .where(model.id == key, model.version == expected)
        .values(**values)
        .returning(model.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_version is None:  # a concurrent edit committed first
        current = session.execute(select(model.version).where(model.id == key)).scalar_one()
        raise stale(what, key, current, expected)
    if not changes:  # a guarded write of dependent rows (staffing) audits itself
        return int(new_version)
    audit.record(
        session,
        actor=principal.username,
        action=f"{what}.update",
        object_type=what,
        object_id=key,
        before={n: before[n] for n in names} | {"version": expected},
        after=changes | {"version": new_version},
    )
    _follow(session, principal, what, key, before, changes)
    return int(new_version)


def _follow(
    session: Session,
    principal: Principal,
    what: str,
    key: int,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Compliance follows the write: re-evaluate what it touched, in this transaction."""
    target = compliance.target_for_change(session, what, key, before, after)
    compliance.follow(session, target, actor=principal.username)


def _require_agency(session: Session, agency_id: int | None, principal: Principal) -> None:
    if agency_id is None:
        return
    found = session.execute(
        select(Agency.id).where(Agency.id == agency_id, scopes.agencies(principal.scope))
    ).first()
    if found is None:
        raise not_found("agency", agency_id)


def _require_visible(session: Session, model: Any, key: int, visible: ColumnElement[bool]) -> None:
    """NotFound unless the target exists within scope: checked before anything that depends
    on the target, so a hidden object answers exactly like a missing one."""
    if session.execute(select(model.id).where(model.id == key, visible)).first() is None:
        raise not_found(model.__tablename__.rstrip("s"), key)


def _check_rank(session: Session, agency_id: int, rank_code: str) -> None:
    level = session.execute(select(Agency.level).where(Agency.id == agency_id)).scalar_one()
    standards.check_rank(session, level, rank_code, field="rank_code")


def _footprint(geojson: dict[str, Any]) -> tuple[shapely.MultiPolygon, Decimal, str]:
    try:
        geom = shapely.geometry.shape(geojson)
    except Exception as exc:  # noqa: BLE001 - any malformed GeoJSON is the caller's input
        raise InvalidGeometry(
            f"footprint is not GeoJSON: {exc}", details={"field": "footprint"}
        ) from None
    if isinstance(geom, shapely.Polygon):
        geom = shapely.MultiPolygon([geom])
    if not isinstance(geom, shapely.MultiPolygon) or geom.is_empty:
        raise InvalidGeometry(
            "footprint must be a Polygon or MultiPolygon", details={"field": "footprint"}
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (
        np.isfinite([minx, miny, maxx, maxy]).all()
        and -180 <= minx <= maxx <= 180
        and -90 <= miny <= maxy <= 90
    ):
        raise InvalidGeometry(
            "footprint coordinates out of lon/lat range", details={"field": "footprint"}
        )
    if not geom.is_valid:
        raise InvalidGeometry(
            f"footprint is invalid: {shapely.is_valid_reason(geom)}", details={"field": "footprint"}
        )
    areas, crs = lonlat_planar_areas(np.array([geom]))
    return geom, round_area(float(areas[0])), f"planar:{crs}"


# ---------------------------------------------------------------- buildings
def create_building(session: Session, data: BuildingCreate, *, principal: Principal) -> int:
    """A new building in the caller's scope (region, or managed by a scoped agency)."""
    scope = principal.scope
    _require_agency(session, data.agency_id, principal)
    if not scopes.may_place_building(scope, data.region_adcode, data.agency_id):
        raise not_found("region", data.region_adcode)
    if session.get(Region, data.region_adcode) is None:
        raise InvalidInput(
            f"unknown region {data.region_adcode}", details={"field": "region_adcode"}
        )
    geom, area, method = _footprint(data.footprint)
    values = data.model_dump(exclude={"footprint"}) | {
        "footprint": func.ST_GeomFromWKB(shapely.to_wkb(geom), 4490),
        "footprint_area_m2": area,
        "area_method": method,
        "source": f"api:{principal.username}",
    }
    building_id = int(
        session.execute(insert(Building).values(**values).returning(Building.id)).scalar_one()
    )
    audit.record(
        session,
        actor=principal.username,
        action="building.create",
        object_type="building",
        object_id=building_id,
        after=data.model_dump(exclude={"footprint"}) | {"footprint_area_m2": area, "version": 1},
    )
    return building_id


def update_building(
    session: Session, building_id: int, data: BuildingUpdate, *, expected: int, principal: Principal
) -> int:
    changes = data.model_dump(exclude_unset=True)
    # seen whole: a building seen only through one of the caller's rooms is not theirs
    _require_visible(session, Building, building_id, scopes.buildings_managed(principal.scope))
    if "agency_id" in changes:
        _require_agency(session, changes["agency_id"], principal)
    return apply_changes(
        session,
        principal=principal,
        model=Building,
        what="building",
        key=building_id,
        expected=expected,
        changes=changes,
        visible=scopes.buildings_managed(principal.scope),
    )


# ---------------------------------------------------------------- floors
def _floor_visible(principal: Principal) -> ColumnElement[bool]:
    return scopes.floors_managed(principal.scope)


def update_floor(
    session: Session, floor_id: int, data: FloorUpdate, *, expected: int, principal: Principal
) -> int:
    """Floor attributes; a new storey height re-counts the building area (GB/T 50353)."""
    changes = data.model_dump(exclude_unset=True)
    _require_visible(session, Floor, floor_id, _floor_visible(principal))
    if "storey_height_m" in changes:
        raw = session.execute(
            select(Floor.outline_area_raw).where(Floor.id == floor_id, _floor_visible(principal))
        ).scalar_one_or_none()
        if raw is not None:
            changes["building_area_m2"], changes["area_rule"] = storey_building_area(
                raw, changes["storey_height_m"]
            )
    return apply_changes(
        session,
        principal=principal,
        model=Floor,
        what="floor",
        key=floor_id,
        expected=expected,
        changes=changes,
        visible=_floor_visible(principal),
    )


# ---------------------------------------------------------------- rooms
def update_room(
    session: Session, room_id: int, data: RoomUpdate, *, expected: int, principal: Principal
) -> int:
    changes = data.model_dump(exclude_unset=True)
    _require_visible(session, Room, room_id, scopes.rooms(principal.scope))
    if "agency_id" in changes:
        _require_agency(session, changes["agency_id"], principal)
    return apply_changes(
        session,
        principal=principal,
        model=Room,
        what="room",
        key=room_id,
        expected=expected,
        changes=changes,
        visible=scopes.rooms(principal.scope),
    )


# ---------------------------------------------------------------- occupancy
def occupancy_scope_predicate(principal: Principal) -> ColumnElement[bool]:
    """Occupancies the principal may see (``backend.services.scope.occupancies``)."""
    return scopes.occupancies(principal.scope)


def get_occupancy(session: Session, occupancy_id: int, *, principal: Principal) -> Occupancy:
    """One occupancy record within the principal's scope (404 like a missing one)."""
    o = session.scalars(
        select(Occupancy).where(Occupancy.id == occupancy_id, occupancy_scope_predicate(principal))
    ).one_or_none()
    if o is None:
        raise NotFound(f"occupancy {occupancy_id} not found", message_zh="使用记录不存在")
    return o


def list_occupancies(
    session: Session,
    *,
    principal: Principal,
    page: Page,
    as_of: dt.date | None = None,
    room: int | None = None,
    agency: int | None = None,
) -> list[Occupancy]:
    """Occupancies in scope, by id; ``as_of``: those running on that day."""
    stmt = select(Occupancy).where(occupancy_scope_predicate(principal))
    if as_of is not None:
        stmt = stmt.where(occupied_on(as_of))
    if room is not None:
        stmt = stmt.where(Occupancy.room_id == room)
    if agency is not None:
        stmt = stmt.where(Occupancy.agency_id == agency)
    return list(session.scalars(stmt.order_by(Occupancy.id).limit(page.limit).offset(page.offset)))


def create_occupancy(session: Session, data: OccupancyCreate, *, principal: Principal) -> int:
    room = session.execute(
        select(Room.id, Room.category).where(Room.id == data.room_id, scopes.rooms(principal.scope))
    ).first()
    if room is None:
        raise not_found("room", data.room_id)
    _require_agency(session, data.agency_id, principal)
    _check_rank(session, data.agency_id, data.rank_code)
    if room.category == "office" and not data.person_id:
        raise InvalidInput(
            "an office needs the person's key (person_id): the one-office rule is checked by it",
            message_zh="办公室使用人须填写人员标识（person_id），用于一人一处办公室的核查",
            details={"field": "person_id"},
        )
    values = data.model_dump()
    occupancy_id = int(
        session.execute(insert(Occupancy).values(**values).returning(Occupancy.id)).scalar_one()
    )
    audit.record(
        session,
        actor=principal.username,
        action="occupancy.create",
        object_type="occupancy",
        object_id=occupancy_id,
        after=values | {"version": 1},
    )
    _follow(session, principal, "occupancy", occupancy_id, {}, values)
    return occupancy_id


def update_occupancy(
    session: Session,
    occupancy_id: int,
    data: OccupancyUpdate,
    *,
    expected: int,
    principal: Principal,
) -> int:
    changes = data.model_dump(exclude_unset=True)
    visible = occupancy_scope_predicate(principal)
    # the start date is read only within scope: a hidden record answers 404 whatever its dates
    start = session.execute(
        select(Occupancy.start_date).where(Occupancy.id == occupancy_id, visible)
    ).scalar_one_or_none()
    if start is None:
        raise not_found("occupancy", occupancy_id)
    if changes.get("end_date") is not None and changes["end_date"] < start:
        raise InvalidInput("end_date is before start_date", details={"field": "end_date"})
    if changes.get("rank_code") is not None:
        agency = session.execute(
            select(Occupancy.agency_id).where(Occupancy.id == occupancy_id, visible)
        ).scalar_one()
        _check_rank(session, agency, changes["rank_code"])
    return apply_changes(
        session,
        principal=principal,
        model=Occupancy,
        what="occupancy",
        key=occupancy_id,
        expected=expected,
        changes=changes,
        visible=visible,
    )


def move_occupancy(
    session: Session,
    occupancy_id: int,
    data: OccupancyMove,
    *,
    expected: int,
    principal: Principal,
) -> int:
    """End + start in one transaction (either both or neither); returns the new id."""
    o = session.scalars(
        select(Occupancy).where(Occupancy.id == occupancy_id, occupancy_scope_predicate(principal))
    ).one_or_none()
    if o is None:
        raise not_found("occupancy", occupancy_id)
    if o.end_date is not None and o.end_date <= data.date:
        raise InvalidInput("the occupancy has already ended", details={"field": "date"})
    if data.date < o.start_date:
        raise InvalidInput("date is before the occupancy's start", details={"field": "date"})
    if data.room_id == o.room_id:
        raise InvalidInput("that is the room it is in", details={"field": "room_id"})
    person = {
        k: getattr(o, k)
        for k in (
            "agency_id",
            "person_name",
            "person_id",
            "post_title",
            "rank_code",
            "is_concurrent_post",
            "concurrent_approved",
        )
    }
    update_occupancy(
        session,
        occupancy_id,
        OccupancyUpdate(end_date=data.date),
        expected=expected,
        principal=principal,
    )
    return create_occupancy(
        session,
        OccupancyCreate(room_id=data.room_id, start_date=data.date, **person),
        principal=principal,
    )


# ---------------------------------------------------------------- agency staffing
def update_agency(
    session: Session, agency_id: int, data: AgencyUpdate, *, expected: int, principal: Principal
) -> int:
    """The managing office's reference figures of an agency (approved office area, level,
    name, credit code); compliance follows (the approved-area finding, and every occupant's
    findings when the level changes)."""
    principal.require(*roles_for("agency.approved_area"))
    return apply_changes(
        session,
        principal=principal,
        model=Agency,
        what="agency",
        key=agency_id,
        expected=expected,
        changes=data.model_dump(exclude_unset=True),
        visible=scopes.agencies(principal.scope),
    )


def replace_staffing(
    session: Session, agency_id: int, data: StaffingUpdate, *, expected: int, principal: Principal
) -> int:
    """Replace the staffing table; the agency's version guards it.

    Quotas (编制) judge the agency (the over-approved rule): only the managing office may
    change them. Others allowed to write staffing may report headcounts, quotas unchanged.
    """
    _require_visible(session, Agency, agency_id, scopes.agencies(principal.scope))
    ranks = [r.rank_code for r in data.staffing]
    if len(set(ranks)) != len(ranks):
        raise InvalidInput("rank_code repeated", details={"field": "staffing"})
    level = session.execute(
        select(Agency.level).where(Agency.id == agency_id, scopes.agencies(principal.scope))
    ).scalar_one_or_none()
    if level is not None:
        for k, rank in enumerate(ranks):
            standards.check_rank(session, level, rank, field=f"staffing.{k}.rank_code")
    before = [
        dict(r)
        for r in session.execute(
            select(AgencyStaffing.rank_code, AgencyStaffing.quota, AgencyStaffing.headcount)
            .where(AgencyStaffing.agency_id == agency_id, scopes.staffing(principal.scope))
            .order_by(AgencyStaffing.rank_code)
        ).mappings()
    ]
    quotas_before = {r["rank_code"]: r["quota"] for r in before if r["quota"]}
    quotas_after = {r.rank_code: r.quota for r in data.staffing if r.quota}
    if quotas_after != quotas_before:
        principal.require(*roles_for("staffing.quota"))
    version = apply_changes(
        session,
        principal=principal,
        model=Agency,
        what="agency",
        key=agency_id,
        expected=expected,
        changes={},
        visible=scopes.agencies(principal.scope),
    )
    session.execute(delete(AgencyStaffing).where(AgencyStaffing.agency_id == agency_id))
    insert_staffing(session, agency_id, data.staffing)
    audit.record(
        session,
        actor=principal.username,
        action="agency.staffing",
        object_type="agency",
        object_id=agency_id,
        before={"staffing": before, "version": expected},
        after={"staffing": [r.model_dump() for r in data.staffing], "version": version},
    )
    _follow(session, principal, "agency", agency_id, {}, {"staffing": True})
    return version


def insert_staffing(session: Session, agency_id: int, rows: list[StaffingRow]) -> None:
    """An agency's staffing rows (编制 and headcount per rank), e.g. after clearing the old."""
    if rows:
        session.execute(
            insert(AgencyStaffing), [r.model_dump() | {"agency_id": agency_id} for r in rows]
        )


def current_version(session: Session, model: Any, key: int) -> int | None:
    return session.execute(select(model.version).where(model.id == key)).scalar_one_or_none()
