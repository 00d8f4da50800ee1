"""Use cases of the asset lifecycle: leases (出租出借), maintenance (统一维修), disposal
(统一处置) and title (统一权属). Every record is scope-checked (backend/services/scope.py,
RLS behind it), every change names the version it was based on (If-Match) and writes one
audit event with before and after images — the audit trail is the record's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.accounts import access
from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.compliance import Lease
from backend.db.models import AuditEvent, Building, Floor, Room
from backend.lifecycle import schemas
from backend.lifecycle.models import Disposal, MaintenanceRequest, Title
from backend.services import scope as scopes
from backend.services.errors import Conflict, InvalidInput, check_version, not_found
from backend.services.scope import Scope

MANAGING_OFFICE = access.MANAGING_OFFICE  # the one definition (services/access.py)
REQUESTERS = access.roles_for("maintenance.request")
M = TypeVar("M")
P = TypeVar("P", bound=BaseModel)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, Decimal):
            v = str(v)
        elif isinstance(v, dt.date | dt.datetime):
            v = v.isoformat()
        out[k] = v
    return out


def _image(row: Any, public: type[BaseModel]) -> dict[str, Any]:
    return _json(public.model_validate(row).model_dump())


def _building(session: Session, building_id: int, scope: Scope, *, live: bool = True) -> Building:
    """A building the caller sees whole (its region or managing agency in scope)."""
    building = session.scalars(
        select(Building).where(Building.id == building_id, scopes.buildings_managed(scope))
    ).one_or_none()
    if building is None:
        raise not_found("building", building_id)
    if live and building.status == "disposed":
        raise Conflict(
            f"building {building_id} is disposed",
            message_zh="该建筑已处置，不在现有资产登记中",
            details={"building_id": building_id, "status": building.status},
        )
    return building


def _one(session: Session, model: type[M], public: type[P], key: int, visible: Any, what: str) -> P:
    """One record the caller may see, as its public schema (404 otherwise)."""
    row = session.scalars(
        select(model).where(model.id == key, visible)  # type: ignore[attr-defined]
    ).one_or_none()
    if row is None:
        raise not_found(what, key)
    return public.model_validate(row)


def _page(
    session: Session, model: Any, public: type[P], where: list[Any], limit: int, offset: int
) -> tuple[int, list[P]]:
    """Matching records (newest first) and how many match in all."""
    total = session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
    rows = session.scalars(
        select(model).where(*where).order_by(model.id.desc()).limit(limit).offset(offset)
    ).all()
    return int(total), [public.model_validate(r) for r in rows]


def _locked(session: Session, model: type[M], key: int, where: Any, expected: int, what: str) -> M:
    row = session.scalars(
        select(model).where(model.id == key, where).with_for_update()  # type: ignore[attr-defined]
    ).one_or_none()
    if row is None:
        raise not_found(what, key)
    check_version(what, key, row.version, expected)  # type: ignore[attr-defined]
    return row


def _state(row: Any, allowed: Sequence[str], what: str, field: str = "status") -> None:
    current = getattr(row, field)
    if current not in allowed:
        raise Conflict(
            f"{what} {row.id} is {current}",
            message_zh=f"当前状态（{current}）不允许此操作",
            details={"status": current, "allowed": list(allowed)},
        )


def _change(
    session: Session,
    principal: Principal,
    row: Any,
    public: type[P],
    *,
    action: str,
    kind: str,
    changes: dict[str, Any],
    then: Callable[[], None] | None = None,
) -> P:
    """Apply ``changes`` to a locked record as its next version, run ``then`` (what follows
    the change, e.g. compliance) and audit the change with before and after images."""
    before = _image(row, public)
    for k, v in changes.items():
        setattr(row, k, v)
    row.version += 1
    session.flush()
    if then is not None:
        then()
    _record(session, principal, action, kind, row.id, before, _image(row, public))
    return public.model_validate(row)


def _record(
    session: Session,
    principal: Principal,
    action: str,
    kind: str,
    key: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    audit.record(
        session,
        actor=principal.username,
        action=action,
        object_type=kind,
        object_id=key,
        before=before,
        after=after,
    )


def history(session: Session, kind: str, key: int, *, scope: Scope) -> list[dict[str, Any]]:
    """The audit events of one record, oldest first (the caller must see the record)."""
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == kind, AuditEvent.object_id == str(key))
        .order_by(AuditEvent.id)
    ).all()
    return [
        {
            "id": e.id,
            "occurred_at": e.occurred_at.isoformat() if e.occurred_at else None,
            "actor": e.actor,
            "action": e.action,
            "before": e.before,
            "after": e.after,
        }
        for e in rows
    ]


# ---------------------------------------------------------------- leases 出租出借
def _reevaluate_lease(session: Session, lease: Lease, principal: Principal) -> None:
    """Unapproved leases active today are findings (rule unapproved_lease)."""
    building = lease.building_id
    if building is None:
        building = session.execute(
            select(Room.building_id).where(Room.id == lease.room_id)
        ).scalar_one()
    compliance.follow(
        session,
        compliance.Target(floors=(), agencies=(), persons=(), buildings=(building,)),
        actor=principal.username,
    )


def get_lease(session: Session, lease_id: int, *, scope: Scope) -> schemas.LeasePublic:
    return _one(session, Lease, schemas.LeasePublic, lease_id, scopes.leases(scope), "lease")


def approve_lease(
    session: Session,
    lease_id: int,
    data: schemas.LeaseApprove,
    *,
    expected: int,
    principal: Principal,
) -> schemas.LeasePublic:
    principal.require(*access.roles_for("lease.approve"))
    lease = _locked(session, Lease, lease_id, scopes.leases(principal.scope), expected, "lease")
    if lease.approved:
        raise Conflict("the lease is already approved", message_zh="该出租出借已批准")
    if lease.ended_on is not None:
        raise Conflict("the lease has ended", message_zh="该出租出借已终止")
    return _change(
        session,
        principal,
        lease,
        schemas.LeasePublic,
        action="lease.approve",
        kind="lease",
        changes={
            "approved": True,
            "approval_ref": data.approval_ref,
            "approval_document": data.approval_document or lease.approval_document,
            "approved_by": principal.username,
            "approved_on": timekeeping.today(),
        },
        then=lambda: _reevaluate_lease(session, lease, principal),
    )


def end_lease(
    session: Session,
    lease_id: int,
    data: schemas.LeaseEnd,
    *,
    expected: int,
    principal: Principal,
) -> schemas.LeasePublic:
    principal.require(*access.roles_for("lease.approve"))
    lease = _locked(session, Lease, lease_id, scopes.leases(principal.scope), expected, "lease")
    if lease.ended_on is not None:
        raise Conflict("the lease has already ended", message_zh="该出租出借已终止")
    end = data.end_date or timekeeping.today()
    if end < lease.start_date:
        raise InvalidInput(
            "the end is before the start",
            message_zh="终止日期早于开始日期",
            details={"field": "end_date", "start_date": lease.start_date.isoformat()},
        )
    return _change(
        session,
        principal,
        lease,
        schemas.LeasePublic,
        action="lease.end",
        kind="lease",
        changes={
            "end_date": end if lease.end_date is None else min(end, lease.end_date),
            "ended_on": timekeeping.today(),
        },
        then=lambda: _reevaluate_lease(session, lease, principal),
    )


# ---------------------------------------------------------------- maintenance 统一维修
def _maintenance_visible(scope: Scope) -> Any:
    return scopes.building_records(scope, MaintenanceRequest)


def get_maintenance(session: Session, key: int, *, scope: Scope) -> schemas.MaintenancePublic:
    return _one(
        session,
        MaintenanceRequest,
        schemas.MaintenancePublic,
        key,
        _maintenance_visible(scope),
        "maintenance request",
    )


def list_maintenance(
    session: Session,
    *,
    scope: Scope,
    building_id: int | None = None,
    region: int | None = None,
    year: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[schemas.MaintenancePublic]]:
    where = [_maintenance_visible(scope)]
    if building_id is not None:
        where.append(MaintenanceRequest.building_id == building_id)
    if region is not None:
        where.append(MaintenanceRequest.region_adcode.between(*scopes.adcode_range(region)))
    if year is not None:
        where.append(MaintenanceRequest.year == year)
    if status is not None:
        where.append(MaintenanceRequest.status == status)
    return _page(session, MaintenanceRequest, schemas.MaintenancePublic, where, limit, offset)


def request_maintenance(
    session: Session, data: schemas.MaintenanceCreate, *, principal: Principal
) -> int:
    """A maintenance request for a building, one of its floors or one of its rooms."""
    principal.require(*REQUESTERS)
    building = _building(session, data.building_id, principal.scope)
    if data.floor_id is not None:
        floor = session.execute(
            select(Floor.building_id).where(Floor.id == data.floor_id)
        ).scalar_one_or_none()
        if floor != building.id:
            raise InvalidInput(
                f"floor {data.floor_id} is not a floor of building {building.id}",
                message_zh="该楼层不属于所选建筑",
                details={"field": "floor_id", "value": data.floor_id},
            )
    if data.room_id is not None:
        room = session.execute(
            select(Room.building_id, Room.floor_id).where(Room.id == data.room_id)
        ).one_or_none()
        if (
            room is None
            or room.building_id != building.id
            or (data.floor_id is not None and room.floor_id != data.floor_id)
        ):
            raise InvalidInput(
                f"room {data.room_id} is not a room of building {building.id}",
                message_zh="该房间不属于所选建筑（楼层）",
                details={"field": "room_id", "value": data.room_id},
            )
    values = data.model_dump()
    values.update(
        year=data.year or timekeeping.today().year,
        region_adcode=building.region_adcode,
        agency_id=building.agency_id,
        status="requested",
        created_by=principal.username,
    )
    key = int(
        session.execute(
            insert(MaintenanceRequest).values(**values).returning(MaintenanceRequest.id)
        ).scalar_one()
    )
    _record(session, principal, "maintenance.request", "maintenance", key, None, _json(values))
    return key


def _maintenance_step(
    session: Session,
    key: int,
    *,
    expected: int,
    principal: Principal,
    allowed: Sequence[str],
    action: str,
    changes: dict[str, Any],
) -> schemas.MaintenancePublic:
    principal.require(*access.roles_for("maintenance.decide"))
    row = _locked(
        session,
        MaintenanceRequest,
        key,
        _maintenance_visible(principal.scope),
        expected,
        "maintenance request",
    )
    _state(row, allowed, "maintenance request")
    return _change(
        session,
        principal,
        row,
        schemas.MaintenancePublic,
        action=action,
        kind="maintenance",
        changes=changes,
    )


def approve_maintenance(
    session: Session,
    key: int,
    data: schemas.MaintenanceApprove,
    *,
    expected: int,
    principal: Principal,
) -> schemas.MaintenancePublic:
    return _maintenance_step(
        session,
        key,
        expected=expected,
        principal=principal,
        allowed=("requested",),
        action="maintenance.approve",
        changes={
            **data.model_dump(),
            "status": "approved",
            "approved_by": principal.username,
            "approved_on": timekeeping.today(),
        },
    )


def reject_maintenance(
    session: Session,
    key: int,
    data: schemas.MaintenanceReject,
    *,
    expected: int,
    principal: Principal,
) -> schemas.MaintenancePublic:
    return _maintenance_step(
        session,
        key,
        expected=expected,
        principal=principal,
        allowed=("requested",),
        action="maintenance.reject",
        changes={"status": "rejected", "note": data.note},
    )


def complete_maintenance(
    session: Session,
    key: int,
    data: schemas.MaintenanceComplete,
    *,
    expected: int,
    principal: Principal,
) -> schemas.MaintenancePublic:
    done = data.completed_on or timekeeping.today()
    row = get_maintenance(session, key, scope=principal.scope)
    if row.approved_on is not None and done < row.approved_on:
        raise InvalidInput(
            "completed before it was approved",
            message_zh="完工日期早于批准日期",
            details={"field": "completed_on", "approved_on": row.approved_on.isoformat()},
        )
    return _maintenance_step(
        session,
        key,
        expected=expected,
        principal=principal,
        allowed=("approved",),
        action="maintenance.complete",
        changes={
            "status": "completed",
            "cost_actual_yuan": data.cost_actual_yuan,
            "completed_on": done,
            "evidence": data.evidence,
        },
    )


def maintenance_plan(
    session: Session, *, scope: Scope, region: int | None, year: int
) -> schemas.MaintenancePlan:
    """The year's maintenance per building: requests, approved, completed, costs."""
    where = [
        _maintenance_visible(scope),
        MaintenanceRequest.year == year,
        MaintenanceRequest.status != "rejected",
    ]
    if region is not None:
        where.append(MaintenanceRequest.region_adcode.between(*scopes.adcode_range(region)))
    m = MaintenanceRequest
    rows = session.execute(
        select(
            m.building_id,
            Building.name,
            func.count(),
            func.count().filter(m.status.in_(("approved", "completed"))),
            func.count().filter(m.status == "completed"),
            func.coalesce(func.sum(m.cost_estimate_yuan), 0),
            func.coalesce(func.sum(case((m.status == "completed", m.cost_actual_yuan))), 0),
        )
        .join(Building, Building.id == m.building_id)
        .where(*where)
        .group_by(m.building_id, Building.name)
        .order_by(m.building_id)
    ).all()
    items = [
        schemas.MaintenancePlanRow(
            building_id=b,
            building_name=n,
            requests=c,
            approved=a,
            completed=d,
            cost_estimate_yuan=e,
            cost_actual_yuan=x,
        )
        for b, n, c, a, d, e, x in rows
    ]
    return schemas.MaintenancePlan(
        region=region,
        year=year,
        buildings=items,
        cost_estimate_yuan=sum((i.cost_estimate_yuan for i in items), Decimal(0)),
        cost_actual_yuan=sum((i.cost_actual_yuan for i in items), Decimal(0)),
    )


# ---------------------------------------------------------------- disposal 统一处置
def _disposal_visible(scope: Scope) -> Any:
    return scopes.building_records(scope, Disposal)


def get_disposal(session: Session, key: int, *, scope: Scope) -> schemas.DisposalPublic:
    return _one(
        session, Disposal, schemas.DisposalPublic, key, _disposal_visible(scope), "disposal"
    )


def list_disposals(
    session: Session,
    *,
    scope: Scope,
    building_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[schemas.DisposalPublic]]:
    where = [_disposal_visible(scope)]
    if building_id is not None:
        where.append(Disposal.building_id == building_id)
    if status is not None:
        where.append(Disposal.status == status)
    return _page(session, Disposal, schemas.DisposalPublic, where, limit, offset)


def propose_disposal(
    session: Session, data: schemas.DisposalCreate, *, principal: Principal
) -> int:
    principal.require(*access.roles_for("disposal.write"))
    building = _building(session, data.building_id, principal.scope)
    pending = session.execute(
        select(Disposal.id).where(
            Disposal.building_id == building.id, Disposal.status.in_(("proposed", "approved"))
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"building {building.id} already has disposal {pending[0]} under way",
            message_zh="该建筑已有进行中的处置",
            details={"disposal_id": pending[0]},
        )
    values = data.model_dump()
    values.update(
        region_adcode=building.region_adcode,
        agency_id=building.agency_id,
        status="proposed",
        created_by=principal.username,
    )
    key = int(
        session.execute(insert(Disposal).values(**values).returning(Disposal.id)).scalar_one()
    )
    _record(session, principal, "disposal.propose", "disposal", key, None, _json(values))
    return key


def approve_disposal(
    session: Session,
    key: int,
    data: schemas.DisposalApprove,
    *,
    expected: int,
    principal: Principal,
) -> schemas.DisposalPublic:
    principal.require(*access.roles_for("disposal.write"))
    row = _locked(session, Disposal, key, _disposal_visible(principal.scope), expected, "disposal")
    _state(row, ("proposed",), "disposal")
    return _change(
        session,
        principal,
        row,
        schemas.DisposalPublic,
        action="disposal.approve",
        kind="disposal",
        changes={
            "status": "approved",
            "approval_ref": data.approval_ref,
            "approved_by": principal.username,
            "approved_on": data.approved_on or timekeeping.today(),
        },
    )


def complete_disposal(
    session: Session,
    key: int,
    data: schemas.DisposalComplete,
    *,
    expected: int,
    principal: Principal,
) -> schemas.DisposalPublic:
    """The building leaves the live register (status 'disposed'); its rows, history and
    this record stay."""
    principal.require(*access.roles_for("disposal.write"))
    row = _locked(session, Disposal, key, _disposal_visible(principal.scope), expected, "disposal")
    _state(row, ("approved",), "disposal")
    done = data.completed_on or timekeeping.today()
    if row.approved_on is not None and done < row.approved_on:
        raise InvalidInput(
            "completed before it was approved",
            message_zh="完成日期早于批准日期",
            details={"field": "completed_on", "approved_on": row.approved_on.isoformat()},
        )
    building = session.scalars(
        select(Building).where(Building.id == row.building_id).with_for_update()
    ).one()
    before = _image(row, schemas.DisposalPublic)
    row.building_status_before = building.status
    row.status = "completed"
    row.completed_on = done
    row.version += 1
    session.execute(
        update(Building)
        .where(Building.id == building.id)
        .values(status="disposed", version=Building.version + 1)
    )
    session.flush()
    # it leaves the live register: its findings (and its agencies' area figures) follow
    compliance.follow(
        session, compliance.target_for_buildings(session, [building.id]), actor=principal.username
    )
    after = _image(row, schemas.DisposalPublic)
    after["building"] = {"id": building.id, "status": "disposed"}
    before["building"] = {"id": building.id, "status": row.building_status_before}
    _record(session, principal, "disposal.complete", "disposal", key, before, after)
    return schemas.DisposalPublic.model_validate(row)


# ---------------------------------------------------------------- title 统一权属
def _title_visible(scope: Scope) -> Any:
    return scopes.building_records(scope, Title)


def get_title(session: Session, key: int, *, scope: Scope) -> schemas.TitlePublic:
    return _one(session, Title, schemas.TitlePublic, key, _title_visible(scope), "title")


def list_titles(
    session: Session,
    *,
    scope: Scope,
    building_id: int | None = None,
    current: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[schemas.TitlePublic]]:
    where = [_title_visible(scope)]
    if building_id is not None:
        where.append(Title.building_id == building_id)
    if current is not None:
        where.append((Title.status == "current") if current else (Title.status != "current"))
    return _page(session, Title, schemas.TitlePublic, where, limit, offset)


def _unique_certificate(session: Session, certificate_no: str) -> None:
    # uniqueness across the province (a certificate outside the caller's scope is still a
    # duplicate; the answer names no other record)
    if session.execute(select(Title.id).where(Title.certificate_no == certificate_no)).first():
        raise Conflict(
            "that certificate number is already registered",
            message_zh="该不动产权证号已登记",
            details={"field": "certificate_no"},
        )


def _insert_title(session: Session, values: dict[str, Any]) -> int:
    """Insert under a savepoint: a certificate number registered outside the caller's scope
    (invisible to the check above under row-level security) is a conflict, not an error."""
    try:
        with session.begin_nested():
            return int(
                session.execute(insert(Title).values(**values).returning(Title.id)).scalar_one()
            )
    except IntegrityError as e:
        raise Conflict(
            "that certificate number is already registered",
            message_zh="该不动产权证号已登记",
            details={"field": "certificate_no"},
        ) from e


def _sync_building(session: Session, building_id: int, title: Title) -> None:
    """The building's registered owner and certificate number follow its current title."""
    session.execute(
        update(Building)
        .where(Building.id == building_id)
        .values(
            registered_owner=title.holder,
            building_certificate_no=title.certificate_no,
            version=Building.version + 1,
        )
    )


def register_title(session: Session, data: schemas.TitleCreate, *, principal: Principal) -> int:
    principal.require(*access.roles_for("title.write"))
    building = _building(session, data.building_id, principal.scope, live=False)
    if session.execute(
        select(Title.id).where(Title.building_id == building.id, Title.status == "current")
    ).first():
        raise Conflict(
            f"building {building.id} already has a current title; transfer it instead",
            message_zh="该建筑已有现行产权证，请办理转移登记",
            details={"building_id": building.id},
        )
    _unique_certificate(session, data.certificate_no)
    values = data.model_dump()
    values.update(
        region_adcode=building.region_adcode,
        agency_id=building.agency_id,
        status="current",
        created_by=principal.username,
    )
    key = _insert_title(session, values)
    title = session.get(Title, key)
    assert title is not None
    _sync_building(session, building.id, title)
    _record(session, principal, "title.register", "title", key, None, _json(values))
    return key


def transfer_title(
    session: Session,
    key: int,
    data: schemas.TitleTransfer,
    *,
    expected: int,
    principal: Principal,
) -> schemas.TitlePublic:
    """A new certificate (e.g. in the managing office's name) supersedes the current one."""
    principal.require(*access.roles_for("title.write"))
    old = _locked(session, Title, key, _title_visible(principal.scope), expected, "title")
    _state(old, ("current",), "title")
    _unique_certificate(session, data.certificate_no)
    before = _image(old, schemas.TitlePublic)
    old.status = "superseded"
    old.version += 1
    session.flush()
    values = {
        "building_id": old.building_id,
        "region_adcode": old.region_adcode,
        "agency_id": old.agency_id,
        "certificate_no": data.certificate_no,
        "certified_area_m2": data.certified_area_m2 or old.certified_area_m2,
        "holder": data.holder,
        "issued_on": data.issued_on or timekeeping.today(),
        "document_ref": data.document_ref,
        "note": data.note,
        "status": "current",
        "created_by": principal.username,
    }
    new_id = _insert_title(session, values)
    old.superseded_by = new_id
    session.flush()
    new = session.get(Title, new_id)
    assert new is not None
    _sync_building(session, old.building_id, new)
    _record(
        session,
        principal,
        "title.transfer",
        "title",
        key,
        before,
        {**_image(old, schemas.TitlePublic), "new_title": _json(values) | {"id": new_id}},
    )
    return schemas.TitlePublic.model_validate(new)
