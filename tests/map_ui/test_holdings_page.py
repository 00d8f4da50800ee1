"""/map in headless Chromium: it renders, its layers load from the API, nothing leaves the host."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PageProbe

pytestmark = pytest.mark.browser


def wait_ready(page: PageProbe, expr: str, timeout: float = 15_000) -> Any:
    page.page.wait_for_function(expr, timeout=timeout)
    return page.page.evaluate(expr)


def test_holdings_map_renders_regions_and_buildings(
    page: PageProbe, live_server: str, client: Any
) -> None:
    page.page.goto(f"{live_server}/map")
    wait_ready(
        page, "window.officemapState && officemapState.ready.regions && officemapState.ready.points"
    )
    state = page.page.evaluate("officemapState")
    buildings = client.get("/api/v1/buildings?limit=1").json()["numberMatched"]
    assert state["cities"] == 11
    assert state["points"] == buildings
    assert page.page.locator(".leaflet-control-layers").inner_text().count("办公楼") == 1
    assert "办公用房一张图" in page.page.title()
    page.screenshot("map-holdings-province")
    assert page.errors == []
    assert page.failed == []
    assert page.external_requests() == []


def test_zooming_in_shows_footprints_with_popup(
    page: PageProbe, live_server: str, client: Any
) -> None:
    building = client.get("/api/v1/buildings/1").json()
    lon, lat = building["geometry"]["coordinates"][0][0][0]
    page.page.goto(f"{live_server}/map?lang=en")
    wait_ready(page, "window.officemapState && officemapState.ready.points")
    map_name = page.page.evaluate("Object.keys(window).find(k => k.startsWith('map_'))")
    page.page.evaluate(f"window['{map_name}'].setView([{lat}, {lon}], 18, {{animate: false}})")
    try:
        wait_ready(page, "officemapState.footprints > 0")
    except Exception:
        print(
            page.page.evaluate(
                f"[window['{map_name}'].getZoom(), window['{map_name}'].getCenter(), {lat}, {lon}]"
            ),
            page.page.evaluate("officemapState"),
            page.failed,
            page.errors,
            [u for u in page.requests if "api" in u],
        )
        raise
    # click the middle of the viewport, where the building now is
    page.page.wait_for_timeout(300)
    box = page.page.locator(".leaflet-container").bounding_box()
    page.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    page.page.wait_for_timeout(400)  # let the fade-in finish before the screenshot
    assert building["properties"]["name"] in popup.inner_text()
    assert "Open floor plans" in popup.inner_text()
    page.screenshot("map-holdings-building-popup")
    assert page.external_requests() == []
