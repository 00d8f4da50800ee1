"""/map in headless Chromium: regions, server-side clusters, footprint tiles, choropleth,
compliance layers, search; nothing leaves the host."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PageProbe
from tests.map_ui.helpers import (
    assert_clean,
    click_latlng,
    count_layers,
    drawn_fills,
    eventually,
    fill_pixels,
    map_name,
    near,
    wait_loaded,
)

pytestmark = pytest.mark.browser

CITY = "l => l.feature && l.feature.properties.level === 'city'"
FILLED = "l => l.feature && l.options.fillOpacity > 0"
STATUS = ["#2b8cbe", "#fdae61", "#d7191c", "#7b3294", "#999999"]


def buildings_in_view(page: PageProbe) -> int:
    """The count the page shows (视图内办公楼: N)."""
    return int(page.page.locator("#om-count").inner_text().rsplit(":", 1)[1])


def test_holdings_map_renders_regions_and_buildings(
    page: PageProbe, live_server: str, client: Any
) -> None:
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    buildings = client.get("/api/v1/buildings?limit=1").json()["numberMatched"]
    assert count_layers(page, CITY) == 11
    assert buildings_in_view(page) == buildings  # every building is in some cluster
    clusters = page.page.locator(".om-cluster")
    assert 0 < clusters.count() < buildings  # clustered at the province view
    assert sum(int(t) for t in clusters.all_inner_texts()) <= buildings
    control = page.page.locator(".leaflet-control-layers").inner_text()
    for name in ("办公楼", "超标用房", "闲置用房", "未按时腾退", "数据质量问题"):
        assert name in control
    assert "办公用房一张图" in page.page.title()
    html = client.get("/map").text
    assert len(html.encode()) < 200_000 and "FeatureCollection" not in html
    page.screenshot("map-holdings-province")
    assert_clean(page)


def test_choropleth_switch_changes_what_is_drawn(page: PageProbe, live_server: str) -> None:
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    page.page.select_option("#om-choro", "vacancy_rate")
    eventually(lambda: count_layers(page, FILLED) > 0)
    assert count_layers(page, FILLED) == 11  # the cities
    fills = page.page.evaluate(
        f"(() => {{ const out = new Set(); window['{map_name(page)}'].eachLayer(l => "
        "{ if (l.feature && l.options.fillOpacity > 0) out.add(l.options.fillColor); }); "
        "return [...out]; })()"
    )
    assert len(fills) >= 3  # classes, not one colour
    assert page.page.locator("#om-legend .om-swatch").count() == 5
    page.screenshot("map-holdings-choropleth-vacancy")
    page.page.select_option("#om-choro-level", "county")
    eventually(lambda: count_layers(page, FILLED) > 11)  # the counties
    page.page.select_option("#om-choro", "none")
    eventually(lambda: count_layers(page, FILLED) == 0)
    assert page.page.locator("#om-legend .om-swatch").count() == 0
    assert_clean(page)


def test_zooming_in_shows_footprint_tiles_with_popup(
    page: PageProbe, live_server: str, client: Any
) -> None:
    building = client.get("/api/v1/buildings/1").json()
    ring = building["geometry"]["coordinates"][0][0]
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    page.page.goto(f"{live_server}/map?lang=en")
    wait_loaded(page)
    page.page.evaluate(
        f"window['{map_name(page)}'].setView([{lat}, {lon}], 18, {{animate: false}})"
    )
    # the footprints drawn in their status colours; no clusters at this zoom
    eventually(lambda: any(near(c, STATUS) for c in drawn_fills(page)))
    eventually(lambda: page.page.locator(".om-cluster").count() == 0)
    page.page.wait_for_timeout(300)
    click_latlng(page, lat, lon)
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    page.page.wait_for_timeout(400)  # let the fade-in finish before the screenshot
    assert building["properties"]["name"] in popup.inner_text()
    assert "Open floor plans" in popup.inner_text()
    assert any("/tiles/buildings/18/" in u for u in page.requests)
    page.screenshot("map-holdings-building-popup")
    assert_clean(page)


def test_compliance_layer_toggle_draws_findings(
    page: PageProbe, live_server: str, client: Any
) -> None:
    finding = client.get("/api/v1/map/summary").json()
    assert finding["open_findings"] > 0
    lon, lat = client.get("/api/v1/buildings/1").json()["geometry"]["coordinates"][0][0][0]
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    page.page.evaluate(
        f"window['{map_name(page)}'].setView([{lat}, {lon}], 17, {{animate: false}})"
    )
    page.page.wait_for_load_state("networkidle")
    before = fill_pixels(page, "#d7191c")  # over-standard red (idle buildings share it)
    page.page.locator(".leaflet-control-layers label", has_text="超标用房").locator("input").check()
    eventually(lambda: fill_pixels(page, "#d7191c") > before, timeout=15_000)
    assert any("/tiles/compliance/17/" in u and "group=over_standard" in u for u in page.requests)
    page.page.wait_for_timeout(300)
    page.screenshot("map-holdings-over-standard-layer")
    assert_clean(page)


def test_search_by_building_name(page: PageProbe, live_server: str, client: Any) -> None:
    name = client.get("/api/v1/buildings/1").json()["properties"]["name"]
    page.page.goto(f"{live_server}/map")
    wait_loaded(page)
    page.page.fill("#om-search", name[:6])
    result = page.page.locator("#om-results a", has_text=name).first
    result.wait_for(timeout=5_000)
    result.click()
    popup = page.page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert name in popup.inner_text()
    assert_clean(page)
