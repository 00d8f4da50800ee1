"""Audit trail: append-only for the application, tampering detected by the verifier."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.audit import service as audit


def _event(db: Session) -> int:
    return audit.record(
        db, actor="tester", action="test.write", object_type="building", object_id=1,
        before={"name": "a"}, after={"name": "b"},
    ).id  # fmt: skip


def test_the_chain_verifies(db: Session) -> None:
    _event(db)
    _event(db)
    result = audit.verify(db)
    assert result.ok and result.checked >= 2


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_audit_events_are_append_only(db: Session, sql: str) -> None:
    _event(db)
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(sql))


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_tampering_as_superuser_is_detected(db: Session, tamper: str) -> None:
    first, target, last = _event(db), _event(db), _event(db)
    # a superuser can switch triggers off; the hash chain still gives it away
    db.execute(text("SET LOCAL session_replication_role = replica"))
    if tamper == "edit":
        db.execute(
            text('UPDATE audit_events SET after = \'{"name": "forged"}\' WHERE id = :i'),
            {"i": target},
        )
        expected = target
    else:
        db.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": target})
        expected = last
    db.execute(text("SET LOCAL session_replication_role = origin"))
    result = audit.verify(db)
    assert not result.ok
    assert expected in [i for i, _ in result.broken]
    assert first not in [i for i, _ in result.broken]


def test_the_application_role_cannot_touch_audit_events(db: Session) -> None:
    _event(db)
    db.execute(text("SET LOCAL ROLE officemap_app"))
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE audit_events SET actor = 'x'"))
    db.execute(text("RESET ROLE"))
