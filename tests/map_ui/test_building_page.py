"""/map/buildings/{id} in headless Chromium: floors, room tiles, popups, modes, table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import PageProbe
from tests.map_ui.helpers import (
    assert_clean,
    click_latlng,
    drawn_fills,
    eventually,
    near,
    wait_for,
    wait_loaded,
)

pytestmark = pytest.mark.browser

TABLE_ROWS = "#om-room-table tbody tr"
CATEGORY = ["#4e79a7", "#f28e2b", "#76b7b2", "#59a14f", "#edc948", "#d9d9d9", "#bbbbbb"]
VACANCY = ["#d7191c", "#1a9641", "#eeeeee"]
COMPLIANCE = ["#d7191c", "#fdae61", "#7b3294", "#1a9641", "#984ea3", "#999999", "#eeeeee"]


def active_floor(page: PageProbe) -> int:
    """The floor whose button is pressed."""
    pressed = page.page.locator(".om-floor[aria-pressed=true]")
    assert pressed.count() == 1
    return int(pressed.get_attribute("data-floor") or 0)


def office_room(db: Session, building_id: int) -> Any:
    """An occupied office of the building, on a floor above ground."""
    return db.execute(
        text(
            "SELECT r.id, r.number, r.floor_id, ST_X(ST_PointOnSurface(r.geom)) AS lon, "
            "ST_Y(ST_PointOnSurface(r.geom)) AS lat, r.usable_area_m2 FROM rooms r "
            "JOIN floors f ON f.id = r.floor_id AND f.valid_to IS NULL "
            "JOIN occupancies o ON o.room_id = r.id AND o.end_date IS NULL "
            "WHERE r.building_id = :b AND r.category = 'office' AND f.level >= 2 "
            "ORDER BY f.level, r.id LIMIT 1"
        ),
        {"b": building_id},
    ).one()


def test_building_page_floor_plan_popup_and_table(
    page: PageProbe, live_server: str, db: Session, client: Any
) -> None:
    room = office_room(db, 1)
    page.page.goto(f"{live_server}/map/buildings/1?floor={room.floor_id}")
    wait_loaded(page)
    floors = client.get("/api/v1/buildings/1/floors").json()["features"]
    assert page.page.locator(".om-floor").count() == len(floors)
    assert active_floor(page) == room.floor_id
    expected_rows = client.get(f"/api/v1/rooms?floor={room.floor_id}&limit=1").json()
    assert page.page.locator(TABLE_ROWS).count() == expected_rows["numberMatched"]
    assert "合计" in page.page.locator("#om-room-table tfoot").inner_text()
    page.page.wait_for_timeout(300)
    click_latlng(page, room.lat, room.lon)
    popup = page.page.locator(".om-room-popup")
    popup.wait_for(timeout=5_000)
    text_ = popup.inner_text()
    assert f"房间 {room.number}" in text_
    detail = client.get(f"/api/v1/map/floors/{room.floor_id}/rooms").json()
    occupants = next(r for r in detail["rooms"] if r["id"] == room.id)["occupants"]
    assert "使用面积" in text_ and "标准面积" in text_
    assert occupants and all(o["rank_zh"] in text_ for o in occupants)
    page.page.wait_for_timeout(300)
    page.screenshot("map-building-room-popup")
    assert_clean(page)


def test_switching_colour_mode_changes_what_is_drawn(
    page: PageProbe, live_server: str, db: Session
) -> None:
    room = office_room(db, 1)
    page.page.goto(f"{live_server}/map/buildings/1?floor={room.floor_id}")
    wait_loaded(page)
    # what a person sees: the fill colours on the map's canvas
    by_category = eventually(lambda: drawn_fills(page))
    assert all(near(c, CATEGORY) for c in by_category), by_category
    assert any(near(c, ["#4e79a7"]) for c in by_category)  # offices
    page.page.check("input[name=om-mode][value=vacancy]")
    by_vacancy = eventually(
        lambda: (f := drawn_fills(page)) and any(near(c, ["#1a9641"]) for c in f) and f,
        timeout=10_000,
    )
    assert all(near(c, VACANCY) for c in by_vacancy), by_vacancy
    assert "空置" in page.page.locator("#om-legend").inner_text()
    page.page.wait_for_timeout(300)
    page.screenshot("map-building-vacancy-mode")
    page.page.check("input[name=om-mode][value=compliance]")
    assert "超标" in page.page.locator("#om-legend").inner_text()
    eventually(lambda: (f := drawn_fills(page)) and all(near(c, COMPLIANCE) for c in f))
    page.page.wait_for_timeout(300)
    page.screenshot("map-building-compliance-mode")
    assert_clean(page)


def test_every_floor_is_one_click_away(
    page: PageProbe, live_server: str, client: Any, db: Session
) -> None:
    floors = client.get("/api/v1/buildings/1/floors").json()["features"]
    page.page.goto(f"{live_server}/map/buildings/1?lang=en")
    wait_loaded(page)
    opened = db.execute(
        text(
            "SELECT f.id FROM floors f WHERE f.building_id = 1 AND f.valid_to IS NULL "
            "AND f.level >= 1 AND EXISTS (SELECT 1 FROM rooms r WHERE r.floor_id = f.id "
            "AND r.category = 'office') ORDER BY f.level LIMIT 1"
        )
    ).scalar_one()
    assert active_floor(page) == opened  # lowest floor with offices
    for f in floors[-2:]:
        page.page.locator(f".om-floor[data-floor='{f['id']}']").click()
        wait_loaded(page)
        assert active_floor(page) == f["id"]
        wait_for(
            page,
            f"document.querySelectorAll('{TABLE_ROWS}').length === {f['properties']['rooms']}",
        )
        assert "active" in (
            page.page.locator(f".om-floor[data-floor='{f['id']}']").get_attribute("class") or ""
        )
        assert any("/tiles/rooms/" in u and f"floor={f['id']}" in u for u in page.requests)
    page.page.locator("#om-room-table tbody tr").first.click()
    page.page.locator(".om-room-popup").wait_for(timeout=5_000)
    assert "Usable area" in page.page.locator(".om-room-popup").inner_text()
    page.screenshot("map-building-top-floor-en")
    assert_clean(page)


def test_unknown_building_is_404(client: Any) -> None:
    assert client.get("/map/buildings/999999").status_code == 404
