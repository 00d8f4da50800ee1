"""Server-side aggregates for the maps: region totals, building clusters, vacancy bins,
the leaders' panel and a floor's room table.

Pages never receive the register wholesale: clusters and heat bins are computed in SQL
per zoom (``ST_SnapToGrid`` on Web Mercator coordinates: binning for display only, never
areas), totals per region in one statement. Vacancy comes from occupancies: an office
room with no occupancy covering today is vacant; idle days count from the last move-out
(or forever when nobody ever sat there). Every query filters by the caller's scope.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from cachetools import TTLCache
from sqlalchemy import (
    ColumnElement,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, Float

from backend import reference, timekeeping
from backend.compliance import standards
from backend.compliance.findings import (
    FINDINGS,
    OPEN_STATUSES,
    OVER_STANDARD_RULE,
    findings_table,
)
from backend.db.models import SRID, Agency, Building, Floor, Occupancy, Region, Room
from backend.inventory.service import BBox
from backend.maps import tiles
from backend.services import scope as scopes
from backend.services.errors import NotFound
from backend.services.scope import Scope, adcode_range
from backend.settings import map_data_settings

WORLD_M = 40_075_016.685578488  # Web Mercator world width
CLUSTER_PX = 64
HEAT_PX = 24

T = TypeVar("T")


@dataclass(frozen=True)
class MapFilter:
    """Region subtree and agency level filters shared by the leaders' views."""

    region: int | None = None
    agency_level: str | None = None


def cell_size_m(zoom: int, pixels: int) -> float:
    """Web Mercator metres covered by ``pixels`` screen pixels at ``zoom`` (256-px tiles).

    >>> round(cell_size_m(0, 256)), round(cell_size_m(10, 64), 1)
    (40075017, 9783.9)
    """
    return WORLD_M / 256 / float(2**zoom) * pixels


# ---------------------------------------------------------------- a small result cache
_memo_lock = threading.Lock()  # routes run in worker threads
_MISS = object()


@lru_cache(maxsize=1)
def _memo() -> TTLCache[tuple[Any, ...], Any]:
    s = map_data_settings()
    return TTLCache(maxsize=s.cache_entries, ttl=s.cache_ttl_s, timer=time.monotonic)


def _cached(session: Session, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """Aggregates are cached per data version and rooms-layer generation (see
    ``backend.maps.tiles``) for ``OFFICEMAP_MAP_DATA_CACHE_TTL_S``: a view's reloads cost no
    query."""
    full = (*key, tiles.generation("rooms"), tiles.data_version(session))
    with _memo_lock:
        hit = _memo().get(full, _MISS)
    if hit is not _MISS:
        return hit  # type: ignore[no-any-return]
    value = compute()
    with _memo_lock:
        _memo()[full] = value
    return value


# ---------------------------------------------------------------- shared pieces
def occupied_now(room_id: Any) -> ColumnElement[bool]:
    """An occupancy is active today (China Standard Time, ``backend.timekeeping``)."""
    return (
        select(literal(1))
        .where(
            Occupancy.room_id == room_id,
            timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, timekeeping.today()),
        )
        .exists()
    )


def _room_filters(scope: Scope, flt: MapFilter) -> list[ColumnElement[bool]]:
    """Current rooms in scope, in the region subtree, of agencies of the level."""
    parts = [
        Floor.valid_to.is_(None),
        scopes.rooms(scope),
        scopes.in_live_buildings(Room.building_id),
    ]
    if flt.region is not None:
        parts.append(Room.region_adcode.between(*adcode_range(flt.region)))
    if flt.agency_level:
        parts.append(Room.agency_id.in_(select(Agency.id).where(Agency.level == flt.agency_level)))
    return parts


def _vacant_office() -> ColumnElement[bool]:
    return and_(Room.category == "office", ~occupied_now(Room.id))


def _area(col: Any) -> ColumnElement[float]:
    return func.coalesce(func.sum(cast(col, Float)), 0.0)


# ---------------------------------------------------------------- region totals
def region_stats(session: Session, *, scope: Scope, level: str) -> list[dict[str, Any]]:
    """Per city or county: buildings, usable / office / vacant office area, vacancy rate,
    over-standard area. Buildings count where they stand (their county by location)."""
    return _cached(
        session,
        ("region_stats", level, scope.key),
        lambda: _region_stats(session, scope=scope, level=level),
    )


def _buildings_by_region(scope: Scope, level: str) -> Subquery:
    """Each visible building with the city or county its footprint's inner point falls in."""
    county = (
        select(Region.adcode, Region.parent_adcode)
        .where(
            Region.level == "county",
            func.ST_Intersects(Region.boundary, func.ST_PointOnSurface(Building.footprint)),
        )
        .limit(1)
        .lateral("county")
    )
    return (
        select(
            Building.id.label("building_id"),
            (county.c.adcode if level == "county" else county.c.parent_adcode).label("adcode"),
        )
        .select_from(Building)
        .join(county, true())
        .where(scopes.buildings(scope), scopes.live_buildings())
        .subquery("pb")
    )


def _room_areas_by_building(scope: Scope) -> Subquery:
    """Usable, office and vacant-office area of the visible rooms, per building."""
    return (
        select(
            Room.building_id,
            _area(Room.usable_area_m2).label("usable"),
            _area(case((Room.category == "office", Room.usable_area_m2))).label("office"),
            _area(case((_vacant_office(), Room.usable_area_m2))).label("vacant"),
        )
        .join(Floor, Floor.id == Room.floor_id)
        .where(*_room_filters(scope, MapFilter()))
        .group_by(Room.building_id)
        .subquery("rm")
    )


def _over_standard_by_building(scope: Scope) -> Subquery:
    """Open over-standard excess per building (the findings the viewer may see)."""
    return (
        select(FINDINGS.c.building_id, _area(FINDINGS.c.excess_m2).label("excess"))
        .where(
            FINDINGS.c.rule_code == OVER_STANDARD_RULE,
            FINDINGS.c.status.in_(OPEN_STATUSES),
            scopes.findings(scope, FINDINGS),
        )
        .group_by(FINDINGS.c.building_id)
        .subquery("over")
    )


def _region_row(r: Any, names: dict[int, str]) -> dict[str, Any]:
    office = float(r["office"])
    return {
        "adcode": int(r["adcode"]),
        "name": names.get(int(r["adcode"])),
        "buildings": int(r["buildings"]),
        "usable_area_m2": round(float(r["usable"]), 2),
        "office_area_m2": round(office, 2),
        "vacant_office_area_m2": round(float(r["vacant"]), 2),
        "vacancy_rate": round(float(r["vacant"]) / office, 4) if office else None,
        "over_standard_m2": None if r["over"] is None else round(float(r["over"]), 2),
    }


def _region_stats(session: Session, *, scope: Scope, level: str) -> list[dict[str, Any]]:
    per_building = _buildings_by_region(scope, level)
    rooms = _room_areas_by_building(scope)
    stmt = (
        select(
            per_building.c.adcode,
            func.count().label("buildings"),
            func.coalesce(func.sum(rooms.c.usable), 0.0).label("usable"),
            func.coalesce(func.sum(rooms.c.office), 0.0).label("office"),
            func.coalesce(func.sum(rooms.c.vacant), 0.0).label("vacant"),
        )
        .select_from(per_building)
        .outerjoin(rooms, rooms.c.building_id == per_building.c.building_id)
    )
    if findings_table(session):
        over = _over_standard_by_building(scope)
        stmt = stmt.add_columns(
            func.coalesce(func.sum(over.c.excess), 0.0).label("over")
        ).outerjoin(over, over.c.building_id == per_building.c.building_id)
    else:
        stmt = stmt.add_columns(literal(None).label("over"))
    stmt = stmt.group_by(per_building.c.adcode).order_by(per_building.c.adcode)
    names: dict[int, str] = {
        int(a): str(n)
        for a, n in session.execute(select(Region.adcode, Region.name).where(Region.level == level))
    }
    return [
        _region_row(r, names) for r in session.execute(stmt).mappings() if r["adcode"] is not None
    ]


# ---------------------------------------------------------------- building clusters
def building_clusters(
    session: Session, *, scope: Scope, zoom: int, bbox: BBox | None
) -> list[list[Any]]:
    """``[lon, lat, count, id, status, name]`` per screen cell; id/status/name for singles."""
    return _cached(
        session,
        ("clusters", zoom, bbox, scope.key),
        lambda: _building_clusters(session, scope=scope, zoom=zoom, bbox=bbox),
    )


def _building_clusters(
    session: Session, *, scope: Scope, zoom: int, bbox: BBox | None
) -> list[list[Any]]:
    cell = cell_size_m(zoom, CLUSTER_PX)
    point = func.ST_Transform(func.ST_PointOnSurface(Building.footprint), 3857)
    pts = select(
        Building.id,
        Building.status,
        Building.name,
        point.label("p"),
        func.ST_SnapToGrid(point, cell).label("cell"),
    ).where(scopes.buildings(scope), scopes.live_buildings())
    if bbox is not None:
        pts = pts.where(Building.footprint.op("&&")(bbox.envelope()))
    p = pts.subquery("p")
    centre = func.ST_Transform(func.ST_Centroid(func.ST_Collect(p.c.p)), SRID)
    stmt = select(
        func.ST_X(centre),
        func.ST_Y(centre),
        func.count(),
        func.min(p.c.id),
        func.min(p.c.status),
        func.min(p.c.name),
    ).group_by(p.c.cell)
    out: list[list[Any]] = []
    for lon, lat, n, bid, status, name in session.execute(stmt):
        single = n == 1
        out.append(
            [
                round(lon, 6),
                round(lat, 6),
                n,
                bid if single else None,
                status if single else None,
                name if single else None,
            ]
        )
    return out


# ---------------------------------------------------------------- vacancy heat bins
def _idle_days() -> ColumnElement[Any]:
    last_out = (
        select(func.max(Occupancy.end_date))
        .where(Occupancy.room_id == Room.id)
        .correlate(Room)
        .scalar_subquery()
    )
    return func.coalesce(literal(timekeeping.today(), Date) - last_out, 100_000)


def vacancy_bins(
    session: Session,
    *,
    scope: Scope,
    zoom: int,
    bbox: BBox | None,
    flt: MapFilter,
    min_idle_days: int = 0,
) -> list[list[float]]:
    """``[lat, lon, idle_m2, rooms]`` per grid cell: vacant office rooms weighted by area."""
    return _cached(
        session,
        ("bins", zoom, bbox, flt, min_idle_days, scope.key),
        lambda: _vacancy_bins(
            session, scope=scope, zoom=zoom, bbox=bbox, flt=flt, min_idle_days=min_idle_days
        ),
    )


def _vacancy_bins(
    session: Session,
    *,
    scope: Scope,
    zoom: int,
    bbox: BBox | None,
    flt: MapFilter,
    min_idle_days: int,
) -> list[list[float]]:
    cell = cell_size_m(zoom, HEAT_PX)
    point = func.ST_Transform(func.ST_Centroid(Room.geom), 3857)
    rooms = (
        select(
            func.ST_SnapToGrid(point, cell).label("cell"),
            cast(Room.usable_area_m2, Float).label("area"),
        )
        .join(Floor, Floor.id == Room.floor_id)
        .where(*_room_filters(scope, flt), _vacant_office())
    )
    if min_idle_days > 0:
        rooms = rooms.where(_idle_days() >= min_idle_days)
    if bbox is not None:
        rooms = rooms.where(Room.geom.op("&&")(bbox.envelope()))
    r = rooms.subquery("r")
    centre = func.ST_Transform(r.c.cell, SRID)
    stmt = select(func.ST_Y(centre), func.ST_X(centre), func.sum(r.c.area), func.count()).group_by(
        r.c.cell
    )
    return [
        [round(lat, 6), round(lon, 6), round(area, 2), n]
        for lat, lon, area, n in session.execute(stmt)
    ]


# ---------------------------------------------------------------- leaders' panel
def summary(session: Session, *, scope: Scope, flt: MapFilter) -> dict[str, Any]:
    """Total usable and office area, vacancy, over-standard area and open findings."""
    return _cached(
        session,
        ("summary", flt, scope.key),
        lambda: _summary(session, scope=scope, flt=flt),
    )


def _summary(session: Session, *, scope: Scope, flt: MapFilter) -> dict[str, Any]:
    r = (
        session.execute(
            select(
                func.count(func.distinct(Room.building_id)).label("buildings"),
                func.count().label("rooms"),
                _area(Room.usable_area_m2).label("usable"),
                _area(case((Room.category == "office", Room.usable_area_m2))).label("office"),
                _area(case((_vacant_office(), Room.usable_area_m2))).label("vacant"),
                func.count(case((_vacant_office(), 1))).label("vacant_rooms"),
            )
            .join(Floor, Floor.id == Room.floor_id)
            .where(*_room_filters(scope, flt))
        )
        .mappings()
        .one()
    )
    office = float(r["office"])
    out: dict[str, Any] = {
        "buildings": int(r["buildings"]),
        "rooms": int(r["rooms"]),
        "usable_area_m2": round(float(r["usable"]), 2),
        "office_area_m2": round(office, 2),
        "vacant_office_area_m2": round(float(r["vacant"]), 2),
        "vacant_rooms": int(r["vacant_rooms"]),
        "vacancy_rate": round(float(r["vacant"]) / office, 4) if office else None,
        "over_standard_m2": None,
        "open_findings": None,
        "findings_available": False,
    }
    if findings_table(session):
        f = FINDINGS
        where: list[ColumnElement[bool]] = [
            f.c.status.in_(OPEN_STATUSES),
            scopes.findings(scope, f),
        ]
        if flt.region is not None:
            where.append(f.c.region_adcode.between(*adcode_range(flt.region)))
        if flt.agency_level:
            where.append(
                f.c.agency_id.in_(select(Agency.id).where(Agency.level == flt.agency_level))
            )
        row = session.execute(
            select(
                func.count(),
                _area(case((f.c.rule_code == OVER_STANDARD_RULE, f.c.excess_m2))),
            ).where(*where)
        ).one()
        out.update(
            open_findings=int(row[0]),
            over_standard_m2=round(float(row[1]), 2),
            findings_available=True,
        )
    return out


# ---------------------------------------------------------------- a floor's rooms
@lru_cache
def rank_names() -> dict[tuple[str, str], tuple[str, str]]:
    """(agency level, rank code) → (Chinese name, English name)."""
    return {key: (r.name_zh, r.name_en) for key, r in reference.ranks().items()}


@lru_cache
def category_names() -> dict[str, tuple[str, str]]:
    """Space category or subcategory code → (Chinese name, English name)."""
    groups = reference.category_groups().values()
    categories = reference.space_categories().values()
    return {
        **{g.category: (g.name_zh, g.name_en) for g in groups},
        **{c.code: (c.name_zh, c.name_en) for c in categories},
    }


def _room_entry(r: Any) -> dict[str, Any]:
    """A room of the floor table, before its occupants and findings are added."""
    names = category_names()
    sub = names.get(r["subcategory"] or "", ("", ""))
    cat = names.get(r["category"] or "", ("", ""))
    return {
        "id": int(r["id"]),
        "number": r["number"],
        "category": r["category"],
        "subcategory": r["subcategory"],
        "category_zh": sub[0] or cat[0],
        "category_en": sub[1] or cat[1],
        "usable_area_m2": float(r["usable_area_m2"]),
        "agency_id": r["agency_id"],
        "agency": r["agency"],
        "lon": round(float(r["lon"]), 7),
        "lat": round(float(r["lat"]), 7),
        "occupants": [],
        "allowance_m2": None,
        "vacant": r["category"] == "office",
        "findings": [],
    }


def _floor_room_rows(session: Session, floor_id: int, scope: Scope) -> Any:
    centre = func.ST_PointOnSurface(Room.geom)
    return session.execute(
        select(
            Room.id,
            Room.number,
            Room.category,
            Room.subcategory,
            Room.usable_area_m2,
            Room.agency_id,
            Agency.name.label("agency"),
            func.ST_X(centre).label("lon"),
            func.ST_Y(centre).label("lat"),
        )
        # the room's agency is named only when the caller may see that agency
        .outerjoin(Agency, and_(Agency.id == Room.agency_id, scopes.agencies(scope)))
        .where(Room.floor_id == floor_id, scopes.rooms(scope))
        .order_by(Room.number, Room.id)
    ).mappings()


def _add_open_findings(session: Session, table: dict[int, dict[str, Any]], scope: Scope) -> None:
    rows = session.execute(
        select(FINDINGS.c.room_id, FINDINGS.c.rule_code, FINDINGS.c.excess_m2)
        .where(
            FINDINGS.c.room_id.in_(list(table)),
            FINDINGS.c.status.in_(OPEN_STATUSES),
            scopes.findings(scope, FINDINGS),
        )
        .order_by(FINDINGS.c.id)
    )
    for room_id, rule, excess in rows:
        table[int(room_id)]["findings"].append(
            {"rule_code": rule, "excess_m2": None if excess is None else float(excess)}
        )


def _floor_totals(values: list[dict[str, Any]]) -> dict[str, Any]:
    office = sum(v["usable_area_m2"] for v in values if v["category"] == "office")
    vacant = sum(v["usable_area_m2"] for v in values if v["vacant"])
    return {
        "rooms": len(values),
        "usable_area_m2": round(sum(v["usable_area_m2"] for v in values), 2),
        "office_area_m2": round(office, 2),
        "vacant_office_area_m2": round(vacant, 2),
        "occupants": sum(len(v["occupants"]) for v in values),
        "allowance_m2": round(sum(v["allowance_m2"] or 0 for v in values), 2),
        "findings": sum(len(v["findings"]) for v in values),
    }


def floor_rooms(session: Session, floor_id: int, *, scope: Scope) -> dict[str, Any]:
    """Rooms of one floor version with current occupants, their ranks and allowances,
    vacancy and open findings, plus totals (the building page's table and popups)."""
    floor = session.execute(
        select(Floor.id, Floor.building_id, Floor.level, Floor.name).where(
            Floor.id == floor_id, scopes.floors(scope)
        )
    ).first()
    if floor is None:
        raise NotFound(f"floor {floor_id} not found", message_zh=f"楼层 {floor_id} 不存在")
    table = {int(r["id"]): _room_entry(r) for r in _floor_room_rows(session, floor_id, scope)}
    if table:
        _add_occupants(session, table)
        if findings_table(session):
            _add_open_findings(session, table, scope)
    values = list(table.values())
    return {
        "floor": {
            "id": floor.id,
            "building_id": floor.building_id,
            "level": floor.level,
            "name": floor.name,
        },
        "rooms": values,
        "totals": _floor_totals(values),
    }


def _add_occupants(session: Session, table: dict[int, dict[str, Any]]) -> None:
    today = timekeeping.today()
    allowances = standards.office_allowances_in_effect(session, today)
    names = rank_names()
    rows = session.execute(
        select(
            Occupancy.room_id,
            Occupancy.person_name,
            Occupancy.post_title,
            Occupancy.rank_code,
            Occupancy.is_concurrent_post,
            Occupancy.left_post_on,
            Agency.level,
        )
        .join(Agency, Agency.id == Occupancy.agency_id)
        .where(
            Occupancy.room_id.in_(list(table)),
            timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, today),
        )
        .order_by(Occupancy.room_id, Occupancy.id)
    )
    for room_id, person, post, rank, concurrent, left_on, level in rows:
        room = table[int(room_id)]
        allowance = allowances.get((level, rank))
        zh, en = names.get((level, rank), (rank, rank))
        room["occupants"].append(
            {
                "name": person,
                "post": post,
                "rank_code": rank,
                "rank_zh": zh,
                "rank_en": en,
                "allowance_m2": allowance,
                "concurrent_post": bool(concurrent),
                "left_post_on": left_on.isoformat() if left_on else None,
            }
        )
        room["vacant"] = False
        if room["category"] == "office":
            # the office standard: usable area per person, summed over the room's occupants
            room["allowance_m2"] = round((room["allowance_m2"] or 0) + (allowance or 0), 2)


__all__ = [
    "BuildingOutline",
    "MapFilter",
    "building_outline",
    "building_clusters",
    "cell_size_m",
    "floor_rooms",
    "region_stats",
    "summary",
    "vacancy_bins",
]


# ---------------------------------------------------------------- the building page
@dataclass(frozen=True)
class BuildingOutline:
    """What the building page needs: name, lon/lat bounds and current floors."""

    id: int
    name: str
    bounds: tuple[float, float, float, float]
    floors: list[tuple[int, int, str | None]]  # (floor id, level, name), by level
    first_floor: int | None  # the floor to open: the lowest above ground with offices


def building_outline(session: Session, building_id: int, *, scope: Scope) -> BuildingOutline:
    """The building (NotFound outside the caller's scope) and its current floors."""
    row = session.execute(
        select(
            Building.id,
            Building.name,
            func.ST_XMin(Building.footprint),
            func.ST_YMin(Building.footprint),
            func.ST_XMax(Building.footprint),
            func.ST_YMax(Building.footprint),
        ).where(Building.id == building_id, scopes.buildings(scope))
    ).first()
    if row is None:
        raise NotFound(
            f"building {building_id} not found", message_zh=f"办公楼 {building_id} 不存在"
        )
    offices = (  # the caller's office rooms only: the roll-up never counts hidden rooms
        select(func.count())
        .where(Room.floor_id == Floor.id, Room.category == "office", scopes.rooms(scope))
        .correlate(Floor)
        .scalar_subquery()
    )
    floors = session.execute(
        select(Floor.id, Floor.level, Floor.name, offices)
        .where(Floor.building_id == building_id, Floor.valid_to.is_(None), scopes.floors(scope))
        .order_by(Floor.level)
    ).all()
    above = [f for f in floors if f[1] >= 1]
    first = next((f for f in above if f[3] > 0), above[0] if above else None)
    return BuildingOutline(
        id=int(row[0]),
        name=str(row[1]),
        bounds=(float(row[2]), float(row[3]), float(row[4]), float(row[5])),
        floors=[(int(f), int(lv), n) for f, lv, n, _ in floors],
        first_floor=int(first[0]) if first else (int(floors[0][0]) if floors else None),
    )
