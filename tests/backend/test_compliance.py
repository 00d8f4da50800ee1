"""Compliance rules 1–7 with hand-computed values at and around their thresholds.

Each test builds a small site (agency, building, floor, rooms, occupants) in the rolled-back
session and re-evaluates only that floor, as a plan upload or occupancy change would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import shapely
from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.compliance import service as compliance
from backend.compliance import standards
from backend.db.compliance import (
    RULE_CODES,
    ApprovedUse,
    ComplianceEvaluation,
    ComplianceFinding,
    Lease,
)
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Region, Room
from backend.services.errors import Conflict
from backend.services.scope import Scope
from gis.area import round_area

AS_OF = dt.date(2026, 11, 26)
LON0, LAT0 = 121.30, 29.10
M_LAT = 1 / 111_320
M_LON = 1 / (111_320 * math.cos(math.radians(LAT0)))
_people = itertools.count(1)


def geom(x0: float, y0: float, x1: float, y1: float) -> WKTElement:
    """A rectangle in metres east/north of the test origin, as EPSG:4490 MULTIPOLYGON."""
    box = shapely.box(LON0 + x0 * M_LON, LAT0 + y0 * M_LAT, LON0 + x1 * M_LON, LAT0 + y1 * M_LAT)
    return WKTElement(shapely.multipolygons([box]).wkt, srid=4490)


@dataclass
class Site:
    agency: Agency
    building: Building
    floor: Floor
    rooms: int = 0


def county(db: Session) -> int:
    return int(
        db.scalars(
            select(Region.adcode).where(Region.level == "county").order_by(Region.adcode)
        ).first()
        or 0
    )


def make_site(
    db: Session, *, level: str = "county", adcode: int | None = None, floor_level: int = 1
) -> Site:
    """An agency, its building and one floor 100 m × 20 m, first surveyed in 2020."""
    adcode = adcode or county(db)
    agency = Agency(name=f"测试单位{next(_people)}", level=level, region_adcode=adcode)
    db.add(agency)
    db.flush()
    building = Building(
        name="测试楼",
        region_adcode=adcode,
        agency_id=agency.id,
        footprint=geom(0, 0, 100, 20),
        ownership="owned",
        status="in_use",
    )
    db.add(building)
    db.flush()
    floor = add_floor(db, building, floor_level)
    return Site(agency, building, floor)


def add_floor(db: Session, building: Building, level: int, building_area: str = "2000") -> Floor:
    floor = Floor(
        building_id=building.id,
        level=level,
        name=f"{level}F",
        outline=geom(0, 0, 100, 20),
        outline_area_raw=2000.0,
        building_area_m2=Decimal(building_area),
        valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    db.add(floor)
    db.flush()
    return floor


def add_room(
    db: Session,
    site: Site,
    area_raw: float,
    *,
    category: str | None = "office",
    subcategory: str | None = "office.staff_office",
    agency: Agency | None = None,
    floor: Floor | None = None,
    shape: tuple[float, float, float, float] | None = None,
) -> Room:
    """A room with the given raw usable area (stored rounded half-up), 5 m apart from others."""
    i = site.rooms
    site.rooms += 1
    floor = floor or site.floor
    room = Room(
        floor_id=floor.id,
        building_id=site.building.id,
        number=f"{floor.level}{i:02d}",
        category=category,
        subcategory=subcategory,
        geom=geom(*(shape or (1 + i * 5, 1, 5 + i * 5, 5))),
        usable_area_raw=area_raw,
        usable_area_m2=round_area(area_raw),
        area_method="test",
        agency_id=(agency or site.agency).id,
    )
    db.add(room)
    db.flush()
    return room


def occupy(
    db: Session,
    room: Room,
    agency: Agency,
    rank: str,
    *,
    person: str | None = None,
    start: dt.date = dt.date(2020, 1, 1),
    end: dt.date | None = None,
    left: dt.date | None = None,
    reason: str | None = None,
    concurrent: bool = False,
    approved: bool = False,
) -> Occupancy:
    o = Occupancy(
        room_id=room.id,
        agency_id=agency.id,
        person_name="测试人",
        person_id=person or f"T{next(_people):06d}",
        rank_code=rank,
        start_date=start,
        end_date=end,
        left_post_on=left,
        left_post_reason=reason,
        is_concurrent_post=concurrent,
        concurrent_approved=approved,
    )
    db.add(o)
    db.flush()
    return o


def staff(db: Session, agency: Agency, rank: str, quota: int) -> None:
    db.add(AgencyStaffing(agency_id=agency.id, rank_code=rank, quota=quota, headcount=quota))
    db.flush()


# ====================================================================== helpers
def evaluate(db: Session, site: Site, **kw: object) -> compliance.EvaluationResult:
    return compliance.evaluate_floor(db, site.floor.id, as_of=kw.pop("as_of", AS_OF), **kw)  # type: ignore[arg-type]


def findings(db: Session, rule: str, **where: object) -> list[ComplianceFinding]:
    stmt = select(ComplianceFinding).where(
        ComplianceFinding.rule_code == rule, ComplianceFinding.status != "closed"
    )
    for key, value in where.items():
        stmt = stmt.where(getattr(ComplianceFinding, key) == value)
    return list(db.scalars(stmt.order_by(ComplianceFinding.id)))


# ====================================================================== rule 1
@pytest.mark.parametrize(
    ("raw", "over", "excess"),
    [(18.004, False, None), (18.0, False, None), (18.005, True, "0.01"), (19.8, True, "1.80")],
)
def test_office_over_standard_at_threshold(
    db: Session, raw: float, over: bool, excess: str | None
) -> None:
    site = make_site(db)
    room = add_room(db, site, raw)
    occupy(db, room, site.agency, "section_head")  # county 正科级: 18 m²
    evaluate(db, site)
    found = findings(db, "office_over_standard", room_id=room.id)
    assert bool(found) is over
    if over:
        f = found[0]
        assert f.allowed == Decimal("18")
        assert f.measured == round_area(raw)
        assert f.excess_m2 == Decimal(excess or "0")
        expected_pct = (Decimal(excess or "0") * 100 / 18).quantize(Decimal("0.01"))
        assert f.excess_pct == expected_pct
        assert f.standard_version == compliance_version(db)
        assert f.details is not None and f.details["occupants"][0]["rank_code"] == "section_head"


def compliance_version(db: Session) -> str:
    return standards.resolve_version(db, AS_OF)


@pytest.mark.parametrize(("raw", "over"), [(18.0, False), (18.01, True)])
def test_shared_office_compares_with_sum_of_allowances(db: Session, raw: float, over: bool) -> None:
    site = make_site(db)
    room = add_room(db, site, raw)
    occupy(db, room, site.agency, "below_section")  # 9
    occupy(db, room, site.agency, "below_section")  # 9
    # a colleague who left (room vacated) no longer counts
    occupy(db, room, site.agency, "section_head", end=dt.date(2026, 1, 1))
    evaluate(db, site)
    found = findings(db, "office_over_standard", room_id=room.id)
    assert bool(found) is over
    if over:
        assert found[0].allowed == Decimal("18")
        assert len(found[0].details["occupants"]) == 2  # type: ignore[index]


def test_township_allowance_not_configured_nationally(db: Session) -> None:
    site = make_site(db, level="township")
    room = add_room(db, site, 30.0)
    occupy(db, room, site.agency, "township_head")
    national = evaluate(db, site, version="cn-2014")
    assert findings(db, "office_over_standard", room_id=room.id) == []
    assert "office_over_standard" in national.not_configured
    # the labelled override supplies 24 m² for the demo: 30 > 24
    evaluate(db, site, version="cn-2014+demo-illustration")
    (f,) = findings(db, "office_over_standard", room_id=room.id)
    assert (f.allowed, f.excess_m2, f.standard_version) == (
        Decimal("24"),
        Decimal("6"),
        "cn-2014+demo-illustration",
    )


# ====================================================================== rule 2
@pytest.mark.parametrize(("raw", "over"), [(24.0, False), (24.004, False), (24.005, True)])
def test_agency_over_quota_allowance(db: Session, raw: float, over: bool) -> None:
    site = make_site(db)
    staff(db, site.agency, "section_deputy", 2)  # 2 × 12 = 24 m²
    add_room(db, site, raw)
    add_room(db, site, 50.0, category="service", subcategory="service.meeting")  # not office
    evaluate(db, site)
    found = findings(db, "agency_over_approved", agency_id=site.agency.id)
    assert bool(found) is over
    if over:
        assert found[0].allowed == Decimal("24")
        assert found[0].measured == Decimal("24.01")
        assert found[0].details["basis"] == "staffing_quota_x_allowance"  # type: ignore[index]


def test_agency_approved_area_takes_precedence(db: Session) -> None:
    site = make_site(db)
    staff(db, site.agency, "section_deputy", 2)
    site.agency.approved_office_area_m2 = Decimal("40.00")
    add_room(db, site, 40.0)
    evaluate(db, site)
    assert findings(db, "agency_over_approved", agency_id=site.agency.id) == []
    site.agency.approved_office_area_m2 = Decimal("39.99")
    evaluate(db, site)
    (f,) = findings(db, "agency_over_approved", agency_id=site.agency.id)
    assert (f.allowed, f.excess_m2) == (Decimal("39.99"), Decimal("0.01"))


# ====================================================================== rule 3
@pytest.mark.parametrize(
    ("area", "concurrent", "approved", "flagged"),
    [
        (17.99, True, True, False),  # approved concurrent-post office below 18 m²: allowed
        (18.0, True, True, True),  # not below standard
        (10.0, True, False, True),  # not approved
        (10.0, False, False, True),  # simply a second office
    ],
)
def test_multiple_offices(
    db: Session, area: float, concurrent: bool, approved: bool, flagged: bool
) -> None:
    site = make_site(db)
    main = add_room(db, site, 18.0)
    second = add_room(db, site, area)
    occupy(db, main, site.agency, "section_head", person="PX1")
    occupy(
        db,
        second,
        site.agency,
        "section_head",
        person="PX1",
        concurrent=concurrent,
        approved=approved,
        start=dt.date(2024, 1, 1),
    )
    evaluate(db, site)
    found = findings(db, "multiple_offices", object_id="PX1")
    assert bool(found) is flagged
    if flagged:
        f = found[0]
        assert (f.measured, f.allowed, f.room_id) == (2, 1, second.id)
        assert f.excess_m2 == round_area(area)
        assert f.details["main_room_id"] == main.id  # type: ignore[index]


# ====================================================================== rule 4
@pytest.mark.parametrize(
    ("left", "concurrent", "flagged", "days"),
    [
        (dt.date(2026, 10, 26), False, False, 31),  # exactly 1 month: still in time
        (dt.date(2026, 10, 25), False, True, 32),
        (dt.date(2026, 9, 26), True, False, 61),  # concurrent post: 2 months
        (dt.date(2026, 9, 25), True, True, 62),
    ],
)
def test_office_not_recovered(
    db: Session, left: dt.date, concurrent: bool, flagged: bool, days: int
) -> None:
    site = make_site(db)
    room = add_room(db, site, 18.0)
    o = occupy(
        db,
        room,
        site.agency,
        "section_head",
        left=left,
        reason="left_concurrent_post" if concurrent else "transfer",
        concurrent=concurrent,
    )
    evaluate(db, site)
    found = findings(db, "office_not_recovered", object_id=str(o.id))
    assert bool(found) is flagged
    if flagged:
        assert found[0].measured == days
        assert found[0].details["unit"] == "days"  # type: ignore[index]
    # once the room is vacated, the finding closes
    o.end_date = AS_OF
    evaluate(db, site)
    assert findings(db, "office_not_recovered", object_id=str(o.id)) == []


# ====================================================================== rule 5
@pytest.mark.parametrize(("ended_days_ago", "idle"), [(180, False), (181, True)])
def test_idle_room_threshold(db: Session, ended_days_ago: int, idle: bool) -> None:
    site = make_site(db)
    busy = add_room(db, site, 18.0)
    occupy(db, busy, site.agency, "section_head")
    room = add_room(db, site, 18.0)
    ended = AS_OF - dt.timedelta(days=ended_days_ago)
    occupy(db, room, site.agency, "section_head", end=ended, left=ended, reason="transfer")
    evaluate(db, site)
    found = findings(db, "idle_room", room_id=room.id)
    assert bool(found) is idle
    if idle:
        assert (found[0].measured, found[0].allowed) == (181, 180)
    assert findings(db, "idle_room", room_id=busy.id) == []
    assert findings(db, "idle_floor", floor_id=site.floor.id) == []


def test_approved_use_and_lease_keep_rooms_from_idle(db: Session) -> None:
    site = make_site(db)
    busy = add_room(db, site, 18.0)
    occupy(db, busy, site.agency, "section_head")
    used = add_room(db, site, 18.0)
    leased = add_room(db, site, 18.0)
    bare = add_room(db, site, 18.0)  # never occupied since the floor's survey in 2020
    db.add(ApprovedUse(room_id=used.id, purpose="档案", start_date=dt.date(2026, 1, 1)))
    db.add(Lease(room_id=leased.id, kind="lend", approved=True, start_date=dt.date(2026, 1, 1)))
    db.flush()
    evaluate(db, site)
    assert findings(db, "idle_room", room_id=used.id) == []
    assert findings(db, "idle_room", room_id=leased.id) == []
    (f,) = findings(db, "idle_room", room_id=bare.id)
    assert f.measured == (AS_OF - dt.date(2020, 1, 1)).days


def test_idle_floor_replaces_its_rooms(db: Session) -> None:
    site = make_site(db)
    rooms = [add_room(db, site, 20.0) for _ in range(3)]
    ended = AS_OF - dt.timedelta(days=200)
    for r in rooms:
        occupy(db, r, site.agency, "below_section", end=ended)
    add_room(db, site, 30.0, category="service", subcategory="service.meeting")
    evaluate(db, site)
    (f,) = findings(db, "idle_floor", floor_id=site.floor.id)
    assert (f.measured, f.allowed) == (200, 180)
    assert f.excess_m2 == Decimal("90.00")  # all rooms of the floor
    assert f.details["office_rooms"] == 3  # type: ignore[index]
    assert all(findings(db, "idle_room", room_id=r.id) == [] for r in rooms)


# ====================================================================== rule 6
def test_unapproved_lease(db: Session) -> None:
    site = make_site(db)
    a = add_room(db, site, 25.0)
    b = add_room(db, site, 30.0)
    c = add_room(db, site, 35.0)
    unapproved = Lease(room_id=a.id, kind="rent_out", approved=False, start_date=AS_OF)
    approved = Lease(room_id=b.id, kind="lend", approved=True, start_date=dt.date(2026, 1, 1))
    ended = Lease(
        room_id=c.id, kind="lend", start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 1, 1)
    )
    whole = Lease(building_id=site.building.id, kind="lend", start_date=dt.date(2026, 6, 1))
    db.add_all([unapproved, approved, ended, whole])
    db.flush()
    evaluate(db, site)
    assert {
        f.object_id for f in findings(db, "unapproved_lease", building_id=site.building.id)
    } == {
        str(unapproved.id),
        str(whole.id),
    }
    (f,) = findings(db, "unapproved_lease", object_id=str(unapproved.id))
    assert (f.measured, f.allowed, f.excess_m2, f.room_id) == (25, 0, 25, a.id)
    (w,) = findings(db, "unapproved_lease", object_id=str(whole.id))
    assert w.measured == Decimal("90.00")


# ====================================================================== rule 7
def test_data_quality_rules(db: Session) -> None:
    site = make_site(db)
    inside = add_room(db, site, 16.0, shape=(1, 1, 5, 5))
    overlapping = add_room(db, site, 16.0, shape=(3, 1, 7, 5))  # 2 m × 4 m = 8 m² overlap
    outside = add_room(db, site, 16.0, shape=(98, 1, 102, 5))  # 2 m × 4 m outside
    bare = add_room(db, site, 16.0, category=None, subcategory=None, shape=(20, 1, 24, 5))
    evaluate(db, site, version="cn-2014+demo-illustration")
    (o,) = findings(db, "data_quality.overlap", floor_id=site.floor.id)
    assert o.object_id == f"{inside.id}:{overlapping.id}"
    assert abs(float(o.measured or 0) - 8.0) < 0.05
    (x,) = findings(db, "data_quality.outside_floor", floor_id=site.floor.id)
    assert x.room_id == outside.id and abs(float(x.measured or 0) - 8.0) < 0.05
    (u,) = findings(db, "data_quality.uncategorised", floor_id=site.floor.id)
    assert u.room_id == bare.id
    # 64 m² of rooms on a 2000 m² floor: coefficient 0.032 < 0.75 (demo illustration)
    (k,) = findings(db, "data_quality.usable_coefficient", floor_id=site.floor.id)
    assert (k.measured, k.allowed) == (Decimal("0.0320"), Decimal("0.75"))


def test_usable_coefficient_not_configured_nationally(db: Session) -> None:
    site = make_site(db)
    add_room(db, site, 16.0)
    result = evaluate(db, site, version="cn-2014")
    assert "data_quality.usable_coefficient" in result.not_configured
    assert findings(db, "data_quality.usable_coefficient", floor_id=site.floor.id) == []


@pytest.mark.parametrize(("building_area", "flagged"), [("100.00", False), ("100.01", True)])
def test_usable_coefficient_threshold(db: Session, building_area: str, flagged: bool) -> None:
    site = make_site(db)
    site.floor.building_area_m2 = Decimal(building_area)
    add_room(db, site, 75.0, shape=(1, 1, 16, 6))
    evaluate(db, site, version="cn-2014+demo-illustration")
    assert bool(findings(db, "data_quality.usable_coefficient", floor_id=site.floor.id)) is flagged


# ====================================================================== evaluation
def test_reevaluation_keeps_status_and_closes_cleared(db: Session) -> None:
    site = make_site(db)
    room = add_room(db, site, 20.0)
    occupy(db, room, site.agency, "section_head")
    first = evaluate(db, site)
    (f,) = findings(db, "office_over_standard", room_id=room.id)
    f.status = "rectifying"
    db.flush()
    again = evaluate(db, site)
    assert again.evaluation_id != first.evaluation_id
    (g,) = findings(db, "office_over_standard", room_id=room.id)
    assert (g.id, g.status, g.evaluation_id) == (f.id, "rectifying", again.evaluation_id)
    room.usable_area_m2 = Decimal("17.50")  # partitioned: now within 18 m²
    db.flush()
    evaluate(db, site)
    db.refresh(g)
    assert g.status == "closed" and g.closed_at is not None
    assert g.details["closed_by"] == "re-evaluation"  # type: ignore[index]


def test_incremental_touches_only_its_floor(db: Session) -> None:
    site = make_site(db)
    room = add_room(db, site, 20.0)
    occupy(db, room, site.agency, "section_head")
    other_floor = add_floor(db, site.building, 2)
    other = add_room(db, site, 20.0, floor=other_floor)
    occupy(db, other, site.agency, "section_head")
    result = evaluate(db, site)
    assert result.kind == "incremental"
    assert findings(db, "office_over_standard", room_id=room.id)
    assert findings(db, "office_over_standard", room_id=other.id) == []
    compliance.evaluate_rooms(db, [other.id], as_of=AS_OF)
    assert findings(db, "office_over_standard", room_id=other.id)
    assert findings(db, "office_over_standard", room_id=room.id)  # untouched, still open


def test_evaluation_is_reproducible_per_version(db: Session) -> None:
    site = make_site(db, level="township")
    room = add_room(db, site, 30.0)
    occupy(db, room, site.agency, "township_head")
    evaluate(db, site, version="cn-2014+demo-illustration")
    (a,) = findings(db, "office_over_standard", room_id=room.id)
    snapshot = (a.measured, a.allowed, a.excess_m2, a.standard_version)
    evaluate(db, site, version="cn-2014+demo-illustration")
    (b,) = findings(db, "office_over_standard", room_id=room.id)
    assert (b.measured, b.allowed, b.excess_m2, b.standard_version) == snapshot
    runs = db.scalars(
        select(ComplianceEvaluation.standard_version).order_by(ComplianceEvaluation.id.desc())
    ).first()
    assert runs == "cn-2014+demo-illustration"


def test_full_run_on_demo_shows_every_rule(db: Session) -> None:
    result = compliance.run_full(db, as_of=AS_OF)
    assert result.kind == "full"
    assert set(result.counts) == set(RULE_CODES), result.counts
    live = dict(
        db.execute(
            select(ComplianceFinding.rule_code, func.count())
            .where(ComplianceFinding.status != "closed")
            .group_by(ComplianceFinding.rule_code)
        ).all()
    )
    assert live == result.counts
    assert result.opened == 0  # the demo hook already evaluated the same state


def test_summary_rolls_up_by_level(db: Session) -> None:
    site = make_site(db)
    r1 = add_room(db, site, 20.0)
    occupy(db, r1, site.agency, "section_head")
    r2 = add_room(db, site, 19.0)
    occupy(db, r2, site.agency, "section_head")
    evaluate(db, site)
    adcode = site.building.region_adcode
    by_agency = compliance.summary(db, scope=Scope.everything(), region=adcode, level="agency")
    group = next(g for g in by_agency["groups"] if g["key"] == site.agency.id)
    assert group["by_rule"]["office_over_standard"] == {"count": 2, "excess_m2": 3.0}
    by_county = compliance.summary(db, scope=Scope.everything(), region=adcode // 100 * 100)
    assert by_county["level"] == "county"
    county_group = next(g for g in by_county["groups"] if g["key"] == adcode)
    total = db.execute(
        select(func.count()).where(
            ComplianceFinding.region_adcode == adcode,
            ComplianceFinding.rule_code == "office_over_standard",
            ComplianceFinding.status != "closed",
        )
    ).scalar_one()
    assert county_group["by_rule"]["office_over_standard"]["count"] == total >= 2
    province = compliance.summary(db, scope=Scope.everything(), level="province")
    rule = next(r for r in province["rules"] if r["rule_code"] == "office_over_standard")
    assert rule["open"] + rule["rectifying"] >= total
    # a scope outside the region sees nothing of it
    other = Scope(regions=frozenset({adcode + 1 if adcode % 100 < 99 else adcode - 1}))
    assert compliance.summary(db, scope=other, level="agency")["groups"] == [] or all(
        g["key"] != site.agency.id
        for g in compliance.summary(db, scope=other, level="agency")["groups"]
    )


# ====================================================================== standards
def test_standards_versions_load_idempotently(db: Session, tmp_path: Path) -> None:
    assert standards.load_version(db, "cn-2014") is False  # the hook loaded it already
    specs = {s.version: s for s in standards.read_manifest()}
    national = specs["cn-2014"]
    assert national.allowances[("county", "section_head")][0] == Decimal("18")
    assert ("township", "township_head") not in national.allowances
    assert national.settings["idle_threshold_days"][0] == Decimal("180")
    assert national.settings["usable_area_coefficient_min"][0] is None
    demo = specs["cn-2014+demo-illustration"]
    assert "ILLUSTRATION" in demo.allowances[("township", "township_head")][1]
    # a changed figure under the same version id is refused; a new id loads
    src = standards.STANDARDS_DIR
    for name in ("office_room_2014.csv", "settings_2014.csv"):
        (tmp_path / name).write_text((src / name).read_text(encoding="utf-8"), encoding="utf-8")
    manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    entry = dict(manifest["versions"][0])
    (tmp_path / "settings_2014.csv").write_text(
        (src / "settings_2014.csv")
        .read_text(encoding="utf-8")
        .replace("idle_threshold_days,180", "idle_threshold_days,90"),
        encoding="utf-8",
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {"versions": [entry, {**entry, "version": "zj-2026", "effective_date": "2026-07-01"}]}
        ),
        encoding="utf-8",
    )
    with pytest.raises(Conflict):
        standards.load_version(db, "cn-2014", manifest=tmp_path / "manifest.json")
    assert standards.load_version(db, "zj-2026", manifest=tmp_path / "manifest.json")
    assert standards.resolve_version(db, AS_OF) == "zj-2026"
    assert standards.resolve_version(db, dt.date(2026, 6, 30)) == "cn-2014+demo-illustration"
    assert standards.setting(db, "zj-2026", "idle_threshold_days") == Decimal("90")
    # the new threshold changes the result; the old version still gives the old one
    site = make_site(db)
    room = add_room(db, site, 18.0)
    ended = AS_OF - dt.timedelta(days=100)
    occupy(db, room, site.agency, "section_head", end=ended)
    busy = add_room(db, site, 18.0)
    occupy(db, busy, site.agency, "section_head")
    evaluate(db, site)
    (f,) = findings(db, "idle_room", room_id=room.id)
    assert (f.allowed, f.standard_version) == (90, "zj-2026")
    evaluate(db, site, version="cn-2014")
    assert findings(db, "idle_room", room_id=room.id) == []
