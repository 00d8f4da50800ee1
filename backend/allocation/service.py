"""Reallocation use cases: requests, entitlement, candidates in the rule order, plans.

The allocation order of the 2017 management rules: first 调剂 (reallocate idle space the
province already holds — the public asset pool, the agency's own idle rooms, other
agencies' idle rooms), then 置换 (exchange), only then 租用 (rent, needs approval) and
finally 建设 (build, a project needing approval). Candidates are never over standard: an
office is proposed for a person only if its usable area is within that person's allowance.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, insert, null, select, update
from sqlalchemy.orm import Session

from backend import reference, timekeeping
from backend.allocation import schemas
from backend.allocation.models import AllocationPlan, PoolEntry, SpaceRequest
from backend.db.compliance import ApprovedUse, ComplianceFinding, Lease
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Region, Room
from backend.services import audit, compliance, standards
from backend.services import scope as scopes
from backend.services.access import Principal
from backend.services.errors import Conflict, InvalidInput, NotFound, StaleVersion
from backend.services.scope import Scope

MANAGING_OFFICE = ("admin", "planner")
ROUTE_ZH = {"transfer": "调剂", "swap": "置换", "rent": "租用", "build": "建设"}
ROUTE_ORDER = {"transfer": 0, "swap": 1, "rent": 2, "build": 3}
# an office smaller than this share of the person's allowance is not proposed: it would
# house them far below the standard (the allowance is a maximum, not a target)
MIN_FIT = 0.6
MAX_CANDIDATES = 10
MAX_SHARE = 4  # people in one shared office at most


# ---------------------------------------------------------------- scope
def request_visible(scope: Scope) -> Any:
    """Requests of a scoped agency or of an agency in a scoped region."""
    return scope.predicate(SpaceRequest.region_adcode, SpaceRequest.agency_id)


def plan_visible(scope: Scope) -> Any:
    return scope.predicate(AllocationPlan.region_adcode, AllocationPlan.agency_id)


def _not_found(what: str, key: int) -> NotFound:
    return NotFound(f"{what} {key} not found", message_zh=f"{what} {key} 不存在")


# ---------------------------------------------------------------- requests
def _agency(session: Session, agency_id: int, scope: Scope) -> Agency:
    agency = session.scalars(
        select(Agency).where(Agency.id == agency_id, scopes.agencies(scope))
    ).one_or_none()
    if agency is None:
        raise _not_found("agency", agency_id)
    return agency


def _check_needs(level: str, data: schemas.SpaceRequestCreate) -> None:
    ranks = reference.ranks()
    for i, need in enumerate(data.offices):
        if (level, need.rank_code) not in ranks:
            raise InvalidInput(
                f"rank {need.rank_code!r} is not a rank of a {level}-level agency",
                message_zh=f"职级 {need.rank_code} 不属于该级别单位的职级",
                details={"field": f"offices[{i}].rank_code", "value": need.rank_code},
            )
    categories = reference.space_categories()
    for i, room in enumerate(data.rooms):
        if room.subcategory not in categories:
            raise InvalidInput(
                f"unknown room category {room.subcategory!r}",
                message_zh=f"未知的用房类别 {room.subcategory}",
                details={"field": f"rooms[{i}].subcategory", "value": room.subcategory},
            )
    if not data.offices and not data.rooms:
        raise InvalidInput(
            "a request needs offices or rooms",
            message_zh="申请须包含办公室或其他用房",
            details={"field": "offices"},
        )


def create_request(
    session: Session, data: schemas.SpaceRequestCreate, *, principal: Principal
) -> int:
    """An agency (its officer) or the managing office (for it) asks for space."""
    principal.require("admin", "planner", "agency_officer")
    agency = _agency(session, data.agency_id, principal.scope)
    if data.near_building_id is not None:
        seen = session.execute(
            select(Building.id).where(
                Building.id == data.near_building_id, scopes.buildings(principal.scope)
            )
        ).first()
        if seen is None:
            raise _not_found("building", data.near_building_id)
    _check_needs(agency.level, data)
    values = data.model_dump(mode="json")
    request_id = int(
        session.execute(
            insert(SpaceRequest)
            .values(
                **values,
                region_adcode=agency.region_adcode,
                status="submitted",
                created_by=principal.username,
            )
            .returning(SpaceRequest.id)
        ).scalar_one()
    )
    audit.record(
        session,
        actor=principal.username,
        action="space_request.create",
        object_type="space_request",
        object_id=request_id,
        after=values,
    )
    return request_id


def _public(request: SpaceRequest, agency_name: str) -> schemas.SpaceRequestPublic:
    return schemas.SpaceRequestPublic(
        id=request.id,
        agency_id=request.agency_id,
        agency_name=agency_name,
        status=request.status,
        offices=[schemas.OfficeNeed(**o) for o in request.offices],
        rooms=[schemas.RoomNeed(**r) for r in request.rooms],
        preferred_region_adcode=request.preferred_region_adcode,
        near_building_id=request.near_building_id,
        needed_by=request.needed_by,
        reason=request.reason,
        created_by=request.created_by,
        version=request.version,
    )


def _request(session: Session, request_id: int, scope: Scope) -> tuple[SpaceRequest, str]:
    row = session.execute(
        select(SpaceRequest, Agency.name)
        .join(Agency, Agency.id == SpaceRequest.agency_id)
        .where(SpaceRequest.id == request_id, request_visible(scope))
    ).one_or_none()
    if row is None:
        raise _not_found("space request", request_id)
    return row[0], row[1]


def get_request(session: Session, request_id: int, *, scope: Scope) -> schemas.SpaceRequestPublic:
    return _public(*_request(session, request_id, scope))


def list_requests(
    session: Session, *, scope: Scope, status: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[int, list[schemas.SpaceRequestPublic]]:
    where = [request_visible(scope)]
    if status is not None:
        where.append(SpaceRequest.status == status)
    total = session.execute(
        select(func.count()).select_from(SpaceRequest).where(*where)
    ).scalar_one()
    rows = session.execute(
        select(SpaceRequest, Agency.name)
        .join(Agency, Agency.id == SpaceRequest.agency_id)
        .where(*where)
        .order_by(SpaceRequest.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total), [_public(r, name) for r, name in rows]


# ---------------------------------------------------------------- entitlement
def _allowances(session: Session, day: dt.date) -> tuple[str | None, dict[tuple[str, str], float]]:
    try:
        version = standards.resolve_version(session, day)
    except InvalidInput:
        return None, {}
    return version, standards.office_allowances_in_effect(session, day)


def held_office(session: Session, agency_id: int) -> tuple[float, int]:
    """Usable m² and count of the office rooms allocated to the agency (current floors)."""
    area, count = session.execute(
        select(func.coalesce(func.sum(Room.usable_area_m2), 0), func.count())
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .where(Room.agency_id == agency_id, Room.category == "office")
    ).one()
    return float(area), int(count)


def entitlement(
    session: Session, agency_id: int, *, scope: Scope, day: dt.date | None = None
) -> schemas.Entitlement:
    """The standard's office area for the agency's staffing, against what it holds."""
    day = day or timekeeping.today()
    agency = _agency(session, agency_id, scope)
    version, allowances = _allowances(session, day)
    ranks = reference.ranks()
    rows: list[schemas.EntitlementRow] = []
    missing: list[str] = []
    for rank_code, quota, headcount in session.execute(
        select(AgencyStaffing.rank_code, AgencyStaffing.quota, AgencyStaffing.headcount)
        .where(AgencyStaffing.agency_id == agency_id)
        .order_by(AgencyStaffing.rank_code)
    ):
        allowance = allowances.get((agency.level, rank_code))
        if allowance is None:
            missing.append(rank_code)
        rank = ranks.get((agency.level, rank_code))
        rows.append(
            schemas.EntitlementRow(
                rank_code=rank_code,
                rank_zh=rank.name_zh if rank else None,
                quota=quota,
                headcount=headcount,
                allowance_m2=allowance,
                entitled_m2=None if allowance is None else round(quota * allowance, 2),
            )
        )
    entitled = None if missing or not rows else round(sum(r.entitled_m2 or 0 for r in rows), 2)
    held_m2, held_rooms = held_office(session, agency_id)
    approved = agency.approved_office_area_m2
    cap = float(approved) if approved is not None else entitled
    return schemas.Entitlement(
        agency_id=agency.id,
        agency_name=agency.name,
        level=agency.level,
        as_of=day,
        standard_version=version,
        ranks=rows,
        entitled_office_m2=entitled,
        approved_office_m2=None if approved is None else float(approved),
        held_office_m2=round(held_m2, 2),
        held_office_rooms=held_rooms,
        shortfall_m2=None if cap is None else round(cap - held_m2, 2),
        not_configured=missing,
    )


# ---------------------------------------------------------------- candidates
@dataclass(frozen=True)
class _Slot:
    """One person to house: their rank and allowance (one office each)."""

    rank_code: str
    post_title: str | None
    allowance: float


@dataclass(frozen=True)
class _Vacant:
    room_id: int
    building_id: int
    building_name: str
    level: int
    area: float
    agency_id: int | None
    in_pool: bool
    distance_km: float | None


def _slots(
    request: SpaceRequest, level: str, allowances: dict[tuple[str, str], float]
) -> list[_Slot]:
    slots: list[_Slot] = []
    for need in request.offices:
        allowance = allowances.get((level, need["rank_code"]))
        if allowance is None:
            raise InvalidInput(
                f"no standard sets the allowance of rank {need['rank_code']} at {level} level",
                message_zh=f"{level} 级 {need['rank_code']} 职级的办公室面积标准未配置",
                details={"rank_code": need["rank_code"], "reason": "not_configured"},
            )
        slots += [_Slot(need["rank_code"], need.get("post_title"), allowance)] * need["count"]
    return sorted(slots, key=lambda s: -s.allowance)


def vacant_office_rooms(
    session: Session, *, scope: Scope, day: dt.date, region: int | None, near: Any
) -> list[_Vacant]:
    """Office rooms of current floors that nobody uses on ``day``: no occupancy, approved
    use or lease (of the room or its whole building) active then (timekeeping.active_on)."""
    active = timekeeping.active_on
    in_use = (
        exists().where(
            Occupancy.room_id == Room.id, active(Occupancy.start_date, Occupancy.end_date, day)
        )
        | exists().where(
            ApprovedUse.room_id == Room.id,
            active(ApprovedUse.start_date, ApprovedUse.end_date, day),
        )
        | exists().where(
            (Lease.room_id == Room.id) | (Lease.building_id == Room.building_id),
            active(Lease.start_date, Lease.end_date, day),
        )
    )
    pooled = exists().where(PoolEntry.room_id == Room.id, PoolEntry.taken_on.is_(None))
    distance = (
        func.ST_Distance(
            func.geography(func.ST_PointOnSurface(Building.footprint)), func.geography(near)
        )
        / 1000.0
        if near is not None
        else None
    )
    where = [
        Room.category == "office",
        Building.status != "disposed",
        ~in_use,
        scopes.rooms(scope),
    ]
    if region is not None:
        where.append(Room.region_adcode.between(*scopes.adcode_range(region)))
    stmt = (
        select(
            Room.id,
            Room.building_id,
            Building.name,
            Floor.level,
            Room.usable_area_m2,
            Room.agency_id,
            pooled,
            distance if distance is not None else null(),
        )
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .join(Building, Building.id == Room.building_id)
        .where(*where)
    )
    return [
        _Vacant(
            r[0],
            r[1],
            r[2],
            r[3],
            float(r[4]),
            r[5],
            bool(r[6]),
            None if r[7] is None else float(r[7]),
        )
        for r in session.execute(stmt)
    ]


def _assign(slots: Sequence[_Slot], rooms: Sequence[_Vacant]) -> list[tuple[_Slot, _Vacant]]:
    """Offices for people, most senior first, never over standard: a room houses ``k``
    people of one rank when its area is within ``k`` allowances (the shared-office rule)
    and at least MIN_FIT of them. Seniors get rooms of their own where one fits; staff
    share (up to MAX_SHARE), in the room that houses the most of them with least waste."""
    free = sorted(rooms, key=lambda r: r.area)
    out: list[tuple[_Slot, _Vacant]] = []
    i = 0
    while i < len(slots):
        slot = slots[i]
        same = 1
        while i + same < len(slots) and slots[i + same] == slot:
            same += 1
        remaining = same
        while remaining:
            best: tuple[int, float, _Vacant] | None = None
            for room in free:
                for k in range(min(MAX_SHARE, remaining), 0, -1):
                    if MIN_FIT * k * slot.allowance <= room.area <= k * slot.allowance:
                        if best is None or (k, -room.area) > (best[0], -best[1]):
                            best = (k, room.area, room)
                        break
            if best is None:
                break
            k, _area, room = best
            free.remove(room)
            out += [(slot, room)] * k
            remaining -= k
        i += same
    return out


def _contiguity(levels: set[int]) -> str:
    if len(levels) == 1:
        return "one_floor"
    ordered = sorted(levels)
    if all(b - a == 1 for a, b in zip(ordered, ordered[1:], strict=False)):
        return "adjacent_floors"
    return "several_floors"


CONTIGUITY_ORDER = {"one_floor": 0, "adjacent_floors": 1, "several_floors": 2, "none": 3}
CONTIGUITY_ZH = {
    "one_floor": "同一楼层",
    "adjacent_floors": "相邻楼层",
    "several_floors": "多个楼层",
}


def _building_candidate(
    request: SpaceRequest, slots: list[_Slot], rooms: list[_Vacant]
) -> schemas.Candidate | None:
    """The best way to house the request in one building: one floor if any floor can,
    else adjacent floors, else the whole building."""
    by_level: dict[int, list[_Vacant]] = defaultdict(list)
    for r in rooms:
        by_level[r.level].append(r)
    levels = sorted(by_level)
    groups: list[list[_Vacant]] = [by_level[lv] for lv in levels]
    groups += [
        by_level[a] + by_level[b] for a, b in zip(levels, levels[1:], strict=False) if b - a == 1
    ]
    groups.append(rooms)
    best: list[tuple[_Slot, _Vacant]] = []
    for group in groups:
        pairs = _assign(slots, group)
        if len(pairs) == len(slots):
            best = pairs
            break
        if len(pairs) > len(best):
            best = pairs
    if not best:
        return None
    used = list({room.room_id: room for _, room in best}.values())  # shared rooms once
    contiguity = _contiguity({r.level for r in used})
    others = {
        r.agency_id for r in used if not r.in_pool and r.agency_id not in (None, request.agency_id)
    }
    pool = sum(r.in_pool for r in used)
    own = sum(r.agency_id == request.agency_id for r in used)
    area = round(sum(r.area for r in used), 2)
    entitled = round(sum(s.allowance for s, _ in best), 2)
    km = used[0].distance_km
    reasons = [
        f"调剂：安置 {len(best)}/{len(slots)} 人，{CONTIGUITY_ZH[contiguity]}",
        f"使用面积 {area} m²，不超过所安置人员标准面积之和 {entitled} m²",
    ]
    reasons_en = [
        f"transfer: houses {len(best)} of {len(slots)} people, {contiguity.replace('_', ' ')}",
        f"{area} m² usable, within the {entitled} m² the people housed are allowed",
    ]
    if pool:
        reasons.append(f"其中 {pool} 间来自公物仓")
        reasons_en.append(f"{pool} rooms from the public asset pool")
    if own:
        reasons.append(f"其中 {own} 间为本单位闲置用房")
        reasons_en.append(f"{own} rooms are the agency's own idle offices")
    if others:
        reasons.append(f"涉及 {len(others)} 个其他单位的闲置用房")
        reasons_en.append(f"idle rooms of {len(others)} other agencies")
    if km is not None:
        reasons.append(f"距离 {km:.1f} km")
        reasons_en.append(f"{km:.1f} km away")
    return schemas.Candidate(
        rank=0,
        route="transfer",
        route_zh=ROUTE_ZH["transfer"],
        building_id=used[0].building_id,
        building_name=used[0].building_name,
        floors=sorted({r.level for r in used}),
        contiguity=contiguity,
        distance_km=None if km is None else round(km, 3),
        area_m2=area,
        entitled_m2=entitled,
        people_housed=len(best),
        people_needed=len(slots),
        moves=len(others),
        assignments=[
            schemas.Assignment(room_id=r.room_id, rank_code=s.rank_code, post_title=s.post_title)
            for s, r in best
        ],
        reasons=reasons,
        reasons_en=reasons_en,
    )


def _fallback(route: str, slots: list[_Slot], why_zh: str, why_en: str) -> schemas.Candidate:
    """租用 / 建设: the area to rent or build, which needs approval (no rooms yet)."""
    area = round(sum(s.allowance for s in slots), 2)
    verb_zh = "租用" if route == "rent" else "新建"
    verb_en = "rent" if route == "rent" else "build"
    return schemas.Candidate(
        rank=0,
        route=route,
        route_zh=ROUTE_ZH[route],
        building_id=None,
        building_name=None,
        floors=[],
        contiguity="none",
        distance_km=None,
        area_m2=area,
        entitled_m2=area,
        people_housed=len(slots),
        people_needed=len(slots),
        moves=0,
        assignments=[],
        reasons=[why_zh, f"{verb_zh}办公室使用面积不超过 {area} m²（标准面积之和），须报批"],
        reasons_en=[
            why_en,
            f"{verb_en} at most {area} m² of offices (the allowances), needs approval",
        ],
    )


def _near_point(session: Session, request: SpaceRequest) -> Any:
    """Where the agency wants to be: the named building, else its region's seat."""
    if request.near_building_id is not None:
        return (
            select(func.ST_PointOnSurface(Building.footprint))
            .where(Building.id == request.near_building_id)
            .scalar_subquery()
        )
    return select(Region.seat).where(Region.adcode == request.region_adcode).scalar_subquery()


def candidates(
    session: Session, request_id: int, *, scope: Scope, day: dt.date | None = None
) -> schemas.Candidates:
    """Ways to meet the request, in the rule order; within a route: everyone housed first,
    then one floor before adjacent floors before several, then fewer moves, then nearer."""
    day = day or timekeeping.today()
    request, _name = _request(session, request_id, scope)
    agency = session.get(Agency, request.agency_id)
    assert agency is not None
    _version, allowances = _allowances(session, day)
    slots = _slots(request, agency.level, allowances)
    entitled = round(sum(s.allowance for s in slots), 2) if slots else None
    found: list[schemas.Candidate] = []
    if slots:
        vacant = vacant_office_rooms(
            session,
            scope=scope,
            day=day,
            region=request.preferred_region_adcode,
            near=_near_point(session, request),
        )
        by_building: dict[int, list[_Vacant]] = defaultdict(list)
        for room in vacant:
            by_building[room.building_id].append(room)
        for rooms in by_building.values():
            candidate = _building_candidate(request, slots, rooms)
            if candidate is not None:
                found.append(candidate)
    found.sort(
        key=lambda c: (
            ROUTE_ORDER[c.route],
            c.people_housed < c.people_needed,
            CONTIGUITY_ORDER[c.contiguity],
            c.moves,
            c.distance_km if c.distance_km is not None else float("inf"),
            -c.people_housed,
        )
    )
    found = found[:MAX_CANDIDATES]
    if slots and not any(c.people_housed == c.people_needed for c in found):
        why_zh, why_en = (
            "现有闲置用房无法满足（调剂、置换均不可行）",
            "no idle space fits (neither transfer nor swap)",
        )
        found += [
            _fallback("rent", slots, why_zh, why_en),
            _fallback("build", slots, why_zh, why_en),
        ]
    for i, c in enumerate(found, start=1):
        c.rank = i
    return schemas.Candidates(
        request_id=request.id, people_needed=len(slots), entitled_m2=entitled, candidates=found
    )


# ---------------------------------------------------------------- plans
def _plan_public(plan: AllocationPlan) -> schemas.PlanPublic:
    return schemas.PlanPublic(
        id=plan.id,
        request_id=plan.request_id,
        agency_id=plan.agency_id,
        route=plan.route,
        status=plan.status,
        assignments=[schemas.Assignment(**a) for a in plan.assignments],
        area_m2=float(plan.area_m2),
        note=plan.note,
        approved_by=plan.approved_by,
        executed_by=plan.executed_by,
        executed_at=plan.executed_at,
        version=plan.version,
    )


def _check_assignments(
    session: Session,
    request: SpaceRequest,
    level: str,
    assignments: Sequence[schemas.Assignment],
    *,
    scope: Scope,
    day: dt.date,
) -> float:
    """Every room vacant, visible, an office, and within the allowance of its person;
    the people those of the request. Returns the rooms' usable m²."""
    _version, allowances = _allowances(session, day)
    wanted: dict[str, int] = defaultdict(int)
    for need in request.offices:
        wanted[need["rank_code"]] += need["count"]
    for a in assignments:
        wanted[a.rank_code] -= 1
    if any(v < 0 for v in wanted.values()):
        raise InvalidInput(
            "the assignments house more people of a rank than the request asks for",
            message_zh="安置人数超过申请人数",
            details={"field": "assignments"},
        )
    by_room: dict[int, list[int]] = defaultdict(list)
    for i, a in enumerate(assignments):
        by_room[a.room_id].append(i)
    vacant = {
        r.room_id: r
        for r in vacant_office_rooms(session, scope=scope, day=day, region=None, near=None)
        if r.room_id in by_room
    }
    area = 0.0
    for room_id, indexes in by_room.items():
        room = vacant.get(room_id)
        if room is None:
            raise InvalidInput(
                f"room {room_id} is not a vacant office the managing office may allocate",
                message_zh=f"房间 {room_id} 不是可调剂的空置办公室",
                details={"field": f"assignments[{indexes[0]}].room_id", "value": room_id},
            )
        shares = [allowances.get((level, assignments[i].rank_code)) for i in indexes]
        allowed = None if None in shares else sum(x for x in shares if x is not None)
        if allowed is None or room.area > allowed:
            raise InvalidInput(
                f"room {room_id} ({room.area} m²) would be over the standard for its "
                f"{len(indexes)} occupant(s)",
                message_zh=f"房间 {room_id}（{room.area} m²）超过所安置人员的标准面积",
                details={
                    "field": f"assignments[{indexes[0]}]",
                    "allowance_m2": allowed,
                    "area_m2": room.area,
                },
            )
        area += room.area
    return round(area, 2)


def approve_plan(session: Session, data: schemas.PlanCreate, *, principal: Principal) -> int:
    """The managing office approves one candidate (or a rent/build) for a request."""
    principal.require(*MANAGING_OFFICE)
    day = timekeeping.today()
    request, _name = _request(session, data.request_id, principal.scope)
    if request.status != "submitted":
        raise Conflict(
            f"space request {request.id} is {request.status}, not submitted",
            message_zh="该用房申请已有方案或已办结",
            details={"status": request.status},
        )
    agency = session.get(Agency, request.agency_id)
    assert agency is not None
    if data.route in ("transfer", "swap"):
        if not data.assignments:
            raise InvalidInput(
                "a transfer names the rooms",
                message_zh="调剂方案须列明房间",
                details={"field": "assignments"},
            )
        area = _check_assignments(
            session, request, agency.level, data.assignments, scope=principal.scope, day=day
        )
    else:
        if data.assignments or data.area_m2 is None:
            raise InvalidInput(
                "renting or building states an area and names no rooms",
                message_zh="租用或建设方案须填写面积且不列房间",
                details={"field": "area_m2"},
            )
        area = data.area_m2
    values = {
        "request_id": request.id,
        "agency_id": request.agency_id,
        "region_adcode": request.region_adcode,
        "route": data.route,
        "status": "approved",
        "assignments": [a.model_dump() for a in data.assignments],
        "area_m2": Decimal(str(area)),
        "note": data.note,
        "approved_by": principal.username,
    }
    plan_id = int(
        session.execute(
            insert(AllocationPlan).values(**values).returning(AllocationPlan.id)
        ).scalar_one()
    )
    session.execute(
        update(SpaceRequest)
        .where(SpaceRequest.id == request.id)
        .values(status="planned", version=SpaceRequest.version + 1)
    )
    audit.record(
        session,
        actor=principal.username,
        action="allocation_plan.approve",
        object_type="allocation_plan",
        object_id=plan_id,
        after={k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()},
    )
    return plan_id


def get_plan(session: Session, plan_id: int, *, scope: Scope) -> schemas.PlanPublic:
    plan = session.scalars(
        select(AllocationPlan).where(AllocationPlan.id == plan_id, plan_visible(scope))
    ).one_or_none()
    if plan is None:
        raise _not_found("allocation plan", plan_id)
    return _plan_public(plan)


def execute_plan(
    session: Session, plan_id: int, *, expected: int, principal: Principal
) -> schemas.Execution:
    """Carry out an approved transfer: rooms allocated to the agency, an occupancy per
    person from today, pool entries taken, idle findings re-evaluated — one audited change."""
    principal.require(*MANAGING_OFFICE)
    day = timekeeping.today()
    plan = session.scalars(
        select(AllocationPlan)
        .where(AllocationPlan.id == plan_id, plan_visible(principal.scope))
        .with_for_update()
    ).one_or_none()
    if plan is None:
        raise _not_found("allocation plan", plan_id)
    if plan.version != expected:
        raise StaleVersion(
            f"allocation plan {plan_id} is at version {plan.version}, not {expected}",
            details={"current_version": plan.version, "if_match": expected},
        )
    if plan.status != "approved":
        raise Conflict(
            f"allocation plan {plan_id} is {plan.status}",
            message_zh="该方案已执行或已撤销",
            details={"status": plan.status},
        )
    request = session.get(SpaceRequest, plan.request_id)
    agency = session.get(Agency, plan.agency_id)
    assert request is not None and agency is not None
    assignments = [schemas.Assignment(**a) for a in plan.assignments]
    # re-checked at execution: a room may have been taken since the approval
    _check_assignments(session, request, agency.level, assignments, scope=principal.scope, day=day)
    room_ids = [a.room_id for a in assignments]
    before: dict[int, int | None] = {
        room: agency
        for room, agency in session.execute(
            select(Room.id, Room.agency_id).where(Room.id.in_(room_ids))
        )
    }
    if room_ids:
        session.execute(
            update(Room)
            .where(Room.id.in_(room_ids))
            .values(agency_id=plan.agency_id, version=Room.version + 1)
        )
        session.execute(
            insert(Occupancy),
            [
                {
                    "room_id": a.room_id,
                    "agency_id": plan.agency_id,
                    "rank_code": a.rank_code,
                    "post_title": a.post_title,
                    "start_date": day,
                }
                for a in assignments
            ],
        )
        session.execute(
            update(PoolEntry)
            .where(PoolEntry.room_id.in_(room_ids), PoolEntry.taken_on.is_(None))
            .values(taken_on=day, plan_id=plan.id)
        )
    open_idle = _open_idle_findings(session, room_ids)
    plan.status = "executed"
    plan.executed_by = principal.username
    plan.executed_at = timekeeping.now()
    plan.version += 1
    session.execute(
        update(SpaceRequest)
        .where(SpaceRequest.id == request.id)
        .values(status="executed", version=SpaceRequest.version + 1)
    )
    session.flush()
    if room_ids:
        compliance.evaluate_rooms(session, room_ids, as_of=day, actor=principal.username)
    closed = open_idle - _open_idle_findings(session, room_ids)
    audit.record(
        session,
        actor=principal.username,
        action="allocation_plan.execute",
        object_type="allocation_plan",
        object_id=plan.id,
        before={"status": "approved", "room_agencies": {str(k): v for k, v in before.items()}},
        after={
            "status": "executed",
            "agency_id": plan.agency_id,
            "rooms": room_ids,
            "occupancies": len(assignments),
        },
    )
    return schemas.Execution(
        plan=_plan_public(plan),
        occupancies_created=len(assignments),
        rooms_reallocated=sum(1 for v in before.values() if v != plan.agency_id),
        idle_findings_closed=len(closed),
    )


def _open_idle_findings(session: Session, room_ids: Sequence[int]) -> set[int]:
    """Open idle findings on these rooms or their floors."""
    if not room_ids:
        return set()
    floors = select(Room.floor_id).where(Room.id.in_(list(room_ids)))
    rows = session.scalars(
        select(ComplianceFinding.id).where(
            ComplianceFinding.status.in_(("open", "rectifying")),
            (
                (ComplianceFinding.rule_code == "idle_room")
                & ComplianceFinding.room_id.in_(list(room_ids))
            )
            | (
                (ComplianceFinding.rule_code == "idle_floor")
                & ComplianceFinding.floor_id.in_(floors)
            ),
        )
    )
    return set(rows)
