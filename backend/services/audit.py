"""Audit trail: every write appends one event, hash-chained to the one before.

``hash = sha256(prev_hash | canonical JSON of the event)``; a verifier recomputes the chain.
Appends take a transaction-level advisory lock so the chain stays linear under
concurrent writers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from backend.db.models import AuditEvent

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
