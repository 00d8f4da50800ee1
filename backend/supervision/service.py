"""Inspections 检查 and on-site checks 现场核查: plan, sample, record, raise findings.

An inspection names its scope (region subtrees, agencies, buildings), its team, dates and
an optional sampling rule. Its buildings are drawn once, at creation, and stored with
their weights and keys so the draw can be repeated by anyone: building ``b`` gets
``u = (first 8 bytes of sha256("<seed>:<b>") + 0.5) / 2**64`` and key ``u ** (1 / w)``
with ``w = 1 + open findings`` (or 1); the ``ceil(share × N)`` largest keys are drawn
(weighted sampling without replacement, Efraimidis & Spirakis 2006).

A check records what inspectors found in a building or room against the register
(measured vs registered area, actual use vs category, occupant vs register, leases);
it can confirm a rule finding or raise a manual one with the same fields.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, get_args

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, Building, Floor, Occupancy, Region, Room
from backend.inventory.service import Page
from backend.services import scope as scopes
from backend.services.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    not_found,
    stale,
)
from backend.services.scope import Scope, adcode_range
from backend.supervision import clock
from backend.supervision.access import check_visible, inspection_visible
from backend.supervision.models import (
    INSPECTION_KIND_NAMES,
    Inspection,
    InspectionBuilding,
    InspectionCheck,
)
from backend.supervision.schemas import CheckCreate, InspectionCreate, InspectionUpdate, ManualRule

MANUAL_RULE_NAMES = compliance.MANUAL_RULE_NAMES
assert set(get_args(ManualRule)) == set(MANUAL_RULE_NAMES)


def rule_names(code: str) -> tuple[str, str]:
    """Chinese and English name of a rule or manual finding code."""
    return compliance.RULE_NAMES.get(code) or MANUAL_RULE_NAMES.get(code) or (code, code)


def finding_public(f: ComplianceFinding) -> dict[str, Any]:
    out = compliance.finding_dict(f)
    out["rule_name_zh"], out["rule_name_en"] = rule_names(f.rule_code)
    out["manual"] = f.rule_code.startswith("manual.")
    return out


# ---------------------------------------------------------------- inspections
def inspection_dict(i: Inspection, buildings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    zh, en = INSPECTION_KIND_NAMES[i.kind]
    out: dict[str, Any] = {
        "id": i.id,
        "kind": i.kind,
        "kind_name_zh": zh,
        "kind_name_en": en,
        "title": i.title,
        "region_adcode": i.region_adcode,
        "scope_regions": list(i.scope_regions or []),
        "scope_agencies": list(i.scope_agencies or []),
        "scope_buildings": list(i.scope_buildings or []),
        "team": list(i.team or []),
        "starts_on": i.starts_on.isoformat(),
        "ends_on": i.ends_on.isoformat(),
        "sampling": i.sampling,
        "status": i.status,
        "created_by": i.created_by,
        "version": i.version,
    }
    if buildings is not None:
        out["buildings"] = buildings
    return out


def _within(region: int, adcode: int | None) -> bool:
    if adcode is None:
        return False
    lo, hi = adcode_range(region)
    return lo <= adcode <= hi


def _check_team(session: Session, team: list[str]) -> list[str]:
    """The team's user names, sorted, without duplicates. Other users' rows are not
    readable under row-level security, so names are not looked up: whoever signs in with
    one of them (as an inspector) may record checks."""
    names = sorted({n.strip() for n in team})
    bad = [n for n in names if not n or len(n) > 80 or any(c.isspace() for c in n)]
    if bad:
        raise InvalidInput(
            "team members are user names (1-80 characters, no spaces)",
            message_zh="检查组成员须为用户名",
            details={"invalid": bad[:20]},
        )
    return names


def _population(session: Session, body: InspectionCreate, principal: Principal) -> Any:
    """Buildings of the inspection's scope that the caller may see (not disposed)."""
    lo, hi = adcode_range(body.region_adcode)
    parts: list[ColumnElement[bool]] = []
    for r in body.scope_regions:
        parts.append(Building.region_adcode.between(*adcode_range(r)))
    if body.scope_agencies:
        parts.append(Building.agency_id.in_(body.scope_agencies))
        parts.append(
            Building.id.in_(select(Room.building_id).where(Room.agency_id.in_(body.scope_agencies)))
        )
    if body.scope_buildings:
        parts.append(Building.id.in_(body.scope_buildings))
    return select(Building.id, Building.region_adcode, Building.agency_id).where(
        or_(*parts),
        Building.region_adcode.between(lo, hi),
        Building.status != "disposed",
        scopes.buildings(principal.scope),
    )


def _validate_scope(session: Session, body: InspectionCreate, principal: Principal) -> None:
    scope = principal.scope
    if session.get(Region, body.region_adcode) is None or not scope.allows_region(
        body.region_adcode
    ):
        raise not_found("region", body.region_adcode)
    for r in body.scope_regions:
        if not _within(body.region_adcode, r) or session.get(Region, r) is None:
            raise InvalidInput(
                f"region {r} is not within the organising region {body.region_adcode}",
                message_zh="检查范围须在组织检查的行政区划之内",
                details={"region": r},
            )
    if body.scope_agencies:
        found = set(
            session.scalars(
                select(Agency.id).where(Agency.id.in_(body.scope_agencies), scopes.agencies(scope))
            )
        )
        missing = sorted(set(body.scope_agencies) - found)
        if missing:
            raise not_found("agency", missing[0])
    if body.scope_buildings:
        found = set(
            session.scalars(
                select(Building.id).where(
                    Building.id.in_(body.scope_buildings), scopes.buildings(scope)
                )
            )
        )
        missing = sorted(set(body.scope_buildings) - found)
        if missing:
            raise not_found("building", missing[0])


def draw_key(seed: int, building_id: int, weight: float) -> float:
    """The sampling key of one building: u^(1/w) with u from sha256(seed:building).

    >>> round(draw_key(7, 1, 1.0), 6), round(draw_key(7, 1, 4.0), 6)
    (0.842297, 0.958002)
    """
    digest = hashlib.sha256(f"{seed}:{building_id}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    return float(u ** (1.0 / weight))


def create_inspection(
    session: Session, body: InspectionCreate, *, principal: Principal
) -> dict[str, Any]:
    """Plan an inspection and draw its buildings (audited)."""
    _validate_scope(session, body, principal)
    team = _check_team(session, body.team)
    population = session.execute(_population(session, body, principal)).all()
    if not population:
        raise InvalidInput(
            "the inspection's scope holds no building you may see",
            message_zh="检查范围内没有可检查的办公楼",
        )
    ids = [p[0] for p in population]
    open_counts = dict(
        session.execute(
            select(ComplianceFinding.building_id, func.count())
            .where(ComplianceFinding.building_id.in_(ids), ComplianceFinding.status != "closed")
            .group_by(ComplianceFinding.building_id)
        ).all()
    )
    rows = []
    for bid, region, agency in sorted(population):
        n_open = int(open_counts.get(bid, 0))
        rule = body.sampling
        weight = 1.0 + n_open if rule is not None and rule.weighting == "open_findings" else 1.0
        key = draw_key(rule.seed, bid, weight) if rule is not None else None
        rows.append([bid, region, agency, n_open, weight, key])
    if body.sampling is not None:
        n = max(1, math.ceil(body.sampling.share * len(rows) - 1e-9))
        rows.sort(key=lambda r: (-float(r[5]), r[0]))
        rows = rows[:n]
    inspection = Inspection(
        kind=body.kind,
        title=body.title,
        region_adcode=body.region_adcode,
        scope_regions=sorted(set(body.scope_regions)),
        scope_agencies=sorted(set(body.scope_agencies)),
        scope_buildings=sorted(set(body.scope_buildings)),
        team=team,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        sampling=(
            {**body.sampling.model_dump(), "population": len(population), "drawn": len(rows)}
            if body.sampling
            else None
        ),
        status="planned",
        created_by=principal.username,
    )
    session.add(inspection)
    session.flush()
    for rank, (bid, region, agency, n_open, weight, key) in enumerate(rows, start=1):
        session.add(
            InspectionBuilding(
                inspection_id=inspection.id,
                building_id=bid,
                region_adcode=region,
                agency_id=agency,
                open_findings=n_open,
                weight=weight,
                draw_key=key,
                rank=rank,
            )
        )
    session.flush()
    result = inspection_dict(inspection, _buildings(session, inspection.id))
    audit.record(
        session,
        actor=principal.username,
        action="inspection.create",
        object_type="inspection",
        object_id=inspection.id,
        after={k: v for k, v in result.items() if k != "buildings"}
        | {"buildings": [b["building_id"] for b in result["buildings"]]},
    )
    return result


def _buildings(session: Session, inspection_id: int) -> list[dict[str, Any]]:
    checks = (
        select(InspectionCheck.building_id, func.count().label("n"))
        .where(InspectionCheck.inspection_id == inspection_id)
        .group_by(InspectionCheck.building_id)
        .subquery()
    )
    rows = session.execute(
        select(InspectionBuilding, Building.name, func.coalesce(checks.c.n, 0))
        .join(Building, Building.id == InspectionBuilding.building_id)
        .outerjoin(checks, checks.c.building_id == InspectionBuilding.building_id)
        .where(InspectionBuilding.inspection_id == inspection_id)
        .order_by(InspectionBuilding.rank)
    ).all()
    return [
        {
            "building_id": ib.building_id,
            "name": name,
            "region_adcode": ib.region_adcode,
            "agency_id": ib.agency_id,
            "open_findings": ib.open_findings,
            "weight": ib.weight,
            "draw_key": ib.draw_key,
            "rank": ib.rank,
            "checks": int(n),
        }
        for ib, name, n in rows
    ]


def get_inspection(session: Session, inspection_id: int, *, principal: Principal) -> Inspection:
    found = session.scalars(
        select(Inspection).where(
            Inspection.id == inspection_id, inspection_visible(principal.scope)
        )
    ).one_or_none()
    if found is None:
        raise not_found("inspection", inspection_id)
    return found


def read_inspection(
    session: Session, inspection_id: int, *, principal: Principal
) -> dict[str, Any]:
    i = get_inspection(session, inspection_id, principal=principal)
    return inspection_dict(i, _buildings(session, i.id))


def list_inspections(
    session: Session,
    *,
    principal: Principal,
    page: Page,
    status: str | None = None,
    kind: str | None = None,
    region: int | None = None,
) -> dict[str, Any]:
    where: list[ColumnElement[bool]] = [inspection_visible(principal.scope)]
    if status:
        where.append(Inspection.status == status)
    if kind:
        where.append(Inspection.kind == kind)
    if region is not None:
        where.append(Inspection.region_adcode.between(*adcode_range(region)))
    matched = session.execute(select(func.count()).select_from(Inspection).where(*where))
    rows = session.scalars(
        select(Inspection)
        .where(*where)
        .order_by(Inspection.starts_on.desc(), Inspection.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    return {
        "numberMatched": matched.scalar_one(),
        "numberReturned": len(rows),
        "items": [inspection_dict(i) for i in rows],
    }


def update_inspection(
    session: Session,
    inspection_id: int,
    body: InspectionUpdate,
    *,
    expected: int,
    principal: Principal,
) -> dict[str, Any]:
    i = get_inspection(session, inspection_id, principal=principal)
    changes = body.model_dump(exclude_unset=True)
    if "team" in changes:
        changes["team"] = _check_team(session, changes["team"] or [])
    for key in ("title", "starts_on", "ends_on", "status"):
        if key in changes and changes[key] is None:
            raise InvalidInput(f"{key} cannot be empty", details={"field": key})
    starts = changes.get("starts_on", i.starts_on)
    ends = changes.get("ends_on", i.ends_on)
    if ends < starts:
        raise InvalidInput("ends_on is before starts_on", message_zh="结束日期早于开始日期")
    before = {k: _plain(getattr(i, k)) for k in changes}
    new_version = session.execute(
        update(Inspection)
        .where(Inspection.id == i.id, Inspection.version == expected)
        .values(**changes, version=Inspection.version + 1, updated_at=func.now())
        .returning(Inspection.version)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if new_version is None:
        raise stale("inspection", i.id, i.version, expected)
    session.expire(i)
    audit.record(
        session,
        actor=principal.username,
        action="inspection.update",
        object_type="inspection",
        object_id=i.id,
        before=before | {"version": expected},
        after={k: _plain(v) for k, v in changes.items()} | {"version": new_version},
    )
    return read_inspection(session, i.id, principal=principal)


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


# ---------------------------------------------------------------- checks
def check_dict(c: InspectionCheck) -> dict[str, Any]:
    return {
        "id": c.id,
        "inspection_id": c.inspection_id,
        "building_id": c.building_id,
        "floor_id": c.floor_id,
        "room_id": c.room_id,
        "region_adcode": c.region_adcode,
        "agency_id": c.agency_id,
        "checked_on": c.checked_on.isoformat(),
        "inspector": c.inspector,
        "measured_area_m2": _plain(c.measured_area_m2),
        "register_area_m2": _plain(c.register_area_m2),
        "area_difference_m2": (
            float(c.measured_area_m2 - c.register_area_m2)
            if c.measured_area_m2 is not None and c.register_area_m2 is not None
            else None
        ),
        "actual_use": c.actual_use,
        "registered_category": c.registered_category,
        "use_matches": (
            None
            if c.actual_use is None or c.registered_category is None
            else c.actual_use == c.registered_category
        ),
        "occupant_found": c.occupant_found,
        "occupants_registered": list(c.occupants_registered or []),
        "lease_found": c.lease_found,
        "lease_note": c.lease_note,
        "notes": c.notes,
        "outcome": c.outcome,
        "finding_id": c.finding_id,
        "version": c.version,
    }


def _require_writer(i: Inspection, principal: Principal) -> None:
    if principal.has_any("admin"):
        return
    if i.team and principal.username not in i.team and principal.username != i.created_by:
        raise Forbidden(
            "only members of the inspection team record checks",
            message_zh="仅检查组成员可以录入核查结果",
        )


def _pct(excess: Decimal, allowed: Decimal | None) -> Decimal | None:
    if allowed is None or allowed == 0:
        return None
    return (excess / allowed * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _standard_version(session: Session, day: dt.date) -> str:
    try:
        return standards.resolve_version(session, day, None)
    except DomainError:
        return "manual"


def _manual_object(body: CheckCreate, room_id: int | None, floor_id: int | None) -> tuple[str, str]:
    if room_id is not None:
        return "room", str(room_id)
    if floor_id is not None:
        return "floor", str(floor_id)
    return "building", str(body.building_id)


def _check_manual(
    session: Session,
    body: CheckCreate,
    *,
    room: Room | None,
    floor_id: int | None,
) -> None:
    """Refuse a manual finding that lacks its figures or duplicates an open one."""
    manual = body.manual_finding
    assert manual is not None
    if (
        manual.rule_code == "manual.area_mismatch"
        and manual.measured is None
        and (body.measured_area_m2 is None or room is None)
    ):
        raise InvalidInput(
            "an area mismatch needs the measured area of a registered room",
            message_zh="账实不符须填写已登记房间的实测面积",
        )
    object_type, object_id = _manual_object(body, room.id if room else None, floor_id)
    existing = session.scalars(
        select(ComplianceFinding.id).where(
            ComplianceFinding.rule_code == manual.rule_code,
            ComplianceFinding.object_type == object_type,
            ComplianceFinding.object_id == object_id,
            ComplianceFinding.status != "closed",
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"an open finding {manual.rule_code} on this {object_type} exists: confirm it",
            message_zh="该对象已有同类未关闭问题，请确认该问题",
            details={"finding": existing},
        )


def raise_manual_finding(
    session: Session,
    *,
    check: InspectionCheck,
    body: CheckCreate,
    principal: Principal,
) -> ComplianceFinding:
    """A finding raised on site, with the same fields as the rules' findings (audited)."""
    manual = body.manual_finding
    assert manual is not None
    measured, allowed = manual.measured, manual.allowed
    unit = manual.unit
    if manual.rule_code == "manual.area_mismatch" and measured is None:
        measured, allowed, unit = check.measured_area_m2, check.register_area_m2, "m2"
    excess = None
    if measured is not None and allowed is not None:
        excess = (measured - allowed).quantize(Decimal("0.01"))
    object_type, object_id = _manual_object(body, check.room_id, check.floor_id)
    now = clock.now()
    f = ComplianceFinding(
        rule_code=manual.rule_code,
        object_type=object_type,
        object_id=object_id,
        room_id=check.room_id,
        floor_id=check.floor_id,
        building_id=check.building_id,
        agency_id=check.agency_id,
        region_adcode=check.region_adcode,
        measured=measured,
        allowed=allowed,
        excess_m2=excess if unit == "m2" else None,
        excess_pct=_pct(excess, allowed) if excess is not None else None,
        standard_version=_standard_version(session, check.checked_on),
        evaluated_at=now,
        status="open",
        details={
            "unit": unit,
            "source": "manual",
            "check_id": check.id,
            "inspection_id": check.inspection_id,
            "raised_by": principal.username,
            "note": manual.note,
        },
        first_seen_at=now,
    )
    session.add(f)
    session.flush()
    audit.record(
        session,
        actor=principal.username,
        action="compliance.finding.manual",
        object_type="compliance_finding",
        object_id=f.id,
        after=finding_public(f),
    )
    return f


def record_check(
    session: Session,
    inspection_id: int,
    body: CheckCreate,
    *,
    principal: Principal,
    today: dt.date,
) -> dict[str, Any]:
    """Record one on-site check; confirm a rule finding or raise a manual one (audited)."""
    i = get_inspection(session, inspection_id, principal=principal)
    _require_writer(i, principal)
    if i.status == "completed":
        raise Conflict("the inspection is completed", message_zh="检查已结束，不能再录入")
    building = _sampled_building(session, i, body.building_id, principal.scope)
    room, floor_id = _checked_place(session, building, body, principal.scope)
    checked_on = body.checked_on or today
    if checked_on > today:
        raise InvalidInput("checked_on is in the future", message_zh="核查日期不能晚于今天")
    confirm: ComplianceFinding | None = None
    if body.confirm_finding_id is not None:
        confirm = _confirmable_finding(session, body.confirm_finding_id, building, principal.scope)
    elif body.manual_finding is not None:
        _check_manual(session, body, room=room, floor_id=floor_id)
    check = InspectionCheck(
        inspection_id=i.id,
        building_id=building.id,
        floor_id=floor_id,
        room_id=room.id if room else None,
        region_adcode=building.region_adcode,
        agency_id=(room.agency_id if room and room.agency_id else building.agency_id),
        checked_on=checked_on,
        inspector=principal.username,
        measured_area_m2=body.measured_area_m2,
        register_area_m2=room.usable_area_m2 if room else None,
        actual_use=body.actual_use,
        registered_category=room.category if room else None,
        occupant_found=body.occupant_found,
        occupants_registered=_registered_occupants(session, room, checked_on),
        lease_found=body.lease_found,
        lease_note=body.lease_note,
        notes=body.notes,
        outcome="no_issue",
    )
    session.add(check)
    session.flush()
    # the check's id is needed first: a manual finding points back at its check
    if confirm is not None:
        check.outcome, check.finding_id = "confirmed", confirm.id
    elif body.manual_finding is not None:
        f = raise_manual_finding(session, check=check, body=body, principal=principal)
        check.outcome, check.finding_id = "manual_finding", f.id
    if i.status == "planned":
        i.status = "in_progress"
        i.version += 1
    session.flush()
    result = check_dict(check)
    audit.record(
        session,
        actor=principal.username,
        action="inspection.check",
        object_type="inspection_check",
        object_id=check.id,
        after=result,
    )
    return result


def _sampled_building(session: Session, i: Inspection, building_id: int, scope: Scope) -> Building:
    """The checked building: visible to the caller and among the inspection's sample."""
    building = session.scalars(
        select(Building).where(Building.id == building_id, scopes.buildings(scope))
    ).one_or_none()
    if building is None:
        raise not_found("building", building_id)
    in_sample = session.execute(
        select(InspectionBuilding.building_id).where(
            InspectionBuilding.inspection_id == i.id,
            InspectionBuilding.building_id == building.id,
        )
    ).first()
    if in_sample is None:
        raise InvalidInput(
            f"building {building.id} is not among the inspection's buildings",
            message_zh="该办公楼不在本次检查的抽取范围内",
            details={"building": building.id},
        )
    return building


def _checked_place(
    session: Session, building: Building, body: CheckCreate, scope: Scope
) -> tuple[Room | None, int | None]:
    """The checked room (if any) and floor, both within the building; a room gives its floor."""
    floor_id = body.floor_id
    if body.room_id is None:
        if floor_id is not None:
            found = session.execute(
                select(Floor.id).where(Floor.id == floor_id, Floor.building_id == building.id)
            ).first()
            if found is None:
                raise not_found("floor", floor_id)
        return None, floor_id
    room = session.scalars(
        select(Room).where(Room.id == body.room_id, scopes.rooms(scope))
    ).one_or_none()
    if room is None:
        raise not_found("room", body.room_id)
    if room.building_id != building.id or (floor_id is not None and room.floor_id != floor_id):
        raise InvalidInput(
            "the room is not in that building/floor",
            message_zh="房间不属于所填办公楼或楼层",
            details={"room": room.id},
        )
    return room, room.floor_id


def _registered_occupants(
    session: Session, room: Room | None, checked_on: dt.date
) -> list[str] | None:
    """Who the register says used the room on the day of the check (kept with the check)."""
    if room is None:
        return None
    return [
        str(n or "")
        for n in session.scalars(
            select(Occupancy.person_name)
            .where(
                Occupancy.room_id == room.id,
                timekeeping.active_on(Occupancy.start_date, Occupancy.end_date, checked_on),
            )
            .order_by(Occupancy.id)
        )
    ]


def _confirmable_finding(
    session: Session, finding_id: int, building: Building, scope: Scope
) -> ComplianceFinding:
    """A rule finding the check confirms: still open, and about the checked building."""
    confirm = compliance.get_finding(session, finding_id, scope=scope)
    if confirm.status == "closed" or confirm.building_id != building.id:
        raise InvalidInput(
            "only an open finding of the checked building can be confirmed",
            message_zh="只能确认本楼未关闭的问题",
            details={"finding": confirm.id},
        )
    return confirm


def list_checks(
    session: Session, inspection_id: int, *, principal: Principal, page: Page
) -> dict[str, Any]:
    i = get_inspection(session, inspection_id, principal=principal)
    where = [InspectionCheck.inspection_id == i.id, check_visible(principal.scope)]
    matched = session.execute(select(func.count()).select_from(InspectionCheck).where(*where))
    rows = session.scalars(
        select(InspectionCheck)
        .where(*where)
        .order_by(InspectionCheck.id)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    return {
        "numberMatched": matched.scalar_one(),
        "numberReturned": len(rows),
        "items": [check_dict(c) for c in rows],
    }


def get_check(session: Session, check_id: int, *, principal: Principal) -> InspectionCheck:
    found = session.scalars(
        select(InspectionCheck)
        .join(Inspection, Inspection.id == InspectionCheck.inspection_id)
        .where(
            InspectionCheck.id == check_id,
            check_visible(principal.scope),
            inspection_visible(principal.scope),
        )
    ).one_or_none()
    if found is None:
        raise not_found("check", check_id)
    return found


def building_register(
    session: Session, inspection_id: int, building_id: int, *, principal: Principal
) -> dict[str, Any]:
    """What the register says about one building of the inspection (the check form's data):
    current floors, rooms with area, category, agency and occupants, and open findings."""
    i = get_inspection(session, inspection_id, principal=principal)
    scope = principal.scope
    ok = session.execute(
        select(InspectionBuilding.building_id)
        .join(Building, Building.id == InspectionBuilding.building_id)
        .where(
            InspectionBuilding.inspection_id == i.id,
            InspectionBuilding.building_id == building_id,
            scopes.buildings(scope),
        )
    ).first()
    if ok is None:
        raise not_found("building", building_id)
    floors = session.execute(
        select(Floor.id, Floor.level, Floor.name)
        .where(Floor.building_id == building_id, Floor.valid_to.is_(None), scopes.floors(scope))
        .order_by(Floor.level)
    ).all()
    rooms = session.execute(
        select(
            Room.id, Room.floor_id, Room.number, Room.category, Room.usable_area_m2, Room.agency_id
        )
        .join(Floor, Floor.id == Room.floor_id)
        .where(
            Room.building_id == building_id,
            Floor.valid_to.is_(None),
            scopes.rooms(scope),
        )
        .order_by(Room.floor_id, Room.number, Room.id)
    ).all()
    findings = session.scalars(
        select(ComplianceFinding)
        .where(
            ComplianceFinding.building_id == building_id,
            ComplianceFinding.status != "closed",
            scopes.findings(scope),
        )
        .order_by(ComplianceFinding.id)
        .limit(500)
    ).all()
    return {
        "inspection_id": i.id,
        "building_id": building_id,
        "floors": [{"id": f.id, "level": f.level, "name": f.name} for f in floors],
        "rooms": [
            {
                "id": r.id,
                "floor_id": r.floor_id,
                "number": r.number,
                "category": r.category,
                "usable_area_m2": float(r.usable_area_m2),
                "agency_id": r.agency_id,
            }
            for r in rooms
        ],
        "open_findings": scopes.findings_as_seen(
            session, scope, [finding_public(f) for f in findings]
        ),
    }


__all__ = ["MANUAL_RULE_NAMES", "create_inspection", "draw_key", "list_inspections", "record_check"]
