"""Audit trail: every write appends one event, hash-chained and keyed.

``hash = sha256(prev_hash | canonical JSON of the event)`` chains the events in plain
sight; ``mac = HMAC-SHA256(key, id | prev_mac | prev_hash | hash)`` chains them with a key
kept outside the database (``OFFICEMAP_AUDIT_KEY`` or ``<state dir>/audit-key``), so even a
superuser who rewrites events and recomputes the plain hashes cannot make them verify.
Truncating the newest events leaves a shorter chain that verifies on its own: the chain
head (newest id and MAC, ``officemap audit head``) exported and kept elsewhere catches it
(``officemap audit verify --head FILE``).

Events written before migration 0008 have no MAC: the first keyed event (``audit.seal``,
appended by ``officemap serve`` / ``db upgrade`` when the newest event has none) covers
them through its ``prev_hash``; after it, an event without a MAC is reported as inserted.

Appends take a transaction-level advisory lock so the chain stays linear under concurrent
writers; the newest event is read through ``officemap_audit_head()`` (the app role's own
SELECT sees only events within the caller's scope).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, insert, select, text
from sqlalchemy.orm import Session

from backend.db.models import AuditEvent
from backend.services import scope as scopes
from backend.services.scope import Scope
from backend.settings import audit_settings, state_settings
from backend.state_secrets import state_secret

AUDIT_LOCK_KEY = 0x0FF1CE
_key_lock = threading.Lock()
_key: bytes | None = None


def _canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(prev_hash: str | None, event: dict[str, Any]) -> str:
    """Chain hash of one event.

    >>> event_hash(None, {"a": 1})[:12]
    '447a35fbc2b4'
    """
    return hashlib.sha256(((prev_hash or "") + "|" + _canonical(event)).encode()).hexdigest()


def audit_key() -> bytes:
    """OFFICEMAP_AUDIT_KEY, or a random key generated once into the state dir (0600).

    Loaded once per process (``officemap serve`` loads it before dropping root, so the
    file can stay readable by root only).
    """
    global _key
    with _key_lock:
        if _key is None:
            configured = audit_settings().key
            if configured:
                _key = configured.encode()
            else:
                _key = state_secret(state_settings().dir / "audit-key").encode()
        return _key


def use_key(key: bytes | None) -> None:
    """Replace the process's key (tests; ``None`` loads it again from the settings)."""
    global _key
    with _key_lock:
        _key = key


def event_mac(
    key: bytes, event_id: int, prev_mac: str | None, prev_hash: str | None, hash_: str
) -> str:
    """Keyed chain value of one event: it binds the id, the previous MAC and the hashes."""
    msg = f"{event_id}|{prev_mac or ''}|{prev_hash or ''}|{hash_}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


_HEAD = text("SELECT id, hash, mac FROM officemap_audit_head()")
_NEXT_ID = text("SELECT nextval(pg_get_serial_sequence('audit_events', 'id'))")


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
    """Append one audit event in the caller's transaction.

    Written without RETURNING (an INSERT … RETURNING would need the new event to be
    visible to the caller's scope); the returned event is not attached to the session.
    """
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    head = session.execute(_HEAD).one()
    prev, prev_mac = head.hash, head.mac
    event_id = int(session.execute(_NEXT_ID).scalar_one())
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
    digest = event_hash(prev, body)
    values: dict[str, Any] = {
        "id": event_id,
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": body["object_id"],
        "before": json.loads(_canonical(before)) if before is not None else None,
        "after": json.loads(_canonical(after)) if after is not None else None,
        "prev_hash": prev,
        "hash": digest,
        "mac": event_mac(audit_key(), event_id, prev_mac, prev, digest),
    }
    session.execute(insert(AuditEvent).values(**values))
    return AuditEvent(**values)


def seal(session: Session, *, actor: str = "system") -> AuditEvent | None:
    """Append a keyed ``audit.seal`` event when the newest event has no MAC (events from
    before migration 0008): its MAC covers them all through the plain hash chain."""
    head = session.execute(_HEAD).one()
    if head.id is None or head.mac is not None:
        return None
    legacy = session.execute(text("SELECT count(*) FROM audit_events WHERE mac IS NULL")).scalar()
    return record(
        session,
        actor=actor,
        action="audit.seal",
        object_type="audit",
        object_id=None,
        after={"unkeyed_events": legacy, "head": {"id": head.id, "hash": head.hash}},
    )


def export_head(session: Session) -> dict[str, Any]:
    """The chain head to keep outside the database: newest event id, hash and MAC."""
    head = session.execute(_HEAD).one()
    return {
        "id": head.id,
        "hash": head.hash,
        "mac": head.mac,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
    }


@dataclass(frozen=True)
class Verification:
    """Outcome of re-computing the chain: the ids of events that do not check out."""

    checked: int
    broken: list[tuple[int, str]]
    unkeyed: int = 0  # events before the first keyed one (covered by its MAC if any)
    last: dict[str, Any] = field(default_factory=dict)  # newest event: id, hash, mac

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


def verify(
    session: Session,
    *,
    head: dict[str, Any] | None = None,
    key: bytes | None = None,
    batch: int = 5000,
) -> Verification:
    """Recompute every hash, link and MAC; report edited, inserted or removed events by id.

    ``head`` (from :func:`export_head`, kept outside the database) must still be in the
    chain with the same MAC: a trail truncated or rewritten after the export fails.
    """
    key = key if key is not None else audit_key()
    broken: list[tuple[int, str]] = []
    prev: str | None = None
    prev_mac: str | None = None
    keyed = False
    checked = unkeyed = 0
    seen_head: AuditEvent | None = None
    last: AuditEvent | None = None
    stmt = select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch)
    for ev in session.scalars(stmt):
        checked += 1
        last = ev
        if head is not None and ev.id == head.get("id"):
            seen_head = ev
        if ev.prev_hash != prev:
            broken.append((ev.id, "link to the previous event broken (event removed or reordered)"))
        if ev.hash != event_hash(ev.prev_hash, _body(ev)):
            broken.append((ev.id, "content does not match its hash (event edited)"))
        if ev.mac is None:
            if keyed:
                broken.append((ev.id, "no MAC after the keyed chain began (event inserted)"))
            else:
                unkeyed += 1
        else:
            if not hmac.compare_digest(
                ev.mac, event_mac(key, ev.id, prev_mac, ev.prev_hash, ev.hash)
            ):
                broken.append((ev.id, "MAC does not match (event rewritten, or another key)"))
            keyed = True
        prev, prev_mac = ev.hash, ev.mac
        session.expunge(ev)
    if head is not None:
        head_id = int(head.get("id") or 0)
        if seen_head is None and head_id:
            broken.append(
                (head_id, "the exported head event is missing (trail truncated or rewritten)")
            )
        elif seen_head is not None and (
            seen_head.mac != head.get("mac") or seen_head.hash != head.get("hash")
        ):
            broken.append((head_id, "the exported head event differs (trail rewritten)"))
    return Verification(
        checked=checked,
        broken=broken,
        unkeyed=unkeyed,
        last={"id": last.id, "hash": last.hash, "mac": last.mac} if last is not None else {},
    )


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
