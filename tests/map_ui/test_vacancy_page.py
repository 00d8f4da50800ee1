"""/map/vacancy in headless Chromium: heat bins from the server, filters, leaders' panel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean, map_name, wait_for, wait_ready

pytestmark = pytest.mark.browser

READY = "window.officemapState && officemapState.ready && officemapState.summary"


def test_vacancy_heatmap_and_leaders_panel(page: PageProbe, live_server: str, client: Any) -> None:
    page.page.goto(f"{live_server}/map/vacancy")
    wait_ready(page, READY)
    state = page.page.evaluate("officemapState")
    summary = client.get("/api/v1/map/summary").json()
    assert state["summary"] == summary
    assert state["bins"] > 0
    assert state["idleArea"] == pytest.approx(summary["vacant_office_area_m2"], abs=0.1)
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
    wait_ready(page, READY)
    province = page.page.evaluate("officemapState.idleArea")
    requests = page.page.evaluate("officemapState.requests")
    page.page.select_option("#om-region", "330100")
    wait_for(page, f"officemapState.requests > {requests}")
    wait_for(page, "officemapState.summary && officemapState.idleArea < " + str(province))
    hangzhou = client.get("/api/v1/map/summary?region=330100").json()
    wait_for(page, f"officemapState.summary.usable_area_m2 === {hangzhou['usable_area_m2']}")
    assert "Vacancy rate" in page.page.locator("#om-summary").inner_text()
    bins_city = page.page.evaluate("officemapState.bins")
    page.page.evaluate(f"window['{map_name(page)}'].setZoom(11, {{animate: false}})")
    wait_for(page, f"officemapState.bins !== {bins_city}", timeout=10_000)
    page.page.select_option("#om-level", "county")
    # the label states the threshold of the standards in effect (180 days in the demo's)
    assert "Idle ≥ 180 days only" in page.page.locator("label:has(#om-idle)").inner_text()
    page.page.check("#om-idle")
    wait_for(page, "officemapState.requests >= 4")
    page.page.wait_for_timeout(300)
    page.screenshot("map-vacancy-hangzhou-filtered-en")
    assert any("min_idle_days=180" in u and "agency_level=county" in u for u in page.requests)
    assert_clean(page)
