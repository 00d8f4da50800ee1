"""/map/vacancy in headless Chromium: heat bins from the server, filters, leaders' panel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, map_name, wait_loaded

pytestmark = pytest.mark.browser

BINS = "/api/v1/map/vacancy-bins"


def idle_area(bins: dict[str, Any]) -> float:
    return float(sum(b[2] for b in bins["bins"]))


def test_vacancy_heatmap_and_leaders_panel(page: PageProbe, live_server: str, client: Any) -> None:
    page.page.goto(f"{live_server}/map/vacancy")
    wait_loaded(page)
    summary = client.get("/api/v1/map/summary").json()
    assert page.last_json("/api/v1/map/summary") == summary
    bins = page.last_json(BINS)
    assert bins["bins"]
    assert idle_area(bins) == pytest.approx(summary["vacant_office_area_m2"], abs=0.1)
    panel = page.page.locator("#om-summary").inner_text()
    assert "空置率" in panel and "未整改问题" in panel and str(summary["open_findings"]) in panel
    heat = page.page.locator("canvas.leaflet-heatmap-layer")
    assert heat.count() == 1
    page.page.wait_for_timeout(300)
    page.screenshot("map-vacancy-province")
    assert "闲置用房热力图" in page.page.title()
    assert_clean(page)


def test_filters_and_zoom_change_the_bins(page: PageProbe, live_server: str, client: Any) -> None:
    page.page.goto(f"{live_server}/map/vacancy?lang=en")
    wait_loaded(page)
    province = idle_area(page.last_json(BINS))
    with page.page.expect_response(lambda r: BINS in r.url and "region=330100" in r.url):
        page.page.select_option("#om-region", "330100")
    wait_loaded(page)
    assert idle_area(page.last_json(BINS)) < province
    hangzhou = client.get("/api/v1/map/summary?region=330100").json()
    assert page.last_json("/api/v1/map/summary?region=330100") == hangzhou
    assert "Vacancy rate" in page.page.locator("#om-summary").inner_text()
    bins_city = len(page.last_json(BINS)["bins"])
    with page.page.expect_response(lambda r: BINS in r.url and "z=11" in r.url):
        page.page.evaluate(f"window['{map_name(page)}'].setZoom(11, {{animate: false}})")
    wait_loaded(page)
    assert len(page.last_json(BINS)["bins"]) != bins_city
    page.page.select_option("#om-level", "county")
    # the label states the threshold of the standards in effect (180 days in the demo's)
    assert "Idle ≥ 180 days only" in page.page.locator("label:has(#om-idle)").inner_text()
    with page.page.expect_response(
        lambda r: BINS in r.url and "min_idle_days=180" in r.url and "agency_level=county" in r.url
    ):
        page.page.check("#om-idle")
    wait_loaded(page)
    page.page.wait_for_timeout(300)
    page.screenshot("map-vacancy-hangzhou-filtered-en")
    assert_clean(page)
