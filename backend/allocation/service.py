"""Reallocation use cases: requests, entitlement, candidates in the rule order, plans.

The allocation order of the 2017 management rules: first 调剂 (reallocate idle space the
province already holds — the public asset pool, the agency's own idle rooms, other
agencies' idle rooms), then 置换 (exchange), only then 租用 (rent, needs approval) and
finally 建设 (build, a project needing approval). Candidates are never over standard: an
office is proposed for a person only if its usable area is within that person's allowance.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, insert, null, select, update
from sqlalchemy.orm import Session

from backend import reference, timekeeping
from backend.accounts import access
from backend.accounts.access import Principal
from backend.allocation import schemas
from backend.allocation.models import AllocationPlan, PoolEntry, SpaceRequest
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import ApprovedUse, ComplianceFinding, Lease
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Region, Room
from backend.services import scope as scopes
from backend.services.errors import Conflict, InvalidInput, check_version, not_found
from backend.services.scope import Scope

MANAGING_OFFICE = access.MANAGING_OFFICE  # the one definition (services/access.py)
ROUTE_ZH = {"transfer": "调剂", "swap": "置换", "rent": "租用", "build": "建设"}
ROUTE_ORDER = {"transfer": 0, "swap": 1, "rent": 2, "build": 3}
# an office smaller than this share of the person's allowance is not proposed: it would
# house them far below the standard (the allowance is a maximum, not a target)
MIN_FIT = 0.6
MAX_CANDIDATES = 10
MAX_SHARE = 4  # people in one shared office at most
MAX_SWAPS = 5
SWAP_ATTEMPTS = 8
SEARCH_BATCH = 64  # buildings whose vacant rooms are read in one query, nearest first
SEARCH_MAX = 192  # buildings seen at most for one request's transfers
SEARCH_PARTIAL = 128  # ... or fewer when as many candidates meet the request in part
SWAP_BUILDINGS = 16  # the nearest buildings searched for swaps
SWAP_AGENCIES = 4  # other agencies (nearest first) whose exchange is tried


# ---------------------------------------------------------------- scope
def request_visible(scope: Scope) -> Any:
    """Requests of a scoped agency or of an agency in a scoped region."""
    return scopes.space_requests(scope)


def plan_visible(scope: Scope) -> Any:
    return scopes.allocation_plans(scope)


# ---------------------------------------------------------------- requests
def _agency(session: Session, agency_id: int, scope: Scope) -> Agency:
    agency = session.scalars(
        select(Agency).where(Agency.id == agency_id, scopes.agencies(scope))
    ).one_or_none()
    if agency is None:
        raise not_found("agency", agency_id)
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


def _check_releases(
    session: Session, agency_id: int, releases: Sequence[int], scope: Scope
) -> None:
    """Rooms given back must be the agency's rooms on current floors (others: 404 if
    invisible, else 422)."""
    if len(set(releases)) != len(releases):
        raise InvalidInput(
            "a room is given back twice",
            message_zh="交回的房间重复",
            details={"field": "releases"},
        )
    found = {
        rid: owner
        for rid, owner in session.execute(
            select(Room.id, Room.agency_id)
            .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
            .where(Room.id.in_(list(releases)), scopes.rooms(scope))
        )
    }
    for i, rid in enumerate(releases):
        if rid not in found:
            raise not_found("room", rid)
        if found[rid] != agency_id:
            raise InvalidInput(
                f"room {rid} is not allocated to the requesting agency",
                message_zh=f"房间 {rid} 不属于申请单位",
                details={"field": f"releases[{i}]", "value": rid},
            )


def create_request(
    session: Session, data: schemas.SpaceRequestCreate, *, principal: Principal
) -> int:
    """An agency (its officer) or the managing office (for it) asks for space."""
    principal.require(*access.roles_for("space_request.create"))
    agency = _agency(session, data.agency_id, principal.scope)
    if data.near_building_id is not None:
        seen = session.execute(
            select(Building.id).where(
                Building.id == data.near_building_id, scopes.buildings(principal.scope)
            )
        ).first()
        if seen is None:
            raise not_found("building", data.near_building_id)
    _check_needs(agency.level, data)
    _check_releases(session, agency.id, data.releases, principal.scope)
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
        releases=list(request.releases or []),
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
        raise not_found("space request", request_id)
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
        .where(
            Room.agency_id == agency_id,
            Room.category == "office",
            scopes.in_live_buildings(Room.building_id),
        )
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
    category: str | None = "office"
    subcategory: str | None = None
    region_adcode: int = 0


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


def _in_use(day: dt.date) -> Any:
    """A room someone uses on ``day``: an occupancy, approved use or lease (of the room or
    its whole building) active then (timekeeping.active_on)."""
    active = timekeeping.active_on
    return (
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


def _distance(near: Any) -> Any:
    if near is None:
        return null()
    return (
        func.ST_Distance(
            func.geography(func.ST_PointOnSurface(Building.footprint)), func.geography(near)
        )
        / 1000.0
    )


def _room_rows(stmt: Any, session: Session) -> list[_Vacant]:
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
            r[8],
            r[9],
            r[10],
        )
        for r in session.execute(stmt)
    ]


def _room_select(near: Any) -> Any:
    pooled = exists().where(PoolEntry.room_id == Room.id, PoolEntry.taken_on.is_(None))
    return (
        select(
            Room.id,
            Room.building_id,
            Building.name,
            Floor.level,
            Room.usable_area_m2,
            Room.agency_id,
            pooled,
            _distance(near),
            Room.category,
            Room.subcategory,
            Room.region_adcode,
        )
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .join(Building, Building.id == Room.building_id)
    )


def vacant_office_rooms(
    session: Session,
    *,
    scope: Scope,
    day: dt.date,
    region: int | None,
    near: Any,
    subcategories: Sequence[str] = (),
    room_ids: Sequence[int] | None = None,
    building_ids: Sequence[int] | None = None,
    office_m2: tuple[float, float] | None = None,
) -> list[_Vacant]:
    """Office rooms (and rooms of ``subcategories``) of current floors that nobody uses on
    ``day``: no occupancy, approved use or lease active then. ``office_m2``: only offices
    of a usable area within these bounds (the others could house nobody asked for)."""
    kind = Room.category == "office"
    if office_m2 is not None:
        kind = kind & Room.usable_area_m2.between(*office_m2)
    if subcategories:
        kind = kind | Room.subcategory.in_(list(subcategories))
    where = [kind, Building.status != "disposed", ~_in_use(day), scopes.rooms(scope)]
    if region is not None:
        where.append(Room.region_adcode.between(*scopes.adcode_range(region)))
    if room_ids is not None:
        where.append(Room.id.in_(list(room_ids)))
    if building_ids is not None:
        where.append(Room.building_id.in_(list(building_ids)))
    return _room_rows(_room_select(near).where(*where), session)


def _runs(slots: Sequence[_Slot]) -> list[tuple[_Slot, int]]:
    """Consecutive equal slots as (slot, how many)."""
    runs: list[tuple[_Slot, int]] = []
    for slot in slots:
        if runs and runs[-1][0] == slot:
            runs[-1] = (slot, runs[-1][1] + 1)
        else:
            runs.append((slot, 1))
    return runs


def _assign(slots: Sequence[_Slot], rooms: Sequence[_Vacant]) -> list[tuple[_Slot, _Vacant]]:
    """Offices for people, most senior first, never over standard: a room houses ``k``
    people of one rank when its area is within ``k`` allowances (the shared-office rule)
    and at least MIN_FIT of them. Seniors get rooms of their own where one fits; staff
    share (up to MAX_SHARE), in the room that houses the most of them with least waste:
    the largest ``k`` some room fits, then the smallest such room (a binary search in the
    free rooms sorted by area)."""
    free = sorted(rooms, key=lambda r: r.area)
    areas = [r.area for r in free]
    out: list[tuple[_Slot, _Vacant]] = []
    for slot, same in _runs(slots):
        remaining = same
        while remaining:
            pick = _smallest_fitting(areas, slot.allowance, min(MAX_SHARE, remaining))
            if pick is None:
                break
            k, j = pick
            room = free.pop(j)
            areas.pop(j)
            out += [(slot, room)] * k
            remaining -= k
    return out


def _smallest_fitting(
    areas: Sequence[float], allowance: float, most: int
) -> tuple[int, int] | None:
    """(k, index) of the smallest area within [MIN_FIT·k, k] allowances for the largest
    ``k`` ≤ ``most`` that any area fits; ``areas`` ascending."""
    for k in range(most, 0, -1):
        j = bisect_left(areas, MIN_FIT * k * allowance)
        if j < len(areas) and areas[j] <= k * allowance:
            return k, j
    return None


def _match_rooms(
    needs: Sequence[dict[str, Any]], rooms: Sequence[_Vacant], taken: set[int]
) -> list[tuple[dict[str, Any], _Vacant]]:
    """Other rooms by category: per need, rooms of its subcategory no larger than the area
    wanted (never over) and at least MIN_FIT of it, the closest to it first."""
    out: list[tuple[dict[str, Any], _Vacant]] = []
    used = set(taken)
    for need in needs:
        wanted = float(need["area_m2"])
        fits = sorted(
            (
                r
                for r in rooms
                if r.subcategory == need["subcategory"]
                and r.room_id not in used
                and MIN_FIT * wanted <= r.area <= wanted
            ),
            key=lambda r: -r.area,
        )
        for room in fits[: int(need["count"])]:
            used.add(room.room_id)
            out.append((need, room))
    return out


def _contiguity(levels: set[int]) -> str:
    if not levels:
        return "none"
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
    "none": "无楼层要求",
}


def _best_offices(slots: list[_Slot], rooms: list[_Vacant]) -> list[tuple[_Slot, _Vacant]]:
    """The best way to house the people in one building: one floor if any floor can,
    else adjacent floors, else the whole building (the most people housed otherwise)."""
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
            return pairs
        if len(pairs) > len(best):
            best = pairs
    return best


def _rooms_needed(request: SpaceRequest) -> int:
    return sum(int(n["count"]) for n in request.rooms)


def _candidate(
    route: str,
    request: SpaceRequest,
    slots: list[_Slot],
    offices: list[tuple[_Slot, _Vacant]],
    others: list[tuple[dict[str, Any], _Vacant]],
    *,
    rehousing: Sequence[schemas.Rehousing] = (),
    extra_zh: Sequence[str] = (),
    extra_en: Sequence[str] = (),
) -> schemas.Candidate:
    used = list({room.room_id: room for _, room in offices}.values())  # shared rooms once
    every = used + [r for _, r in others]
    contiguity = _contiguity({r.level for r in used})
    moved = {
        r.agency_id for r in every if not r.in_pool and r.agency_id not in (None, request.agency_id)
    }
    pool = sum(r.in_pool for r in every)
    own = sum(r.agency_id == request.agency_id for r in every)
    area = round(sum(r.area for r in every), 2)
    entitled = round(
        sum(s.allowance for s, _ in offices) + sum(float(n["area_m2"]) for n, _ in others), 2
    )
    km = every[0].distance_km
    label_en = "transfer" if route == "transfer" else "swap"
    reasons = [
        f"{ROUTE_ZH[route]}：安置 {len(offices)}/{len(slots)} 人，{CONTIGUITY_ZH[contiguity]}",
        f"使用面积 {area} m²，不超过标准面积之和 {entitled} m²",
    ]
    reasons_en = [
        f"{label_en}: houses {len(offices)} of {len(slots)} people, {contiguity.replace('_', ' ')}",
        f"{area} m² usable, within the {entitled} m² allowed",
    ]
    needed = _rooms_needed(request)
    if needed:
        reasons.append(f"其他用房 {len(others)}/{needed} 间按类别匹配")
        reasons_en.append(f"{len(others)} of {needed} other rooms matched by category")
    if pool:
        reasons.append(f"其中 {pool} 间来自公物仓")
        reasons_en.append(f"{pool} rooms from the public asset pool")
    if own:
        reasons.append(f"其中 {own} 间为本单位闲置用房")
        reasons_en.append(f"{own} rooms are the agency's own idle rooms")
    if moved and route == "transfer":
        reasons.append(f"涉及 {len(moved)} 个其他单位的闲置用房")
        reasons_en.append(f"idle rooms of {len(moved)} other agencies")
    reasons += extra_zh
    reasons_en += extra_en
    if km is not None:
        reasons.append(f"距离 {km:.1f} km")
        reasons_en.append(f"{km:.1f} km away")
    return schemas.Candidate(
        rank=0,
        route=route,
        route_zh=ROUTE_ZH[route],
        building_id=every[0].building_id,
        building_name=every[0].building_name,
        floors=sorted({r.level for r in every}),
        contiguity=contiguity,
        distance_km=None if km is None else round(km, 3),
        area_m2=area,
        entitled_m2=entitled,
        people_housed=len(offices),
        people_needed=len(slots),
        rooms_matched=len(others),
        rooms_needed=needed,
        moves=len(moved) + (1 if rehousing and request.releases else 0),
        assignments=[
            schemas.Assignment(room_id=r.room_id, rank_code=s.rank_code, post_title=s.post_title)
            for s, r in offices
        ]
        + [schemas.Assignment(room_id=r.room_id, subcategory=n["subcategory"]) for n, r in others],
        rehousing=list(rehousing),
        reasons=reasons,
        reasons_en=reasons_en,
    )


def _office_m2(offices: Sequence[tuple[Any, _Vacant]]) -> float:
    """Usable m² of the offices among these pairs (a shared office once)."""
    return sum({room.room_id: room.area for _, room in offices}.values())


def _building_candidate(
    request: SpaceRequest,
    slots: list[_Slot],
    rooms: list[_Vacant],
    headroom: float | None = None,
) -> schemas.Candidate | None:
    """What one building offers; None when nothing, or when its offices would take the
    agency over its entitlement (``headroom``: the office m² it may still take)."""
    offices = _best_offices(slots, [r for r in rooms if r.category == "office"]) if slots else []
    if headroom is not None and _office_m2(offices) > headroom + 0.005:
        return None
    taken = {r.room_id for _, r in offices}
    others = _match_rooms(request.rooms, rooms, taken)
    if not offices and not others:
        return None
    return _candidate("transfer", request, slots, offices, others)


def _fallback(
    route: str, slots: list[_Slot], request: SpaceRequest, why_zh: str, why_en: str
) -> schemas.Candidate:
    """租用 / 建设: the area to rent or build, which needs approval (no rooms yet)."""
    area = round(
        sum(s.allowance for s in slots)
        + sum(float(n["area_m2"]) * int(n["count"]) for n in request.rooms),
        2,
    )
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
        rooms_matched=_rooms_needed(request),
        rooms_needed=_rooms_needed(request),
        moves=0,
        assignments=[],
        reasons=[why_zh, f"{verb_zh}使用面积不超过 {area} m²（标准面积之和），须报批"],
        reasons_en=[why_en, f"{verb_en} at most {area} m² (the allowances), needs approval"],
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


# ---------------------------------------------------------------- 置换 (swap)
@dataclass(frozen=True)
class _Holding:
    level: str
    held: float
    cap: float | None  # approved area, else quota × the standard; None: not configured


def _holdings(
    session: Session, agency_ids: Sequence[int], allowances: dict[tuple[str, str], float]
) -> dict[int, _Holding]:
    """Office m² held and the entitlement cap of several agencies, in two queries."""
    ids = sorted(set(agency_ids))
    if not ids:
        return {}
    held = dict(
        session.execute(
            select(Room.agency_id, func.sum(Room.usable_area_m2))
            .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
            .where(
                Room.agency_id.in_(ids),
                Room.category == "office",
                scopes.in_live_buildings(Room.building_id),
            )
            .group_by(Room.agency_id)
        ).all()
    )
    agencies = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))}
    entitled: dict[int, float | None] = defaultdict(float)
    for agency_id, rank_code, quota in session.execute(
        select(AgencyStaffing.agency_id, AgencyStaffing.rank_code, AgencyStaffing.quota).where(
            AgencyStaffing.agency_id.in_(ids)
        )
    ):
        allowance = allowances.get((agencies[agency_id].level, rank_code))
        current = entitled[agency_id]
        entitled[agency_id] = (
            None if allowance is None or current is None else current + quota * allowance
        )
    out: dict[int, _Holding] = {}
    for agency_id in ids:
        agency = agencies[agency_id]
        cap = (
            float(agency.approved_office_area_m2)
            if agency.approved_office_area_m2 is not None
            else entitled.get(agency_id)
        )
        out[agency_id] = _Holding(agency.level, float(held.get(agency_id) or 0), cap)
    return out


@dataclass(frozen=True)
class _Occupant:
    occupancy_id: int
    room_id: int
    agency_id: int
    rank_code: str


def _occupied_offices(
    session: Session,
    *,
    scope: Scope,
    day: dt.date,
    region: int,
    near: Any,
    exclude: int,
    places: Mapping[int, float | None] | None = None,
    office_m2: tuple[float, float] | None = None,
) -> tuple[list[_Vacant], dict[int, list[_Occupant]]]:
    """Offices allocated to other agencies and used only by that agency's people today
    (in ``places`` only when given: building → km, the distance they get)."""
    active = timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day)
    foreign = exists().where(
        Occupancy.room_id == Room.id, active, Occupancy.agency_id != Room.agency_id
    )
    occupied = exists().where(Occupancy.room_id == Room.id, active)
    where = [
        Room.category == "office",
        Room.agency_id.is_not(None),
        Room.agency_id != exclude,
        Building.status != "disposed",
        Room.region_adcode.between(*scopes.adcode_range(region)),
        scopes.rooms(scope),
        occupied,
        ~foreign,
    ]
    if places is not None:
        where.append(Room.building_id.in_(list(places)))
    if office_m2 is not None:
        where.append(Room.usable_area_m2.between(*office_m2))
    rooms = _room_rows(_room_select(near).where(*where), session)
    if places is not None:
        rooms = [replace(r, distance_km=places[r.building_id]) for r in rooms]
    occupants: dict[int, list[_Occupant]] = defaultdict(list)
    ids = [r.room_id for r in rooms]
    for chunk in (ids[i : i + 5000] for i in range(0, len(ids), 5000)):
        for oid, room_id, agency_id, rank in session.execute(
            select(Occupancy.id, Occupancy.room_id, Occupancy.agency_id, Occupancy.rank_code)
            .where(Occupancy.room_id.in_(chunk), active)
            .order_by(Occupancy.id)
        ):
            occupants[room_id].append(_Occupant(oid, room_id, agency_id, rank))
    return rooms, occupants


def _released_rooms(session: Session, request: SpaceRequest, near: Any) -> list[_Vacant]:
    """The rooms the requester gives back, still its own (as places to re-house others)."""
    if not request.releases:
        return []
    return _room_rows(
        _room_select(near).where(
            Room.id.in_(list(request.releases)), Room.agency_id == request.agency_id
        ),
        session,
    )


def _rehouse(
    displaced: Sequence[_Occupant],
    level: str,
    allowances: dict[tuple[str, str], float],
    targets: Sequence[_Vacant],
) -> list[schemas.Rehousing] | None:
    """Rooms for the displaced people of the other agency within their allowances, or None."""
    slots: list[_Slot] = []
    by_rank: dict[str, list[_Occupant]] = defaultdict(list)
    for occ in displaced:
        allowance = allowances.get((level, occ.rank_code))
        if allowance is None:
            return None
        slots.append(_Slot(occ.rank_code, None, allowance))
        by_rank[occ.rank_code].append(occ)
    slots.sort(key=lambda s: -s.allowance)
    pairs = _assign(slots, targets)
    if len(pairs) < len(slots):
        return None
    out: list[schemas.Rehousing] = []
    for slot, room in pairs:
        occ = by_rank[slot.rank_code].pop(0)
        out.append(
            schemas.Rehousing(
                occupancy_id=occ.occupancy_id,
                agency_id=occ.agency_id,
                rank_code=occ.rank_code,
                from_room_id=occ.room_id,
                to_room_id=room.room_id,
            )
        )
    return out


@dataclass(frozen=True)
class _Swap:
    offices: list[tuple[_Slot, _Vacant]]
    rehousing: list[schemas.Rehousing]
    other_agency: int
    requester_after: float
    other_after: float


def _swap_for(
    request: SpaceRequest,
    slots: list[_Slot],
    offices: list[tuple[_Slot, _Vacant]],
    occupants: dict[int, list[_Occupant]],
    released: list[_Vacant],
    holdings: dict[int, _Holding],
    allowances: dict[tuple[str, str], float],
    other_vacant: Sequence[_Vacant] = (),
) -> _Swap | None:
    """The exchange that gives the requester ``offices`` (rooms of one other agency): that
    agency's people there move into the rooms the requester gives back (or that agency's
    own idle offices); both agencies stay within their entitlement."""
    used = list({r.room_id: r for _, r in offices}.values())
    other = used[0].agency_id
    if other is None or any(r.agency_id != other for r in used):
        return None
    displaced = [o for r in used for o in occupants.get(r.room_id, [])]
    if any(o.agency_id != other for o in displaced):
        return None
    mine, theirs = holdings.get(request.agency_id), holdings.get(other)
    if mine is None or theirs is None:
        return None
    targets = list(released) + [v for v in other_vacant if v.agency_id == other]
    rehousing = _rehouse(displaced, theirs.level, allowances, targets)
    if rehousing is None:
        return None
    to_other = {h.to_room_id for h in rehousing}
    given = sum(r.area for r in used)
    released_area = sum(r.area for r in released)
    received = sum(r.area for r in released if r.room_id in to_other)
    requester_after = mine.held - released_area + given
    other_after = theirs.held - given + received
    if mine.cap is not None and requester_after > mine.cap + 0.005:
        return None
    if theirs.cap is None or other_after > max(theirs.cap, theirs.held - given) + 0.005:
        return None
    return _Swap(offices, rehousing, other, round(requester_after, 2), round(other_after, 2))


def _swap_candidate(request: SpaceRequest, slots: list[_Slot], swap: _Swap) -> schemas.Candidate:
    n_moved = len(swap.rehousing)
    return _candidate(
        "swap",
        request,
        slots,
        swap.offices,
        [],
        rehousing=swap.rehousing,
        extra_zh=[
            f"对方单位 {n_moved} 人迁入申请单位交回或其自有闲置用房",
            f"置换后申请单位办公用房 {swap.requester_after} m²、"
            f"对方单位 {swap.other_after} m²，均不超过核定（标准）面积",
        ],
        extra_en=[
            f"{n_moved} people of the other agency move into rooms given back "
            "or its own idle offices",
            f"after the swap the requester holds {swap.requester_after} m² and the "
            f"other agency {swap.other_after} m², both within their entitlement",
        ],
    )


def _movable_groups(
    session: Session,
    groups: Mapping[tuple[int, int], list[_Vacant]],
    occupants: Mapping[int, list[_Occupant]],
    targets_of: Callable[[int], list[_Vacant]],
    allowances: dict[tuple[str, str], float],
) -> list[tuple[int, list[_Vacant]]]:
    """Per other agency and building, the offices whose people could move on their own
    into the targets (jointly re-checked by ``_swap_for``); agencies with nowhere to move
    their people are skipped before any fitting."""
    agencies = sorted({a for a, _b in groups})
    levels = dict(
        session.execute(select(Agency.id, Agency.level).where(Agency.id.in_(agencies))).all()
    )
    out: list[tuple[int, list[_Vacant]]] = []
    for (agency_id, _building), group in groups.items():
        targets = targets_of(agency_id)
        if not targets:
            continue
        movable = [
            r
            for r in group
            if _rehouse(occupants.get(r.room_id, []), levels[agency_id], allowances, targets)
            is not None
        ]
        if movable:
            out.append((agency_id, movable))
    return out


def _swap_candidates(
    session: Session,
    request: SpaceRequest,
    slots: list[_Slot],
    allowances: dict[tuple[str, str], float],
    *,
    scope: Scope,
    day: dt.date,
    origin: tuple[float, float] | None,
    vacant: Sequence[_Vacant],
) -> list[schemas.Candidate]:
    """置换: per other agency and building among the SWAP_BUILDINGS nearest of the region,
    its occupied offices that would house the request, when its people there can move into
    the requester's released rooms (or its own idle offices) and both stay within their
    entitlement."""
    if not slots:
        return []
    region = _swap_region(request)
    places = dict(
        _nearest_buildings(session, scope=scope, region=region, origin=origin, limit=SWAP_BUILDINGS)
    )
    rooms, occupants = _occupied_offices(
        session,
        scope=scope,
        day=day,
        region=region,
        near=None,
        exclude=request.agency_id,
        places=places,
        office_m2=_office_bounds(slots),
    )
    released = _released_rooms(session, request, None)
    groups: dict[tuple[int, int], list[_Vacant]] = defaultdict(list)
    for r in rooms:
        assert r.agency_id is not None
        groups[(r.agency_id, r.building_id)].append(r)
    idle: dict[int | None, list[_Vacant]] = defaultdict(list)
    for v in vacant:
        idle[v.agency_id].append(v)
    movable = _movable_groups(
        session, groups, occupants, lambda a: list(released) + idle.get(a, []), allowances
    )
    movable.sort(key=lambda g: _nearest(g[1]))  # nearest first
    tried = list(dict.fromkeys(a for a, _offices in movable))[:SWAP_AGENCIES]
    if not tried:
        return []
    holdings = _holdings(session, [request.agency_id, *tried], allowances)
    found: list[schemas.Candidate] = []
    for agency, offices_there in movable:
        if agency not in holdings:
            continue
        swap = _first_swap(
            request, slots, offices_there, occupants, released, holdings, allowances, vacant
        )
        if swap is not None:
            found.append(_swap_candidate(request, slots, swap))
            if sum(_met(c) for c in found) >= MAX_SWAPS:
                break
    return found


def _nearest(rooms: Sequence[_Vacant]) -> float:
    return min((r.distance_km for r in rooms if r.distance_km is not None), default=float("inf"))


def _first_swap(
    request: SpaceRequest,
    slots: list[_Slot],
    movable: list[_Vacant],
    occupants: dict[int, list[_Occupant]],
    released: list[_Vacant],
    holdings: dict[int, _Holding],
    allowances: dict[tuple[str, str], float],
    vacant: Sequence[_Vacant],
) -> _Swap | None:
    """The best exchange among ``movable`` offices; when it would leave someone over the
    entitlement, try again without the room housing the most junior person (the last one
    assigned), SWAP_ATTEMPTS times at most."""
    for _attempt in range(SWAP_ATTEMPTS):
        offices = _best_offices(slots, movable)
        if not offices:
            return None
        swap = _swap_for(request, slots, offices, occupants, released, holdings, allowances, vacant)
        if swap is not None:
            return swap
        movable = [r for r in movable if r.room_id != offices[-1][1].room_id]
    return None


def _order(c: schemas.Candidate) -> tuple[Any, ...]:
    return (
        ROUTE_ORDER[c.route],
        c.people_housed < c.people_needed or c.rooms_matched < c.rooms_needed,
        CONTIGUITY_ORDER[c.contiguity],
        c.moves,
        c.distance_km if c.distance_km is not None else float("inf"),
        -c.people_housed,
        -c.rooms_matched,
    )


def _office_bounds(slots: Sequence[_Slot]) -> tuple[float, float]:
    """The usable areas an office may have to house some of these people (``_assign``):
    from MIN_FIT of the smallest allowance to MAX_SHARE of the largest; none without
    people."""
    if not slots:
        return (1.0, 0.0)
    allowances = [s.allowance for s in slots]
    return (round(MIN_FIT * min(allowances), 2), round(MAX_SHARE * max(allowances), 2))


def _no_room_left(slots: Sequence[_Slot], request: SpaceRequest, room_m2: float | None) -> bool:
    """The agency's entitlement leaves no room for even the smallest office it asks for
    (and it asks for offices only): no transfer or swap can be proposed."""
    if not slots or request.rooms or room_m2 is None:
        return False
    return room_m2 < _office_bounds(slots)[0]


def _met(c: schemas.Candidate) -> bool:
    return c.people_housed == c.people_needed and c.rooms_matched == c.rooms_needed


def _swap_region(request: SpaceRequest) -> int:
    """Where swaps are sought: the preferred region, else the agency's city."""
    return request.preferred_region_adcode or (request.region_adcode - request.region_adcode % 100)


def _origin(session: Session, request: SpaceRequest) -> tuple[float, float] | None:
    """Longitude and latitude of where the agency wants to be (see ``_near_point``)."""
    near = _near_point(session, request)
    x, y = session.execute(select(func.ST_X(near), func.ST_Y(near))).one()
    return None if x is None or y is None else (float(x), float(y))


def _nearest_buildings(
    session: Session,
    *,
    scope: Scope,
    region: int | None,
    origin: tuple[float, float] | None,
    limit: int,
) -> list[tuple[int, float | None]]:
    """Buildings of the live register (in ``region``), nearest to ``origin`` first (the
    footprint GiST index answers the K nearest), with their distance in km."""
    where = [Building.status != "disposed"]
    if region is not None:
        where.append(Building.region_adcode.between(*scopes.adcode_range(region)))
    if not scope.unrestricted and not scope.agencies:
        where.append(scopes.in_regions(scope, Building.region_adcode))
    stmt: Any
    if origin is None:
        stmt = select(Building.id, null()).where(*where).order_by(Building.id)
    else:
        point = func.ST_SetSRID(func.ST_MakePoint(*origin), 4490)
        km = (
            func.ST_Distance(
                func.geography(func.ST_PointOnSurface(Building.footprint)), func.geography(point)
            )
            / 1000.0
        )
        stmt = select(Building.id, km).where(*where).order_by(Building.footprint.op("<->")(point))
    return [(b, None if d is None else float(d)) for b, d in session.execute(stmt.limit(limit))]


def headroom(
    session: Session, requests: Sequence[SpaceRequest], allowances: dict[tuple[str, str], float]
) -> dict[int, float | None]:
    """Per request, the office m² its agency may still take and stay within its entitlement
    (approved area, else quota × the standard; the offices it gives back count); None when
    no entitlement is configured."""
    holdings = _holdings(session, [r.agency_id for r in requests], allowances)
    given_back = {r.id: list(r.releases or []) for r in requests}
    released = dict(
        session.execute(
            select(Room.id, Room.usable_area_m2).where(
                Room.id.in_([x for ids in given_back.values() for x in ids]),
                Room.category == "office",
            )
        ).all()
    )
    out: dict[int, float | None] = {}
    for r in requests:
        h = holdings[r.agency_id]
        back = sum(float(released.get(x, 0)) for x in given_back[r.id])
        out[r.id] = None if h.cap is None else h.cap - h.held + back
    return out


def _transfer_candidates(
    session: Session,
    request: SpaceRequest,
    slots: list[_Slot],
    *,
    scope: Scope,
    day: dt.date,
    origin: tuple[float, float] | None,
    room_m2: float | None = None,
) -> tuple[list[schemas.Candidate], list[_Vacant]]:
    """调剂: buildings searched nearest first, SEARCH_BATCH at a time (their vacant rooms in
    one query, the fit per building in memory), until MAX_CANDIDATES of them meet the
    request in full, or SEARCH_PARTIAL buildings were seen and gave MAX_CANDIDATES that
    meet it in part, or SEARCH_MAX buildings were seen. Returns the best candidates and the
    vacant rooms seen (the idle offices a swap may re-house people into)."""
    places = _nearest_buildings(
        session,
        scope=scope,
        region=request.preferred_region_adcode,
        origin=origin,
        limit=SEARCH_MAX,
    )
    released = set(request.releases or [])
    subcategories = sorted({n["subcategory"] for n in request.rooms})
    found: list[schemas.Candidate] = []
    seen: list[_Vacant] = []
    for start in range(0, len(places), SEARCH_BATCH):
        batch = dict(places[start : start + SEARCH_BATCH])
        rooms = [
            replace(v, distance_km=batch[v.building_id])
            for v in vacant_office_rooms(
                session,
                scope=scope,
                day=day,
                region=None,
                near=None,
                subcategories=subcategories,
                building_ids=list(batch),
                office_m2=_office_bounds(slots),
            )
            if v.room_id not in released
        ]
        seen += rooms
        by_building: dict[int, list[_Vacant]] = defaultdict(list)
        for room in rooms:
            by_building[room.building_id].append(room)
        found += [
            c
            for group in by_building.values()
            if (c := _building_candidate(request, slots, group, room_m2)) is not None
        ]
        seen_enough = start + SEARCH_BATCH >= SEARCH_PARTIAL and len(found) >= MAX_CANDIDATES
        if sum(_met(c) for c in found) >= MAX_CANDIDATES or seen_enough:
            break
    found.sort(key=_order)
    return found[:MAX_CANDIDATES], seen


def _fallbacks(slots: list[_Slot], request: SpaceRequest) -> list[schemas.Candidate]:
    """租用 then 建设, when neither a transfer nor a swap meets the request."""
    why_zh, why_en = (
        "现有闲置用房无法满足（调剂、置换均不可行）",
        "no idle space fits (neither transfer nor swap)",
    )
    return [
        _fallback("rent", slots, request, why_zh, why_en),
        _fallback("build", slots, request, why_zh, why_en),
    ]


def candidates(
    session: Session, request_id: int, *, scope: Scope, day: dt.date | None = None
) -> schemas.Candidates:
    """Ways to meet the request, in the rule order 调剂 → 置换 → 租用 → 建设; within a
    route: everything met first, then one floor before adjacent floors before several,
    then fewer moves, then nearer. Transfers come from the nearest buildings that meet the
    request (``_transfer_candidates``), swaps from the SWAP_BUILDINGS nearest; neither when
    the agency's entitlement leaves no room for an office."""
    day = day or timekeeping.today()
    request, _name = _request(session, request_id, scope)
    agency = session.get(Agency, request.agency_id)
    assert agency is not None
    _version, allowances = _allowances(session, day)
    slots = _slots(request, agency.level, allowances)
    origin = _origin(session, request)
    room_m2 = headroom(session, [request], allowances)[request.id]
    found: list[schemas.Candidate] = []
    swaps: list[schemas.Candidate] = []
    if not _no_room_left(slots, request, room_m2):
        found, vacant = _transfer_candidates(
            session, request, slots, scope=scope, day=day, origin=origin, room_m2=room_m2
        )
        swaps = _swap_candidates(
            session,
            request,
            slots,
            allowances,
            scope=scope,
            day=day,
            origin=origin,
            vacant=[v for v in vacant if v.category == "office"],
        )
    swaps.sort(key=_order)
    found += swaps[:MAX_SWAPS]
    if not any(_met(c) for c in found):
        found += _fallbacks(slots, request)
    for i, c in enumerate(found, start=1):
        c.rank = i
    return schemas.Candidates(
        request_id=request.id,
        people_needed=len(slots),
        rooms_needed=_rooms_needed(request),
        entitled_m2=round(sum(s.allowance for s in slots), 2) if slots else None,
        candidates=found,
    )


# ---------------------------------------------------------------- plans
def _plan_public(session: Session, plan: AllocationPlan, scope: Scope) -> schemas.PlanPublic:
    """The plan as the caller may see it: 置换 names the other agency's people who move
    only as far as the caller may see their occupancies (the requesting agency's officer
    learns how many move, not who); the rooms given and received are the plan's own."""
    moves = [schemas.Rehousing(**h) for h in plan.rehousing or []]
    ids = [m.occupancy_id for m in moves]
    seen = (
        set(
            session.scalars(
                select(Occupancy.id).where(Occupancy.id.in_(ids), scopes.occupancies(scope))
            )
        )
        if ids
        else set()
    )
    return schemas.PlanPublic(
        id=plan.id,
        request_id=plan.request_id,
        agency_id=plan.agency_id,
        route=plan.route,
        status=plan.status,
        assignments=[schemas.Assignment(**a) for a in plan.assignments],
        releases=list(plan.releases or []),
        rehousing=[m for m in moves if m.occupancy_id in seen],
        people_rehoused_hidden=sum(1 for m in moves if m.occupancy_id not in seen),
        area_m2=float(plan.area_m2),
        note=plan.note,
        approved_by=plan.approved_by,
        executed_by=plan.executed_by,
        executed_at=plan.executed_at,
        version=plan.version,
    )


def _bad_room(room_id: int, index: int, why_en: str, why_zh: str) -> InvalidInput:
    return InvalidInput(
        f"room {room_id} {why_en}",
        message_zh=f"房间 {room_id} {why_zh}",
        details={"field": f"assignments[{index}].room_id", "value": room_id},
    )


def _check_counts(request: SpaceRequest, assignments: Sequence[schemas.Assignment]) -> None:
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for need in request.offices:
        wanted[("rank", need["rank_code"])] += need["count"]
    for room in request.rooms:
        wanted[("room", room["subcategory"])] += room["count"]
    for a in assignments:
        key = ("rank", a.rank_code) if a.rank_code else ("room", a.subcategory or "")
        wanted[key] -= 1
    if any(v < 0 for v in wanted.values()):
        raise InvalidInput(
            "the assignments house more people (or rooms) than the request asks for",
            message_zh="安置人数或用房数超过申请",
            details={"field": "assignments"},
        )
    by_room: dict[int, list[schemas.Assignment]] = defaultdict(list)
    for a in assignments:
        by_room[a.room_id].append(a)
    for i, a in enumerate(assignments):
        if a.subcategory is not None and len(by_room[a.room_id]) > 1:
            raise _bad_room(a.room_id, i, "is assigned twice", "重复分配")


def _check_rooms(
    request: SpaceRequest,
    level: str,
    assignments: Sequence[schemas.Assignment],
    rooms: dict[int, _Vacant],
    allowances: dict[tuple[str, str], float],
    *,
    why_en: str,
    why_zh: str,
) -> tuple[float, list[tuple[_Slot, _Vacant]], list[tuple[dict[str, Any], _Vacant]]]:
    """Every room among ``rooms`` and never over standard: an office within the sum of its
    people's allowances, another room of the subcategory asked for and within its area."""
    by_room: dict[int, list[int]] = defaultdict(list)
    for i, a in enumerate(assignments):
        by_room[a.room_id].append(i)
    needs = {n["subcategory"]: n for n in request.rooms}
    offices: list[tuple[_Slot, _Vacant]] = []
    others: list[tuple[dict[str, Any], _Vacant]] = []
    area = 0.0
    for room_id, indexes in by_room.items():
        room = rooms.get(room_id)
        first = assignments[indexes[0]]
        if room is None:
            raise _bad_room(room_id, indexes[0], why_en, why_zh)
        if first.subcategory is not None:
            need = needs[first.subcategory]
            if room.subcategory != first.subcategory or room.area > float(need["area_m2"]):
                raise InvalidInput(
                    f"room {room_id} is not a {first.subcategory} within {need['area_m2']} m²",
                    message_zh=f"房间 {room_id} 类别或面积与申请不符",
                    details={
                        "field": f"assignments[{indexes[0]}]",
                        "area_m2": room.area,
                        "subcategory": room.subcategory,
                    },
                )
            others.append((need, room))
        else:
            if room.category != "office":
                raise _bad_room(room_id, indexes[0], "is not an office", "不是办公室")
            shares = [allowances.get((level, assignments[i].rank_code or "")) for i in indexes]
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
            for i in indexes:
                a = assignments[i]
                offices.append(
                    (
                        _Slot(
                            a.rank_code or "",
                            a.post_title,
                            allowances[(level, a.rank_code or "")],
                        ),
                        room,
                    )
                )
        area += room.area
    return round(area, 2), offices, others


def _check_transfer(
    session: Session,
    request: SpaceRequest,
    level: str,
    assignments: Sequence[schemas.Assignment],
    *,
    scope: Scope,
    day: dt.date,
) -> float:
    """Every room vacant, visible, and within the standard; the people and rooms those of
    the request. Returns the rooms' usable m²."""
    _version, allowances = _allowances(session, day)
    _check_counts(request, assignments)
    ids = sorted({a.room_id for a in assignments})
    vacant = {
        r.room_id: r
        for r in vacant_office_rooms(
            session,
            scope=scope,
            day=day,
            region=None,
            near=None,
            subcategories=sorted({n["subcategory"] for n in request.rooms}),
            room_ids=ids,
        )
        if r.room_id not in set(request.releases or [])
    }
    area, offices, _others = _check_rooms(
        request,
        level,
        assignments,
        vacant,
        allowances,
        why_en="is not a vacant room the managing office may allocate",
        why_zh="不是可调剂的空置用房",
    )
    room_m2 = headroom(session, [request], allowances)[request.id]
    if room_m2 is not None and _office_m2(offices) > room_m2 + 0.005:
        raise InvalidInput(
            "the offices would take the agency over its entitlement",
            message_zh="调剂后该单位办公用房将超过核定（标准）面积",
            details={"field": "assignments", "headroom_m2": round(room_m2, 2)},
        )
    return area


def _check_swap(
    session: Session,
    request: SpaceRequest,
    level: str,
    assignments: Sequence[schemas.Assignment],
    *,
    scope: Scope,
    day: dt.date,
) -> tuple[float, _Swap]:
    """A swap: offices of ONE other agency used only by its people, who can move into the
    requester's released rooms (or its own idle offices), both within entitlement."""
    _version, allowances = _allowances(session, day)
    _check_counts(request, assignments)
    if any(a.subcategory is not None for a in assignments):
        raise InvalidInput(
            "a swap exchanges offices only",
            message_zh="置换仅限办公室",
            details={"field": "assignments"},
        )
    ids = sorted({a.room_id for a in assignments})
    region = _swap_region(request)
    rooms, occupants = _occupied_offices(
        session, scope=scope, day=day, region=region, near=None, exclude=request.agency_id
    )
    chosen = {r.room_id: r for r in rooms if r.room_id in set(ids)}
    area, offices, _others = _check_rooms(
        request,
        level,
        assignments,
        chosen,
        allowances,
        why_en="is not an office of another agency in the region that a swap may give",
        why_zh="不是可置换的其他单位办公室",
    )
    released = _released_rooms(session, request, None)
    other_ids = {r.agency_id for r in chosen.values() if r.agency_id is not None}
    holdings = _holdings(session, [request.agency_id, *other_ids], allowances)
    own_idle = [
        v
        for v in vacant_office_rooms(session, scope=scope, day=day, region=region, near=None)
        if v.agency_id in other_ids
    ]
    swap = _swap_for(
        request,
        _slots(request, level, allowances),
        offices,
        occupants,
        released,
        holdings,
        allowances,
        own_idle,
    )
    if swap is None:
        raise InvalidInput(
            "no exchange houses the other agency's people within both agencies' entitlement",
            message_zh="无法在双方核定面积内完成置换（对方人员无处安置或超标）",
            details={"field": "assignments"},
        )
    return area, swap


def approve_plan(session: Session, data: schemas.PlanCreate, *, principal: Principal) -> int:
    """The managing office approves one candidate (or a rent/build) for a request."""
    principal.require(*access.roles_for("allocation.approve"))
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
    rehousing: list[dict[str, Any]] = []
    if data.route in ("transfer", "swap"):
        if not data.assignments:
            raise InvalidInput(
                "a transfer or swap names the rooms",
                message_zh="调剂或置换方案须列明房间",
                details={"field": "assignments"},
            )
        if data.route == "transfer":
            area = _check_transfer(
                session, request, agency.level, data.assignments, scope=principal.scope, day=day
            )
        else:
            area, swap = _check_swap(
                session, request, agency.level, data.assignments, scope=principal.scope, day=day
            )
            rehousing = [h.model_dump() for h in swap.rehousing]
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
        "assignments": [a.model_dump(exclude_none=True) for a in data.assignments],
        "releases": list(request.releases or []),
        "rehousing": rehousing,
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
        raise not_found("allocation plan", plan_id)
    return _plan_public(session, plan, scope)


def _end_occupancies(session: Session, where: Any, day: dt.date) -> list[int]:
    """End active occupancies today (they are not active on ``day`` any more)."""
    return list(
        session.scalars(
            update(Occupancy)
            .where(where, timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, day))
            .values(end_date=day)
            .returning(Occupancy.id)
        )
    )


def _is_idle(session: Session, room_id: int, day: dt.date) -> bool:
    return (
        session.execute(select(Room.id).where(Room.id == room_id, ~_in_use(day))).first()
        is not None
    )


def _pool(
    session: Session,
    room_id: int,
    *,
    from_agency: int | None,
    day: dt.date,
    plan_id: int | None = None,
    note: str | None = None,
    actor: str,
) -> int:
    """The room goes to the public asset pool: allocated to nobody, offered first."""
    region = session.execute(select(Room.region_adcode).where(Room.id == room_id)).scalar_one()
    session.execute(
        update(Room).where(Room.id == room_id).values(agency_id=None, version=Room.version + 1)
    )
    return int(
        session.execute(
            insert(PoolEntry)
            .values(
                room_id=room_id,
                region_adcode=region,
                released_from_agency_id=from_agency,
                released_on=day,
                note=note,
                released_by=actor,
            )
            .returning(PoolEntry.id)
        ).scalar_one()
    )


def _approved_plan(
    session: Session, plan_id: int, *, expected: int, scope: Scope
) -> AllocationPlan:
    """The plan, locked: visible, at the version the caller read, still approved."""
    plan = session.scalars(
        select(AllocationPlan)
        .where(AllocationPlan.id == plan_id, plan_visible(scope))
        .with_for_update()
    ).one_or_none()
    if plan is None:
        raise not_found("allocation plan", plan_id)
    check_version("allocation plan", plan_id, plan.version, expected)
    if plan.status != "approved":
        raise Conflict(
            f"allocation plan {plan_id} is {plan.status}",
            message_zh="该方案已执行或已撤销",
            details={"status": plan.status},
        )
    return plan


def _recheck(
    session: Session,
    plan: AllocationPlan,
    request: SpaceRequest,
    level: str,
    assignments: list[schemas.Assignment],
    *,
    scope: Scope,
    day: dt.date,
) -> list[schemas.Rehousing]:
    """The plan still holds today (a room may have been taken since the approval); for a
    swap, who of the other agency moves where."""
    if plan.route == "transfer":
        _check_transfer(session, request, level, assignments, scope=scope, day=day)
    if plan.route != "swap":
        return []
    try:
        _area, swap = _check_swap(session, request, level, assignments, scope=scope, day=day)
    except InvalidInput as e:
        raise Conflict(
            "the swap no longer holds: " + str(e),
            message_zh="置换条件已变化，须重新批准",
            details={"route": "swap"},
        ) from e
    return swap.rehousing


def _rehouse_other_agency(
    session: Session, rehousing: Sequence[schemas.Rehousing], day: dt.date
) -> None:
    """置换: the other agency's people leave the rooms given to the requester for the rooms
    given back (or their agency's own idle offices), which become that agency's."""
    if not rehousing:
        return
    old = {
        o.id: o
        for o in session.scalars(
            select(Occupancy).where(Occupancy.id.in_([h.occupancy_id for h in rehousing]))
        )
    }
    _end_occupancies(session, Occupancy.id.in_(list(old)), day)
    for h in rehousing:
        o = old[h.occupancy_id]
        session.execute(
            insert(Occupancy).values(
                room_id=h.to_room_id,
                agency_id=o.agency_id,
                person_name=o.person_name,
                person_id=o.person_id,
                post_title=o.post_title,
                rank_code=o.rank_code,
                is_concurrent_post=o.is_concurrent_post,
                concurrent_approved=o.concurrent_approved,
                start_date=day,
            )
        )
        session.execute(
            update(Room)
            .where(Room.id == h.to_room_id, Room.agency_id.is_distinct_from(h.agency_id))
            .values(agency_id=h.agency_id, version=Room.version + 1)
        )


def _release_to_pool(
    session: Session,
    plan: AllocationPlan,
    releases: Sequence[int],
    rehoused_into: set[int],
    *,
    day: dt.date,
    actor: str,
) -> list[int]:
    """The rooms given back that nobody moved into go to the public asset pool when idle."""
    pooled: list[int] = []
    for room_id in releases:
        if room_id in rehoused_into or not _is_idle(session, room_id, day):
            continue
        _pool(
            session,
            room_id,
            from_agency=plan.agency_id,
            day=day,
            note=f"released by allocation plan {plan.id}",
            actor=actor,
        )
        pooled.append(room_id)
    return pooled


def _allocate_rooms(
    session: Session, plan: AllocationPlan, assignments: Sequence[schemas.Assignment], day: dt.date
) -> int:
    """The rooms become the requester's: an occupancy per person in an office, an approved
    use per other room, their pool entries taken. Returns the occupancies created."""
    room_ids = sorted({a.room_id for a in assignments})
    if not room_ids:
        return 0
    offices = [a for a in assignments if a.rank_code is not None]
    others = [a for a in assignments if a.subcategory is not None]
    session.execute(
        update(Room)
        .where(Room.id.in_(room_ids))
        .values(agency_id=plan.agency_id, version=Room.version + 1)
    )
    if offices:
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
                for a in offices
            ],
        )
    if others:
        names = reference.space_categories()
        session.execute(
            insert(ApprovedUse),
            [
                {
                    "room_id": a.room_id,
                    "purpose": names[a.subcategory].name_zh
                    if a.subcategory in names
                    else str(a.subcategory),
                    "approval_ref": f"allocation plan {plan.id}",
                    "start_date": day,
                }
                for a in others
            ],
        )
    session.execute(
        update(PoolEntry)
        .where(PoolEntry.room_id.in_(room_ids), PoolEntry.taken_on.is_(None))
        .values(taken_on=day, plan_id=plan.id)
    )
    return len(offices)


def _mark_executed(
    session: Session, plan: AllocationPlan, request: SpaceRequest, principal: Principal
) -> None:
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


def execute_plan(
    session: Session, plan_id: int, *, expected: int, principal: Principal
) -> schemas.Execution:
    """Carry out an approved transfer or swap: rooms allocated to the agency, an occupancy
    per person from today; for a swap the other agency's people move into the rooms given
    back; the rest of the rooms given back go to the pool when idle; pool entries taken,
    compliance follows (the idle findings cured close) — one audited change."""
    principal.require(*access.roles_for("allocation.execute"))
    day = timekeeping.today()
    plan = _approved_plan(session, plan_id, expected=expected, scope=principal.scope)
    request = session.get(SpaceRequest, plan.request_id)
    agency = session.get(Agency, plan.agency_id)
    assert request is not None and agency is not None
    assignments = [schemas.Assignment(**a) for a in plan.assignments]
    rehousing = _recheck(
        session, plan, request, agency.level, assignments, scope=principal.scope, day=day
    )
    room_ids = sorted({a.room_id for a in assignments})
    releases = list(plan.releases or []) if plan.route in ("transfer", "swap") else []
    touched = sorted(set(room_ids) | set(releases))
    before: dict[int, int | None] = dict(
        session.execute(select(Room.id, Room.agency_id).where(Room.id.in_(touched))).all()
    )
    open_idle = _open_idle_findings(session, touched)
    if releases:  # the requester leaves the rooms it gives back
        _end_occupancies(
            session,
            Occupancy.room_id.in_(releases) & (Occupancy.agency_id == plan.agency_id),
            day,
        )
    _rehouse_other_agency(session, rehousing, day)
    rehoused_into = {h.to_room_id for h in rehousing}
    pooled = _release_to_pool(
        session, plan, releases, rehoused_into, day=day, actor=principal.username
    )
    occupancies = _allocate_rooms(session, plan, assignments, day)
    _mark_executed(session, plan, request, principal)
    if touched or rehoused_into:
        floors = select(Room.floor_id).where(Room.id.in_(sorted(set(touched) | rehoused_into)))
        compliance.follow(
            session,
            compliance.target_for_floors(session, session.scalars(floors)),
            actor=principal.username,
            as_of=day,
        )
    closed = open_idle - _open_idle_findings(session, touched)
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
            "occupancies": occupancies,
            "rehoused": [h.model_dump() for h in rehousing],
            "released_to_pool": pooled,
        },
    )
    return schemas.Execution(
        plan=_plan_public(session, plan, principal.scope),
        occupancies_created=occupancies,
        rooms_reallocated=sum(1 for r in room_ids if before.get(r) != plan.agency_id),
        rooms_released_to_pool=len(pooled),
        people_rehoused=len(rehousing),
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


# ---------------------------------------------------------------- the public asset pool
def release_to_pool(session: Session, data: schemas.PoolRelease, *, principal: Principal) -> int:
    """A planner takes an idle room back into the public asset pool (公物仓)."""
    principal.require(*access.roles_for("asset_pool.release"))
    day = timekeeping.today()
    room = session.execute(
        select(Room.id, Room.agency_id, Room.category)
        .join(Floor, and_(Floor.id == Room.floor_id, Floor.valid_to.is_(None)))
        .join(Building, Building.id == Room.building_id)
        .where(Room.id == data.room_id, scopes.rooms(principal.scope))
    ).one_or_none()
    if room is None:
        raise not_found("room", data.room_id)
    if session.execute(
        select(PoolEntry.id).where(PoolEntry.room_id == data.room_id, PoolEntry.taken_on.is_(None))
    ).first():
        raise Conflict(
            f"room {data.room_id} is already in the pool",
            message_zh="该房间已在公物仓中",
            details={"room_id": data.room_id},
        )
    if not _is_idle(session, data.room_id, day):
        raise InvalidInput(
            f"room {data.room_id} is in use today; only idle rooms go to the pool",
            message_zh="该房间正在使用，只有闲置用房可以交回公物仓",
            details={"field": "room_id", "value": data.room_id},
        )
    entry_id = _pool(
        session,
        data.room_id,
        from_agency=room.agency_id,
        day=day,
        note=data.note,
        actor=principal.username,
    )
    audit.record(
        session,
        actor=principal.username,
        action="asset_pool.release",
        object_type="room",
        object_id=data.room_id,
        before={"agency_id": room.agency_id},
        after={"agency_id": None, "pool_entry": entry_id, "note": data.note},
    )
    return entry_id


def list_pool(
    session: Session, *, scope: Scope, open_only: bool = True, limit: int = 100, offset: int = 0
) -> tuple[int, list[schemas.PoolEntryPublic]]:
    where = [scopes.pool_entries(scope, PoolEntry)]
    if open_only:
        where.append(PoolEntry.taken_on.is_(None))
    total = session.execute(select(func.count()).select_from(PoolEntry).where(*where)).scalar_one()
    rows = session.execute(
        select(PoolEntry, Room.building_id, Building.name, Room.subcategory, Room.usable_area_m2)
        .join(Room, Room.id == PoolEntry.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(*where)
        .order_by(PoolEntry.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total), [
        schemas.PoolEntryPublic(
            id=e.id,
            room_id=e.room_id,
            building_id=b,
            building_name=n,
            subcategory=sub,
            usable_area_m2=float(a),
            region_adcode=e.region_adcode,
            released_from_agency_id=e.released_from_agency_id,
            released_on=e.released_on,
            taken_on=e.taken_on,
            plan_id=e.plan_id,
            note=e.note,
        )
        for e, b, n, sub, a in rows
    ]
