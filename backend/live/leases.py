"""Leases and loans (出租出借) written through the API: record one, change or end it.

Optimistic locking and audit as for every write (``backend.inventory.writes``); compliance
follows in the same transaction (the unapproved-lease finding of its building, and the idle
rules of the room's floor or of every floor of a leased building).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.compliance import service as compliance
from backend.db.compliance import Lease
from backend.db.models import Building, Room
from backend.inventory import writes
from backend.services import scope as scopes
from backend.services.errors import InvalidInput, NotFound

FORBID = ConfigDict(extra="forbid", str_strip_whitespace=True)
LeaseKind = Literal["rent_out", "lend"]


class LeaseCreate(BaseModel):
    """A room or a whole building rented out or lent (exactly one of the two)."""

    model_config = FORBID
    room_id: int | None = Field(default=None, ge=1)
    building_id: int | None = Field(default=None, ge=1)
    kind: LeaseKind
    counterparty: str | None = Field(default=None, max_length=200)
    approved: bool = False
    approval_ref: str | None = Field(default=None, max_length=120)
    start_date: dt.date
    end_date: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> LeaseCreate:
        if (self.room_id is None) == (self.building_id is None):
            raise ValueError("give exactly one of room_id and building_id")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class LeaseUpdate(BaseModel):
    model_config = FORBID
    counterparty: str | None = Field(default=None, max_length=200)
    approved: bool | None = None
    approval_ref: str | None = Field(default=None, max_length=120)
    end_date: dt.date | None = None


def lease_json(x: Lease) -> dict[str, Any]:
    return {
        "id": x.id,
        "room_id": x.room_id,
        "building_id": x.building_id,
        "agency_id": x.agency_id,
        "kind": x.kind,
        "counterparty": x.counterparty,
        "approved": x.approved,
        "approval_ref": x.approval_ref,
        "start_date": x.start_date.isoformat(),
        "end_date": x.end_date.isoformat() if x.end_date else None,
        "version": x.version,
    }


def get_lease(session: Session, lease_id: int, *, principal: Principal) -> Lease:
    x = session.scalars(
        select(Lease).where(Lease.id == lease_id, scopes.leases(principal.scope))
    ).one_or_none()
    if x is None:
        raise NotFound(f"lease {lease_id} not found", message_zh="出租出借记录不存在")
    return x


def list_leases(
    session: Session, *, principal: Principal, room: int | None, building: int | None
) -> list[Lease]:
    stmt = select(Lease).where(scopes.leases(principal.scope))
    if room is not None:
        stmt = stmt.where(Lease.room_id == room)
    if building is not None:
        rooms = select(Room.id).where(Room.building_id == building)
        stmt = stmt.where(or_(Lease.building_id == building, Lease.room_id.in_(rooms)))
    return list(session.scalars(stmt.order_by(Lease.id).limit(500)))


def create_lease(session: Session, data: LeaseCreate, *, principal: Principal) -> int:
    """Record a lease of a visible room, or of a building the caller sees whole."""
    if data.room_id is not None:
        agency = session.execute(
            select(Room.agency_id).where(Room.id == data.room_id, scopes.rooms(principal.scope))
        ).first()
        if agency is None:
            raise NotFound(f"room {data.room_id} not found", message_zh="房间不存在")
    else:
        agency = session.execute(
            select(Building.agency_id).where(
                Building.id == data.building_id, scopes.buildings_managed(principal.scope)
            )
        ).first()
        if agency is None:
            raise NotFound(f"building {data.building_id} not found", message_zh="办公楼不存在")
    if data.approved and not data.approval_ref:
        raise InvalidInput(
            "an approved lease names its approval (approval_ref)",
            message_zh="经批准的出租出借须填写批准文号",
            details={"field": "approval_ref"},
        )
    values = data.model_dump() | {"agency_id": agency[0]}
    lease_id = int(session.execute(insert(Lease).values(**values).returning(Lease.id)).scalar_one())
    audit.record(
        session,
        actor=principal.username,
        action="lease.create",
        object_type="lease",
        object_id=lease_id,
        after={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}
        | {"version": 1},
    )
    target = compliance.target_for_change(session, "lease", lease_id, {}, {})
    compliance.follow(session, target, actor=principal.username)
    return lease_id


def update_lease(
    session: Session, lease_id: int, data: LeaseUpdate, *, expected: int, principal: Principal
) -> int:
    """Change or end a lease (If-Match); compliance follows in the same transaction."""
    x = get_lease(session, lease_id, principal=principal)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("end_date") is not None and changes["end_date"] < x.start_date:
        raise InvalidInput("end_date is before start_date", details={"field": "end_date"})
    version = writes.apply_changes(
        session,
        principal=principal,
        model=Lease,
        what="lease",
        key=lease_id,
        expected=expected,
        changes=changes,
        visible=scopes.leases(principal.scope),
    )
    return version  # compliance followed inside the write
