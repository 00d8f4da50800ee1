"""A planner goes from the province to a room in three clicks: city → building → room."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, click_latlng, map_name, wait_loaded

pytestmark = pytest.mark.browser


def test_province_to_room_in_three_clicks(page: PageProbe, live_server: str, client: Any) -> None:
    city = client.get("/api/v1/regions/330100").json()
    seat_lon, seat_lat = city["properties"]["seat"]["coordinates"]
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    m = map_name(page)
    # click 1: a point inside Hangzhou that is not under a building marker
    target = page.page.evaluate(
        f"""(() => {{
          const map = window['{m}'];
          let city = null;
          map.eachLayer(l => {{ if (l.feature && l.feature.properties.adcode === 330100) city = l; }});
          const seat = map.latLngToContainerPoint([{seat_lat}, {seat_lon}]);
          for (const [dx, dy] of [[-60, 20], [-80, 40], [-40, 60], [-100, 0], [40, 60]]) {{
            const pt = L.point(seat.x + dx, seat.y + dy);
            const inside = city._containsPoint(map.containerPointToLayerPoint(pt));
            const el = document.elementFromPoint(pt.x, pt.y);
            if (inside && el && el.tagName === 'CANVAS') {{
              const ll = map.containerPointToLatLng(pt);
              return [ll.lat, ll.lng];
            }}
          }}
          return null;
        }})()"""
    )
    assert target is not None
    click_latlng(page, target[0], target[1])
    popup = page.page.locator(".om-region-popup")
    popup.wait_for(timeout=10_000)
    assert "杭州市" in popup.inner_text()
    link = popup.locator("a.om-building-link").first
    building_name = link.inner_text()
    page.page.wait_for_timeout(300)
    page.screenshot("three-clicks-1-city")
    # click 2: a building of the city → its floor plans
    link.click()
    page.page.wait_for_url("**/map/buildings/**")
    wait_loaded(page)
    assert page.page.locator("#om-room-table tbody tr").count() > 0
    assert building_name in page.page.title()
    page.page.wait_for_timeout(300)
    page.screenshot("three-clicks-2-building")
    # click 3: a room on the plan → its popup
    room = page.page.evaluate(
        "Number([...document.querySelectorAll('#om-room-table tbody tr')]"
        ".find(tr => tr.children[1].textContent.includes('办公室')).dataset.room)"
    )
    floor_id = page.page.locator(".om-floor[aria-pressed=true]").get_attribute("data-floor")
    rooms = client.get(f"/api/v1/map/floors/{floor_id}/rooms").json()["rooms"]
    r = next(x for x in rooms if x["id"] == room)
    click_latlng(page, r["lat"], r["lon"])
    popup = page.page.locator(".om-room-popup")
    popup.wait_for(timeout=5_000)
    assert r["number"] in popup.inner_text()
    assert r["occupants"] and r["occupants"][0]["rank_zh"] in popup.inner_text()
    page.page.wait_for_timeout(300)
    page.screenshot("three-clicks-3-room")
    assert_clean(page)
