"""Row-level security, the second wall: a role that is neither superuser nor BYPASSRLS."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from backend.accounts import users
from backend.services.scope import Scope


def as_app_role(db: Session, scope: Scope | None) -> None:
    if scope is not None:
        users.apply_database_scope(db, scope)
    db.execute(text("SET LOCAL ROLE officemap_app"))


def count(db: Session, table: str) -> int:
    return int(db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def test_the_role_is_an_ordinary_role(db: Session) -> None:
    row = db.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'officemap_app'")
    ).one()
    assert row == (False, False)


@pytest.mark.parametrize(
    "table", ["buildings", "floors", "rooms", "occupancies", "agencies", "agency_staffing"]
)
def test_no_scope_sees_nothing(db: Session, table: str) -> None:
    assert count(db, table) > 0
    as_app_role(db, None)
    assert count(db, table) == 0


def test_region_scope_matches_the_service_predicate(db: Session) -> None:
    from sqlalchemy import func, select

    from backend.db.models import Building, Room
    from backend.services import scope as scopes

    city = db.execute(
        text(
            "SELECT region_adcode - region_adcode % 100 FROM buildings WHERE region_adcode % 100 <> 0 ORDER BY id LIMIT 1"
        )
    ).scalar_one()
    scope = Scope(regions=frozenset({city}))
    expect_b = db.execute(
        select(func.count()).where(scopes.buildings(scope)).select_from(Building)
    ).scalar_one()
    expect_r = db.execute(
        select(func.count()).where(scopes.rooms(scope)).select_from(Room)
    ).scalar_one()
    as_app_role(db, scope)
    assert 0 < count(db, "buildings") == expect_b
    assert 0 < count(db, "rooms") == expect_r
    outside = db.execute(
        text("SELECT count(*) FROM buildings WHERE region_adcode NOT BETWEEN :lo AND :hi"),
        {"lo": city, "hi": city + 99},
    ).scalar_one()
    assert outside == 0


def test_agency_scope_and_writes_outside_are_refused(db: Session) -> None:
    agency = db.execute(
        text("SELECT agencies[1] FROM users WHERE username = 'officer'")
    ).scalar_one()
    other_room = db.execute(
        text("SELECT id FROM rooms WHERE agency_id <> :a LIMIT 1"), {"a": agency}
    ).scalar_one()
    own_room = db.execute(
        text("SELECT id FROM rooms WHERE agency_id = :a LIMIT 1"), {"a": agency}
    ).scalar_one()
    as_app_role(db, Scope(agencies=frozenset({agency})))
    assert db.execute(text("SELECT count(DISTINCT agency_id) FROM rooms")).scalar_one() == 1
    assert (
        db.execute(text("UPDATE rooms SET number = 'x' WHERE id = :r"), {"r": other_room}).rowcount
        == 0
    )
    assert (
        db.execute(text("UPDATE rooms SET number = 'x' WHERE id = :r"), {"r": own_room}).rowcount
        == 1
    )
    with pytest.raises(DBAPIError, match="row-level security"), db.begin_nested():
        db.execute(
            text("UPDATE rooms SET agency_id = agency_id + 1 WHERE id = :r"), {"r": own_room}
        )


def test_unrestricted_sees_everything(db: Session) -> None:
    total = count(db, "rooms")
    as_app_role(db, Scope.everything())
    assert count(db, "rooms") == total
