"""The feature collections of the OGC API: one SQLAlchemy source per collection and scope.

A source is a SELECT whose columns are ``id``, ``geom`` (EPSG:4490, lon/lat) and the
collection's properties under their public names, already filtered by the caller's scope
with the one predicate per object type of ``backend.services.scope`` (as-of: the history
service's state of that day, filtered the same way) — never a predicate of our own. The API wraps it as a subquery and adds bbox, CQL2 and paging on its columns;
PostgreSQL flattens the subquery, so the GiST indexes still apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.types import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    TypeEngine,
)

from backend.compliance.findings import OPEN_STATUSES
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, Building, Floor, Region, Room
from backend.inventory import history
from backend.services import scope as scopes
from backend.services.scope import Scope


@dataclass(frozen=True)
class Prop:
    """One property: public name, Chinese title, JSON-schema type."""

    name: str
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class Collection:
    """A feature collection: metadata and the builder of its scoped source."""

    id: str
    title: str
    title_en: str
    description: str
    geometry: str  # geometry-polygon | geometry-point | geometry-any
    props: tuple[Prop, ...]
    build: Callable[[Scope, dt.date | None], Select[Any]]
    temporal: bool = False  # answers ``datetime`` from the history (as-of)
    geometry_title: str = "geometry"


def _cols(names: dict[str, Any]) -> list[Any]:
    return [expr.label(name) for name, expr in names.items()]


# ------------------------------------------------------------------ buildings
BUILDING_PROPS = (
    Prop("name", "名称", "name"),
    Prop("address", "地址", "address"),
    Prop("region_adcode", "行政区划代码", "region code"),
    Prop("agency_id", "管理单位", "managing agency"),
    Prop("ownership", "权属", "ownership"),
    Prop("registered_owner", "登记权利人", "registered owner"),
    Prop("land_certificate_no", "土地证号", "land certificate no."),
    Prop("building_certificate_no", "房屋产权证号", "building certificate no."),
    Prop("year_built", "建成年份", "year built"),
    Prop("storeys_above", "地上层数", "storeys above ground"),
    Prop("storeys_below", "地下层数", "storeys below ground"),
    Prop("status", "状态", "status"),
    Prop("footprint_area_m2", "占地面积(m²)", "footprint area (m²)"),
    Prop("area_method", "面积计算方法", "area method"),
    Prop("version", "版本", "version"),
)


def _building_columns(t: Any) -> dict[str, Any]:
    return {"id": t.id, "geom": t.footprint} | {p.name: getattr(t, p.name) for p in BUILDING_PROPS}


def buildings(scope: Scope, day: dt.date | None) -> Select[Any]:
    if day is not None:
        b, stmt = history._buildings(day, scope)
        return stmt.with_only_columns(*_cols(_building_columns(b.c)))
    return select(*_cols(_building_columns(Building))).where(
        scopes.buildings(scope), scopes.live_buildings()
    )


# ------------------------------------------------------------------ floors
FLOOR_PROPS = (
    Prop("building_id", "办公楼", "building"),
    Prop("level", "楼层号", "level"),
    Prop("name", "楼层名称", "floor name"),
    Prop("storey_height_m", "结构层高(m)", "storey height (m)"),
    Prop("building_area_m2", "建筑面积(m²)", "building area (m²)"),
    Prop("area_rule", "面积规则", "area rule"),
    Prop("area_method", "面积计算方法", "area method"),
    Prop("version", "版本", "version"),
    Prop("valid_from", "生效时间", "valid from"),
)


def _floor_columns(t: Any) -> dict[str, Any]:
    return {"id": t.id, "geom": t.outline} | {p.name: getattr(t, p.name) for p in FLOOR_PROPS}


def floors(scope: Scope, day: dt.date | None) -> Select[Any]:
    if day is not None:
        f, stmt = history._floors(day, scope)
        return stmt.with_only_columns(*_cols(_floor_columns(f.c)))
    return select(*_cols(_floor_columns(Floor))).where(
        Floor.valid_to.is_(None),
        scopes.floors(scope),
        scopes.in_live_buildings(Floor.building_id),
    )


# ------------------------------------------------------------------ rooms
ROOM_PROPS = (
    Prop("number", "房间号", "room number"),
    Prop("category", "用房类别", "space category"),
    Prop("subcategory", "用房子类", "space subcategory"),
    Prop("usable_area_m2", "使用面积(m²)", "usable area (m²)"),
    Prop("area_method", "面积计算方法", "area method"),
    Prop("agency_id", "使用单位", "agency"),
    Prop("floor_id", "楼层", "floor"),
    Prop("building_id", "办公楼", "building"),
    Prop("level", "楼层号", "level"),
    Prop("version", "版本", "version"),
)


def _room_columns(t: Any, level: Any) -> dict[str, Any]:
    cols = {"id": t.id, "geom": t.geom}
    for p in ROOM_PROPS:
        cols[p.name] = level if p.name == "level" else getattr(t, p.name)
    return cols


def rooms(scope: Scope, day: dt.date | None) -> Select[Any]:
    if day is not None:
        r, stmt = history._rooms(day, scope)
        return stmt.with_only_columns(*_cols(_room_columns(r.c, Floor.level))).join(
            Floor, Floor.id == r.c.floor_id
        )
    return (
        select(*_cols(_room_columns(Room, Floor.level)))
        .join(Floor, Floor.id == Room.floor_id)
        .where(
            Floor.valid_to.is_(None),
            scopes.rooms(scope),
            scopes.in_live_buildings(Room.building_id),
        )
    )


# ------------------------------------------------------------------ agencies
AGENCY_PROPS = (
    Prop("name", "单位名称", "name"),
    Prop("credit_code", "统一社会信用代码", "unified social credit code"),
    Prop("level", "单位级别", "level"),
    Prop("region_adcode", "行政区划代码", "region code"),
    Prop("parent_id", "上级单位", "parent agency"),
    Prop("approved_office_area_m2", "核定面积(m²)", "approved office area (m²)"),
    Prop("version", "版本", "version"),
)


def agencies(scope: Scope, day: dt.date | None) -> Select[Any]:
    cols = {"id": Agency.id, "geom": Region.seat} | {
        p.name: getattr(Agency, p.name) for p in AGENCY_PROPS
    }
    return (
        select(*_cols(cols))
        .join(Region, Region.adcode == Agency.region_adcode)
        .where(scopes.agencies(scope))
    )


# ------------------------------------------------------------------ regions
REGION_PROPS = (
    Prop("adcode", "行政区划代码", "region code"),
    Prop("name", "名称", "name"),
    Prop("level", "级别", "level"),
    Prop("parent_adcode", "上级区划", "parent region"),
)


def regions(scope: Scope, day: dt.date | None) -> Select[Any]:
    cols = {"id": Region.adcode, "geom": Region.boundary} | {
        p.name: getattr(Region, p.name) for p in REGION_PROPS
    }
    return select(*_cols(cols)).where(scopes.regions(scope))


# ------------------------------------------------------------------ findings
FINDING_PROPS = (
    Prop("rule_code", "规则代码", "rule"),
    Prop("object_type", "对象类型", "object type"),
    Prop("object_id", "对象", "object"),
    Prop("room_id", "房间", "room"),
    Prop("floor_id", "楼层", "floor"),
    Prop("building_id", "办公楼", "building"),
    Prop("agency_id", "单位", "agency"),
    Prop("region_adcode", "行政区划代码", "region code"),
    Prop("measured", "实测值", "measured"),
    Prop("allowed", "标准值", "allowed"),
    Prop("excess_m2", "超出面积(m²)", "excess (m²)"),
    Prop("excess_pct", "超出比例(%)", "excess (%)"),
    Prop("standard_version", "标准版本", "standard version"),
    Prop("status", "状态", "status"),
    Prop("evaluated_at", "评估时间", "evaluated at"),
)


def findings(scope: Scope, day: dt.date | None) -> Select[Any]:
    """Findings placed on their room, else floor, else building, else the agency's seat —
    each only when the caller may see it (a person's finding seen through its main agency
    may be placed on an office the caller does not see: it then names no room and is
    placed on what the caller does see)."""
    seat_region = aliased(Region)
    seat_agency = aliased(Agency)
    geom = func.coalesce(Room.geom, Floor.outline, Building.footprint, seat_region.seat)
    cols = {"id": ComplianceFinding.id, "geom": geom} | {
        p.name: getattr(ComplianceFinding, p.name) for p in FINDING_PROPS
    }
    cols |= {"room_id": Room.id, "floor_id": Floor.id, "building_id": Building.id}
    return (
        select(*_cols(cols))
        .select_from(ComplianceFinding)
        .outerjoin(Room, and_(Room.id == ComplianceFinding.room_id, scopes.rooms(scope)))
        .outerjoin(Floor, and_(Floor.id == ComplianceFinding.floor_id, scopes.floors(scope)))
        .outerjoin(
            Building, and_(Building.id == ComplianceFinding.building_id, scopes.buildings(scope))
        )
        .outerjoin(
            seat_agency,
            and_(
                seat_agency.id == ComplianceFinding.agency_id,
                scopes.agencies(scope, region=seat_agency.region_adcode, id=seat_agency.id),
            ),
        )
        .outerjoin(seat_region, seat_region.adcode == seat_agency.region_adcode)
        .where(scopes.findings(scope))
    )


# ------------------------------------------------------------------ views on findings
VIEW_PROPS = (
    *(p for p in ROOM_PROPS if p.name != "version"),
    Prop("finding_id", "问题编号", "finding"),
    Prop("finding_status", "整改状态", "finding status"),
    Prop("measured", "实测值", "measured"),
    Prop("allowed", "标准值", "allowed"),
    Prop("excess_m2", "超出面积(m²)", "excess (m²)"),
    Prop("excess_pct", "超出比例(%)", "excess (%)"),
)


def _room_view(rule: str) -> Callable[[Scope, dt.date | None], Select[Any]]:
    def build(scope: Scope, day: dt.date | None) -> Select[Any]:
        cols = _room_columns(Room, Floor.level)
        del cols["version"]
        cols |= {
            "finding_id": ComplianceFinding.id,
            "finding_status": ComplianceFinding.status,
            "measured": ComplianceFinding.measured,
            "allowed": ComplianceFinding.allowed,
            "excess_m2": ComplianceFinding.excess_m2,
            "excess_pct": ComplianceFinding.excess_pct,
        }
        return (
            select(*_cols(cols))
            .join(Floor, Floor.id == Room.floor_id)
            .join(
                ComplianceFinding,
                and_(
                    ComplianceFinding.room_id == Room.id,
                    ComplianceFinding.rule_code == rule,
                    ComplianceFinding.status.in_(OPEN_STATUSES),
                ),
            )
            .where(scopes.rooms(scope), scopes.findings(scope))
        )

    return build


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "buildings", "办公楼", "Office buildings",
            "Footprints of the office buildings in the register (办公楼).",
            "geometry-polygon", BUILDING_PROPS, buildings, temporal=True,
        ),
        Collection(
            "floors", "楼层", "Floors",
            "Current floor outlines with building area under GB/T 50353-2013 (楼层).",
            "geometry-polygon", FLOOR_PROPS, floors, temporal=True,
        ),
        Collection(
            "rooms", "房间", "Rooms",
            "Rooms with usable area and space category of the 2014 standard (房间).",
            "geometry-polygon", ROOM_PROPS, rooms, temporal=True,
        ),
        Collection(
            "agencies", "单位", "Agencies",
            "Agencies placed at the seat of their region (单位).",
            "geometry-point", AGENCY_PROPS, agencies,
        ),
        Collection(
            "findings", "合规问题", "Compliance findings",
            "Findings of the compliance rules, placed on the object they concern (合规问题).",
            "geometry-geometry", FINDING_PROPS, findings,
        ),
        Collection(
            "regions", "行政区划", "Regions",
            "Administrative regions with boundaries (行政区划).",
            "geometry-multipolygon", REGION_PROPS, regions,
        ),
        Collection(
            "idle-space", "闲置用房", "Idle space",
            "Rooms with an open idle-room finding (闲置用房).",
            "geometry-polygon", VIEW_PROPS, _room_view("idle_room"),
        ),
        Collection(
            "over-standard", "超标办公室", "Over-standard offices",
            "Offices with an open over-standard finding (超标办公室).",
            "geometry-polygon", VIEW_PROPS, _room_view("office_over_standard"),
        ),
    )
}  # fmt: skip


def json_type(sql_type: TypeEngine[Any]) -> dict[str, str]:
    """The JSON-schema type of a column type (for the queryables)."""
    if isinstance(sql_type, Boolean):
        return {"type": "boolean"}
    if isinstance(sql_type, Integer | BigInteger | SmallInteger):
        return {"type": "integer"}
    if isinstance(sql_type, Numeric | Float):
        return {"type": "number"}
    if isinstance(sql_type, DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(sql_type, Date):
        return {"type": "string", "format": "date"}
    return {"type": "string"}
