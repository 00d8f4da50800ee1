"""/docs in headless Chromium: Swagger UI from the app's own assets, under the pages'
Content-Security-Policy, with no request leaving the server."""

from __future__ import annotations

import pytest

from tests.conftest import PageProbe
from tests.map_ui.helpers import assert_clean

pytestmark = pytest.mark.browser


def test_api_docs_render_offline(page: PageProbe, live_server: str) -> None:
    page.page.goto(f"{live_server}/docs")
    page.page.wait_for_selector(".opblock", timeout=60_000)
    assert page.page.locator(".opblock").count() > 30
    assert "OfficeMap" in page.page.locator(".info .title").inner_text()
    page.page.locator(
        ".opblock-summary-path", has_text="/api/v1/buildings/{building_id}"
    ).first.click()
    page.page.wait_for_selector(".opblock-body", timeout=30_000)
    page.screenshot("api-docs")
    assert page.external_requests() == []
    assert_clean(page)
