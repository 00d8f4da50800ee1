"""Editing pages in headless Chromium: room and occupancy forms, the agency form.

The live server works on committed data: the fixture commits a small site of its own
(agency, building, floor, two offices, a leader account) and removes it afterwards.
Each form is driven end to end — a save, a stale edit (someone else saved first: the
user's entries are kept and the current values shown), a refused one (a role that may
not write) — and the change shows in the object's history and in the findings at once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import shapely
from geoalchemy2 import WKTElement
from sqlalchemy import Engine, delete, text
from sqlalchemy.orm import Session

from backend.db.access import User
from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, AgencyStaffing, Building, Floor, Occupancy, Room
from tests.conftest import PageProbe
from tests.map_ui.helpers import count_layers, wait_for, wait_loaded

pytestmark = pytest.mark.browser

LON0, LAT0 = 120.90, 29.95
M_LAT = 1 / 111_320
M_LON = 1 / (111_320 * math.cos(math.radians(LAT0)))
HOSTILE = "<script>alert(1)</script>{{7*7}}"
# the red outline of a new building's footprint, as clicked so far
OUTLINE = "l => l instanceof L.Polygon && l.options.color === '#d7301f'"
OUTLINE_OF_4 = "l => l instanceof L.Polygon && l.getLatLngs()[0].length === 4"


def box(x0: float, y0: float, x1: float, y1: float) -> WKTElement:
    b = shapely.box(LON0 + x0 * M_LON, LAT0 + y0 * M_LAT, LON0 + x1 * M_LON, LAT0 + y1 * M_LAT)
    return WKTElement(shapely.multipolygons([b]).wkt, srid=4490)


@dataclass
class EditSite:
    agency: int
    building: int
    floor: int
    room: int
    other_room: int
    leader: str


@pytest.fixture
def site(engine: Engine) -> Iterator[EditSite]:
    with Session(engine) as s, s.begin():
        county = s.execute(
            text(
                "SELECT adcode FROM regions WHERE level = 'county' AND ST_Covers(boundary, "
                "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)) ORDER BY adcode LIMIT 1"
            ),
            {"x0": LON0, "y0": LAT0, "x1": LON0 + 30 * M_LON, "y1": LAT0 + 10 * M_LAT},
        ).scalar_one()  # the county the test site really lies in (plans are checked for it)
        assert county is not None
        agency = Agency(name="编辑测试局", level="county", region_adcode=county)
        s.add(agency)
        s.flush()
        building = Building(
            name="编辑测试楼",
            region_adcode=county,
            agency_id=agency.id,
            footprint=box(0, 0, 30, 10),
            status="in_use",
        )
        s.add(building)
        s.flush()
        floor = Floor(
            building_id=building.id,
            level=1,
            outline=box(0, 0, 30, 10),
            outline_area_raw=300.0,
            building_area_m2=Decimal("300"),
            valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
        s.add(floor)
        s.flush()
        rooms = []
        for k in range(2):
            room = Room(
                floor_id=floor.id,
                building_id=building.id,
                number=f"10{k}",
                category="office",
                subcategory="office.staff_office",
                geom=box(1 + 7 * k, 1, 7 + 7 * k, 4),
                usable_area_raw=18.0,
                usable_area_m2=Decimal("18"),
                area_method="test",
                agency_id=agency.id,
            )
            s.add(room)
            rooms.append(room)
        leader = f"edit-leader-{building.id}"
        s.add(User(username=leader, password_hash="!", roles=["leader"], regions=[county]))
        s.flush()
        made = EditSite(agency.id, building.id, floor.id, rooms[0].id, rooms[1].id, leader)
    yield made
    with Session(engine) as s, s.begin():
        s.execute(delete(ComplianceFinding).where(ComplianceFinding.building_id == made.building))
        s.execute(delete(ComplianceFinding).where(ComplianceFinding.agency_id == made.agency))
        s.execute(delete(Occupancy).where(Occupancy.agency_id == made.agency))
        s.execute(delete(Building).where(Building.id == made.building))
        s.execute(delete(AgencyStaffing).where(AgencyStaffing.agency_id == made.agency))
        s.execute(delete(Agency).where(Agency.id == made.agency))
        s.execute(delete(User).where(User.username == made.leader))


def committed(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.begin() as conn:
        return conn.execute(text(sql), params)


def as_user(page: PageProbe, live_server: str, username: str) -> None:
    from backend.accounts.auth import cookie_name, issue_token

    page.page.context.clear_cookies()
    page.page.context.add_cookies(
        [{"name": cookie_name(), "value": issue_token(username), "url": live_server}]
    )


def open_room(page: PageProbe, live_server: str, room: int) -> None:
    page.page.goto(f"{live_server}/register/rooms/{room}")
    page.page.locator("#room button[type=submit]").wait_for(timeout=15_000)
    page.page.locator("#assign").wait_for(timeout=15_000)


def test_room_form_saves_explains_a_stale_edit_and_shows_history(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    open_room(page, live_server, site.room)
    p = page.page
    p.fill("#f-number", "101A")
    p.select_option("#f-category", "service")
    p.click("#room button[type=submit]")
    p.locator("#room .om-notice.ok").wait_for(timeout=10_000)
    row = committed(
        engine, "SELECT number, category, version FROM rooms WHERE id = :r", r=site.room
    )
    assert tuple(row.one()) == ("101A", "service", 2)
    wait_for(page, "document.querySelectorAll('#history li').length >= 1")
    assert "room.update" in p.locator("#history").inner_text()

    # someone else saves first: this edit is refused, explained, and not lost
    committed(
        engine,
        "UPDATE rooms SET number = '别人改的', version = version + 1 WHERE id = :r",
        r=site.room,
    )
    p.fill("#f-number", "我的修改")
    p.click("#room button[type=submit]")
    p.locator("#room .om-notice.stale").wait_for(timeout=10_000)
    assert p.input_value("#f-number") == "我的修改"
    assert "别人改的" in p.locator('[data-current-for="number"]').inner_text()
    page.screenshot("edit-room-stale")
    assert (
        committed(engine, "SELECT number FROM rooms WHERE id = :r", r=site.room).scalar_one()
        == "别人改的"
    )
    # saving again after reading the explanation goes through (the ETag was refreshed)
    p.click("#room button[type=submit]")
    p.locator("#room .om-notice.ok").wait_for(timeout=10_000)
    assert (
        committed(engine, "SELECT number FROM rooms WHERE id = :r", r=site.room).scalar_one()
        == "我的修改"
    )
    assert page.errors == []
    assert page.external_requests() == []


def test_occupancy_assign_end_move_with_errors_beside_fields(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    open_room(page, live_server, site.room)
    p = page.page
    # an office needs the person key: refused, the error beside the field, nothing stored
    p.fill("#assign #f-person_name", HOSTILE)
    p.select_option("#assign #f-rank_code", "below_section")
    p.click("#assign button[type=submit]")
    err = p.locator('#assign [data-error-for="person_id"]')
    err.wait_for(timeout=10_000)
    wait_for(page, "document.querySelector('#assign [data-error-for=\"person_id\"]').textContent")
    assert "person_id" in err.inner_text() or "人员标识" in err.inner_text()
    assert (
        committed(
            engine, "SELECT count(*) FROM occupancies WHERE room_id = :r", r=site.room
        ).scalar_one()
        == 0
    )

    p.fill("#assign #f-person_id", "E-001")
    p.click("#assign button[type=submit]")
    wait_for(page, "document.querySelectorAll('#occupancies tbody tr').length === 1")
    assert HOSTILE in p.locator("#occupancies tbody").inner_text()  # text, not markup
    # compliance followed the write: 18 m² against 9 m² is over standard, at once
    over = committed(
        engine,
        "SELECT count(*) FROM compliance_findings WHERE room_id = :r "
        "AND rule_code = 'office_over_standard' AND status = 'open'",
        r=site.room,
    ).scalar_one()
    assert over == 1

    # move the person to the other office: one action, the old row ends
    p.fill("#occupancies tbody tr input[name=room_id]", str(site.other_room))
    p.click("#occupancies tbody tr button.move")
    wait_for(page, "document.querySelector('#occupancies').textContent.includes('已调整房间')")
    rows = committed(
        engine,
        "SELECT room_id, end_date IS NOT NULL FROM occupancies WHERE person_id = 'E-001' "
        "ORDER BY id",
    ).all()
    assert [tuple(r) for r in rows] == [(site.room, True), (site.other_room, False)]
    assert (
        committed(
            engine,
            "SELECT status FROM compliance_findings WHERE room_id = :r "
            "AND rule_code = 'office_over_standard' ORDER BY id DESC LIMIT 1",
            r=site.room,
        ).scalar_one()
        == "closed"
    )
    wait_for(page, "document.querySelector('#history').textContent.includes('occupancy.create')")
    page.screenshot("edit-room-occupancy")
    assert page.errors == []


def test_refused_edit_as_leader_changes_nothing(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    as_user(page, live_server, site.leader)
    open_room(page, live_server, site.room)
    p = page.page
    p.fill("#f-number", "不该保存")
    p.click("#room button[type=submit]")
    p.locator("#room .om-notice.error").wait_for(timeout=10_000)
    assert "无权" in p.locator("#room .om-notice.error").inner_text()
    assert (
        committed(engine, "SELECT number FROM rooms WHERE id = :r", r=site.room).scalar_one()
        == "100"
    )
    page.screenshot("edit-room-refused")
    # a room outside the leader's scope is not found, like a missing one
    outside = committed(
        engine,
        "SELECT r.id FROM rooms r JOIN buildings b ON b.id = r.building_id "
        "WHERE b.region_adcode / 100 <> (SELECT region_adcode / 100 FROM buildings WHERE id = :b) "
        "LIMIT 1",
        b=site.building,
    ).scalar_one()
    r = p.goto(f"{live_server}/register/rooms/{outside}")
    assert r is not None and r.status == 404


def test_agency_form_approved_area_and_staffing(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    p = page.page
    p.goto(f"{live_server}/register/agencies/{site.agency}")
    p.locator("#agency button[type=submit]").wait_for(timeout=15_000)
    # a bad figure is refused beside its field
    p.fill("#f-approved_office_area_m2", "-5")
    p.click("#agency button[type=submit]")
    wait_for(
        page,
        "document.querySelector('[data-error-for=\"approved_office_area_m2\"]').textContent",
    )
    # 36 m² of offices against 20 m² approved: the finding is there right after saving
    p.fill("#f-approved_office_area_m2", "20")
    p.click("#agency button[type=submit]")
    p.locator("#agency .om-notice.ok").wait_for(timeout=10_000)
    found = committed(
        engine,
        "SELECT measured, allowed FROM compliance_findings WHERE agency_id = :a "
        "AND rule_code = 'agency_over_approved' AND status = 'open'",
        a=site.agency,
    ).one()
    assert (found.measured, found.allowed) == (Decimal("36.00"), Decimal("20.00"))
    # staffing: add a rank row, save with the refreshed ETag
    p.click("#staffing-form button:has-text('增加职级')")
    p.fill("#staffing-form tbody tr input >> nth=0", "3")
    p.click("#staffing-form button[type=submit]")
    p.locator("#staffing-form .om-notice.ok").wait_for(timeout=10_000)
    quota = committed(
        engine, "SELECT sum(quota) FROM agency_staffing WHERE agency_id = :a", a=site.agency
    ).scalar_one()
    assert quota == 3
    wait_for(page, "document.querySelector('#history').textContent.includes('agency.staffing')")
    page.screenshot("edit-agency")
    assert page.errors == []


def lonlat_ring(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [[LON0 + x * M_LON, LAT0 + y * M_LAT] for x, y in pts]


def plan_file(rooms: list[tuple[str, tuple[float, float, float, float]]]) -> bytes:
    feats = [
        {
            "type": "Feature",
            "properties": {"number": n, "category": "office.staff_office"},
            "geometry": {"type": "Polygon", "coordinates": [lonlat_ring(*b)]},
        }
        for n, b in rooms
    ]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def test_plan_upload_dry_run_on_the_map_decide_and_commit(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    # occupants in both offices; the new plan keeps 100 (same place) and drops 101
    for room, person in ((site.room, "U-1"), (site.other_room, "U-2")):
        committed(
            engine,
            "INSERT INTO occupancies (room_id, agency_id, person_id, person_name, rank_code, "
            "start_date) VALUES (:r, :a, :p, '测试', 'below_section', DATE '2025-01-01')",
            r=room,
            a=site.agency,
            p=person,
        )
    data = plan_file([("100", (1, 1, 7, 4)), ("102", (16, 1, 22, 4))])
    p = page.page
    p.goto(f"{live_server}/register/buildings/{site.building}/plan?level=1")
    p.locator("#dry-run").wait_for(timeout=15_000)
    p.set_input_files(
        "#f-file", files=[{"name": "plan.geojson", "mimeType": "application/json", "buffer": data}]
    )
    p.select_option("#f-crs", "EPSG:4490")
    p.click("#dry-run")
    wait_loaded(page, "#app")
    assert "dry_run" in p.locator("#report h2").inner_text()
    assert p.locator(".om-room-label").count() == 2  # both rooms drawn on the map, labelled
    assert p.locator(".om-room-label").first.inner_text().startswith("100 · 1")
    carry = p.locator("#carry-over").inner_text()
    assert "number" in carry and "101" in carry
    page.screenshot("edit-plan-dry-run")
    # committing without a decision is refused: the report says why, nothing stored
    p.click("#commit")
    wait_loaded(page, "#app")
    assert "rejected" in p.locator("#report h2").inner_text()
    assert "carry_over_undecided" in p.locator("#report").inner_text()
    versions = "SELECT count(*) FROM floors WHERE building_id = :b AND level = 1"
    assert committed(engine, versions, b=site.building).scalar_one() == 1
    # decide: the occupant of 101 leaves (ended on the re-survey day); commit
    p.select_option(f'select[data-old-room="{site.other_room}"]', "end")
    p.click("#commit")
    wait_loaded(page, "#app")
    p.locator("#report .om-notice.ok").wait_for(state="attached")
    assert committed(engine, versions, b=site.building).scalar_one() == 2
    moved = committed(
        engine,
        "SELECT r.number, o.end_date IS NULL FROM occupancies o JOIN rooms r ON r.id = o.room_id "
        "JOIN floors f ON f.id = r.floor_id WHERE o.agency_id = :a ORDER BY o.person_id",
        a=site.agency,
    ).all()
    assert [tuple(m) for m in moved] == [("100", True), ("101", False)]
    assert page.errors == []
    assert page.external_requests() == []


def test_whatif_page_runs_a_draft_and_compares(
    page: PageProbe, live_server: str, engine: Engine
) -> None:
    p = page.page
    p.goto(f"{live_server}/register/whatif")
    p.locator("#whatif-form tbody input").first.wait_for(state="attached", timeout=15_000)
    before = committed(
        engine, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM compliance_findings t"
    ).scalar_one()
    p.fill("#f-name", HOSTILE)
    p.fill("#f-idle_threshold_days", "1")
    with p.expect_response(
        lambda r: r.url.endswith("/api/v1/whatif/scenarios") and r.request.method == "POST"
    ) as answer:
        p.click("#whatif button[type=submit]")
    wait_loaded(page, "#app")
    sid = answer.value.json()["id"]
    comparison = page.last_json(f"/api/v1/whatif/scenarios/{sid}?")
    assert p.locator("#comparison tbody tr").count() == len(comparison["groups"]) > 0
    assert comparison["total"]["gained"] > 0  # 1 day instead of 180: more idle rooms
    assert HOSTILE in p.locator("#whatif-result h2").inner_text()
    assert p.locator("#comparison tfoot").inner_text().startswith("合计")
    page.screenshot("edit-whatif")
    after = committed(
        engine, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM compliance_findings t"
    ).scalar_one()
    assert after == before  # the live findings are untouched
    committed(engine, "DELETE FROM whatif_scenarios WHERE id = :i", i=sid)
    assert page.errors == []


def test_building_details_and_a_new_building_drawn_on_the_map(
    page: PageProbe, live_server: str, engine: Engine, site: EditSite
) -> None:
    p = page.page
    p.goto(f"{live_server}/register/buildings/{site.building}")
    wait_loaded(page, "#app")
    p.fill("#f-name", HOSTILE)
    p.fill("#f-year_built", "1700")  # refused beside the field
    p.click("#building button[type=submit]")
    wait_for(page, "document.querySelector('[data-error-for=\"year_built\"]').textContent")
    p.fill("#f-year_built", "1998")
    p.select_option("#f-status", "under_renovation")
    p.click("#building button[type=submit]")
    p.locator("#building .om-notice.ok").wait_for(timeout=10_000)
    row = committed(
        engine, "SELECT name, year_built, status FROM buildings WHERE id = :b", b=site.building
    ).one()
    assert tuple(row) == (HOSTILE, 1998, "under_renovation")
    wait_for(page, "document.querySelector('#history').textContent.includes('building.update')")

    county = committed(
        engine, "SELECT region_adcode FROM buildings WHERE id = :b", b=site.building
    ).scalar_one()
    p.goto(f"{live_server}/register/buildings/new")
    wait_loaded(page, "#app")
    assert count_layers(page, OUTLINE) == 0
    p.fill("#f-name", "新楼")
    p.fill("#f-region_adcode", str(county))
    box = p.locator(".folium-map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((-20, -20), (20, -20), (20, 20), (-20, 20)):
        p.mouse.click(cx + dx, cy + dy)
    assert count_layers(page, OUTLINE_OF_4) == 1  # the outline clicked
    page.screenshot("edit-building-new")
    with p.expect_response(
        lambda r: r.url.endswith("/api/v1/buildings") and r.request.method == "POST"
    ) as answer:
        p.click("#building button[type=submit]")
    created = answer.value.json()["id"]
    wait_loaded(page, "#app")
    made = committed(
        engine,
        "SELECT name, region_adcode, ST_NPoints(footprint) FROM buildings WHERE id = :b",
        b=created,
    ).one()
    committed(engine, "DELETE FROM buildings WHERE id = :b", b=created)
    assert tuple(made) == ("新楼", county, 5)
    assert page.errors == []
