"""Compliance follows every write: incremental results equal a full run.

Random edit sequences (hypothesis, bounded) go through the write services exactly as the
API calls them; after each sequence the live findings (every column a reader sees) must be
the same as what a full batch run over the province makes of the same register.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend import timekeeping
from backend.accounts.access import SYSTEM
from backend.compliance import service as compliance
from backend.db.compliance import ComplianceFinding, Lease
from backend.db.models import Agency, AgencyStaffing, Occupancy
from backend.inventory import writes
from backend.live import leases
from backend.services.errors import InvalidInput
from tests.backend.test_compliance import add_floor, add_room, make_site, occupy, staff

TODAY = dt.date(2026, 12, 1)


def live_findings(db: Session) -> set[tuple[Any, ...]]:
    """Every live finding as a reader sees it (ids, times and evaluation left out)."""
    db.expire_all()
    rows = db.scalars(select(ComplianceFinding).where(ComplianceFinding.status != "closed"))
    return {
        (
            f.rule_code,
            f.object_type,
            f.object_id,
            f.room_id,
            f.floor_id,
            f.building_id,
            f.agency_id,
            f.region_adcode,
            f.measured,
            f.allowed,
            f.excess_m2,
            f.excess_pct,
            f.standard_version,
            f.status,
            json.dumps(f.details, sort_keys=True, default=str),
        )
        for f in rows
    }


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr(timekeeping, "today", lambda: TODAY)
    return TODAY


RANKS = ["section_head", "section_deputy", "below_section", "county_deputy", "no_such_rank"]
PEOPLE = ["P1", "P2", "P3", None]

edit = st.one_of(
    st.tuples(
        st.just("occupy"),
        st.integers(0, 3),
        st.integers(0, 1),
        st.sampled_from(RANKS),
        st.sampled_from(PEOPLE),
        st.booleans(),
    ),
    st.tuples(st.just("end"), st.integers(0, 20), st.integers(0, 400)),
    st.tuples(st.just("leave"), st.integers(0, 20), st.integers(0, 120)),
    st.tuples(st.just("rank"), st.integers(0, 20), st.sampled_from(RANKS)),
    st.tuples(
        st.just("room"),
        st.integers(0, 3),
        st.sampled_from(["office", "service", None]),
        st.integers(0, 1),
    ),
    st.tuples(st.just("staffing"), st.integers(0, 1), st.integers(0, 4)),
    st.tuples(st.just("approved"), st.integers(0, 1), st.sampled_from([None, "10", "40", "200"])),
    st.tuples(st.just("building"), st.integers(0, 1)),
    st.tuples(st.just("level"), st.integers(0, 1), st.sampled_from(["county", "city"])),
    st.tuples(st.just("lease"), st.integers(-1, 3), st.booleans()),
    st.tuples(st.just("lease_end"), st.integers(0, 5)),
)


def _version(db: Session, model: Any, key: int) -> int:
    v = writes.current_version(db, model, key)
    assert v is not None
    return v


def apply(db: Session, world: dict[str, Any], step: tuple[Any, ...]) -> None:
    """One edit through the write services (the API's path); a refused one changes nothing."""
    savepoint = db.begin_nested()
    try:
        _apply(db, world, step)
    except InvalidInput:
        savepoint.rollback()
    else:
        savepoint.commit()


def _apply(db: Session, world: dict[str, Any], step: tuple[Any, ...]) -> None:
    agencies: list[Agency] = world["agencies"]
    rooms = world["rooms"]
    kind = step[0]
    occ = list(db.scalars(select(Occupancy.id).where(Occupancy.room_id.in_(world["room_ids"]))))
    if kind == "occupy":
        _, r, a, rank, person, concurrent = step
        data = writes.OccupancyCreate(
            room_id=rooms[r].id,
            agency_id=agencies[a].id,
            rank_code=rank,
            person_id=person,
            person_name="测试",
            start_date=TODAY - dt.timedelta(days=300),
            is_concurrent_post=concurrent,
            concurrent_approved=concurrent,
        )
        writes.create_occupancy(db, data, principal=SYSTEM)
    elif kind in ("end", "leave", "rank") and occ:
        key = occ[step[1] % len(occ)]
        if kind == "end":
            o = db.get(Occupancy, key)
            assert o is not None
            end = max(o.start_date, TODAY - dt.timedelta(days=step[2]))
            upd = writes.OccupancyUpdate(end_date=end)
        elif kind == "leave":
            upd = writes.OccupancyUpdate(
                left_post_on=TODAY - dt.timedelta(days=step[2]), left_post_reason="transfer"
            )
        else:
            upd = writes.OccupancyUpdate(rank_code=step[2])
        writes.update_occupancy(
            db, key, upd, expected=_version(db, Occupancy, key), principal=SYSTEM
        )
    elif kind == "room":
        _, r, category, a = step
        room = rooms[r]
        data_room = writes.RoomUpdate(
            category=category,
            subcategory=None if category is None else f"{category}.x",
            agency_id=agencies[a].id,
        )
        writes.update_room(
            db, room.id, data_room, expected=_version(db, type(room), room.id), principal=SYSTEM
        )
    elif kind == "staffing":
        _, a, quota = step
        ag = agencies[a]
        rows = [writes.StaffingRow(rank_code="section_deputy", quota=quota, headcount=quota)]
        writes.replace_staffing(
            db,
            ag.id,
            writes.StaffingUpdate(staffing=rows),
            expected=_version(db, Agency, ag.id),
            principal=SYSTEM,
        )
    elif kind == "approved":
        _, a, area = step
        ag = agencies[a]
        writes.update_agency(
            db,
            ag.id,
            writes.AgencyUpdate(approved_office_area_m2=None if area is None else Decimal(area)),
            expected=_version(db, Agency, ag.id),
            principal=SYSTEM,
        )
    elif kind == "building":
        b = world["building"]
        writes.update_building(
            db,
            b.id,
            writes.BuildingUpdate(agency_id=agencies[step[1]].id),
            expected=_version(db, type(b), b.id),
            principal=SYSTEM,
        )
    elif kind == "lease":
        _, r, approved = step
        data_lease = leases.LeaseCreate(
            room_id=None if r < 0 else rooms[r].id,
            building_id=world["building"].id if r < 0 else None,
            kind="lend",
            approved=approved,
            approval_ref="批复" if approved else None,
            start_date=TODAY - dt.timedelta(days=30),
        )
        leases.create_lease(db, data_lease, principal=SYSTEM)
    elif kind == "lease_end":
        ids = list(
            db.scalars(
                select(Lease.id).where(
                    (Lease.building_id == world["building"].id)
                    | Lease.room_id.in_(world["room_ids"])
                )
            )
        )
        if ids:
            key = ids[step[1] % len(ids)]
            leases.update_lease(
                db,
                key,
                leases.LeaseUpdate(end_date=TODAY - dt.timedelta(days=1)),
                expected=_version(db, Lease, key),
                principal=SYSTEM,
            )
    elif kind == "level":
        ag = agencies[step[1]]
        writes.update_agency(
            db,
            ag.id,
            writes.AgencyUpdate(level=step[2]),
            expected=_version(db, Agency, ag.id),
            principal=SYSTEM,
        )


def build_world(db: Session) -> dict[str, Any]:
    site = make_site(db)
    other = Agency(name="测试单位乙", level="county", region_adcode=site.agency.region_adcode)
    db.add(other)
    db.flush()
    second = add_floor(db, site.building, 2, building_area="60")
    # each floor holds one room of each agency: moving one room moves the agency off it
    rooms = [
        add_room(
            db,
            site,
            10.0 + 3 * i,
            floor=second if i >= 2 else None,
            agency=(site.agency, other)[i % 2],
        )
        for i in range(4)
    ]
    occupy(db, rooms[2], site.agency, "section_head", person="P1")
    occupy(db, rooms[3], other, "below_section", person="P2")
    occupy(db, rooms[1], other, "section_deputy", person="P3")
    staff(db, site.agency, "section_deputy", 1)
    return {
        "agencies": [site.agency, other],
        "building": site.building,
        "rooms": rooms,
        "room_ids": [r.id for r in rooms],
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(edit, min_size=1, max_size=8))
def test_incremental_equals_full_run(db: Session, today: dt.date, steps: list[Any]) -> None:
    savepoint = db.begin_nested()
    try:
        world = build_world(db)
        compliance.run_full(db, as_of=today)
        for step in steps:
            apply(db, world, step)
        incremental = live_findings(db)
        compliance.run_full(db, as_of=today)
        full = live_findings(db)
        assert incremental == full, (incremental ^ full, steps)
    finally:
        savepoint.rollback()


def test_occupancy_write_opens_finding_at_once(db: Session, today: dt.date) -> None:
    """No batch run: the write itself makes the finding, and ending it closes it."""
    world = build_world(db)
    room = world["rooms"][0]  # 10 m², county 科级以下 9 m²
    oid = writes.create_occupancy(
        db,
        writes.OccupancyCreate(
            room_id=room.id,
            agency_id=world["agencies"][0].id,
            rank_code="below_section",
            person_id="P9",
            start_date=today - dt.timedelta(days=10),
        ),
        principal=SYSTEM,
    )
    found = db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.rule_code == "office_over_standard",
            ComplianceFinding.room_id == room.id,
            ComplianceFinding.status == "open",
        )
    ).all()
    assert len(found) == 1 and found[0].allowed == Decimal("9")
    writes.update_occupancy(
        db, oid, writes.OccupancyUpdate(end_date=today), expected=1, principal=SYSTEM
    )
    db.expire_all()
    assert db.get(ComplianceFinding, found[0].id).status == "closed"  # type: ignore[union-attr]


EDGE_CASES = [
    [("room", 0, "office", 1)],  # the agency's last room on that floor goes to another
    [("building", 1)],  # idle floor findings carry the building's agency
    [("level", 1, "city")],  # every occupant of the agency is judged anew
    [("occupy", 0, 0, "section_head", "P2", False)],  # P2 now holds two offices
    [("approved", 0, "10"), ("staffing", 0, 0), ("approved", 0, None)],
    [("room", 2, None, 0), ("end", 0, 0)],
    [("lease", 0, False)],  # lent without approval: a finding, and the room is in use
    [("lease", -1, False), ("lease_end", 0)],  # the whole building, then ended
]


@pytest.mark.parametrize("steps", EDGE_CASES)
def test_incremental_equals_full_run_edge_cases(
    db: Session, today: dt.date, steps: list[Any]
) -> None:
    world = build_world(db)
    compliance.run_full(db, as_of=today)
    before = live_findings(db)
    for step in steps:
        apply(db, world, step)
    incremental = live_findings(db)
    assert incremental != before  # each case changes a finding
    compliance.run_full(db, as_of=today)
    assert incremental == live_findings(db)


def test_unknown_rank_and_missing_person_key_are_refused(db: Session, today: dt.date) -> None:
    world = build_world(db)
    room, agency = world["rooms"][0], world["agencies"][0]
    count = select(func.count()).select_from(Occupancy).where(Occupancy.room_id == room.id)
    before = db.execute(count).scalar_one()
    base = {"room_id": room.id, "agency_id": agency.id, "start_date": today}
    with pytest.raises(InvalidInput) as bad_rank:
        writes.create_occupancy(
            db,
            writes.OccupancyCreate(rank_code="city_head", person_id="X1", **base),
            principal=SYSTEM,
        )  # a city rank in a county agency
    assert bad_rank.value.details["field"] == "rank_code"
    with pytest.raises(InvalidInput) as no_key:
        writes.create_occupancy(
            db, writes.OccupancyCreate(rank_code="below_section", **base), principal=SYSTEM
        )
    assert no_key.value.details["field"] == "person_id"
    with pytest.raises(InvalidInput):
        writes.replace_staffing(
            db,
            agency.id,
            writes.StaffingUpdate(
                staffing=[writes.StaffingRow(rank_code="=1+1", quota=1, headcount=1)]
            ),
            expected=_version(db, Agency, agency.id),
            principal=SYSTEM,
        )
    assert db.execute(count).scalar_one() == before
    assert not db.scalars(
        select(AgencyStaffing).where(
            AgencyStaffing.agency_id == agency.id, AgencyStaffing.rank_code == "=1+1"
        )
    ).all()


def test_a_scoped_writer_under_rls_still_gets_whole_register_findings(
    db: Session, today: dt.date, client_as: Any
) -> None:
    """The app runs as officemap_app under FORCE RLS with the writer's scope: the rules must
    still judge the whole floor and agency (rooms of other agencies included)."""
    world = build_world(db)
    compliance.run_full(db, as_of=today)
    # the owner's run left its temporary table; the app role makes its own, as in production
    db.execute(text("DROP TABLE IF EXISTS cf_new"))
    officer = client_as("agency_officer", agencies=[world["agencies"][0].id])
    room = world["rooms"][0]
    r = officer.post(
        "/api/v1/occupancies",
        json={
            "room_id": room.id,
            "agency_id": world["agencies"][0].id,
            "rank_code": "below_section",
            "person_id": "P2",  # also in the other agency's room: two offices
            "start_date": (today - dt.timedelta(days=5)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    incremental = live_findings(db)
    assert any(f[0] == "multiple_offices" and f[2] == "P2" for f in incremental)
    compliance.run_full(db, as_of=today)
    assert incremental == live_findings(db)
