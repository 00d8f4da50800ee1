"""The keyed audit chain: a superuser who rewrites events and recomputes the plain hashes,
or cuts off the newest events, is caught (by the MAC, and by an exported head)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from backend.audit import service as audit
from backend.db.models import AuditEvent


def _event(db: Session, n: int) -> int:
    return audit.record(
        db, actor="tester", action="test.write", object_type="building", object_id=n,
        before={"name": f"a{n}"}, after={"name": f"b{n}"},
    ).id  # fmt: skip


def _triggers_off(db: Session) -> None:
    # a superuser can switch the append-only triggers off
    db.execute(text("SET LOCAL session_replication_role = replica"))


def _rehash_from(db: Session, first_id: int) -> None:
    """What a superuser without the key can do: recompute every plain hash and link."""
    prev = db.execute(
        text("SELECT hash FROM audit_events WHERE id < :i ORDER BY id DESC LIMIT 1"),
        {"i": first_id},
    ).scalar()
    rows = db.execute(
        text("SELECT id FROM audit_events WHERE id >= :i ORDER BY id"), {"i": first_id}
    ).scalars()
    for event_id in list(rows):
        ev = db.get(AuditEvent, event_id, populate_existing=True)
        assert ev is not None
        new_hash = audit.event_hash(prev, audit._body(ev))
        db.execute(
            text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
            {"p": prev, "h": new_hash, "i": event_id},
        )
        prev = new_hash
    db.expire_all()


def test_a_rewrite_with_recomputed_hashes_is_detected(db: Session) -> None:
    first, target, last = _event(db, 1), _event(db, 2), _event(db, 3)
    assert audit.verify(db).ok
    _triggers_off(db)
    db.execute(
        text("""UPDATE audit_events SET after = '{"name": "forged"}' WHERE id = :i"""),
        {"i": target},
    )
    _rehash_from(db, target)
    # the plain chain is consistent again: only the key gives it away
    result = audit.verify(db)
    reasons = dict(result.broken)
    assert not result.ok
    assert "MAC" in reasons[target]
    assert all("hash" not in r and "link" not in r for r in reasons.values())
    assert first not in reasons
    assert last in reasons  # every later MAC covers the rewritten hash


def test_a_cut_off_tail_is_detected_against_the_exported_head(db: Session) -> None:
    _event(db, 1)
    _event(db, 2)
    head = audit.export_head(db)
    assert head["mac"] and head["id"]
    later = _event(db, 3)
    assert audit.verify(db, head=head).ok  # events after the export are fine
    _triggers_off(db)
    db.execute(text("DELETE FROM audit_events WHERE id >= :i"), {"i": head["id"]})
    assert later > head["id"]
    # what is left is a consistent chain on its own …
    assert audit.verify(db).ok
    # … but not against the head kept outside the database
    result = audit.verify(db, head=head)
    assert not result.ok
    assert result.broken == [
        (head["id"], "the exported head event is missing (trail truncated or rewritten)")
    ]


def test_a_head_that_was_rewritten_in_place_is_detected(db: Session) -> None:
    _event(db, 1)
    head = audit.export_head(db)
    _triggers_off(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": head["id"]})
    db.execute(
        text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), :i - 1)"),
        {"i": head["id"]},
    )
    _event(db, 99)  # same id again, recorded anew (with the key, as the app could)
    assert audit.verify(db).ok
    result = audit.verify(db, head=head)
    assert [i for i, _ in result.broken] == [head["id"]]


def test_another_key_does_not_verify(db: Session) -> None:
    _event(db, 1)
    assert not audit.verify(db, key=b"not the key").ok


def test_events_from_before_the_key_are_sealed(db: Session) -> None:
    """Events written before 0008 have no MAC; ``seal`` covers them with one keyed event,
    after which an event without a MAC counts as inserted."""
    _triggers_off(db)
    db.execute(text("DELETE FROM audit_events"))
    prev = None
    for n in range(3):  # the old, unkeyed way
        body = {
            "occurred_at": "2026-11-20T00:00:00+00:00",
            "actor": "old",
            "action": "test.write",
            "object_type": "building",
            "object_id": str(n),
            "before": None,
            "after": None,
        }
        h = audit.event_hash(prev, body)
        db.execute(
            text(
                "INSERT INTO audit_events (occurred_at, actor, action, object_type, object_id,"
                " prev_hash, hash) VALUES ('2026-11-20T00:00:00+00:00', 'old', 'test.write',"
                " 'building', :o, :p, :h)"
            ),
            {"o": str(n), "p": prev, "h": h},
        )
        prev = h
    before = audit.verify(db)
    assert before.ok and before.unkeyed == 3
    sealed = audit.seal(db)
    assert sealed is not None and sealed.action == "audit.seal"
    assert audit.seal(db) is None  # once
    after = audit.verify(db)
    assert after.ok and after.unkeyed == 3 and after.last["id"] == sealed.id
    # an unkeyed event slipped in after the seal is an insertion
    body = {
        "occurred_at": "2026-11-21T00:00:00+00:00",
        "actor": "old",
        "action": "test.write",
        "object_type": "building",
        "object_id": "9",
        "before": None,
        "after": None,
    }
    db.execute(
        text(
            "INSERT INTO audit_events (occurred_at, actor, action, object_type, object_id,"
            " prev_hash, hash) VALUES ('2026-11-21T00:00:00+00:00', 'old', 'test.write',"
            " 'building', '9', :p, :h)"
        ),
        {"p": sealed.hash, "h": audit.event_hash(sealed.hash, body)},
    )
    result = audit.verify(db)
    assert [r for _, r in result.broken] == ["no MAC after the keyed chain began (event inserted)"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_exports_the_head_and_verifies_against_it(
    engine: Engine, database_url: str, audit_key: bytes, tmp_path: Path
) -> None:
    env = dict(
        os.environ,
        OFFICEMAP_DATABASE_URL=database_url,
        OFFICEMAP_AUDIT_KEY=audit_key.decode(),
        OFFICEMAP_STATE_DIR=str(tmp_path / "state"),
    )
    head = _cli("audit", "head", env=env)
    assert head.returncode == 0, head.stderr
    exported = json.loads(head.stdout)
    assert set(exported) >= {"id", "hash", "mac"} and exported["mac"]
    head_file = tmp_path / "head.json"
    head_file.write_text(head.stdout)
    ok = _cli("audit", "verify", "--head", str(head_file), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact" in ok.stdout
    head_file.write_text(json.dumps({**exported, "mac": "0" * 64}))
    bad = _cli("audit", "verify", "--head", str(head_file), env=env)
    assert bad.returncode == 1
    assert f"TAMPERED event {exported['id']}" in bad.stdout
    wrong_key = _cli("audit", "verify", env={**env, "OFFICEMAP_AUDIT_KEY": "another key"})
    assert wrong_key.returncode == 1
    assert not (tmp_path / "state").exists()  # the key came from the setting
