"""The second wall is live: the app's own connections run as a role RLS applies to (0008)."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.accounts import users
from backend.db.async_pool import PoolReader, compile_statement
from backend.db.models import Room
from backend.services.scope import Scope
from tests.conftest import as_app_role

FORCED = [
    "agencies",
    "agency_staffing",
    "buildings",
    "floors",
    "rooms",
    "occupancies",
    "compliance_findings",
    "leases",
    "approved_uses",
    "compliance_evaluations",
    "plan_imports",
    "plan_files",
    "users",
    "audit_events",
    "row_history",
]


def count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def test_the_app_engine_signs_in_as_an_ordinary_login_role(app: Any, engine: Engine) -> None:
    """create_app's own engine (not the test's session): not owner, superuser nor BYPASSRLS,
    and without the scope settings it sees no rows at all."""
    from backend.db import session as db_session

    with db_session.engine().connect() as conn:
        user, superuser, bypass = conn.execute(
            text(
                "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles"
                " WHERE rolname = current_user"
            )
        ).one()
        assert (user, superuser, bypass) == ("officemap_web", False, False)
        assert conn.execute(
            text("SELECT pg_has_role(current_user, 'officemap_app', 'USAGE')")
        ).scalar_one()
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                " AND pg_has_role(current_user, relowner, 'USAGE')"
            )
        ).scalar_one()
        assert owned == 0
        for table in ("rooms", "buildings", "users", "audit_events", "compliance_findings"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0  # noqa: S608
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("UPDATE audit_events SET actor = 'x'"))
    with engine.connect() as owner:
        assert owner.execute(text("SELECT count(*) FROM rooms")).scalar_one() > 0


def test_the_async_pool_signs_in_as_the_app_role_too(app_database_url: str) -> None:
    reader = PoolReader(app_database_url, size=1)
    who = compile_statement(select(func.current_user()))
    rooms = compile_statement(select(func.count()).select_from(Room))

    async def go() -> list[Any]:
        try:
            return await reader.fetch([(who, {}), (rooms, {})])
        finally:
            await reader.close()

    # in a thread of its own: the session's Playwright may hold this thread's event loop
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, go()).result() == [("officemap_web",), (0,)]


def test_requests_run_as_the_app_role(app: Any, db: Session) -> None:
    """The test app's requests switch the rolled-back session to officemap_app: a query
    there without the scope settings sees nothing, with them it sees the scope."""
    with as_app_role(db):
        assert db.execute(text("SELECT current_user")).scalar_one() == "officemap_app"
        assert count(db, "rooms") == 0
        users.apply_database_scope(db, Scope.everything())
        assert count(db, "rooms") > 0
    assert db.execute(text("SELECT current_user")).scalar_one() != "officemap_app"


@pytest.mark.parametrize("table", FORCED)
def test_forced_policies_and_no_scope_sees_nothing(db: Session, table: str) -> None:
    forced, enabled = db.execute(
        text(
            "SELECT relforcerowsecurity, relrowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"
        ),
        {"t": table},
    ).one()
    assert forced and enabled
    with as_app_role(db):
        assert count(db, table) == 0


def test_every_scoped_table_the_app_may_write_has_forced_row_level_security(db: Session) -> None:
    """No table with scoped data slips through: every table officemap_app may insert, update
    or delete that holds something of an agency, building, floor, room or region (or is the
    users, audit or history table) has FORCE ROW LEVEL SECURITY."""
    loose = db.execute(
        text(
            """
            SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
              AND (has_table_privilege('officemap_app', c.oid, 'INSERT')
                   OR has_table_privilege('officemap_app', c.oid, 'UPDATE')
                   OR has_table_privilege('officemap_app', c.oid, 'DELETE'))
              AND (c.relname IN ('users', 'audit_events', 'row_history')
                   OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND NOT a.attisdropped AND a.attname IN
                              ('agency_id', 'building_id', 'floor_id', 'room_id',
                               'region_adcode')))
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
            """
        )
    ).scalars()
    assert list(loose) == []


@pytest.mark.parametrize("table", ["audit_events", "row_history"])
def test_audit_and_history_are_insert_only_for_the_app(db: Session, table: str) -> None:
    privileges = {
        p: db.execute(
            text("SELECT has_table_privilege('officemap_app', :t, :p)"), {"t": table, "p": p}
        ).scalar_one()
        for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    }
    assert privileges == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
    }
    with as_app_role(db):
        users.apply_database_scope(db, Scope.everything())
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}", f"TRUNCATE {table}"):  # noqa: S608
            with pytest.raises(DBAPIError, match="permission denied"), db.begin_nested():
                db.execute(text(sql))
    # the append-only trigger stays for the owner
    trigger = db.execute(
        text("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_events_no_update'")
    ).scalar_one()
    assert trigger == 1


def test_history_cannot_be_back_dated(db: Session) -> None:
    room = db.execute(text("SELECT id, agency_id FROM rooms LIMIT 1")).one()
    with as_app_role(db):
        users.apply_database_scope(db, Scope.everything())
        with pytest.raises(DBAPIError, match="row-level security"), db.begin_nested():
            db.execute(
                text(
                    "INSERT INTO row_history (table_name, row_id, operation, valid_to, data)"
                    " VALUES ('rooms', :r, 'U', :t, '{}')"
                ),
                {"r": room.id, "t": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
            )
        # an update through the trigger does write history (valid_to = now)
        db.execute(text("UPDATE rooms SET number = 'h1' WHERE id = :r"), {"r": room.id})
        assert (
            db.execute(
                text("SELECT count(*) FROM row_history WHERE table_name = 'rooms' AND row_id = :r"),
                {"r": room.id},
            ).scalar_one()
            >= 1
        )


def test_history_follows_the_scope(db: Session) -> None:
    agency, other = db.execute(
        text(
            "SELECT a.agency_id, b.agency_id FROM"
            " (SELECT agency_id FROM rooms WHERE agency_id IS NOT NULL LIMIT 1) a,"
            " (SELECT agency_id FROM rooms WHERE agency_id IS NOT NULL ORDER BY agency_id DESC"
            " LIMIT 1) b"
        )
    ).one()
    assert agency != other
    mine = db.execute(
        text("SELECT id FROM rooms WHERE agency_id = :a LIMIT 1"), {"a": agency}
    ).scalar_one()
    theirs = db.execute(
        text("SELECT id FROM rooms WHERE agency_id = :a LIMIT 1"), {"a": other}
    ).scalar_one()
    db.execute(
        text("UPDATE rooms SET number = number || 'x' WHERE id IN (:m, :t)"),
        {"m": mine, "t": theirs},
    )
    with as_app_role(db):
        users.apply_database_scope(db, Scope(agencies=frozenset({agency})))
        seen = set(
            db.execute(
                text(
                    "SELECT row_id FROM row_history WHERE table_name = 'rooms' AND row_id IN (:m, :t)"
                ),
                {"m": mine, "t": theirs},
            ).scalars()
        )
    assert seen == {mine}


def test_a_user_row_is_visible_to_itself_and_to_unrestricted_scopes(db: Session) -> None:
    total = count(db, "users")
    assert total >= 2
    with as_app_role(db):
        users.apply_database_scope(db, Scope(agencies=frozenset({1})))
        assert count(db, "users") == 0
        users.claim_user(db, "planner")
        assert list(db.execute(text("SELECT username FROM users")).scalars()) == ["planner"]
        users.apply_database_scope(db, Scope.everything())
        assert count(db, "users") == total


def test_audit_events_follow_the_scope(db: Session, client_as: Any) -> None:
    """An officer sees only events about objects of their agency, yet still appends to the
    one chain (the head comes through officemap_audit_head())."""
    from backend.audit import service as audit

    agency = db.execute(
        text("SELECT agencies[1] FROM users WHERE username = 'officer'")
    ).scalar_one()
    own_room = db.execute(
        text("SELECT id FROM rooms WHERE agency_id = :a LIMIT 1"), {"a": agency}
    ).scalar_one()
    other_room = db.execute(
        text("SELECT id FROM rooms WHERE agency_id <> :a LIMIT 1"), {"a": agency}
    ).scalar_one()
    audit.record(db, actor="t", action="room.update", object_type="room", object_id=other_room)
    with as_app_role(db):
        users.apply_database_scope(db, Scope(agencies=frozenset({agency})))
        ev = audit.record(
            db, actor="officer", action="room.update", object_type="room", object_id=own_room
        )
        visible = set(db.execute(text("SELECT object_id FROM audit_events")).scalars())
        assert str(own_room) in visible and str(other_room) not in visible
    assert audit.verify(db).ok
    assert ev.prev_hash is not None
