"""Audit trail: every write appends one event, hash-chained to the one before.

``hash = sha256(prev_hash | canonical JSON of the event)``; a verifier recomputes the chain.
Appends take a transaction-level advisory lock so the chain stays linear under
concurrent writers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session

from backend.db.models import AuditEvent
from backend.services import scope as scopes
from backend.services.scope import Scope

AUDIT_LOCK_KEY = 0x0FF1CE


def _canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(prev_hash: str | None, event: dict[str, Any]) -> str:
    """Chain hash of one event.

    >>> event_hash(None, {"a": 1})[:12]
    '447a35fbc2b4'
    """
    return hashlib.sha256(((prev_hash or "") + "|" + _canonical(event)).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    occurred_at = dt.datetime.now(dt.UTC)
    body = {
        "occurred_at": occurred_at.isoformat(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "before": before,
        "after": after,
    }
    ev = AuditEvent(
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=body["object_id"],
        before=json.loads(_canonical(before)) if before is not None else None,
        after=json.loads(_canonical(after)) if after is not None else None,
        prev_hash=prev,
        hash=event_hash(prev, body),
    )
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class Verification:
    """Outcome of re-computing the chain: the ids of events that do not check out."""

    checked: int
    broken: list[tuple[int, str]]

    @property
    def ok(self) -> bool:
        return not self.broken


def _body(ev: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": ev.occurred_at.astimezone(dt.UTC).isoformat(),
        "actor": ev.actor,
        "action": ev.action,
        "object_type": ev.object_type,
        "object_id": ev.object_id,
        "before": ev.before,
        "after": ev.after,
    }


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Recompute every hash and link; report edited, inserted or removed events by id."""
    broken: list[tuple[int, str]] = []
    prev: str | None = None
    checked = 0
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    for ev in session.scalars(stmt):
        checked += 1
        if ev.prev_hash != prev:
            broken.append((ev.id, "link to the previous event broken (event removed or reordered)"))
        if ev.hash != event_hash(ev.prev_hash, _body(ev)):
            broken.append((ev.id, "content does not match its hash (event edited)"))
        prev = ev.hash
    return Verification(checked=checked, broken=broken)


def visible_events(scope: Scope) -> ColumnElement[bool]:
    """Events about objects within ``scope`` (``backend.services.scope.audit_events``)."""
    return scopes.audit_events(scope)


def list_events(
    session: Session,
    *,
    scope: Scope,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Audit events within scope, newest first."""
    stmt = select(AuditEvent).where(visible_events(scope))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    rows = session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit).offset(offset))
    return [{"id": ev.id, **_body(ev), "prev_hash": ev.prev_hash, "hash": ev.hash} for ev in rows]
